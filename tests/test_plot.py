"""``rnnlens.plot`` and ``LayerTrace.plot``: matplotlib figures whose data are the trace's.

Every figure is drawn with the Agg backend and read back from its artists: a
heatmap's image array must equal ``array[sample].T`` exactly, a line's y data
the traced values of one unit, a bar's height the statistic it shows. The
masked steps are hatched spans over exactly the masked runs. Without
matplotlib each function raises an ImportError that names ``rnnlens[plot]``,
and ``import rnnlens`` never imports matplotlib.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import matplotlib
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _explain_models as M
import rnnlens
import rnnlens.plot as P

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures() -> Any:
    yield
    plt.close("all")


def panels(fig: Any) -> list:
    """The heatmap axes (colour bars have no image)."""
    return [ax for ax in fig.axes if ax.images]


def hatched_spans(ax: Any) -> list[tuple[float, float]]:
    """(start, stop) in step units of every hatched mask span (``axvspan`` rectangles)."""
    return sorted((p.get_x(), p.get_x() + p.get_width()) for p in ax.patches
                  if p.get_hatch() == "///")


def masked_runs(mask: np.ndarray) -> list[tuple[float, float]]:
    runs, t = [], 0
    while t < len(mask):
        if mask[t]:
            t += 1
            continue
        s = t
        while t < len(mask) and not mask[t]:
            t += 1
        runs.append((s - 0.5, t - 0.5))
    return runs


# ---------------------------------------------------------------------------- heatmaps
@pytest.mark.parametrize("build, sample", [(M.seed, 0), (M.bidirectional, 1),
                                           (M.bidirectional, 2), (M.assorted, 2)])
def test_heatmaps_hold_the_trace_arrays(build: Any, sample: int) -> None:
    model, x = build()
    trace = rnnlens.trace(model, x)
    fig = P.heatmaps(trace, sample=sample)
    axes = panels(fig)
    want = []
    for key, tr in trace.items():
        arrays = [("h", tr.h)] + ([("c", tr.c)] if tr.c is not None else [])
        order = {"LSTM": "ifgo", "GRU": ("z", "r", "hh")}
        kind = "LSTM" if set(tr.gates) == set("ifgo") else "GRU" if tr.gates else None
        arrays += [(g, tr.gates[g]) for g in order.get(kind, ())]
        want += [(key, name, arr) for name, arr in arrays]
    assert len(axes) == len(want)
    for ax, (key, name, arr) in zip(axes, want):
        assert ax.get_title(loc="left") == f"{key}: {name}"
        got = np.asarray(ax.images[0].get_array())
        np.testing.assert_array_equal(got, arr[sample].T)           # (units, steps), exact
        mask = trace[key].mask
        assert hatched_spans(ax) == ([] if mask is None else masked_runs(mask[sample]))


def test_masked_steps_are_hatched_where_masked() -> None:
    model, x = M.bidirectional()
    tr = rnnlens.trace(model, x)["gru"]
    fig = tr.plot(sample=2, what="h")                  # left padding: steps 0, 1 masked
    (ax,) = panels(fig)
    assert hatched_spans(ax) == [(-0.5, 1.5)]
    fig = tr.plot(sample=0, what="h")                  # right padding: steps 4, 5
    assert hatched_spans(panels(fig)[0]) == [(3.5, 5.5)]


def test_layer_trace_plot_what_and_ax() -> None:
    model, x = M.bidirectional()
    trace = rnnlens.trace(model, x)
    tr = trace["forward_lstm"]
    fig = tr.plot(sample=3, what=("f", "c"))
    assert [a.get_title(loc="left") for a in panels(fig)] == ["forward_lstm: f",
                                                                "forward_lstm: c"]
    np.testing.assert_array_equal(panels(fig)[0].images[0].get_array(), tr.gates["f"][3].T)
    fig2, ax = plt.subplots()
    assert tr.plot(what="o", ax=ax) is fig2
    np.testing.assert_array_equal(ax.images[0].get_array(), tr.gates["o"][0].T)
    with pytest.raises(ValueError, match="6 panel"):
        tr.plot(ax=ax)
    # the GRU has no c: "c" adds nothing; its gates come in the cell's order
    names = [a.get_title(loc="left") for a in panels(trace["gru"].plot())]
    assert names == ["gru: h", "gru: z", "gru: r", "gru: hh"]
    # a Trace and one layer of it
    fig = P.heatmaps(trace, layer="backward_lstm", what="h")
    np.testing.assert_array_equal(panels(fig)[0].images[0].get_array(),
                                  trace["backward_lstm"].h[0].T)
    fig = P.heatmaps(trace, layer=-1, what="h")
    assert panels(fig)[0].get_title(loc="left") == "gru: h"


def test_stacked_cell_states() -> None:
    model, x = M.assorted()
    tr = rnnlens.trace(model, x)["stack"]
    fig = tr.plot(sample=1, what="states")
    axes = panels(fig)
    assert [a.get_title(loc="left") for a in axes] == ["stack: h", "stack: s0", "stack: s1",
                                                      "stack: s2"]
    for ax, arr in zip(axes, [tr.h] + tr.states[:3]):
        np.testing.assert_array_equal(ax.images[0].get_array(), arr[1].T)


def test_colour_scales() -> None:
    model, x = M.seed()
    tr = rnnlens.trace(model, x)["lstm"]
    axes = panels(tr.plot())
    limits = {a.get_title(loc="left").split(": ")[1]: a.images[0].get_clim() for a in axes}
    assert limits["i"] == (0.0, 1.0) and limits["f"] == (0.0, 1.0)
    assert limits["g"] == (-1.0, 1.0)
    peak = float(np.abs(tr.h).max())
    assert limits["h"] == pytest.approx((-peak, peak))


def test_bad_arguments_name_the_fix() -> None:
    model, x = M.bidirectional()
    trace = rnnlens.trace(model, x)
    with pytest.raises(ValueError, match="out of range: the trace has 5"):
        P.heatmaps(trace, sample=5)
    with pytest.raises(TypeError, match="integer"):
        P.heatmaps(trace, sample=1.0)
    with pytest.raises(ValueError, match=r"what='q'.*gates \['z', 'r', 'hh'\]"):
        trace["gru"].plot(what="q")
    with pytest.raises(ValueError, match="not in the trace"):
        P.heatmaps(trace, layer="nope")
    with pytest.raises(TypeError, match="rnnlens.trace"):
        P.heatmaps(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="unit=9"):
        P.gates(trace, unit=9)


_FUZZ_TRACE = rnnlens.trace(*M.bidirectional())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sample=st.one_of(st.integers(-8, 8), st.floats(), st.booleans(), st.none()),
       what=st.one_of(st.sampled_from(["h", "c", "gates", "states", "i", "z", "hh", "s0", "x",
                                       ""]),
                      st.lists(st.sampled_from(["h", "c", "f", "gates", "r"]), max_size=3)),
       layer=st.one_of(st.none(), st.integers(-4, 4),
                       st.sampled_from(["gru", "forward_lstm", "x"])))
def test_fuzz_heatmaps_arguments(sample: Any, what: Any, layer: Any) -> None:
    trace = _FUZZ_TRACE
    try:
        fig = P.heatmaps(trace, layer=layer, sample=sample, what=what)
    except (ValueError, TypeError):
        return
    for ax in panels(fig):
        key, name = ax.get_title(loc="left").split(": ")
        tr = trace[key]
        states = {f"s{k}": v for k, v in enumerate(tr.states)}   # what="states" panels
        arr = {"h": tr.h, "c": tr.c, **tr.gates, **states}[name]
        np.testing.assert_array_equal(ax.images[0].get_array(), arr[int(sample) % 5].T)
    plt.close(fig)


# ---------------------------------------------------------------------------- gates
def test_gates_lines_are_one_unit_over_time() -> None:
    model, x = M.bidirectional()
    trace = rnnlens.trace(model, x)
    fig = P.gates(trace, layer="forward_lstm", sample=1, unit=2)
    ax = fig.axes[0]
    tr = trace["forward_lstm"]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines) == ["h", "c", "i", "f", "g", "o"]
    for name, arr in [("h", tr.h), ("c", tr.c)] + [(g, tr.gates[g]) for g in "ifgo"]:
        np.testing.assert_array_equal(lines[name].get_ydata(), arr[1, :, 2])
        np.testing.assert_array_equal(lines[name].get_xdata(), np.arange(6))
    assert hatched_spans(ax) == [(2.5, 5.5)]
    fig = P.gates(trace["gru"], states=False)
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["z", "r", "hh"]
    srnn = rnnlens.trace(*M.simple())["srnn"]
    with pytest.raises(ValueError, match="no gates"):
        P.gates(srnn, states=False)


# ---------------------------------------------------------------------------- statistics
def _forgetful_and_not() -> tuple[Any, np.ndarray]:
    """An LSTM whose unit 0 never forgets (f ~ 1) and unit 1 forgets at once (f ~ 0)."""
    rnnlens.utils.clear_session()
    inputs = rnnlens.Input(shape=(8, 2))
    model = rnnlens.Model(inputs, rnnlens.layers.LSTM(3, name="lstm")(inputs))
    M.randomize(model, 3, scale=0.3)
    kernel, recurrent, bias = model.get_weights()
    bias[3:6] = [30.0, -30.0, 0.0]                      # forget gate biases (i, f, c, o order)
    model.set_weights([kernel, recurrent, bias])
    return model, np.random.default_rng(0).normal(size=(6, 8, 2)).astype(np.float32)


def test_saturation_bars_are_the_statistics() -> None:
    model, x = M.bidirectional()
    stats = rnnlens.trace_stats.compute(model, x)
    fig = P.saturation(stats)
    assert len(fig.axes) == 3
    for ax, key in zip(fig.axes, stats):
        entry = stats[key]
        bars = {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}
        assert set(bars) == {f"{g} {w}" for g in entry["saturation_high"] for w in
                             ("high", "low")}
        for g in entry["saturation_high"]:
            np.testing.assert_allclose(bars[f"{g} high"], entry["saturation_high"][g])
            np.testing.assert_allclose(bars[f"{g} low"], -entry["saturation_low"][g])
    model, x = _forgetful_and_not()
    stats = rnnlens.trace_stats.compute(model, x)
    fig = P.saturation(stats["lstm"])
    heights = {c.get_label(): [p.get_height() for p in c.patches] for c in fig.axes[0].containers}
    assert heights["f high"][0] == 1.0 and heights["f low"][1] == -1.0


def test_memory_bars_and_infinite_units() -> None:
    model, x = _forgetful_and_not()
    stats = rnnlens.trace_stats.compute(model, x)
    lengths = stats["lstm"]["memory_length"]
    assert np.isposinf(lengths[0]) and lengths[1] == 1.0
    fig = P.memory(stats)
    ax = fig.axes[0]
    bars = {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}
    finite = np.isfinite(lengths)
    np.testing.assert_allclose(np.asarray(bars["memory"])[finite], lengths[finite])
    top = ax.get_ylim()[1]
    assert bars["never"][0] == top and bars["never"][1] == 0.0
    assert [t.get_text() for t in ax.texts] == ["∞"] * int(np.isposinf(lengths).sum())
    model, x = M.assorted()                             # stacked cells: no memory length
    stats = rnnlens.trace_stats.compute(model, x)
    fig = P.memory(stats)
    assert [ax.get_title(loc="left").split(":")[0] for ax in fig.axes] == ["gru_v1"]
    with pytest.raises(ValueError, match="not in the statistics"):
        P.memory(stats, layer="stack")
    with pytest.raises(TypeError, match="trace_stats"):
        P.memory([1, 2])


# ---------------------------------------------------------------------------- attribution
def test_attribution_bars_are_the_page_data() -> None:
    model, x = M.encoder_decoder()
    page = rnnlens.explain(model, x, sample=[1, 3])
    part = page.parts[0]
    fig = P.attribution(page, output="encoder_2", unit=1, sample=3, input=0)
    heights = [p.get_height() for p in fig.axes[0].containers[0].patches]
    names = {t.id: t.name for t in part.tensors}
    k = next(k for k, t in enumerate(part.targets) if names[t.tensor] == "encoder_2"
             and t.unit == 1)
    np.testing.assert_allclose(heights, part.attribution[0][1, k])
    assert "encoder_2[unit 1]" in fig.axes[0].get_title(loc="left")
    # default: the model output, its last step, the first detail sample, the decoder input
    fig = P.attribution(page, input=1)
    out = next(t for t in part.tensors if t.output == 0)
    k = next(k for k, t in enumerate(part.targets) if t.tensor == out.id and t.step == 2
             and t.unit == 0)
    np.testing.assert_allclose([p.get_height() for p in fig.axes[0].containers[0].patches],
                               part.attribution[1][0, k])
    with pytest.raises(ValueError, match="choose one of"):
        P.attribution(page, output="nope")
    with pytest.raises(ValueError, match="detail samples are"):
        P.attribution(page, sample=0)
    with pytest.raises(ValueError, match="attribution=True"):
        P.attribution(rnnlens.explain(model, x, attribution=False))


# ---------------------------------------------------------------------------- matplotlib
def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    trace = rnnlens.trace(*M.seed())
    for name in ("matplotlib", "matplotlib.pyplot"):
        monkeypatch.setitem(sys.modules, name, None)
    for call in (lambda: trace["lstm"].plot(), lambda: P.gates(trace),
                 lambda: P.memory({}), lambda: P.saturation({})):
        with pytest.raises(ImportError, match=r"rnnlens\[plot\]"):
            call()


def test_import_rnnlens_does_not_import_matplotlib() -> None:
    code = ("import sys, rnnlens, rnnlens.plot, rnnlens.trace, rnnlens.utils; "
            "rnnlens.utils.plot_model; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('matplotlib', 'pydot', 'IPython')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
