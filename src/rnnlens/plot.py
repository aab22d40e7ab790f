"""Figures for papers and notebooks, drawn with matplotlib (``pip install "rnnlens[plot]"``).

The explainer page's views as static figures (rows are units, columns are steps
in processing order, masked steps hatched grey, as on the page):

* :func:`heatmaps`: h, c and every gate of a traced layer call for one sample,
  each an image of ``array[sample].T`` (units x steps);
* :func:`gates`: every gate (and h, c) of one unit over the steps, as lines;
* :func:`saturation`: per unit, the fraction of real steps each gate spends
  above its upper bound (bars up) and below its lower bound (bars down):
  0.95 / 0.05 for gates in [0, 1], 0.95 / -0.95 for the candidates;
* :func:`memory`: per unit, the median number of steps until the running
  product of the forget gate (GRU: update gate) falls below 1/2; units that
  never forget within the sequence (median +inf) get a hatched bar to the top;
* :func:`attribution`: d(output value) / d(input step), one bar per step, from
  an ``rnnlens.explain`` page's data.

``heatmaps`` and ``gates`` take what ``rnnlens.trace`` returns (a ``Trace`` or
one ``LayerTrace``); ``saturation`` and ``memory`` what
``rnnlens.trace_stats.compute`` returns. Each function returns the matplotlib
``Figure`` (made with ``pyplot``, so notebooks show it; end the line with ``;``
when it is the cell's last expression, or it is shown twice). Pass ``ax`` /
``axes`` to draw into existing axes.

matplotlib is imported only inside these functions: ``import rnnlens`` never
needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

SIGMOID_BOUNDS = (0.05, 0.95)
TANH_BOUNDS = (-0.95, 0.95)
_CANDIDATES = ("g", "hh")


def _pyplot() -> Any:
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "rnnlens.plot draws with matplotlib, which is not installed: "
            "pip install \"rnnlens[plot]\" (or pip install \"matplotlib>=3.7\").") from None
    return plt


# -- what to draw --------------------------------------------------------------


def _layer_items(trace: Any, layer: Any) -> list[tuple[str, Any]]:
    """[(name, LayerTrace)] of a Trace / dict / LayerTrace, or only ``layer``."""
    from rnnlens.trace import LayerTrace

    if isinstance(trace, LayerTrace):
        items = [(trace.layer, trace)]
    elif isinstance(trace, Mapping) and all(isinstance(v, LayerTrace) for v in trace.values()):
        items = list(trace.items())
    else:
        raise TypeError(f"Expected what rnnlens.trace returns (a Trace or a LayerTrace), "
                        f"received {type(trace).__name__}.")
    if not items:
        raise ValueError("The trace has no recurrent layer call to draw.")
    if layer is None:
        return items
    names = [k for k, _ in items]
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not -len(items) <= layer < len(items):
            raise ValueError(f"layer={layer} is out of range: the trace has {len(items)} "
                             f"layer call(s) {names}.")
        return [items[int(layer)]]
    if layer not in names:
        raise ValueError(f"layer={layer!r} is not in the trace; its layer calls are {names}.")
    return [items[names.index(layer)]]


def _flat(arr: np.ndarray) -> np.ndarray:
    """(B, T, u); ConvLSTM feature maps (B, T, *O, F) flattened to units."""
    arr = np.asarray(arr)
    return arr if arr.ndim == 3 else arr.reshape(arr.shape[0], arr.shape[1], -1)


def _arrays(tr: Any, what: Any) -> list[tuple[str, np.ndarray]]:
    """[(name, (B, T, u))] for ``what``: "h", "c", "gates", "states", a gate or state name.

    "c" and "gates" add nothing for a layer without them; a named gate or state
    that the layer does not have is an error.
    """
    from rnnlens.explain.inline import _GATES, cell_of

    kind = cell_of(tr)
    order = list(_GATES.get(kind, sorted(tr.gates)))
    states = {f"s{k}": s for k, s in enumerate(tr.states) if k != tr.output_index}
    items = [what] if isinstance(what, str) else list(what)
    out: list[tuple[str, np.ndarray]] = []
    for item in items:
        if item == "h":
            out.append(("h", tr.h))
        elif item == "c":
            out += [("c", tr.c)] if tr.c is not None else []
        elif item == "gates":
            out += [(g, tr.gates[g]) for g in order]
        elif item == "states":
            out += [("h", tr.h)] + list(states.items())
        elif item in tr.gates:
            out.append((item, tr.gates[item]))
        elif item in states:
            out.append((item, states[item]))
        else:
            raise ValueError(f"what={item!r}: layer '{tr.layer}' has h"
                             f"{', c' if tr.c is not None else ''}, gates {order} and "
                             f"states {list(states)}; use those names, 'gates' or 'states'.")
    seen: dict[str, np.ndarray] = {}
    for name, arr in out:
        seen.setdefault(name, _flat(arr))
    return list(seen.items())


def _sample(tr: Any, sample: Any) -> int:
    if isinstance(sample, bool) or not isinstance(sample, (int, np.integer)):
        raise TypeError(f"sample must be an integer index, received {sample!r}.")
    batch = tr.h.shape[0]
    if not -batch <= sample < batch:
        raise ValueError(f"sample={sample} is out of range: the trace has {batch} sample(s).")
    return int(sample) % batch


def _scale(name: str, values: np.ndarray) -> tuple[str, float, float]:
    """(colour map, vmin, vmax): [0, 1] gates white-to-green, others diverging at 0."""
    finite = values[np.isfinite(values)]
    lo = float(finite.min()) if finite.size else 0.0
    hi = float(finite.max()) if finite.size else 0.0
    if name not in ("h", "c") and not name.startswith("s") and lo >= 0.0 and hi <= 1.0:
        return "Greens", 0.0, 1.0
    if name in _CANDIDATES and lo >= -1.0 and hi <= 1.0:
        return "RdBu_r", -1.0, 1.0
    peak = max(abs(lo), abs(hi)) or 1.0
    return "RdBu_r", -peak, peak


def _shade_mask(ax: Any, mask: np.ndarray | None) -> None:
    """Hatches every run of masked steps (``mask`` (T,) bool, True = real)."""
    if mask is None:
        return
    t = 0
    while t < len(mask):
        if mask[t]:
            t += 1
            continue
        start = t
        while t < len(mask) and not mask[t]:
            t += 1
        ax.axvspan(start - 0.5, t - 0.5, facecolor=(0.6, 0.6, 0.6, 0.35), hatch="///",
                   edgecolor=(0.35, 0.35, 0.35, 0.6), linewidth=0, label="_masked")


def _integer_ticks(axis: Any, n: int, first: int = 0) -> None:
    """Ticks at whole steps / units: every one up to 12, else a few whole ones."""
    from matplotlib.ticker import MaxNLocator

    if n <= 12:
        axis.set_ticks(range(first, first + n))
    else:
        axis.set_major_locator(MaxNLocator(nbins=8, integer=True, min_n_ticks=1))


def _axes_for(n: int, axes: Any, size: tuple[float, float], plt: Any) -> tuple[Any, list]:
    """(figure, n axes): new ones, or ``axes`` (one Axes for n == 1, else n of them)."""
    if axes is None:
        fig, grid = plt.subplots(n, 1, figsize=size, squeeze=False, layout="constrained")
        return fig, list(grid[:, 0])
    given = list(np.ravel(axes)) if isinstance(axes, (list, tuple, np.ndarray)) else [axes]
    if len(given) != n:
        raise ValueError(f"This figure has {n} panel(s) but {len(given)} axes were given; "
                         f"pass {n} axes or none.")
    return given[0].figure, given


# -- figures -------------------------------------------------------------------


def heatmaps(trace: Any, layer: Any = None, sample: int = 0,
             what: Any = ("h", "c", "gates"), axes: Any = None, colorbar: bool = True) -> Any:
    """Heatmaps (units x steps) of h, c and the gates of traced layer calls, for one sample.

    Args:
        trace: ``rnnlens.trace(model, x)`` (every layer call) or one ``LayerTrace``.
        layer: a layer call's name (or index) to draw only that one.
        sample: the sample (index into the traced batch).
        what: names among "h", "c", "gates" (all gates in the cell's order),
            "states" (every state of a stacked or user cell), or single gate /
            state names ("f", "z", "s1", ...).
        axes: an Axes (one panel) or a list of Axes (one per panel) to draw into.
        colorbar: add a colour bar beside each panel.

    Returns:
        The ``Figure``. The panels are the axes with an image (the others are
        colour bars); panel k's image holds ``array[sample].T`` exactly
        (``.images[0].get_array()``); masked steps are hatched.
    """
    plt = _pyplot()
    panels = []
    for key, tr in _layer_items(trace, layer):
        s = _sample(tr, sample)
        mask = None if tr.mask is None else np.asarray(tr.mask[s], bool)
        for name, arr in _arrays(tr, what):
            panels.append((key, name, arr[s].T, mask, tr.go_backwards))      # (u, T)
    if not panels:
        raise ValueError(f"Nothing to draw for what={what!r}.")
    heights = [min(2.6, max(0.9, 0.12 * p[2].shape[0] + 0.5)) for p in panels]
    fig, axs = _axes_for(len(panels), axes, (7.0, sum(heights) + 0.4), plt)
    for ax, (key, name, values, mask, _) in zip(axs, panels):
        cmap, lo, hi = _scale(name, values)
        image = ax.imshow(values, aspect="auto", interpolation="nearest", cmap=cmap,
                          vmin=lo, vmax=hi, origin="upper")
        _shade_mask(ax, mask)
        ax.set_title(f"{key}: {name}", loc="left", fontsize=9)
        ax.set_ylabel("unit", fontsize=8)
        ax.tick_params(labelsize=7)
        _integer_ticks(ax.yaxis, values.shape[0])
        _integer_ticks(ax.xaxis, values.shape[1])
        if colorbar:
            fig.colorbar(image, ax=ax, pad=0.01, fraction=0.04).ax.tick_params(labelsize=7)
    axs[-1].set_xlabel("step (processing order)" if any(p[4] for p in panels) else "step",
                       fontsize=8)
    return fig


def gates(trace: Any, layer: Any = None, sample: int = 0, unit: int = 0,
          states: bool = True, ax: Any = None) -> Any:
    """Every gate of one unit over the steps (and h, c when ``states``), as lines.

    Args:
        trace: a ``Trace`` (``layer`` picks the call; default the first) or a ``LayerTrace``.
        layer: the layer call's name or index.
        sample: the sample.
        unit: the unit (for feature maps: the flattened position x filter index).
        states: also draw h (and c) dashed.
        ax: an Axes to draw into.

    Returns:
        The ``Figure``; each line's y data is ``array[sample, :, unit]`` and its
        label the array's name.
    """
    plt = _pyplot()
    key, tr = _layer_items(trace, 0 if layer is None else layer)[0]
    s = _sample(tr, sample)
    arrays = _arrays(tr, ("h", "c", "gates") if states else ("gates",))
    if not arrays:
        raise ValueError(f"Layer '{key}' has no gates (a SimpleRNN or user cell); "
                         "pass states=True to draw h.")
    width = arrays[0][1].shape[2]
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)) \
            or not -width <= unit < width:
        raise ValueError(f"unit={unit!r} is out of range: layer '{key}' has {width} units.")
    fig, (axis,) = _axes_for(1, ax, (7.0, 3.0), plt)
    steps = np.arange(tr.h.shape[1])
    for name, arr in arrays:
        style = "--" if name in ("h", "c") else "-"
        axis.plot(steps, arr[s, :, unit], style, marker="o", markersize=3, label=name)
    _shade_mask(axis, None if tr.mask is None else np.asarray(tr.mask[s], bool))
    axis.set_title(f"{key}: unit {unit}, sample {s}", loc="left", fontsize=9)
    axis.set_xlabel("step", fontsize=8)
    _integer_ticks(axis.xaxis, len(steps))
    axis.legend(fontsize=7, ncol=min(len(arrays), 6), loc="best")
    return fig


def _stats_items(stats: Any, layer: Any, need: str) -> list[tuple[str, dict]]:
    """[(layer name, its statistics)] from ``trace_stats.compute``'s result or one entry."""
    if not isinstance(stats, Mapping):
        raise TypeError(f"Expected what rnnlens.trace_stats.compute returns, received "
                        f"{type(stats).__name__}.")
    items = [("", dict(stats))] if "saturation_low" in stats else list(stats.items())
    if layer is not None:
        items = [(k, v) for k, v in items if k == layer]
        if not items:
            raise ValueError(f"layer={layer!r} is not in the statistics; they have "
                             f"{list(stats)}.")
    if not all(isinstance(v, Mapping) and "saturation_low" in v for _, v in items):
        raise TypeError("Expected what rnnlens.trace_stats.compute returns: "
                        "{layer: {'saturation_low': ..., 'saturation_high': ..., ...}}.")
    items = [(k, v) for k, v in items if v.get(need)]
    if not items:
        raise ValueError(f"No layer in the statistics has {need!r} (saturation needs "
                         "bounded gates; memory length a sigmoid-gated LSTM or GRU).")
    return items


def saturation(stats: Any, layer: Any = None, axes: Any = None) -> Any:
    """Per unit, how often each gate saturates: above its upper bound (up), below (down).

    Args:
        stats: ``rnnlens.trace_stats.compute(model, x)`` (or one layer's entry).
        layer: draw only this layer.
        axes: an Axes (one layer) or one per layer.

    Returns:
        The ``Figure``: per layer one panel of grouped bars; the bars labelled
        ``"<gate> high"`` have heights ``saturation_high[gate]`` and those
        labelled ``"<gate> low"`` heights ``-saturation_low[gate]``.
    """
    plt = _pyplot()
    items = _stats_items(stats, layer, "saturation_high")
    fig, axs = _axes_for(len(items), axes, (7.0, 2.4 * len(items) + 0.3), plt)
    for ax, (key, entry) in zip(axs, items):
        names = list(entry["saturation_high"])
        width = 0.8 / len(names)
        labels: list[str] = []
        for k, g in enumerate(names):
            high = np.asarray(entry["saturation_high"][g], float)
            low = np.asarray(entry["saturation_low"][g], float)
            x = np.arange(len(high)) - 0.4 + (k + 0.5) * width
            lo_b, hi_b = TANH_BOUNDS if g in _CANDIDATES else SIGMOID_BOUNDS
            ax.bar(x, high, width, label=f"{g} high", color=f"C{k}")
            ax.bar(x, -low, width, label=f"{g} low", color=f"C{k}", alpha=0.55)
            labels.append(f"{g} (> {hi_b:g} / < {lo_b:g})")
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        ax.set_ylim(-1.0, 1.0)
        ax.set_yticks([-1, -0.5, 0, 0.5, 1], ["100%", "50%", "0", "50%", "100%"])
        ax.set_ylabel("below  |  above", fontsize=8)
        ax.set_title(f"{key + ': ' if key else ''}saturation per unit (share of real steps "
                     "above the upper bound: up, below the lower: down)", loc="left", fontsize=9)
        ax.set_xticks(np.arange(len(high)))
        ax.tick_params(labelsize=7)
        handles = [c for c in ax.containers if not c.get_label().endswith(" low")]
        ax.legend(handles, labels, fontsize=7, ncol=len(names), loc="upper right")
    axs[-1].set_xlabel("unit", fontsize=8)
    return fig


def memory(stats: Any, layer: Any = None, axes: Any = None) -> Any:
    """Per unit, the median memory length (steps until the gate product falls below 1/2).

    Args:
        stats: ``rnnlens.trace_stats.compute(model, x)`` (or one layer's entry).
        layer: draw only this layer.
        axes: an Axes (one layer) or one per layer.

    Returns:
        The ``Figure``: per layer one panel; the bars labelled ``"memory"`` have
        the finite medians as heights (0 for +inf and undefined units); the
        bars labelled ``"never"`` reach the top for the +inf units (hatched, "∞").
    """
    plt = _pyplot()
    items = _stats_items(stats, layer, "memory_gate")
    fig, axs = _axes_for(len(items), axes, (7.0, 2.2 * len(items) + 0.3), plt)
    for ax, (key, entry) in zip(axs, items):
        lengths = np.asarray(entry["memory_length"], float)
        finite = np.isfinite(lengths)
        top = max(float(lengths[finite].max()) * 1.15 if finite.any() else 1.0, 1.0)
        units = np.arange(len(lengths))
        ax.bar(units, np.where(finite, lengths, 0.0), 0.8, label="memory", color="C0")
        never = np.isposinf(lengths)
        ax.bar(units, np.where(never, top, 0.0), 0.8, label="never", color="none",
               edgecolor="C3", hatch="//")
        for u in units[never]:
            ax.text(u, top * 0.97, "∞", ha="center", va="top", fontsize=9, color="C3")
        ax.set_ylim(0, top)
        if not finite.any():
            ax.set_yticks([])                      # only +inf (or undefined) units
        ax.set_xticks(units)
        ax.tick_params(labelsize=7)
        ax.set_ylabel("steps", fontsize=8)
        ax.set_title(f"{key + ': ' if key else ''}memory length from gate "
                     f"{entry['memory_gate']} (median steps until the product < 1/2)",
                     loc="left", fontsize=9)
    axs[-1].set_xlabel("unit", fontsize=8)
    return fig


def attribution(explanation: Any, output: str | None = None, unit: int = 0,
                step: int | None = None, sample: int | None = None, input: int = 0,
                ax: Any = None) -> Any:
    """Bars of d(output value) / d(input step) from an ``rnnlens.explain`` page's data.

    Args:
        explanation: ``rnnlens.explain(model, x)`` (with attribution, the default).
        output: the output tensor's name (a model output or a recurrent layer's
            output / state, as the page lists them); default: the first model output.
        unit: the unit of that tensor.
        step: for a sequence, its step (default: the last step).
        sample: the sample (an index into x) among the page's detail samples;
            default the first of them.
        input: which model input (index) the gradient is taken with respect to.
        ax: an Axes to draw into.

    Returns:
        The ``Figure``; the bars' heights are the page's attribution values
        (summed over features).
    """
    plt = _pyplot()
    part = explanation.parts[0]
    rows, k, d, title = _attribution_rows(part, output, unit, step, sample, input)
    values = np.asarray(rows[d, k], float)
    first = part.inputs[input]["steps"] - part.inputs[input]["shown"]
    steps = np.arange(first, first + len(values))
    fig, (axis,) = _axes_for(1, ax, (7.0, 2.6), plt)
    axis.bar(steps, values, 0.8, color=np.where(values < 0, "C0", "C3"), label="attribution")
    axis.axhline(0.0, color="0.3", linewidth=0.8)
    axis.set_title(title, loc="left", fontsize=9)
    axis.set_xlabel(f"step of input '{part.inputs[input]['name']}'", fontsize=8)
    _integer_ticks(axis.xaxis, len(steps), first=int(steps[0]) if len(steps) else 0)
    return fig


def _attribution_rows(part: Any, output: Any, unit: int, step: Any, sample: Any,
                      input: int) -> tuple[np.ndarray, int, int, str]:
    """(rows (D, targets, steps), target index, detail position, title)."""
    if not part.targets:
        raise ValueError("This page has no attribution: make it with attribution=True.")
    if not 0 <= input < len(part.inputs):
        raise ValueError(f"input={input} is out of range: the model has "
                         f"{len(part.inputs)} input(s).")
    names = {t.id: t.name for t in part.tensors}
    ids = list(dict.fromkeys(t.tensor for t in part.targets))
    if output is None:
        outs = [i for i in ids if part.tensors[i].output is not None]
        tensor = (outs or ids)[0]
    else:
        found = [i for i in ids if names[i] == output]
        if not found:
            raise ValueError(f"output={output!r} has no attribution; choose one of "
                             f"{[names[i] for i in ids]}.")
        tensor = found[0]
    mine = [(k, t) for k, t in enumerate(part.targets) if t.tensor == tensor]
    if step is None:
        known = [t.step for _, t in mine if t.step is not None]
        step = max(known) if known else None
    match = [k for k, t in mine if t.step == step and t.unit == unit]
    if not match:
        raise ValueError(f"No attribution for {names[tensor]} at step {step}, unit {unit}; "
                         f"the page has {sorted({(t.step, t.unit) for _, t in mine})[:20]}.")
    detail_x = [part.traced[p] for p in part.detail]
    d = 0 if sample is None else (detail_x.index(sample) if sample in detail_x else -1)
    if d < 0:
        raise ValueError(f"sample={sample} has no attribution on this page; its detail "
                         f"samples are {detail_x} (pass sample= to rnnlens.explain).")
    if part.attribution_problems.get(tensor):
        raise ValueError(f"No attribution for {names[tensor]}: "
                         f"{part.attribution_problems[tensor]}")
    rows = part.attribution[input]
    if rows is None:
        raise ValueError(f"Input '{part.inputs[input]['name']}' has no gradient (integer ids).")
    where = "" if step is None else f"step {step}, "
    title = (f"d {names[tensor]}[{where}unit {unit}] / d {part.inputs[input]['name']}[t] "
             f"(sample {detail_x[d]}, summed over features)")
    return rows, match[0], d, title


__all__ = ["heatmaps", "gates", "saturation", "memory", "attribution"]
