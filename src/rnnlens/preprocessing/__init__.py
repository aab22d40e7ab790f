"""Keras 3's ``keras.preprocessing``: ``sequence.pad_sequences`` and
``timeseries_dataset_from_array`` (the same functions as in :mod:`rnnlens.utils`).

The image and text directory loaders are not here.
"""

from __future__ import annotations

from typing import Any

from rnnlens.preprocessing import sequence

__all__ = ["sequence", "timeseries_dataset_from_array"]


def __getattr__(name: str) -> Any:
    if name == "timeseries_dataset_from_array":
        from rnnlens.utils.timeseries import timeseries_dataset_from_array  # noqa: PLC0415

        return timeseries_dataset_from_array
    raise AttributeError(f"module 'rnnlens.preprocessing' has no attribute {name!r}")
