"""What runs on a Dask worker: the shipped model, loaded once per worker thread.

The model travels as one :class:`ModelBlob` (serialized once on the client, a
single key of the task graph that every chunk task depends on), so each worker
receives it once per computation; :func:`model_of` loads it at most once per worker
thread and keeps it (models keep step buffers, so threads do not share one).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import threading
from collections import OrderedDict
from typing import Any

import numpy as np

_CACHE: OrderedDict[tuple[str, int], Any] = OrderedDict()
_LOCK = threading.Lock()
_CACHE_SIZE = 8


class ModelBlob:
    """A model as bytes to ship: its Keras JSON config and weights, or its file.

    Not a pickle of the model object: a used model caches addresses of native
    buffers (the C kernels' weight pointers) that mean nothing in another process.
    The SHA-256 of the bytes is the worker-side cache key.

    Args:
        model: a built rnnlens model (shipped as ``to_json()`` + ``get_weights()``).
        path: instead, a model file (``.keras`` / ``.h5``) loaded on each worker with
            ``load_model(path, semantics=semantics)``, exactly as on the client.
    """

    __slots__ = ("digest", "data", "kind", "semantics", "suffix")

    def __init__(self, model: Any = None, path: str | None = None,
                 semantics: str | None = None):
        if path is not None:
            with open(path, "rb") as handle:
                self.data = handle.read()
            self.kind, self.suffix = "file", os.path.splitext(path)[1] or ".keras"
        else:
            self.data = pickle.dumps((model.to_json(), [np.asarray(w) for w in
                                                        model.get_weights()]),
                                     protocol=pickle.HIGHEST_PROTOCOL)
            self.kind, self.suffix = "config", ""
        self.semantics = semantics
        self.digest = hashlib.sha256(self.data + repr((self.kind, semantics)).encode()
                                     ).hexdigest()

    def __getstate__(self) -> tuple:
        return self.digest, self.data, self.kind, self.semantics, self.suffix

    def __setstate__(self, state: tuple) -> None:
        self.digest, self.data, self.kind, self.semantics, self.suffix = state

    def __len__(self) -> int:
        return len(self.data)

    def load(self) -> Any:
        """A new model object from the bytes."""
        from rnnlens.models import load_model, model_from_json

        if self.kind == "config":
            config, weights = pickle.loads(self.data)
            model = model_from_json(config)
            model.set_weights(weights)
            return model
        with tempfile.TemporaryDirectory(prefix="rnnlens-") as folder:
            path = os.path.join(folder, "model" + self.suffix)
            with open(path, "wb") as handle:
                handle.write(self.data)
            return load_model(path, semantics=self.semantics)


def model_of(blob: ModelBlob) -> Any:
    """The model of ``blob``, loaded once per (model, thread)."""
    key = (blob.digest, threading.get_ident())
    with _LOCK:
        model = _CACHE.get(key)
        if model is not None:
            _CACHE.move_to_end(key)
            return model
    model = blob.load()
    with _LOCK:
        _CACHE[key] = model
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return model


def loads() -> int:
    """How many models this process holds (for tests: shipped once per worker)."""
    with _LOCK:
        return len(_CACHE)


def predict_chunk(blob: ModelBlob, batch_size: int, *xs: np.ndarray) -> tuple:
    """``model.predict`` on one chunk; a tuple with one array per model output."""
    model = model_of(blob)
    data = list(xs) if len(xs) > 1 else xs[0]
    out = model.predict(data, batch_size=batch_size, verbose=0)
    flat = _flat(out)
    return tuple(np.asarray(o) for o in flat)


def read_npy(path: str, start: int, stop: int, stamp: tuple = ()) -> np.ndarray:
    """Rows ``start:stop`` of a ``.npy`` file, memory-mapped and copied on the worker
    (``stamp``, the file's size and mtime, only makes the task key change with it)."""
    data = np.load(path, mmap_mode="r", allow_pickle=False)
    return np.array(data[start:stop])


def stats_chunk(blob: ModelBlob, batch_size: int, *xs: np.ndarray) -> tuple:
    """``(TraceStats, Ranges)`` of one chunk, traced in batches (each batch once)."""
    from rnnlens.distributed.ranges import Ranges, add_chunk
    from rnnlens.trace_stats import TraceStats

    model = model_of(blob)
    total, ranges = TraceStats(), Ranges()
    n = xs[0].shape[0]
    for start in range(0, n, batch_size):
        part = [np.asarray(x[start:start + batch_size]) for x in xs]
        add_chunk(total, ranges, model, part if len(part) > 1 else part[0])
    return total, ranges


def merge_stats(*parts: tuple) -> tuple:
    """One ``(TraceStats, Ranges)`` summing ``parts`` (copies: inputs stay unchanged)."""
    import copy

    from rnnlens.distributed.ranges import Ranges
    from rnnlens.trace_stats import TraceStats

    total, ranges = TraceStats(), Ranges()
    for stats, part_ranges in parts:
        total.merge(copy.deepcopy(stats))
        ranges.merge(part_ranges)
    return total, ranges


def stats_result(merged: tuple) -> dict:
    """``TraceStats.result()`` with each layer's ``"ranges"`` added."""
    stats, ranges = merged
    out = stats.result()
    by_layer = ranges.result()
    for key in out:
        out[key]["ranges"] = by_layer.get(key, {})
    return out


def _flat(out: Any) -> list:
    if isinstance(out, dict):
        return [leaf for key in out for leaf in _flat(out[key])]
    if isinstance(out, (list, tuple)):
        return [leaf for item in out for leaf in _flat(item)]
    return [out]
