"""Per-unit value ranges of each recurrent layer's states and gates, in chunks that merge.

For a recurrent layer with hidden state ``h``, cell state ``c`` (LSTM, ConvLSTM) and
post-activation gates ``g_k``, for every value ``v`` among them and unit ``j``, over
every sample ``b`` and real (unmasked) step ``t``::

    min_j(v) = min_{b, t real} v[b, t, j]        max_j(v) = max_{b, t real} v[b, t, j]

(ConvLSTM: every position of the feature map counts as a sample, as in
:mod:`rnnlens.trace_stats`). ``min`` and ``max`` are associative and commutative, so
per-chunk ranges merge exactly in any order or tree; a unit that saw no real step
gets NaN. :func:`add_chunk` traces a chunk once and feeds both a
:class:`~rnnlens.trace_stats.TraceStats` (saturation, memory length) and a
:class:`Ranges`.
"""

from __future__ import annotations

from typing import Any

import numpy as np


class Ranges:
    """``{layer key: {value name: [min (u,), max (u,)]}}`` accumulated over chunks."""

    def __init__(self) -> None:
        self.layers: dict[str, dict[str, list[np.ndarray]]] = {}

    def add(self, key: str, trace: Any) -> None:
        """Adds one layer's trace (a :class:`rnnlens.trace.LayerTrace`) of one chunk."""
        from rnnlens.trace_stats import _units_view

        values = {"h": trace.h}
        if trace.c is not None:
            values["c"] = trace.c
        values.update(trace.gates)
        mine = self.layers.setdefault(key, {})
        for name, arr in values.items():
            view, mask = _units_view(np.asarray(arr), trace.mask)          # (N, T, u)
            real = view.reshape(-1, view.shape[-1]) if mask is None else \
                view[np.asarray(mask, bool)]                              # (n, u)
            lo = np.full(view.shape[-1], np.inf, view.dtype)
            hi = np.full(view.shape[-1], -np.inf, view.dtype)
            if real.shape[0]:
                lo, hi = real.min(axis=0), real.max(axis=0)
            self._combine(mine, name, lo, hi)

    @staticmethod
    def _combine(mine: dict, name: str, lo: np.ndarray, hi: np.ndarray) -> None:
        if name not in mine:
            mine[name] = [lo.copy(), hi.copy()]
            return
        if mine[name][0].shape != lo.shape:
            raise ValueError(f"Cannot merge ranges of {lo.shape[0]} units into "
                             f"{mine[name][0].shape[0]} for '{name}'.")
        mine[name] = [np.minimum(mine[name][0], lo), np.maximum(mine[name][1], hi)]

    def merge(self, other: "Ranges") -> "Ranges":
        """Adds another chunk's ranges (e.g. from another worker)."""
        for key, values in other.layers.items():
            mine = self.layers.setdefault(key, {})
            for name, (lo, hi) in values.items():
                self._combine(mine, name, lo, hi)
        return self

    def result(self) -> dict[str, dict[str, dict[str, np.ndarray]]]:
        """``{layer key: {value name: {"min": (u,), "max": (u,)}}}``; NaN: no real step."""
        out: dict[str, dict] = {}
        for key, values in self.layers.items():
            out[key] = {}
            for name, (lo, hi) in values.items():
                empty = lo > hi
                out[key][name] = {"min": np.where(empty, np.nan, lo),
                                  "max": np.where(empty, np.nan, hi)}
        return out


def add_chunk(stats: Any, ranges: Ranges, model: Any, x: Any) -> None:
    """Traces ``x`` once; adds its counts to ``stats`` and its ranges to ``ranges``.

    The layers are those :meth:`rnnlens.trace_stats.TraceStats.add` keeps (LSTM,
    GRU, ConvLSTM, Bidirectional halves), under the same keys.
    """
    from rnnlens.trace import _recurrent_layers, trace
    from rnnlens.trace_stats import LayerStats, _all_recurrent, _kind

    by_name = {lyr.name: lyr for lyr in _all_recurrent(model, _recurrent_layers)}
    for key, tr in trace(model, x).items():
        layer = by_name.get(key) or by_name.get(key.split("_call_")[0])
        if layer is None or _kind(layer) is None:
            continue
        if key not in stats.layers:
            stats.layers[key] = LayerStats(layer, tr.h.shape[-1], tr.h.shape[1])
        stats.layers[key].add(tr)
        ranges.add(key, tr)


__all__ = ["Ranges", "add_chunk"]
