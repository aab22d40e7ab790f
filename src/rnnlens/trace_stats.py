"""Gate statistics of every recurrent layer over a dataset, in chunks that merge.

For each recurrent layer (LSTM, GRU, their Bidirectional halves, ConvLSTM per filter),
over every sample and real (unmasked) step:

* saturation of each bounded gate, per unit: the fraction of steps with the gate
  below / above its bounds (0.05 / 0.95 for σ gates, ∓0.95 for tanh candidates);
* memory length per unit (LSTM: forget gate f, GRU: update gate z): the median number
  of steps until what was stored at a step has decayed below a half.

Definitions are those of the explainer page (``rnnlens.explain.stats``). A
``TraceStats`` accumulates counts chunk by chunk and two of them ``merge`` (a sum of
counts), so a dataset too big for memory, or split over cluster workers, gives the same
result as one pass over all of it.

Example::

    >>> stats = rnnlens.trace_stats.compute(model, x, batch_size=256)
    >>> stats["lstm"]["memory_length"]          # (u,) steps, inf = never decays
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: The gate whose running product defines memory length, per cell kind.
MEMORY_GATE = {"LSTM": "f", "GRU": "z"}
#: Gates made by the cell's ``activation`` (the others use ``recurrent_activation``).
CANDIDATE = {"LSTM": "g", "GRU": "hh"}


def _kind(layer: Any) -> str | None:
    name = type(getattr(layer, "cell", None)).__name__
    return {"LSTMCell": "LSTM", "GRUCell": "GRU", "ConvLSTMCell": "LSTM"}.get(name)


def _units_view(arr: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, Any]:
    """(B, T, *S, u) -> (B * prod(S), T, u): positions of a feature map count as samples."""
    if arr.ndim == 3:
        return arr, mask
    b, t, u = arr.shape[0], arr.shape[1], arr.shape[-1]
    spatial = int(np.prod(arr.shape[2:-1]))
    flat = np.moveaxis(arr.reshape(b, t, spatial, u), 2, 1).reshape(b * spatial, t, u)
    return flat, None if mask is None else np.repeat(mask, spatial, axis=0)


class LayerStats:
    """Running counts for one recurrent layer."""

    def __init__(self, layer: Any, units: int, steps: int):
        from rnnlens.explain import stats

        self.kind = _kind(layer)
        config = layer.get_config()
        act, rec = config.get("activation"), config.get("recurrent_activation")
        self.saturation: dict[str, Any] = {}
        self.gate_names: list[str] = []
        self.steps, self.units = steps, units
        self.memory_gate = MEMORY_GATE.get(self.kind) if rec in stats.UNIT_RANGE else None
        self.memory = stats.Memory(units, steps) if self.memory_gate else None
        self._bounds = {"candidate": stats.gate_bounds(act), "gate": stats.gate_bounds(rec)}

    def add(self, trace: Any) -> None:
        from rnnlens.explain import stats

        for name, gate in trace.gates.items():
            which = "candidate" if name == CANDIDATE.get(self.kind) else "gate"
            bounds = self._bounds[which]
            if bounds is None:
                continue
            view, mask = _units_view(gate, trace.mask)
            if name not in self.saturation:
                self.saturation[name] = stats.Saturation(self.units, bounds)
            self.saturation[name].add(view, mask)
        if self.memory is not None:
            view, mask = _units_view(trace.gates[self.memory_gate], trace.mask)
            self.memory.add(view, mask)

    def merge(self, other: "LayerStats") -> None:
        if (other.units, other.steps) != (self.units, self.steps):
            raise ValueError(f"Cannot merge statistics over {other.steps} steps x "
                             f"{other.units} units into {self.steps} x {self.units}; every "
                             "chunk must have the same number of time steps.")
        for name, sat in other.saturation.items():
            mine = self.saturation.setdefault(name, sat)
            if mine is not sat:
                mine.low += sat.low
                mine.high += sat.high
                mine.total += sat.total
        if self.memory is not None and other.memory is not None:
            self.memory.counts += other.memory.counts

    def result(self) -> dict:
        out: dict[str, Any] = {"saturation_low": {}, "saturation_high": {}, "saturated": {}}
        for name, sat in self.saturation.items():
            low, high = sat.result()
            out["saturation_low"][name], out["saturation_high"][name] = low, high
            out["saturated"][name] = low + high
        if self.memory is not None:
            medians, never = self.memory.result()
            out["memory_gate"] = self.memory_gate
            out["memory_length"] = medians
            out["never_decays"] = never
        return out


class TraceStats:
    """``{layer name: LayerStats}`` accumulated over chunks of a dataset."""

    def __init__(self) -> None:
        self.layers: dict[str, LayerStats] = {}

    def add(self, model: Any, x: Any) -> "TraceStats":
        """Traces one chunk of inputs and adds its counts."""
        from rnnlens.trace import _recurrent_layers, trace

        by_name = {lyr.name: lyr for lyr in _all_recurrent(model, _recurrent_layers)}
        for key, tr in trace(model, x).items():
            layer = by_name.get(key) or by_name.get(key.split("_call_")[0])
            if layer is None or _kind(layer) is None:
                continue
            if key not in self.layers:
                self.layers[key] = LayerStats(layer, tr.h.shape[-1], tr.h.shape[1])
            self.layers[key].add(tr)
        return self

    def merge(self, other: "TraceStats") -> "TraceStats":
        """Adds another chunk's counts (e.g. from another worker)."""
        for key, stats in other.layers.items():
            if key in self.layers:
                self.layers[key].merge(stats)
            else:
                self.layers[key] = stats
        return self

    def result(self) -> dict[str, dict]:
        return {key: stats.result() for key, stats in self.layers.items()}


def _all_recurrent(model: Any, finder: Any) -> list:
    """Recurrent layers, including a Bidirectional's two halves."""
    out = []
    for layer in finder(model):
        out.append(layer)
    for layer in getattr(model, "layers", []) or []:
        for half in ("forward_layer", "backward_layer"):
            if hasattr(layer, half):
                out.append(getattr(layer, half))
    return out


def compute(model: Any, x: Any, batch_size: int = 256) -> dict[str, dict]:
    """Statistics of every recurrent layer of ``model`` over inputs ``x``, in chunks.

    Args:
        model: a model or recurrent layer.
        x: an array or a list of arrays (one per model input), samples first.
        batch_size: samples traced at a time (memory grows with it).

    Returns:
        ``{layer name: {"saturated": {gate: (u,)}, "saturation_low": ...,
        "saturation_high": ..., "memory_length": (u,), "never_decays": (u,),
        "memory_gate": "f" | "z"}}`` (memory entries only for σ-gated LSTM / GRU).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1; received {batch_size!r}.")
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    xs = [np.asarray(a) for a in xs]
    n = xs[0].shape[0] if xs and xs[0].ndim else 0
    if n == 0:
        raise ValueError("trace statistics need at least one sample.")
    total = TraceStats()
    for start in range(0, n, int(batch_size)):
        chunk = [a[start:start + batch_size] for a in xs]
        total.add(model, chunk if len(chunk) > 1 else chunk[0])
    return total.result()


__all__ = ["TraceStats", "LayerStats", "compute"]
