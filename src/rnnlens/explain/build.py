"""``explain(model, x)``: choose the samples, trace them, attribute, and size the page.

Samples: with more than ``max_samples`` samples, ``max_samples`` evenly
spaced ones are traced (``round(linspace(0, N - 1, max_samples))``); only
their rows are read (a memory-mapped ``.npy`` stays on disk otherwise). Of
those, the *detail* samples (heatmaps, step view, attribution) are ``sample``
when given, else as many of the traced samples, in order, as the page's size
budget ``max_bytes`` holds (at least one). Pattern search and the summary
statistics use every traced sample.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens.explain import attribution as attr_mod
from rnnlens.explain import collect as collect_mod
from rnnlens.explain import encode, graph
from rnnlens.explain.page import Explanation, Part, asset_size

#: The default page size budget (bytes).
MAX_BYTES = 9_500_000


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"explain: {name} must be a positive integer, received {value!r}.")
    if value < 1:
        raise ValueError(f"explain: {name} must be a positive integer, received {value}.")
    return int(value)


def as_model(model: Any, x: Any) -> Any:
    """The model to explain: a Model / Sequential, or a recurrent layer wrapped in one."""
    from rnnlens.layers import Input
    from rnnlens.models import Model

    if isinstance(model, Model):
        return model
    if graph.is_recurrent(model):
        shape = np.shape(x[0] if isinstance(x, (list, tuple)) and len(x) == 1 else x)
        if len(shape) != 3:
            raise ValueError(f"explain: layer '{model.name}' needs x of shape (samples, "
                             f"steps, features); received shape {shape}.")
        inputs = Input(shape=shape[1:])
        return Model(inputs, model(inputs), name=f"{model.name}_model")
    raise TypeError(f"explain: expected a rnnlens Model, Sequential or recurrent layer, "
                    f"received {type(model).__name__}. Build a model first: "
                    "Model(inputs, outputs).")


def input_list(model: Any, x: Any) -> list[Any]:
    """``x`` as one array-like per model input (memory-mapped arrays stay mapped)."""
    specs = list(model.inputs)
    if isinstance(x, dict):
        names = [t.name for t in specs]
        missing = [n for n in names if n not in x]
        if missing:
            raise ValueError(f"explain: x is missing inputs {missing}; the model's inputs "
                             f"are {names}.")
        items = [x[n] for n in names]
    elif len(specs) == 1:
        single = isinstance(x, (list, tuple)) and len(x) == 1 and hasattr(x[0], "shape")
        items = [x[0] if single else x]
    elif isinstance(x, (list, tuple)) and len(x) == len(specs):
        items = list(x)
    else:
        raise ValueError(f"explain: the model has {len(specs)} inputs "
                         f"({', '.join(t.name for t in specs)}); pass x as a list of "
                         f"{len(specs)} arrays.")
    out = [a if isinstance(a, np.ndarray) else np.asarray(a) for a in items]
    for a, spec in zip(out, specs):
        if a.ndim != len(spec.shape):
            raise ValueError(f"explain: input '{spec.name}' expects shape {spec.shape} "
                             f"(samples first); received shape {a.shape}.")
        if a.shape[0] == 0:
            raise ValueError(f"explain: input '{spec.name}' has no samples.")
    if len({a.shape[0] for a in out}) > 1:
        raise ValueError("explain: every input needs the same number of samples; received "
                         f"{[a.shape[0] for a in out]}.")
    return out


def select(total: int, max_samples: int, sample: Any) -> tuple[list[int], list[int] | None, str]:
    """(traced sample indices, detail positions in them or None, the page's sentence)."""
    wanted = None
    if sample is not None:
        items = [sample] if isinstance(sample, (int, np.integer)) else \
            list(sample) if isinstance(sample, (list, tuple, np.ndarray)) else [sample]
        if not items or any(isinstance(s, bool) or not isinstance(s, (int, np.integer))
                            for s in items):
            raise TypeError(f"explain: sample must be a sample index or a list of them, "
                            f"received {sample!r}.")
        bad = [int(s) for s in items if not 0 <= s < total]
        if bad:
            raise ValueError(f"explain: sample {bad[0]} is out of range: x has {total} "
                             f"samples (0 .. {total - 1}).")
        wanted = list(dict.fromkeys(int(s) for s in items))
        if len(wanted) > max_samples:
            raise ValueError(f"explain: {len(wanted)} samples were asked for but "
                             f"max_samples={max_samples}; raise max_samples.")
    if total <= max_samples:
        traced = list(range(total))
        how = "x has one sample" if total == 1 else f"all {total} samples of x are traced"
    else:
        traced = sorted({int(round(v)) for v in np.linspace(0, total - 1, max_samples)})
        how = (f"{len(traced)} of the {total} samples of x are traced, evenly spaced "
               f"(indices {_listing(traced)})")
        for s in wanted or []:
            if s not in traced:
                traced.remove(min(traced, key=lambda t: (abs(t - s), t) if t not in wanted
                                   else (math.inf, t)))
                traced = sorted(traced + [s])
    detail = None if wanted is None else [traced.index(s) for s in wanted]
    return traced, detail, how


def _listing(values: list[int]) -> str:
    text = ", ".join(map(str, values[:6]))
    return text + (f", ..., {values[-1]}" if len(values) > 6 else "")


def _view_sizes(first: dict, layers: dict, max_steps: int, max_units: int
                ) -> tuple[int, int]:
    """(bytes per detail sample, bytes per traced sample) of the views, from one trace."""
    per_detail = per_traced = 0
    for key, tr in first.items():
        tw = min(tr.h.shape[1], max_steps)
        for _, arr, _, _ in collect_mod.named_arrays(tr, layers[key]):
            per_detail += encode.float_size(tw * min(arr.shape[2], max_units))
            per_detail += encode.float_size(min(arr.shape[2], max_units))
        per_traced += tw * (min(tr.h.shape[2], max_units) + 1) / 8
    return per_detail, int(per_traced * 4 / 3)


def _fitting(first: tuple, traced: int, targets: int, in_steps: list[int], max_steps: int,
             max_units: int, max_bytes: int) -> list[int]:
    """The detail samples (first positions of the traced set) that fit in ``max_bytes``."""
    per_detail, per_traced = _view_sizes(first[0], first[1], max_steps, max_units)
    per_detail += sum(encode.float_size(targets * s) for s in in_steps)
    fixed = asset_size() + per_traced * traced + 60_000 + 40 * targets
    fit = (max_bytes - fixed) // max(per_detail, 1)
    return list(range(int(min(max(fit, 1), traced))))


def explain(model: Any, x: Any, sample: Any = None, max_samples: int = 32,
            max_steps: int = 500, max_units: int = 256, *, threshold: float | None = None,
            max_bytes: int = MAX_BYTES, attribution: bool = True, title: str | None = None,
            notes: list[str] | tuple = ()) -> Explanation:
    """An explainer page of ``model`` on ``x``: graph, heatmaps, steps, patterns, attribution.

    Args:
        model: a ``Model`` / ``Sequential`` (or a recurrent layer, wrapped in a model).
        x: the input as for ``predict`` (a list or dict for several inputs);
            NumPy memory-mapped arrays are read only at the traced rows.
        sample: the index (or list of indices) of the samples drawn in detail;
            None: the first traced samples that fit in ``max_bytes``.
        max_samples: at most this many samples are traced (evenly spaced).
        max_steps: the last ``max_steps`` steps of each layer are shown.
        max_units: the first ``max_units`` units of each layer are shown.
        threshold: h above it is "on" in pattern search; None: automatic (see
            ``rnnlens.explain.collect``).
        max_bytes: the page size budget that decides how many samples get detail.
        attribution: compute the input attribution (one backward pass per attributed
            output value and detail sample: the slow part for large layers).
        title: the page's title (default: the model's name).
        notes: extra sentences shown at the top of the page.

    Returns:
        An :class:`Explanation`: ``.save(path)``, ``.html()``, shown by Jupyter.
    """
    max_samples = _positive(max_samples, "max_samples")
    max_steps = _positive(max_steps, "max_steps")
    max_units = _positive(max_units, "max_units")
    max_bytes = _positive(max_bytes, "max_bytes")
    if threshold is not None and not (isinstance(threshold, (int, float, np.floating))
                                      and math.isfinite(threshold)):
        raise ValueError(f"explain: threshold must be a finite number or None, received "
                         f"{threshold!r}.")
    model = as_model(model, x)
    if not model.inputs_known():                           # a Sequential without an Input
        model._ensure_graph(x)
    xs = input_list(model, x)
    total = xs[0].shape[0]
    traced, detail, how = select(total, max_samples, sample)
    data = [np.asarray(a[traced]) for a in xs]             # reads the traced rows only
    nodes, tensors = graph.describe(model)
    first = collect_mod.run_traced(model, [a[:1] for a in data])
    chosen = attr_mod.target_tensors(tensors)
    targets = attr_mod.choose_targets(chosen, attr_mod.output_shapes(model, chosen, data),
                                      max_steps, max_units) if attribution else []
    in_steps = [min(a.shape[1], max_steps) if a.ndim > 1 else 1 for a in data]
    if detail is None:
        detail = _fitting(first, len(traced), len(targets), in_steps, max_steps, max_units,
                          max_bytes)
    views = collect_mod.collect(model, data, detail, max_steps, max_units, threshold, first)
    _link(views, nodes)
    per_sample = max(collect_mod.trace_bytes(first[0]), 1)
    attrs, problems = attr_mod.attribute(model, chosen, targets, [a[detail] for a in data],
                                         max_steps, per_sample)
    inputs = [{"name": t.name, "shape": str(t.shape), "steps": int(a.shape[1]) if a.ndim > 1
               else 1, "shown": s, "dtype": str(a.dtype)}
              for t, a, s in zip(model.inputs, data, in_steps)]
    notes = [how, *notes] + ([] if attribution else ["Input attribution was not computed."])
    part = Part(title=title or model.name, model=model.name, notes=notes,
                total=total, traced=traced, detail=detail, inputs=inputs, nodes=nodes,
                tensors=tensors, views=views, targets=targets, attribution=attrs,
                attribution_problems=problems)
    return Explanation([part])


def _link(views: list, nodes: list) -> None:
    """Each view's graph node (by layer object; a layer called twice: in call order)."""
    from rnnlens.layers import Bidirectional

    calls: dict[int, list] = {}
    for node in nodes:
        if not node.recurrent:
            continue
        layer = node.layer
        subs = [(layer.forward_layer, "forward"), (layer.backward_layer, "backward")] \
            if isinstance(layer, Bidirectional) else [(layer, None)]
        for sub, direction in subs:
            calls.setdefault(id(sub), []).append((node.id, direction))
    for view in views:
        queue = calls.get(id(view.layer))
        if queue:
            view.node, view.direction = queue.pop(0)
