"""``rnnlens predict MODEL INPUT.zarr -o OUT.zarr [--scheduler ADDRESS]`` on Dask.

Reads the input lazily (a Zarr array or group, or a memory-mapped ``.npy``), runs
:func:`rnnlens.distributed.predict` on the scheduler at ``ADDRESS`` (or on a local
cluster of ``--workers`` processes) with a progress bar, and writes one Zarr array
per model output into the group ``OUT.zarr`` (named as the ``.npz`` outputs:
``output_<k>_<layer>_<index>``).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from rnnlens.distributed import _require


def wants_dask(input_path: str, output: str | None, scheduler: str | None) -> bool:
    """Whether the command goes the Dask way (a Zarr input or output, or a scheduler)."""
    from rnnlens.distributed.core import is_zarr

    return bool(scheduler) or (os.path.exists(input_path) and is_zarr(input_path)) or \
        input_path.rstrip("/").endswith(".zarr") or \
        bool(output and output.rstrip("/").endswith(".zarr"))


def output_names(model: Any) -> list[str]:
    return [f"output_{k}_{t.layer.name}_{t.tensor_index}" for k, t in enumerate(model.outputs)]


def predict(model_path: str, input_path: str, output: str | None, batch_size: int,
            semantics: str | None = None, scheduler: str | None = None,
            workers: int | None = None, chunk_size: int | None = None,
            progress: bool = True) -> int:
    """Runs the command; returns the exit status."""
    _require("dask")
    _require("distributed")
    _require("zarr")
    from rnnlens.distributed.core import predict as dask_predict
    from rnnlens.distributed.core import write_zarr

    if not output or not output.rstrip("/").endswith(".zarr"):
        raise ValueError("On Dask the outputs go to a Zarr store: pass -o OUT.zarr.")
    if os.path.abspath(output) == os.path.abspath(input_path):
        raise ValueError("The output store must not be the input store.")
    if not input_path.endswith(".npy") and not os.path.isdir(input_path):
        raise ValueError(f"Input {input_path} is not a Zarr store or a .npy file (a .npz "
                         "runs without Dask: leave out -o .zarr and --scheduler).")
    from rnnlens.models import load_model

    model = load_model(model_path, semantics=semantics)
    names = output_names(model)
    start = time.perf_counter()
    with _client(scheduler, workers) as client:
        outs = dask_predict(model_path, input_path, batch_size=batch_size,
                            chunk_size=chunk_size, semantics=semantics)
        future = client.compute(write_zarr(outs, output, names))
        if progress:
            from distributed import progress as progress_bar

            progress_bar(future)
            print()
        future.result()
    flat = list(outs.values()) if isinstance(outs, dict) else \
        outs if isinstance(outs, list) else [outs]
    print(f"wrote {len(flat)} output(s) to {output} in {time.perf_counter() - start:.1f} s: "
          + ", ".join(f"{n} {tuple(o.shape)}" for n, o in zip(names, flat)))
    return 0


class _client:
    """A ``distributed.Client`` to ``address`` or to a new local cluster (closed after)."""

    def __init__(self, address: str | None, workers: int | None):
        self.address, self.workers = address, workers
        self.cluster = self.client = None

    def __enter__(self) -> Any:
        from distributed import Client, LocalCluster

        if self.address:
            try:
                self.client = Client(self.address, timeout="10s")
            except OSError as err:
                raise ValueError(f"Cannot reach the Dask scheduler at {self.address}: "
                                 f"{err}") from None
            return self.client
        n = self.workers or max(1, min(4, os.cpu_count() or 1))
        print(f"starting a local Dask cluster of {n} worker process(es)", file=sys.stderr)
        self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                    dashboard_address=None)
        self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc: Any) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


__all__ = ["predict", "wants_dask", "output_names"]
