"""Jupyter's inline views: ``_repr_html_`` of ``Trace``, ``LayerTrace`` and ``Model``.

Each is the explainer page inside an ``<iframe srcdoc>``. Checked on the data
the page embeds (decoded as the page decodes it): the heatmap arrays equal the
trace's (to float16), the cell and gate ranges inferred from the arrays, the
per-unit saturation and memory length equal ``rnnlens.trace_stats``'s, the size
stays bounded for a large trace; a model's page holds its graph and its
``summary()``. Then in headless Chromium: no console errors, no requests, the
hidden sections hidden, hover values equal to the trace, the graph drawn.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from typing import Any, Iterator

import numpy as np
import pytest

import _explain_models as M
import rnnlens
from rnnlens.explain import encode, graph, inline

F16 = 2.0 ** -11


def page_of(markup: str) -> tuple[str, dict]:
    """(the page inside the iframe, its embedded data)."""
    found = re.search(r'srcdoc="([^"]*)"', markup)
    assert found, markup[:200]
    page = html.unescape(found.group(1))
    data = re.search(r'<script type="application/json" id="rnnlens-data">(.*?)</script>',
                     page, re.S).group(1)
    return page, json.loads(data)


def close16(got: np.ndarray, want: np.ndarray) -> None:
    np.testing.assert_allclose(got, want, rtol=F16, atol=6e-8)


KINDS = {"lstm": "LSTM", "forward_lstm": "LSTM", "backward_lstm": "LSTM", "gru": "GRU",
         "encoder": "LSTM", "decoder": "LSTM", "stack": "cell", "srnn": "SimpleRNN",
         "gru_v1": "GRU"}
NAMES = {"LSTM": ["h", "c", "i", "f", "g", "o"], "GRU": ["h", "z", "r", "hh"],
         "SimpleRNN": ["h"], "cell": ["h", "s0", "s1", "s2"]}


@pytest.mark.parametrize("build", [M.seed, M.bidirectional, M.encoder_decoder, M.assorted])
def test_trace_page_holds_the_trace(build: Any) -> None:
    model, x = build()
    trace = rnnlens.trace(model, x)
    _, data = page_of(trace._repr_html_())
    (part,) = data["models"]
    assert [v["key"] for v in part["views"]] == list(trace)
    batch = next(iter(trace.values())).h.shape[0]
    assert part["samples"]["traced"] == list(range(batch))
    assert part["samples"]["detail"] == list(range(min(batch, inline.DETAIL)))
    assert part["targets"] == [] and part["attribution"] == []
    for view in part["views"]:
        tr = trace[view["key"]]
        kind = KINDS[view["key"]]
        assert view["cell"] == kind
        names = [s["name"] for s in view["specs"]]
        assert names == NAMES[kind]
        arrays = {"h": tr.h, "c": tr.c, **tr.gates,
                  **{f"s{k}": s for k, s in enumerate(tr.states) if k != tr.output_index}}
        for d, detail in enumerate(view["detail"]):
            for name in names:
                close16(encode.decode(detail["arrays"][name]), arrays[name][d])
            close16(encode.decode(detail["initial"]["h"]), tr.initial_states[tr.output_index][d])
        if tr.mask is not None:
            np.testing.assert_array_equal(encode.decode(view["mask"]), tr.mask)
        on = encode.decode(view["on"])
        np.testing.assert_array_equal(on, tr.h.astype(np.float32) > view["threshold"])
        assert view["config"]["go_backwards"] == tr.go_backwards


def test_layer_trace_and_ranges() -> None:
    model, x = M.seed()
    tr = rnnlens.trace(model, x)["lstm"]
    _, data = page_of(tr._repr_html_())
    (view,) = data["models"][0]["views"]
    specs = {s["name"]: s for s in view["specs"]}
    assert (specs["i"]["lo"], specs["i"]["hi"], specs["i"]["diverging"]) == (0.0, 1.0, False)
    assert (specs["g"]["lo"], specs["g"]["hi"]) == (-1.0, 1.0)
    assert specs["h"]["hi"] == pytest.approx(float(np.abs(tr.h).max()))
    assert view["config"]["return_sequences"] is True        # the layer's output is h
    # a gate outside [0, 1] (relu) is unbounded: no saturation, no memory length
    rnnlens.utils.clear_session()
    inputs = rnnlens.Input(shape=(4, 2))
    relu = rnnlens.Model(inputs, rnnlens.layers.LSTM(3, recurrent_activation="relu",
                                                     name="relu")(inputs))
    M.randomize(relu, 5, scale=2.0)
    tr = rnnlens.trace(relu, np.random.default_rng(1).normal(size=(3, 4, 2)))["relu"]
    assert tr.gates["f"].max() > 1
    view = inline.layer_view("relu", tr, 3, 3, 200, 64)
    assert "f" not in view.saturation and view.memory is None
    assert next(s for s in view.specs if s.name == "f").activation == "unbounded"
    assert view.config["return_sequences"] is False


def test_summary_equals_trace_stats() -> None:
    for build in (M.bidirectional, M.encoder_decoder):
        model, x = build()
        stats = rnnlens.trace_stats.compute(model, x)
        part = inline.trace_part(rnnlens.trace(model, x))
        for view in part.views:
            entry = stats[view.key]
            for gate, (low, high) in view.saturation.items():
                np.testing.assert_allclose(low, entry["saturation_low"][gate])
                np.testing.assert_allclose(high, entry["saturation_high"][gate])
            assert set(view.saturation) == set(entry["saturation_low"])
            assert view.memory_gate == entry["memory_gate"]
            np.testing.assert_array_equal(view.memory, entry["memory_length"])
            np.testing.assert_array_equal(view.memory_never, entry["never_decays"])


def test_large_trace_is_bounded() -> None:
    rnnlens.utils.clear_session()
    rnnlens.utils.set_random_seed(3)
    inputs = rnnlens.Input(shape=(300, 2))
    model = rnnlens.Model(inputs, rnnlens.layers.GRU(100, return_sequences=True,
                                                     name="big")(inputs))
    x = np.random.default_rng(0).normal(size=(40, 300, 2)).astype(np.float32)
    tr = rnnlens.trace(model, x)["big"]
    markup = tr._repr_html_()
    assert len(markup) < 1_500_000
    _, data = page_of(markup)
    (view,) = data["models"][0]["views"]
    assert view["window"] == [100, 300] and view["units_shown"] == 64 and view["units"] == 100
    assert data["models"][0]["samples"]["traced"] == list(range(16))
    assert len(view["detail"]) == inline.DETAIL
    close16(encode.decode(view["detail"][3]["arrays"]["z"]), tr.gates["z"][3, 100:, :64])
    assert "16 of the 40 traced samples are shown" in data["models"][0]["notes"]
    height = int(re.search(r"height:(\d+)px", markup).group(1))
    assert height <= inline.MAX_HEIGHT


def test_model_page_graph_and_summary() -> None:
    model, _ = M.encoder_decoder()
    markup = model._repr_html_()
    _, data = page_of(markup)
    (part,) = data["models"]
    nodes, tensors = graph.describe(model)
    assert [n["name"] for n in part["nodes"]] == [n.name for n in nodes]
    assert [t["shape"] for t in part["tensors"]] == [t.to_json()["shape"] for t in tensors]
    assert part["views"] == []
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    shown = html.unescape(re.search(r'<pre class="rnnlens-summary"[^>]*>(.*)</pre>', markup,
                                    re.S).group(1))
    assert shown == "\n".join(lines)
    seq = rnnlens.Sequential([rnnlens.layers.LSTM(2)])
    assert seq._repr_html_() is None                     # not built: Jupyter shows repr()
    seq.build((None, 3, 1))
    assert "lstm" in seq._repr_html_()
    assert rnnlens.trace.__module__ and rnnlens.LayerTrace
    from rnnlens.trace import Trace

    assert Trace()._repr_html_() is None


# ---------------------------------------------------------------------------- browser
def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: Any) -> Iterator[Any]:
    if os.environ.get("RNNLENS_SKIP_BROWSER") == "1":
        pytest.skip("RNNLENS_SKIP_BROWSER=1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need the playwright package (and apt-get install "
                    "chromium; no 'playwright install')")
    path = chromium_path()
    if path is None:
        pytest.fail("the browser tests need Chromium: apt-get install chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-inline")), executable_path=path,
            headless=True, args=["--headless", "--no-sandbox", "--disable-gpu",
                                 "--no-first-run", "--disable-background-networking"],
            viewport={"width": 1200, "height": 900})
        yield context
        context.close()


def notebook(browser: Any, markup: str) -> tuple[Any, Any, list, list]:
    """A page holding ``markup`` as a notebook output cell; (page, frame, errors, requests)."""
    page = browser.new_page()
    errors: list = []
    requests: list = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(
        ("about:", "data:")) else (requests.append(r.request.url), r.abort()))
    page.set_content("<html><body><div class='output'>" + markup + "</div></body></html>")
    frame = page.frames[1]
    frame.wait_for_function("window.__rnnlens_ready === true", timeout=30_000)
    return page, frame, errors, requests


def test_trace_iframe_in_chromium(browser: Any) -> None:
    model, x = M.bidirectional()
    trace = rnnlens.trace(model, x)
    page, frame, errors, requests = notebook(browser, trace._repr_html_())
    assert not frame.is_visible("#graph") and not frame.is_visible("#attribution")
    for section in ("#layer", "#returns", "#step", "#pattern", "#summary"):
        assert frame.is_visible(section), section
    names = frame.eval_on_selector_all("#layer .heatmap", "es => es.map(e => e.dataset.array)")
    assert names == ["h", "c", "i", "f", "g", "o"]
    sel = '#layer .heatmap[data-array="f"]'
    assert frame.locator(sel + " rect.cell").count() == 6 * 3
    tr = trace["forward_lstm"]
    frame.locator(sel).scroll_into_view_if_needed()
    box = frame.locator(sel).bounding_box()
    for t, u in ((0, 0), (3, 2), (5, 1)):
        page.mouse.move(box["x"] + (t + 0.5) * box["width"] / 6,
                        box["y"] + (u + 0.5) * box["height"] / 3)
        hidden, value = frame.eval_on_selector("#tooltip", "e => [e.hidden, e.dataset.value]")
        assert not hidden
        close16(np.float32(value), tr.gates["f"][0, t, u])
    frame.select_option("#layer-select", "2")
    assert frame.eval_on_selector_all("#layer .heatmap",
                                      "es => es.map(e => e.dataset.array)") == ["h", "z", "r",
                                                                                "hh"]
    assert "memory length from z" in frame.inner_text("#summary")
    page.close()
    assert errors == [] and requests == []


def test_model_iframe_in_chromium(browser: Any) -> None:
    model, _ = M.encoder_decoder()
    page, frame, errors, requests = notebook(browser, model._repr_html_())
    assert frame.is_visible("#graph")
    for section in ("#layer", "#returns", "#step", "#pattern", "#summary", "#attribution"):
        assert not frame.is_visible(section), section
    text = frame.inner_text("#graph")
    for label in ("encoder (LSTM)", "state_c = c_T", "decoder (None, 3, 4)", "head"):
        assert label in text
    assert "Total params: 197" in page.inner_text("pre.rnnlens-summary")
    page.close()
    assert errors == [] and requests == []
