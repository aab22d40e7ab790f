"""The data behind ``rnnlens.explain`` pages, checked without a browser.

* Heatmap data equals ``rnnlens.trace`` (every recurrent layer, both directions of
  Bidirectional, stacked and user cells, masks, initial states), and the page's
  float16 encoding decodes to it within float16's rounding.
* Attribution equals central finite differences in float64 (directional derivative
  along all features of one input step), for model outputs, inner states
  (an encoder's state_c), go_backwards and masked steps; and Keras's
  ``tf.GradientTape`` for the seed model in float32.
* Saturation and memory length equal a direct loop over samples, steps and units.
* Sampling (evenly spaced, memory-mapped rows only), windows, ``sample``,
  the page size budget, self-containment, Jupyter's iframe, the CLI and the tour.
"""

from __future__ import annotations

import html as html_mod
import io
import json
import re
import subprocess
import sys
import tracemalloc
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _explain_models as M
import rnnlens
from oracle import keras_available
from rnnlens.backend import floatx, set_floatx
from rnnlens.explain import Explanation, combine, encode, explain, stats
from rnnlens.models import Model

F16_RTOL = 2.0 ** -11


@pytest.fixture
def f64() -> Iterator[None]:
    before = floatx()
    set_floatx("float64")
    try:
        yield
    finally:
        set_floatx(before)


def close16(decoded: np.ndarray, exact: np.ndarray) -> None:
    """float16 rounding: |d - e| <= 2**-11 |e| (+ 6e-8 for subnormals)."""
    exact = np.asarray(exact, np.float64)
    err = np.abs(np.asarray(decoded, np.float64) - exact)
    assert np.all(err <= F16_RTOL * np.abs(exact) + 6e-8), float(np.max(err))


def expected_arrays(tr: Any, view: Any) -> dict[str, np.ndarray]:
    """Heatmap name -> trace array, written out per cell kind (independent of collect.py)."""
    if view.cell == "LSTM":
        return {"h": tr.h, "c": tr.c, **tr.gates}
    if view.cell in ("GRU", "SimpleRNN"):
        return {"h": tr.h, **tr.gates}
    return {"h": tr.h, "cell0.h": tr.states[0], "cell0.c": tr.states[1],
            "cell1.h": tr.states[2]}


# ---------------------------------------------------------------------------- traces
@pytest.mark.parametrize("make", [M.seed, M.bidirectional, M.encoder_decoder, M.assorted])
def test_heatmap_data_is_the_trace(make: Any) -> None:
    model, x = make()
    page = explain(model, x)
    part = page.parts[0]
    traces = rnnlens.trace(model, x)
    assert [v.key for v in part.views] == list(traces)
    rows = [part.traced[p] for p in part.detail]
    data = page.data()["models"][0]["views"]
    for k, view in enumerate(part.views):
        tr = traces[view.key]
        expected = expected_arrays(tr, view)
        assert set(view.detail) == set(expected)
        for name, arr in expected.items():
            np.testing.assert_array_equal(view.detail[name], arr[rows])
            for d in range(len(rows)):
                close16(encode.decode(data[k]["detail"][d]["arrays"][name]), arr[rows[d]])
        assert view.initial["h"].shape == (len(rows), tr.h.shape[2])
        np.testing.assert_array_equal(view.initial["h"], tr.initial_states[tr.output_index][rows])
        if tr.mask is None:
            assert view.mask is None and data[k]["mask"] is None
        else:
            np.testing.assert_array_equal(encode.decode(data[k]["mask"]), tr.mask)


def test_bidirectional_directions_and_masks() -> None:
    model, x = M.bidirectional()
    part = explain(model, x).parts[0]
    fwd, bwd = part.views[0], part.views[1]
    assert (fwd.direction, bwd.direction) == ("forward", "backward")
    assert fwd.node == bwd.node == next(n.id for n in part.nodes if n.name == "bidir")
    assert bwd.go_backwards and not fwd.go_backwards
    real = np.any(x != 0, axis=-1)
    np.testing.assert_array_equal(fwd.mask, real)
    np.testing.assert_array_equal(bwd.mask, real[:, ::-1])          # processing order
    h = fwd.detail["h"][0]
    np.testing.assert_array_equal(h[4], h[3])                         # masked: carried
    np.testing.assert_array_equal(h[5], h[3])


def test_graph_roles_name_sequences_and_states() -> None:
    model, _ = M.seed()
    part = explain(model, M.seed()[1]).parts[0]
    roles = {t.name: (t.role, t.shape) for t in part.tensors}
    assert roles["lstm"] == ("sequence", (None, 3, 1))
    assert roles["lstm_1"] == ("state_h", (None, 1))
    assert roles["lstm_2"] == ("state_c", (None, 1))
    assert "last column of h" in next(t.desc for t in part.tensors if t.name == "lstm_1")
    assert "last column of the cell state c" in next(t.desc for t in part.tensors
                                                     if t.name == "lstm_2")
    model, x = M.encoder_decoder()
    part = explain(model, x).parts[0]
    roles = {t.name: t.role for t in part.tensors}
    assert roles["encoder"] == "last" and roles["encoder_2"] == "state_c"
    decoder = next(n for n in part.nodes if n.name == "decoder")
    enc_ids = {t.id for t in part.tensors if t.name in ("encoder_1", "encoder_2")}
    assert enc_ids <= set(decoder.inputs)                             # initial_state edges


# ---------------------------------------------------------------------------- attribution
def finite_differences(model: Any, xs: list[np.ndarray], tensor: Any, step: int | None,
                       unit: int, sample: int, eps: float = 1e-6) -> list[np.ndarray]:
    """Per input: (f(x + eps 1_s) - f(x - eps 1_s)) / 2 eps for every step s."""
    probe = Model(list(model.inputs), [tensor], name="fd_probe")
    one = [np.array(a[sample:sample + 1], np.float64) for a in xs]

    def f(values: list[np.ndarray]) -> float:
        out = probe(values[0] if len(values) == 1 else values)
        out = np.asarray(out[0] if isinstance(out, list) else out)
        return float(out[0, unit] if step is None else out[0, step, unit])

    result = []
    for k, a in enumerate(one):
        fd = np.zeros(a.shape[1])
        for s in range(a.shape[1]):
            plus = [b.copy() for b in one]
            minus = [b.copy() for b in one]
            plus[k][0, s] += eps
            minus[k][0, s] -= eps
            fd[s] = (f(plus) - f(minus)) / (2 * eps)
        result.append(fd)
    return result


def check_attribution(model: Any, x: Any, every: int = 1, real: Any = None) -> int:
    page = explain(model, x)
    part = page.parts[0]
    xs = x if isinstance(x, list) else [x]
    rows = [part.traced[p] for p in part.detail]
    by_id = {t.id: t.symbolic for t in part.tensors}
    checked = 0
    for d, sample in enumerate(rows[:2]):
        for j, target in list(enumerate(part.targets))[::every]:
            fd = finite_differences(model, xs, by_id[target.tensor], target.step, target.unit,
                                    sample)
            for k, expected in enumerate(fd):
                got = part.attribution[k][d, j]
                keep = np.ones(len(expected), bool) if real is None else real[sample]
                np.testing.assert_allclose(got[keep], expected[keep], rtol=1e-6, atol=1e-8)
                assert np.all(got[~keep] == 0.0)       # masked steps do not enter
                checked += 1
    return checked


def test_attribution_seed_all_outputs(f64: None) -> None:
    model, x = M.seed()
    assert check_attribution(model, x) == 5           # 3 steps of the sequence, h_T, c_T
    part = explain(model, x).parts[0]
    names = {part.tensors[t.tensor].name for t in part.targets}
    assert names == {"lstm", "lstm_1", "lstm_2"}


def test_attribution_masked_bidirectional(f64: None) -> None:
    model, x = M.bidirectional()
    assert check_attribution(model, x, every=3, real=np.any(x != 0, axis=-1)) > 10


def test_attribution_encoder_state_c_and_two_inputs(f64: None) -> None:
    model, x = M.encoder_decoder()
    part = explain(model, x).parts[0]
    state_c = next(t.id for t in part.tensors if t.name == "encoder_2")
    units = sorted(t.unit for t in part.targets if t.tensor == state_c and t.step is None)
    assert units == [0, 1, 2, 3]                      # every unit of an inner state
    k = next(j for j, t in enumerate(part.targets) if t.tensor == state_c)
    assert np.all(part.attribution[1][:, k] == 0)    # state_c does not see the decoder input
    assert check_attribution(model, x, every=2) > 10


def test_attribution_go_backwards_gru_states(f64: None) -> None:
    model, x = M.simple()
    assert check_attribution(model, x, every=2) > 10


def test_attribution_reuses_one_forward_pass(monkeypatch: Any, f64: None) -> None:
    """One replica per backward pass (many backward passes on one forward's cache)
    gives the same numbers as one pass for every target, and finite differences."""
    from rnnlens.explain import attribution

    model, x = M.bidirectional()
    together = explain(model, x).parts[0].attribution[0]
    monkeypatch.setattr(attribution, "CHUNK_BYTES", 1)
    apart = explain(model, x).parts[0].attribution[0]
    np.testing.assert_allclose(apart, together, rtol=1e-12, atol=1e-15)
    assert np.count_nonzero(apart) > apart.size // 3
    assert check_attribution(model, x, every=7, real=np.any(x != 0, axis=-1)) > 4


def test_attribution_of_user_cells_is_refused_by_tensor() -> None:
    model, x = M.assorted()
    part = explain(model, x).parts[0]
    stack = {t.id for t in part.tensors if t.name == "stack"}
    assert set(part.attribution_problems) == stack | {t.id for t in part.tensors
                                                      if t.name in ("srnn", "gru_v1")}
    assert "backward" in next(iter(part.attribution_problems.values()))


# ---------------------------------------------------------------------------- statistics
def direct_saturation(gate: np.ndarray, mask: np.ndarray | None, lo: float, hi: float):
    b, t, u = gate.shape
    low, high, n = np.zeros(u), np.zeros(u), 0
    for i in range(b):
        for s in range(t):
            if mask is not None and not mask[i, s]:
                continue
            n += 1
            for j in range(u):
                low[j] += gate[i, s, j] < lo
                high[j] += gate[i, s, j] > hi
    return low / n, high / n


def direct_memory(f: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    b, t, u = f.shape
    med, never = np.zeros(u), np.zeros(u)
    for j in range(u):
        ks = []
        for i in range(b):
            for s in range(t):
                if mask is not None and not mask[i, s]:
                    continue
                prod, k = 1.0, np.inf
                for tau in range(s + 1, t):
                    prod *= 1.0 if (mask is not None and not mask[i, tau]) else f[i, tau, j]
                    if prod < 0.5:
                        k = tau - s
                        break
                ks.append(k)
        med[j] = np.median(ks)
        never[j] = np.mean(np.isinf(ks))
    return med, never


def saturating_model() -> tuple[Any, np.ndarray]:
    model, x = M.bidirectional(samples=7)
    M.randomize(model, 7, scale=2.5)
    return model, x


def test_saturation_and_memory_match_a_direct_loop() -> None:
    model, x = saturating_model()
    part = explain(model, x).parts[0]
    traces = rnnlens.trace(model, x)
    seen_saturation = 0.0
    for view in part.views:
        tr = traces[view.key]
        for g, (low, high) in view.saturation.items():
            lo, hi = (-0.95, 0.95) if g in ("g", "hh") else (0.05, 0.95)
            d_low, d_high = direct_saturation(tr.gates[g], tr.mask, lo, hi)
            np.testing.assert_allclose(low, d_low, atol=1e-12)
            np.testing.assert_allclose(high, d_high, atol=1e-12)
            seen_saturation += float(low.sum() + high.sum())
        gate = {"LSTM": "f", "GRU": "z"}[view.cell]
        assert view.memory_gate == gate
        med, never = direct_memory(np.asarray(tr.gates[gate], np.float64), tr.mask)
        np.testing.assert_array_equal(view.memory, med)
        np.testing.assert_allclose(view.memory_never, never, atol=1e-12)
    assert seen_saturation > 0.5                      # the check saw saturated gates


def test_memory_length_of_a_constant_gate() -> None:
    f = np.full((1, 12, 2), 0.9)
    f[..., 1] = 0.2
    k = stats.memory_lengths(f, None)
    assert k[0, 0, 0] == 7 and 0.9 ** 6 >= 0.5 > 0.9 ** 7      # 7 steps to fall below 1/2
    assert np.all(np.isinf(k[0, 5:, 0])) and np.all(k[0, :5, 0] == 7)
    assert np.all(k[0, :-1, 1] == 1) and np.isinf(k[0, -1, 1])
    mask = np.ones((1, 12), bool)
    mask[0, 2:4] = False                                         # masked: f counts as 1
    k = stats.memory_lengths(f, mask)
    assert k[0, 0, 0] == 9 and np.isnan(k[0, 2, 0])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 3), st.integers(0, 2 ** 31 - 1))
def test_memory_lengths_property(b: int, t: int, u: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    f = rng.choice([0.0, 0.3, 0.7, 0.95, 1.0], size=(b, t, u)) * rng.uniform(0.9, 1.0)
    mask = rng.random((b, t)) < 0.7 if seed % 2 else None
    memory = stats.Memory(u, t)
    memory.add(f, mask)
    med, never = memory.result()
    if mask is not None and not mask.any():
        assert np.all(np.isnan(med))
        return
    d_med, d_never = direct_memory(f, mask)
    np.testing.assert_array_equal(med, d_med)
    np.testing.assert_allclose(never, d_never)


# ---------------------------------------------------------------------------- sampling
def lstm_model(steps: int = 40, units: int = 10, features: int = 2) -> Any:
    rnnlens.utils.set_random_seed(6)
    inputs = rnnlens.Input(shape=(steps, features))
    return Model(inputs, rnnlens.layers.LSTM(units, return_sequences=True, name="lstm")(inputs))


def test_sampling_is_evenly_spaced_and_stated() -> None:
    model = lstm_model(8, 3)
    x = np.random.default_rng(0).normal(size=(100, 8, 2)).astype(np.float32)
    part = explain(model, x, max_samples=10).parts[0]
    assert part.traced == [int(round(v)) for v in np.linspace(0, 99, 10)]
    assert part.views[0].on.shape == (10, 8, 3)
    assert "10 of the 100 samples" in part.notes[0] and "evenly spaced" in part.notes[0]
    part = explain(model, x, sample=[57, 3], max_samples=10).parts[0]
    assert 57 in part.traced and 3 in part.traced and len(part.traced) == 10
    assert [part.traced[p] for p in part.detail] == [57, 3]
    tr = rnnlens.trace(model, x[[57, 3]])["lstm"]
    np.testing.assert_array_equal(part.views[0].detail["c"], tr.c)


def test_memory_mapped_input_reads_only_the_traced_rows(tmp_path: Any) -> None:
    model = lstm_model(30, 4)
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(100_000, 30, 2))
    big[::997] = 0.5
    big.flush()
    del big
    x = np.load(path, mmap_mode="r")                  # 24 MB on disk
    tracemalloc.start()
    page = explain(model, x, max_samples=8)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8_000_000, peak                     # far less than the file
    assert len(page.parts[0].traced) == 8


def test_window_of_steps_and_units() -> None:
    model = lstm_model(40, 10)
    x = np.random.default_rng(1).normal(size=(3, 40, 2)).astype(np.float32)
    page = explain(model, x, max_steps=15, max_units=4)
    view = page.parts[0].views[0]
    tr = rnnlens.trace(model, x)["lstm"]
    assert view.window == (25, 40) and view.units_shown == 4 and view.units == 10
    np.testing.assert_array_equal(view.detail["f"], tr.gates["f"][:, 25:, :4])
    assert page.parts[0].attribution[0].shape[2] == 15
    assert max(t.unit for t in page.parts[0].targets) == 3
    assert view.memory.shape == (4,)                  # statistics: every step, shown units


def test_page_size_budget_and_nothing_unshown() -> None:
    model = lstm_model(120, 32)
    x = np.random.default_rng(2).normal(size=(32, 120, 2)).astype(np.float32)
    small = explain(model, x, max_bytes=700_000)
    part = small.parts[0]
    assert small.size <= 700_000
    assert 1 <= len(part.detail) < 32
    data = small.data()["models"][0]
    assert len(data["views"][0]["detail"]) == len(part.detail)
    assert len(data["attribution"][0]) == len(part.detail)
    assert data["views"][0]["on"]["s"] == [32, 120, 32]
    full = explain(model, x)
    assert len(full.parts[0].detail) == 32 and full.size < 9_500_000
    one = explain(model, x, max_bytes=1)              # at least one sample in detail
    assert len(one.parts[0].detail) == 1


# ---------------------------------------------------------------------------- the page
def test_page_is_self_contained() -> None:
    model, x = M.encoder_decoder()
    page = explain(model, x)
    text = page.html()
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", text))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"\bsrc\s*=", text) and "@import" not in text and "url(" not in text
    blob = re.search(r'<script type="application/json" id="rnnlens-data">(.*?)</script>',
                     text, re.S).group(1)
    assert json.loads(blob) == json.loads(json.dumps(page.data()))
    assert text.count("</script>") == 2


def test_jupyter_repr_is_an_isolated_iframe() -> None:
    model, x = M.seed()
    page = explain(model, x)
    shown = page._repr_html_()
    assert shown.startswith("<iframe") and "srcdoc=" in shown
    inner = re.search(r'srcdoc="(.*)"></iframe>$', shown, re.S).group(1)
    assert '"' not in inner and html_mod.unescape(inner) == page.html()


def test_combine_titles_and_save(tmp_path: Any) -> None:
    a, b = explain(*M.seed()), explain(*M.bidirectional())
    both = combine([a, b], titles=["seed", "bidirectional"])
    assert [p.title for p in both.parts] == ["seed", "bidirectional"]
    path = both.save(tmp_path / "both.html")
    assert open(path, encoding="utf-8").read() == both.html()
    with pytest.raises(ValueError, match="titles"):
        combine([a], titles=["x", "y"])
    assert isinstance(both, Explanation)


def test_assets_are_package_data() -> None:
    from importlib import resources

    files = resources.files("rnnlens.explain")
    assert "__rnnlens_ready" in files.joinpath("page.js").read_text(encoding="utf-8")
    assert "#tooltip" in files.joinpath("page.css").read_text(encoding="utf-8")


def test_import_rnnlens_does_not_import_explain() -> None:
    code = ("import sys, rnnlens; assert 'rnnlens.explain' not in sys.modules; "
            "import rnnlens.explain as e; assert callable(e) and e.explain; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr


# ---------------------------------------------------------------------------- errors
def test_bad_arguments_are_named() -> None:
    model, x = M.seed()
    with pytest.raises(TypeError, match="Model, Sequential or recurrent layer"):
        explain(object(), x)
    with pytest.raises(ValueError, match="out of range"):
        explain(model, x, sample=1)
    with pytest.raises(TypeError, match="sample"):
        explain(model, x, sample=True)
    with pytest.raises(ValueError, match="expects shape"):
        explain(model, x[0])
    with pytest.raises(ValueError, match="threshold"):
        explain(model, x, threshold=float("nan"))
    model2, x2 = M.encoder_decoder()
    with pytest.raises(ValueError, match="same number of samples"):
        explain(model2, [x2[0], x2[1][:2]])
    with pytest.raises(ValueError, match="2 inputs"):
        explain(model2, x2[0])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["max_samples", "max_steps", "max_units", "max_bytes", "sample",
                        "threshold"]),
       st.one_of(st.integers(-3, 3), st.floats(allow_nan=True), st.booleans(), st.none(),
                 st.text(max_size=3), st.lists(st.integers(-2, 2), max_size=3)))
def test_fuzz_arguments_give_a_page_or_a_named_error(name: str, value: Any) -> None:
    model, x = M.seed()
    try:
        page = explain(model, x, **{name: value})
    except (ValueError, TypeError) as err:
        assert "explain" in str(err)
        return
    assert page.size > 10_000


# ---------------------------------------------------------------------------- CLI, tour
def test_cli_explain_with_and_without_input(tmp_path: Any, capsys: Any) -> None:
    from rnnlens import cli

    model, x = M.bidirectional()
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    out = tmp_path / "page.html"
    assert cli.main(["explain", str(tmp_path / "m.keras"), str(tmp_path / "x.npy"),
                     "-o", str(out), "--max-samples", "3"]) == 0
    text = out.read_text(encoding="utf-8")
    assert "x.npy" in text and "3 of the 5 samples" in text
    random_out = tmp_path / "random.html"
    assert cli.main(["explain", str(tmp_path / "m.keras"), "-o", str(random_out)]) == 0
    assert "x is random" in random_out.read_text(encoding="utf-8")
    quick = tmp_path / "quick.html"
    assert cli.main(["explain", str(tmp_path / "m.keras"), "-o", str(quick),
                     "--no-attribution"]) == 0
    assert "Input attribution was not computed" in quick.read_text(encoding="utf-8")
    assert cli.main(["explain", str(tmp_path / "m.keras"), str(tmp_path / "none.npy")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_tour_html_page(tmp_path: Any) -> None:
    from rnnlens import tour

    out = io.StringIO()
    path = tmp_path / "tour.html"
    assert tour.run(out=out, html=str(path)) == 0
    text = path.read_text(encoding="utf-8")
    assert "the tour's 9 models" in out.getvalue()
    data = json.loads(re.search(r'id="rnnlens-data">(.*?)</script>', text, re.S).group(1))
    titles = [m["title"] for m in data["models"]]
    assert titles[0].startswith("1. LSTM(1") and "Use 3. Encoder-decoder" in titles


# ---------------------------------------------------------------------------- Keras
@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


def test_seed_page_equals_keras(K: Any, parity: Any) -> None:
    """The page's h and c for the seed model are Keras's outputs; attribution is
    Keras's tf.GradientTape gradient, summed over features."""
    import tensorflow as tf  # noqa: PLC0415

    model, x = M.seed()
    inputs = K.Input(shape=(3, 1))
    theirs = K.Model(inputs, list(K.layers.LSTM(1, return_sequences=True,
                                                return_state=True)(inputs)))
    theirs.set_weights(model.get_weights())
    seq, state_h, state_c = [np.asarray(v) for v in theirs(x)]
    part = explain(model, x).parts[0]
    view = part.views[0]
    parity(view.detail["h"], seq, name="page h = return_sequences output")
    parity(view.detail["h"][:, -1], state_h, name="page h last column = state_h")
    parity(view.detail["c"][:, -1], state_c, name="page c last column = state_c")
    xt = tf.constant(x)
    for j, target in enumerate(part.targets):
        with tf.GradientTape() as tape:
            tape.watch(xt)
            outs = theirs(xt)
            k = next(i for i, t in enumerate(model.outputs)
                     if t is part.tensors[target.tensor].symbolic)
            y = outs[k][0, target.step, target.unit] if target.step is not None \
                else outs[k][0, target.unit]
        grad = np.asarray(tape.gradient(y, xt))[0].sum(-1)
        parity(part.attribution[0][0, j], grad, name=f"attribution {target}")
