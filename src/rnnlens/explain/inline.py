"""Inline views for Jupyter: the explainer page's pieces for a ``Trace`` and a ``Model``.

``LayerTrace._repr_html_``, ``Trace._repr_html_`` and ``Model._repr_html_``
delegate here. Each returns the explainer page (:mod:`rnnlens.explain.page`,
unchanged) inside an ``<iframe srcdoc>``, as ``Explanation._repr_html_``
does, with a few sections hidden by an extra style sheet:

* a **trace** shows its heatmaps (h, c, every gate or state; units x steps),
  the returned values h_T / c_T, the step view, pattern search and the
  per-unit summary; no graph, no attribution (a trace has no model to
  differentiate). A trace records arrays, not the layer, so what the page
  otherwise reads from the layer is inferred from the arrays:

  - the cell: LSTM when the gates are i, f, g, o and there is a c; GRU for
    z, r, hh; SimpleRNN for one state and no gates; otherwise a user or
    stacked cell (its states ``s0``, ``s1``, ... beside h);
  - a gate's range: [0, 1] when all its values lie there (saturation below
    0.05 / above 0.95; for LSTM f and GRU z also the memory length), [-1, 1]
    for the candidates g / hh when all their values lie there, otherwise
    unbounded (no saturation); the step view writes the activations as
    ``rec`` and ``act`` (the layer's ``recurrent_activation`` / ``activation``);
  - ``return_sequences``: the layer's output has a time axis.

* a **model** shows its graph (every layer call, every tensor's shape and
  what a recurrent output is) and, below it, ``model.summary()``.

Size is bounded: at most ``max_samples`` samples (pattern search and the
summary), the first ``detail`` of them drawn as heatmaps, the last
``max_steps`` steps and the first ``max_units`` units (feature maps of
ConvLSTM layers are flattened into units). The page says what is shown.
"""

from __future__ import annotations

import html as html_mod
import math
from typing import Any

import numpy as np

from rnnlens.explain import stats
from rnnlens.explain.collect import ArraySpec, LayerView, pick_threshold
from rnnlens.explain.graph import NodeInfo, TensorInfo
from rnnlens.explain.page import Explanation, Part

MAX_SAMPLES = 16
DETAIL = 4
MAX_STEPS = 200
MAX_UNITS = 64
#: Tallest iframe (pixels); the page scrolls inside it.
MAX_HEIGHT = 900

_GATES = {"LSTM": ("i", "f", "g", "o"), "GRU": ("z", "r", "hh")}
_CANDIDATE = {"LSTM": "g", "GRU": "hh"}
_MEMORY = {"LSTM": "f", "GRU": "z"}

#: Sections hidden for a trace / for a model (the page's section ids).
_TRACE_CSS = ("#graph, #attribution { display: none; }\n"
              "#app { display: flex; flex-direction: column; }\n"
              "#app > header { order: -2; } #layer { order: -1; }\n"
              "table.configs th:last-child, table.configs td:last-child { display: none; }\n"
              "tr.mine td { background: #fff; font-weight: normal; }\n")
_MODEL_CSS = ("#notes, #returns, #layer, #step, #pattern, #attribution, #summary "
              "{ display: none; }\nbody { padding-bottom: 8px; }\n")


def cell_of(tr: Any) -> str:
    """LSTM, GRU, SimpleRNN or "cell", from the arrays a trace holds."""
    names = set(tr.gates)
    if names == set(_GATES["LSTM"]) and tr.c is not None:
        return "LSTM"
    if names == set(_GATES["GRU"]):
        return "GRU"
    if not names and len(tr.states) == 1:
        return "SimpleRNN"
    return "cell"


def _flat(arr: np.ndarray) -> np.ndarray:
    """(B, T, u) as is; (B, T, *O, F) feature maps -> (B, T, prod(O) * F)."""
    arr = np.asarray(arr)
    return arr if arr.ndim == 3 else arr.reshape(arr.shape[0], arr.shape[1], -1)


def _named(tr: Any, kind: str) -> list[tuple[str, np.ndarray, np.ndarray | None, str]]:
    """(name, (B, T, u) array, (B, u) initial state or None, "state" / "gate")."""
    init = [np.asarray(s).reshape(len(s), -1) for s in tr.initial_states]
    out = [("h", _flat(tr.h), init[tr.output_index] if init else None, "state")]
    if kind == "LSTM":
        out.append(("c", _flat(tr.c), init[1] if len(init) > 1 else None, "state"))
    elif kind == "cell":
        for k, s in enumerate(tr.states):
            if k != tr.output_index:
                out.append((f"s{k}", _flat(s), init[k] if k < len(init) else None, "state"))
    order = _GATES.get(kind, tuple(sorted(tr.gates)))
    return out + [(g, _flat(tr.gates[g]), None, "gate") for g in order]


def value_range(values: np.ndarray) -> tuple[float, float] | None:
    """SIGMOID_BOUNDS when every finite value is in [0, 1], TANH_BOUNDS in [-1, 1]."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    if lo >= 0.0 and hi <= 1.0:
        return stats.SIGMOID_BOUNDS
    if lo >= -1.0 and hi <= 1.0:
        return stats.TANH_BOUNDS
    return None


def _spec(name: str, kind: str, window: np.ndarray, bounds: Any) -> ArraySpec:
    if bounds == stats.SIGMOID_BOUNDS:
        return ArraySpec(name, kind, "rec, in [0, 1]", 0.0, 1.0, False)
    if bounds == stats.TANH_BOUNDS:
        return ArraySpec(name, kind, "act, in [-1, 1]", -1.0, 1.0, True)
    finite = window[np.isfinite(window)]
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    peak = peak if peak > 0 else 1.0
    return ArraySpec(name, kind, None if kind == "state" else "unbounded", -peak, peak, True)


def layer_view(key: str, tr: Any, samples: int, detail: int, max_steps: int,
               max_units: int, node: int | None = None) -> LayerView:
    """The page's view of one ``LayerTrace`` (its first ``samples`` samples)."""
    kind = cell_of(tr)
    steps = int(tr.h.shape[1])
    t0 = max(0, steps - max_steps)
    named = _named(tr, kind)
    units = int(named[0][1].shape[2])
    u = min(units, max_units)
    mask = None if tr.mask is None else np.asarray(tr.mask[:samples, t0:], bool)   # (S, Tw)
    view = LayerView(key=key, layer=None, cell=kind, go_backwards=bool(tr.go_backwards),
                     steps=steps, window=(t0, steps), units=units, units_shown=u, specs=[],
                     config=_config(tr, kind, units), node=node)
    for name, arr, initial, role in named:
        window = np.asarray(arr[:samples, t0:, :max_units], np.float32)   # (S, Tw, U)
        bounds = value_range(window) if role == "gate" else None
        if bounds is not None and name == _CANDIDATE.get(kind):
            bounds = stats.TANH_BOUNDS                     # a candidate: tanh-like
        view.specs.append(_spec(name, role, window, bounds))
        view.detail[name] = window[:detail]
        if initial is not None:
            view.initial[name] = np.asarray(initial[:detail, :max_units], np.float32)
        if bounds is not None:
            sat = stats.Saturation(window.shape[2], bounds)
            sat.add(window, mask)
            view.saturation[name] = sat.result()
        if name == _MEMORY.get(kind) and bounds == stats.SIGMOID_BOUNDS:
            memory = stats.Memory(window.shape[2], window.shape[1])
            memory.add(window, mask)
            view.memory_gate = name
            view.memory, view.memory_never = memory.result()
    h = view.detail["h"] if samples <= detail else np.asarray(named[0][1][:samples, t0:, :u])
    view.mask, view.detail_mask = mask, None if mask is None else mask[:detail]
    view.threshold, view.threshold_rule = pick_threshold(h, mask, None)
    view.on = np.asarray(h, np.float32) > np.float64(view.threshold)
    return view


def _config(tr: Any, kind: str, units: int) -> dict:
    out = np.asarray(tr.output) if tr.output is not None else None
    config: dict = {"units": units, "activation": "act", "recurrent_activation": "rec",
                    "go_backwards": bool(tr.go_backwards)}
    if out is not None:
        config["return_sequences"] = bool(out.ndim == np.ndim(tr.h) and out.ndim >= 3
                                          and out.shape[1] == tr.h.shape[1])
    return config


def _node(k: int, key: str, view: LayerView, tensors: list) -> NodeInfo:
    ids = []
    for name in ("h", "c") if view.cell == "LSTM" else ("h",):
        tid = len(tensors)
        tensors.append(TensorInfo(tid, f"{key}.{name}", (None, view.steps, view.units),
                                  "sequence", f"{name} at every step", k))
        ids.append(tid)
    return NodeInfo(k, key, view.cell, 0, [], ids, f"units={view.units}", True)


def trace_part(traces: dict, title: str = "trace", max_samples: int = MAX_SAMPLES,
               detail: int = DETAIL, max_steps: int = MAX_STEPS,
               max_units: int = MAX_UNITS) -> Part:
    """A page part for ``{name: LayerTrace}``: one view per layer call."""
    if not traces:
        raise ValueError("The trace has no recurrent layer call to show.")
    batch = int(next(iter(traces.values())).h.shape[0])
    samples = min(batch, max_samples)
    detail = min(samples, detail)
    nodes: list[NodeInfo] = []
    tensors: list[TensorInfo] = []
    views = []
    for key, tr in traces.items():
        view = layer_view(key, tr, samples, detail, max_steps, max_units, node=len(nodes))
        nodes.append(_node(len(nodes), key, view, tensors))
        views.append(view)
    notes = [f"{samples} of the {batch} traced samples are shown" if samples < batch else
             ("the trace has one sample" if batch == 1 else f"all {batch} traced samples "
              "are shown"),
             "A trace holds arrays, not layers: the cell is recognised from its gates, a "
             "gate's range from its values, and rec / act stand for the layer's "
             "recurrent_activation / activation. The summary covers the shown steps."]
    return Part(title=title, model=title, notes=notes, total=samples,
                traced=list(range(samples)), detail=list(range(detail)), inputs=[],
                nodes=nodes, tensors=tensors, views=views, targets=[], attribution=[])


def _frame(part: Part, css: str, height: int) -> str:
    page = Explanation([part]).html().replace("</style></head>", css + "</style></head>", 1)
    return (f'<iframe class="rnnlens-inline" style="width:100%;height:{height}px;'
            'border:1px solid #ccc" '
            f'srcdoc="{html_mod.escape(page, quote=True)}"></iframe>')


def _trace_height(views: list) -> int:
    """Pixels for a trace page: the header and the heatmaps of the tallest layer."""
    tallest = max(sum(min(22.0, max(1.0, 320.0 / v.units_shown)) * v.units_shown + 6
                      for _ in v.specs) for v in views)
    return int(min(MAX_HEIGHT, 440 + tallest))


def trace_html(traces: dict, title: str = "trace", **limits: Any) -> str:
    """``_repr_html_`` of a ``Trace`` (every layer call) or of one ``LayerTrace``."""
    part = trace_part(traces, title, **limits)
    return _frame(part, _TRACE_CSS, _trace_height(part.views))


def model_part(model: Any) -> Part:
    """A page part with the model's graph only (no data)."""
    from rnnlens.explain.graph import describe

    nodes, tensors = describe(model)
    return Part(title=model.name, model=model.name, notes=[], total=1, traced=[0],
                detail=[0], inputs=[], nodes=nodes, tensors=tensors, views=[], targets=[],
                attribution=[])


def _graph_height(nodes: list) -> int:
    """The page's graph height (page.js's layout: columns by depth, boxes stacked)."""
    columns: dict[int, float] = {}
    for n in nodes:
        lines = max(1, math.ceil(len(n.flags) / 44)) if n.flags else 1
        columns[n.depth] = columns.get(n.depth, 10) + 46 + 14 * (lines - 1) \
            + 20 * len(n.outputs) + 22
    return int(max(columns.values(), default=40))


def model_html(model: Any) -> str | None:
    """``_repr_html_`` of a model: its graph and ``summary()``; None before it is built."""
    if not (getattr(model, "built", False) and model.inputs_known()):
        return None
    part = model_part(model)
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    summary = html_mod.escape("\n".join(lines))
    height = int(min(MAX_HEIGHT, 240 + _graph_height(part.nodes)))
    return (_frame(part, _MODEL_CSS, height)
            + f'<pre class="rnnlens-summary" style="line-height:1.2">{summary}</pre>')


__all__ = ["trace_html", "trace_part", "model_html", "model_part", "layer_view", "cell_of",
           "value_range"]
