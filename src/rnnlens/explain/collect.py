"""Tracing the shown samples in bounded chunks and keeping what the page draws.

For every recurrent layer call (each direction of a ``Bidirectional`` apart)
one :class:`LayerView` keeps:

* for the *detail* samples (those whose heatmaps the page draws): ``h``, ``c``
  and every gate (or, for stacked and user cells, every state of
  ``LayerTrace.states``) over the shown window of steps and units, the
  initial states and the mask;
* for every traced sample: the on/off pattern ``h > threshold`` over the
  window (pattern search) and the mask;
* per-unit statistics over every traced sample and every step (see
  :mod:`rnnlens.explain.stats`).

The window is the last ``max_steps`` steps in processing order (where the
returned states are; for ``go_backwards`` step 0 read the last input step) and
the first ``max_units`` units. Samples are traced a chunk at a time, sized so
that one chunk's trace stays near ``CHUNK_BYTES``.

Pattern threshold (LSTMVis's on/off rule): a unit is *on* at a step when
``h > threshold``. ``threshold=None`` uses LSTMVis's default 0.3 when at least
1% of the shown h values (real steps of every traced sample) exceed it, and
otherwise the 90th percentile of those values (an untrained or small-valued
layer would otherwise be off everywhere); the page states which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnlens.trace import _ACTIVE, Recorder
from rnnlens.explain import stats
from rnnlens.explain.graph import cell_kind, state_names

#: Target size of one chunk's trace (bytes).
CHUNK_BYTES = 256 * 2 ** 20

LSTMVIS_THRESHOLD = 0.3
MIN_ON_FRACTION = 0.01
AUTO_QUANTILE = 0.9


@dataclass
class ArraySpec:
    """One heatmap of a layer: its name, kind and colour scale."""

    name: str
    kind: str                       # "state" or "gate"
    activation: str | None = None   # for gates
    lo: float = 0.0
    hi: float = 0.0
    diverging: bool = True

    def to_json(self) -> dict:
        return {"name": self.name, "kind": self.kind, "activation": self.activation,
                "lo": float(self.lo), "hi": float(self.hi), "diverging": self.diverging}


@dataclass
class LayerView:
    """What the page shows of one recurrent layer call (one direction)."""

    key: str
    layer: Any = field(repr=False)
    cell: str
    go_backwards: bool
    steps: int
    window: tuple[int, int]
    units: int
    units_shown: int
    specs: list[ArraySpec]
    config: dict
    detail: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    initial: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    detail_mask: np.ndarray | None = field(default=None, repr=False)
    mask: np.ndarray | None = field(default=None, repr=False)     # (S, Tw) all traced
    on: np.ndarray | None = field(default=None, repr=False)       # (S, Tw, U) h > θ
    threshold: float = LSTMVIS_THRESHOLD
    threshold_rule: str = ""
    saturation: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict,
                                                                  repr=False)
    memory_gate: str | None = None
    memory: np.ndarray | None = field(default=None, repr=False)
    memory_never: np.ndarray | None = field(default=None, repr=False)
    node: int | None = None
    direction: str | None = None


class _Recorder(Recorder):
    """``rnnlens.trace``'s recorder that also remembers which layer made each trace."""

    def __init__(self) -> None:
        super().__init__()
        self.layers: dict[str, Any] = {}

    def add(self, layer: Any, result: Any) -> None:
        before = set(self.traces)
        super().add(layer, result)
        for key in self.traces:
            if key not in before:
                self.layers[key] = layer


def run_traced(model: Any, xs: list[np.ndarray]) -> tuple[dict, dict]:
    """``rnnlens.trace(model, xs)`` plus {trace key: layer object}."""
    recorder = _Recorder()
    token = _ACTIVE.set(recorder)
    try:
        model(xs[0] if len(xs) == 1 else list(xs))
    finally:
        _ACTIVE.reset(token)
    return recorder.traces, recorder.layers


def named_arrays(tr: Any, layer: Any) -> list[tuple[str, np.ndarray, str, str | None]]:
    """(name, (B, T, u) array, kind, activation) for every heatmap of one trace."""
    kind = cell_kind(layer)
    config = layer.get_config()
    act, rec = config.get("activation"), config.get("recurrent_activation")
    if kind == "LSTM":
        gates = [(g, tr.gates[g], "gate", act if g == "g" else rec) for g in "ifgo"]
        return [("h", tr.h, "state", None), ("c", tr.c, "state", None), *gates]
    if kind == "GRU":
        gates = [(g, tr.gates[g], "gate", act if g == "hh" else rec) for g in ("z", "r", "hh")]
        return [("h", tr.h, "state", None), *gates]
    if kind == "SimpleRNN":
        return [("h", tr.h, "state", None)]
    names = state_names(layer) + ["h"]
    out = [("h", tr.h, "state", None)]
    for k, s in enumerate(tr.states):
        if k != tr.output_index:
            out.append((names[k] if k < len(names) - 1 else f"s{k}", s, "state", None))
    return out


def initial_names(tr: Any, layer: Any) -> list[tuple[str, np.ndarray]]:
    """(heatmap name, (B, s) initial state) for the states that have a heatmap."""
    kind = cell_kind(layer)
    if kind == "LSTM":
        return [("h", tr.initial_states[0]), ("c", tr.initial_states[1])]
    if kind in ("GRU", "SimpleRNN"):
        return [("h", tr.initial_states[0])]
    names = [n for n, *_ in named_arrays(tr, layer)]
    others = [k for k in range(len(tr.states)) if k != tr.output_index]
    pairs = [("h", tr.initial_states[tr.output_index])]
    return pairs + [(names[j + 1], tr.initial_states[k]) for j, k in enumerate(others)]


def _config(layer: Any) -> dict:
    config = layer.get_config()
    keep = ("units", "activation", "recurrent_activation", "use_bias", "reset_after",
            "return_sequences", "return_state", "go_backwards", "zero_output_for_mask")
    return {k: config[k] for k in keep if k in config and isinstance(
        config[k], (str, int, float, bool))}


class _Builder:
    """Accumulates one LayerView over chunks of traced samples."""

    def __init__(self, key: str, layer: Any, tr: Any, n_traced: int, detail: list[int],
                 max_steps: int, max_units: int):
        self.key, self.layer, self.detail = key, layer, detail
        steps, units = tr.h.shape[1], tr.h.shape[2]
        self.t0 = max(0, steps - max_steps)
        self.max_units = max_units
        self.specs = []
        self.saturation: dict[str, stats.Saturation] = {}
        for name, _, kind, act in named_arrays(tr, layer):
            bounds = stats.gate_bounds(act) if kind == "gate" else None
            spec = ArraySpec(name, kind, act)
            if bounds == stats.SIGMOID_BOUNDS:
                spec.lo, spec.hi, spec.diverging = 0.0, 1.0, False
            elif bounds == stats.TANH_BOUNDS:
                spec.lo, spec.hi = -1.0, 1.0
            self.specs.append(spec)
            if bounds is not None:
                self.saturation[name] = stats.Saturation(min(units, max_units), bounds)
        self.fixed = {s.name for s in self.specs if s.hi > s.lo}
        self.memory_gate = self._memory_gate(layer)
        self.memory = stats.Memory(min(units, max_units), steps) if self.memory_gate else None
        self.view = LayerView(key=key, layer=layer, cell=cell_kind(layer),
                              go_backwards=bool(getattr(layer, "go_backwards", False)),
                              steps=steps, window=(self.t0, steps), units=units,
                              units_shown=min(units, max_units), specs=self.specs,
                              config=_config(layer))
        width = min(units, max_units)
        self.h_window = np.zeros((n_traced, steps - self.t0, width), np.float16)
        self.mask = None if tr.mask is None else np.zeros((n_traced, steps - self.t0), bool)
        self.detail_rows: dict[int, dict] = {}

    @staticmethod
    def _memory_gate(layer: Any) -> str | None:
        kind = cell_kind(layer)
        rec = layer.get_config().get("recurrent_activation")
        if rec not in stats.UNIT_RANGE:
            return None
        return {"LSTM": "f", "GRU": "z"}.get(kind)

    def add(self, tr: Any, start: int) -> None:
        """One chunk: samples ``start .. start + B`` of the traced set."""
        n = tr.h.shape[0]
        u = self.max_units
        win = slice(self.t0, None)
        arrays = named_arrays(tr, self.layer)
        for name, arr, _, _ in arrays:
            if name in self.saturation:
                self.saturation[name].add(arr[:, :, :u], tr.mask)
            if name not in self.fixed:
                spec = next(s for s in self.specs if s.name == name)
                part = arr[:, win, :u]
                finite = part[np.isfinite(part)]
                if finite.size:
                    spec.hi = max(spec.hi, float(np.max(np.abs(finite))))
                    spec.lo = -spec.hi
        if self.memory is not None:
            gate = dict((a[0], a[1]) for a in arrays)[self.memory_gate]
            self.memory.add(gate[:, :, :u], tr.mask)
        self.h_window[start:start + n] = tr.h[:, win, :u]
        if self.mask is not None:
            self.mask[start:start + n] = tr.mask[:, win]
        initial = dict(initial_names(tr, self.layer))
        for k in range(n):
            if start + k in self.detail:
                self.detail_rows[start + k] = {
                    "arrays": {name: np.array(arr[k, win, :u], np.float32)
                               for name, arr, _, _ in arrays},
                    "initial": {name: np.array(initial[name][k, :u], np.float32)
                                for name in initial}}

    def finish(self, threshold: float | None) -> LayerView:
        view = self.view
        rows = [self.detail_rows[p] for p in self.detail]
        view.detail = {s.name: np.stack([r["arrays"][s.name] for r in rows])
                       for s in self.specs}
        view.initial = {name: np.stack([r["initial"][name] for r in rows])
                        for name in rows[0]["initial"]}
        view.mask = self.mask
        view.detail_mask = None if self.mask is None else self.mask[self.detail]
        view.threshold, view.threshold_rule = pick_threshold(self.h_window, self.mask, threshold)
        view.on = self.h_window > np.float64(view.threshold)     # compared in float64
        view.saturation = {k: s.result() for k, s in self.saturation.items()}
        view.memory_gate = self.memory_gate
        if self.memory is not None:
            view.memory, view.memory_never = self.memory.result()
        for spec in self.specs:
            if spec.hi <= spec.lo:
                spec.lo, spec.hi = -1.0, 1.0
        return view


def pick_threshold(h: np.ndarray, mask: np.ndarray | None, threshold: float | None
                   ) -> tuple[float, str]:
    """The on/off threshold for pattern search and the sentence that states it."""
    if threshold is not None:
        return float(threshold), f"h > {threshold:g} (given)"
    values = np.asarray(h if mask is None else h[mask], np.float32).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0 or np.mean(values > LSTMVIS_THRESHOLD) >= MIN_ON_FRACTION:
        return LSTMVIS_THRESHOLD, "h > 0.3 (LSTMVis's default)"
    theta = float(np.quantile(values, AUTO_QUANTILE))
    return theta, (f"h > {theta:.4g}: the 90th percentile of the shown h (fewer than 1% "
                   "of the values exceed LSTMVis's default 0.3)")


def trace_bytes(traces: dict) -> int:
    """Bytes of one trace's arrays (to size the chunks)."""
    total = 0
    for tr in traces.values():
        total += sum(s.nbytes for s in tr.states) + sum(g.nbytes for g in tr.gates.values())
    return total


def collect(model: Any, xs: list[np.ndarray], detail: list[int], max_steps: int,
            max_units: int, threshold: float | None, first: dict | None = None
            ) -> list[LayerView]:
    """Traces every sample of ``xs`` (the traced set) in chunks; one view per layer call.

    Args:
        model: the model.
        xs: the traced samples, one array per model input.
        detail: positions in the traced set whose heatmaps the page draws.
        max_steps, max_units: the window.
        threshold: the pattern threshold, or None (see the module docstring).
        first: the trace of sample 0 alone, if already made (sizes the chunks).
    """
    n = len(xs[0])
    if first is None:
        first = run_traced(model, [a[:1] for a in xs])
    per_sample = max(trace_bytes(first[0]), 1)
    chunk = int(min(max(CHUNK_BYTES // per_sample, 1), n))
    builders: dict[str, _Builder] = {}
    for start in range(0, n, chunk):
        traces, layers = run_traced(model, [a[start:start + chunk] for a in xs])
        for key, tr in traces.items():
            if key not in builders:
                builders[key] = _Builder(key, layers[key], tr, n, detail, max_steps,
                                         max_units)
            builders[key].add(tr, start)
    return [b.finish(threshold) for b in builders.values()]
