"""Batch inference and trace statistics over Dask arrays chunked along samples.

For inputs ``x`` of N samples in chunks ``x = [x_1; x_2; ...; x_K]`` (axis 0),
every sample is computed independently, so::

    predict(model, x) = [model.predict(x_1); ...; model.predict(x_K)]

chunk by chunk, in parallel on the workers. With chunk sizes a multiple of
``batch_size`` each chunk's batches are those of a single-process
``model.predict(x, batch_size)``, and the results are bitwise identical.
Trace statistics are counts, so they add (:meth:`TraceStats.merge`), and value
ranges are minima and maxima, so they combine (:class:`~rnnlens.distributed.ranges.Ranges`)::

    stats(x) = merge(stats(x_1), ..., stats(x_K))       a tree of merges

The model is serialized once on the client (its JSON config and weights, or its
file) into one graph key that every chunk task depends on (each worker receives
it once), and loaded once per worker thread.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from rnnlens.distributed import _require
from rnnlens.distributed._worker import (ModelBlob, merge_stats, predict_chunk, read_npy,
                                         stats_chunk, stats_result)


def _check_positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, received {value!r}.")
    return int(value)


def open_input(source: Any, chunk_size: int | None = None, names: list | None = None
               ) -> Any:
    """A dask array (or a dict of them, from a Zarr group) chunked along samples.

    Args:
        source: a dask array, a NumPy array, a ``.npy`` path (memory-mapped), or a
            Zarr path (an array, or a group with one array per model input name).
        chunk_size: samples per chunk for ``.npy`` / NumPy data (default: about
            64 MiB per chunk); Zarr and dask arrays keep their own chunks.
        names: the model's input names, to pick a Zarr group's arrays.
    """
    _require("dask")
    import dask.array as da

    if isinstance(source, da.Array):
        return source
    if isinstance(source, np.ndarray):
        return da.from_array(source, chunks=_sample_chunks(source, chunk_size))
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    if path is None:
        raise TypeError(f"Expected a dask array, a NumPy array or a .npy / .zarr path, "
                        f"received {type(source).__name__}.")
    if not os.path.exists(path):
        raise ValueError(f"No such input: {path}.")
    if path.endswith(".npy"):
        return _npy_array(path, chunk_size)
    if is_zarr(path):
        return _open_zarr(path, names)
    raise ValueError(f"Input {path} is neither a .npy file nor a Zarr store (.zarr).")


def _npy_array(path: str, chunk_size: int | None) -> Any:
    """A ``.npy`` file as a dask array whose chunks the workers read themselves
    (memory-mapped rows), so the graph holds the path, not the data."""
    import dask
    import dask.array as da

    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"Cannot memory-map {path}: {err} (save it with np.save from a "
                         "numeric array).") from None
    size = _sample_chunks(data, chunk_size)[0]
    n, stat = data.shape[0], os.stat(path)
    stamp = (stat.st_size, stat.st_mtime_ns)           # a changed file gets new task keys
    parts = [da.from_delayed(dask.delayed(read_npy, pure=True)(path, start,
                                                               min(start + size, n), stamp),
                             (min(start + size, n) - start, *data.shape[1:]),
                             dtype=data.dtype)
             for start in range(0, max(n, 1), size)]
    return da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]


def is_zarr(path: Any) -> bool:
    """Whether ``path`` names a Zarr store (``.zarr``, or a folder with Zarr metadata)."""
    path = os.fspath(path)
    if path.rstrip("/").endswith(".zarr"):
        return True
    return os.path.isdir(path) and any(
        os.path.exists(os.path.join(path, f)) for f in ("zarr.json", ".zarray", ".zgroup"))


def _open_zarr(path: str, names: list | None) -> Any:
    _require("zarr")
    import dask.array as da
    import zarr

    node = zarr.open(path, mode="r")
    if isinstance(node, zarr.Array):
        return da.from_zarr(path)
    keys = sorted(node.array_keys())
    wanted = names if names and all(n in keys for n in names) else keys
    if not wanted:
        raise ValueError(f"Zarr group {path} holds no arrays.")
    return {name: da.from_zarr(path, component=name) for name in wanted}


def _sample_chunks(data: Any, chunk_size: int | None) -> tuple:
    if data.ndim == 0:
        raise ValueError("Inputs need a samples axis; received a scalar.")
    if chunk_size is None:
        per_sample = max(1, int(np.prod(data.shape[1:])) * data.dtype.itemsize)
        chunk_size = max(1, (64 << 20) // per_sample)
    chunk_size = _check_positive(chunk_size, "chunk_size")
    return (min(chunk_size, max(1, data.shape[0])),) + tuple(data.shape[1:])


def _inputs(model: Any, x: Any, chunk_size: int | None) -> list:
    """The model's inputs as dask arrays with the same chunks along samples."""
    names = [t.name for t in getattr(model, "inputs", [])] or None
    if isinstance(x, (str, os.PathLike)):
        x = open_input(x, chunk_size, names)
    if isinstance(x, dict):
        missing = [n for n in names or [] if n not in x]
        if missing:
            raise ValueError(f"Model '{model.name}' expects inputs {names}; missing "
                             f"{missing} (received {sorted(x)}).")
        x = [x[n] for n in names] if names else list(x.values())
    xs = [open_input(a, chunk_size) for a in (x if isinstance(x, (list, tuple)) else [x])]
    if names is not None and len(xs) != len(names):
        raise ValueError(f"Model '{model.name}' expects {len(names)} input(s) {names}, "
                         f"received {len(xs)}.")
    n = xs[0].shape[0]
    if any(a.ndim == 0 for a in xs) or any(a.shape[0] != n for a in xs):
        raise ValueError(f"All inputs need the same number of samples; received shapes "
                         f"{[a.shape for a in xs]}.")
    if n == 0 or any(np.isnan(a.shape[0]) for a in xs):
        raise ValueError("Inputs need a known, non-zero number of samples.")
    chunks = xs[0].chunks[0] if chunk_size is None else \
        _sample_chunks(xs[0], chunk_size)[0]
    return [a.rechunk({0: chunks, **{k: -1 for k in range(1, a.ndim)}}) for a in xs]


def _model(model: Any, semantics: str | None) -> tuple[Any, Any]:
    """``(model object, its delayed ModelBlob)``: one graph key that each worker
    receives once. A path is loaded here (for shapes) and shipped as its file."""
    import dask

    if isinstance(model, (str, os.PathLike)):
        from rnnlens.models import load_model

        path = os.fspath(model)
        obj, blob = load_model(path, semantics=semantics), ModelBlob(path=path,
                                                                     semantics=semantics)
    else:
        if not hasattr(model, "predict") or not hasattr(model, "outputs"):
            raise TypeError(f"Expected a built rnnlens model or a model file, received "
                            f"{type(model).__name__}.")
        obj, blob = model, ModelBlob(model)
    return obj, dask.delayed(blob, name=f"rnnlens-model-{blob.digest[:16]}")


def predict(model: Any, x: Any, batch_size: int = 32, chunk_size: int | None = None,
            semantics: str | None = None) -> Any:
    """``model.predict`` over a dataset chunked along samples, as dask arrays.

    Args:
        model: a built rnnlens model (shipped as its config and weights), or a model
            file (``.keras`` / ``.h5``, shipped as its bytes and loaded on each worker).
        x: a dask array, a list / dict of them (several inputs), a NumPy array, a
            ``.npy`` path or a Zarr path (an array, or a group with one array per input
            name). All inputs get the chunks of the first along samples.
        batch_size: samples per batch inside each chunk (as ``model.predict``).
        chunk_size: re-chunk along samples to this many samples per chunk; a
            multiple of ``batch_size`` keeps results bitwise identical to
            ``model.predict(x, batch_size=batch_size)``.
        semantics: for a model file, as ``load_model``'s.

    Returns:
        A dask array for a single output; a list (or the model's dict) of them
        otherwise. Nothing is computed until you call ``.compute()``, ``dask.compute``
        or ``.to_zarr(...)``; the current Dask scheduler (e.g. a ``distributed.Client``)
        runs it.
    """
    _require("dask")
    import dask
    import dask.array as da

    batch_size = _check_positive(batch_size, "batch_size")
    model, blob = _model(model, semantics)
    xs = _inputs(model, x, chunk_size)
    specs = _output_specs(model, xs)
    per_chunk = [[] for _ in specs]
    blocks = [a.to_delayed().ravel() for a in xs]
    for k, size in enumerate(xs[0].chunks[0]):
        task = dask.delayed(predict_chunk, pure=True, nout=len(specs))(
            blob, batch_size, *[b[k] for b in blocks])
        for j, (shape, dtype) in enumerate(specs):
            per_chunk[j].append(da.from_delayed(task[j], (size, *shape), dtype=dtype))
    outs = [da.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
            for parts in per_chunk]
    return _structure(model, outs)


def _output_specs(model: Any, xs: list) -> list[tuple[tuple, Any]]:
    """Each output's per-sample shape and dtype, from one sample of zeros."""
    sample = []
    for a in xs:
        if a.dtype.kind in "biuf":
            sample.append(np.zeros((1, *a.shape[1:]), a.dtype))
        else:
            sample.append(np.asarray(a[:1].compute()))
    out = _flat_outputs(model.predict(sample if len(sample) > 1 else sample[0], verbose=0))
    return [(tuple(o.shape[1:]), o.dtype) for o in out]


def _flat_outputs(out: Any) -> list[np.ndarray]:
    from rnnlens.distributed._worker import _flat

    return [np.asarray(o) for o in _flat(out)]


def _structure(model: Any, outs: list) -> Any:
    structure = getattr(model, "_output_structure", None)
    if isinstance(structure, dict):
        return dict(zip(structure, outs))
    if len(outs) == 1 and not isinstance(structure, (list, tuple)):
        return outs[0]
    return list(outs)


def trace_stats(model: Any, x: Any, batch_size: int = 256, chunk_size: int | None = None,
                split_every: int = 8, compute: bool = True, semantics: str | None = None
                ) -> Any:
    """:func:`rnnlens.trace_stats.compute` over a chunked dataset, merged as a tree,
    with each unit's activation ranges (:mod:`rnnlens.distributed.ranges`).

    Args:
        model: a built rnnlens model with recurrent layers, or a model file.
        x: as for :func:`predict` (every chunk must have the same number of steps).
        batch_size: samples traced at a time inside a chunk (memory grows with it).
        chunk_size: re-chunk along samples first.
        split_every: how many partial results each merge task adds (tree fan-in).
        compute: False returns the Delayed result instead of computing it.
        semantics: for a model file, as ``load_model``'s.

    Returns:
        The dict of :func:`rnnlens.trace_stats.compute` (per layer: saturation,
        memory length, ...), equal to one pass over all of ``x``, and per layer
        ``"ranges"``: ``{"h" | "c" | gate: {"min": (u,), "max": (u,)}}`` over every
        real (unmasked) step (NaN for a unit that saw none).
    """
    _require("dask")
    import dask

    batch_size = _check_positive(batch_size, "batch_size")
    split_every = _check_positive(split_every, "split_every")
    if split_every < 2:
        raise ValueError("split_every must be at least 2 (partial results per merge).")
    model, blob = _model(model, semantics)
    xs = _inputs(model, x, chunk_size)
    blocks = [a.to_delayed().ravel() for a in xs]
    level = [dask.delayed(stats_chunk, pure=True)(blob, batch_size, *[b[k] for b in blocks])
             for k in range(len(blocks[0]))]
    while len(level) > 1:
        level = [dask.delayed(merge_stats, pure=True)(*level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    result = dask.delayed(stats_result, pure=True)(level[0])
    return result.compute() if compute else result


def write_zarr(outputs: Any, path: str, names: list[str], compute: bool = False) -> Any:
    """Stores outputs into a Zarr group at ``path``, one array per name.

    Returns the Delayed store (``compute=False``) for a progress bar, else None.
    """
    _require("zarr")
    import dask.array as da
    import zarr

    outs = list(outputs.values()) if isinstance(outputs, dict) else \
        list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    zarr.open_group(path, mode="w")
    stores = []
    for name, arr in zip(names, outs):
        sizes = arr.chunks[0]
        if len(set(sizes[:-1])) > 1 or (len(sizes) > 1 and sizes[-1] > sizes[0]):
            arr = arr.rechunk({0: max(sizes)})            # Zarr needs regular chunks
        stores.append(da.to_zarr(arr, path, component=name, compute=False, mode="w"))
    import dask

    delayed = dask.delayed(list)(stores)
    return delayed.compute() if compute else delayed


__all__ = ["predict", "trace_stats", "open_input", "is_zarr", "write_zarr"]
