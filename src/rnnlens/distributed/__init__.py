"""Batch inference and trace statistics on Dask (``pip install 'rnnlens[dask]'``).

:func:`predict` runs ``model.predict`` over a dataset chunked along samples (a
``dask.array``, a Zarr store or a ``.npy`` file) on any Dask scheduler, a
``distributed`` cluster included, and returns dask arrays that can be written to
Zarr; :func:`trace_stats` computes the explainer's per-unit statistics (gate
saturation, memory length) and each unit's activation ranges over the whole dataset
by merging per-chunk results in a tree. Results equal the
single-process ones (see :mod:`rnnlens.distributed.core`).

Example::

    >>> import dask.array as da, rnnlens.distributed as rd
    >>> from distributed import Client, LocalCluster
    >>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
    >>> y = rd.predict(model, da.from_zarr("x.zarr"), batch_size=64)
    >>> y.to_zarr("y.zarr")
    >>> rd.trace_stats(model, "x.zarr")["lstm"]["memory_length"]
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {"predict": "core", "trace_stats": "core", "open_input": "core",
            "is_zarr": "core", "write_zarr": "core"}


def _require(package: str) -> None:
    """Imports ``package`` or raises an ImportError naming the extra that brings it."""
    try:
        importlib.import_module(package)
    except ImportError:
        raise ImportError(f"rnnlens.distributed needs {package}; install the extra with "
                          "`pip install 'rnnlens[dask]'` (dask, distributed, zarr).") from None


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"rnnlens.distributed.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'rnnlens.distributed' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
