"""``rnnlens.explain`` pages in a real browser: headless Chromium driven by Playwright.

Pages for the seed model (Input(3, 1) -> LSTM(1, return_sequences=True,
return_state=True)), a masked Bidirectional model, an encoder-decoder and a
page large enough to draw on canvases are opened from disk. Every request is
routed: anything but ``file:`` / ``data:`` / ``about:`` fails the test, as do
console errors. Checked: the number of heatmap cells, hover values against
``rnnlens.trace`` (read from the tooltip), the layer / sample / unit selectors,
clicking a cell, the step view's numbers, pattern search against the same rule
in NumPy, attribution bars against the Python data, the mask on the time axis,
the tour's model selector, Jupyter's iframe, and a screenshot that is not blank.

Needs ``pip install playwright`` and a Chromium binary (Debian: ``apt-get install
chromium``; ``CHROMIUM=/path`` to use another). Never ``playwright install``: the
tests launch the system Chromium. Without them the tests fail, naming what is
missing (set ``RNNLENS_SKIP_BROWSER=1`` to skip them deliberately).
"""

from __future__ import annotations

import base64
import os
import re
import shutil
from typing import Any, Iterator

import numpy as np
import pytest

import _explain_models as M
import rnnlens
from rnnlens.explain import combine, explain

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL = ("file:", "data:", "about:")
F16 = 2.0 ** -11


def chromium_path() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium",
                      shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.exists(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: Any) -> Iterator[Any]:
    """One Chromium with a fresh user-data directory for the module."""
    if os.environ.get("RNNLENS_SKIP_BROWSER") == "1":
        pytest.skip("RNNLENS_SKIP_BROWSER=1")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need the playwright package: pip install playwright "
                    "(and Chromium: apt-get install chromium; no 'playwright install')")
    path = chromium_path()
    if path is None:
        pytest.fail("the browser tests need Chromium: apt-get install chromium, or set "
                    "CHROMIUM=/path/to/chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=path,
            headless=True, args=ARGS, viewport={"width": 1280, "height": 900})
        yield context
        context.close()


class Opened:
    """A loaded page plus what it tried to do."""

    def __init__(self, page: Any, errors: list, requests: list):
        self.page, self.errors, self.requests = page, errors, requests

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert self.requests == [], self.requests


@pytest.fixture
def open_page(browser: Any, tmp_path: Any) -> Iterator[Any]:
    opened: list[Opened] = []

    def load(page_obj: Any, name: str = "page.html") -> Opened:
        path = page_obj.save(tmp_path / name)
        page = browser.new_page()
        errors: list = []
        requests: list = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))

        def route(r: Any) -> None:
            if r.request.url.startswith(LOCAL):
                r.continue_()
            else:
                requests.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto("file://" + os.path.abspath(path))
        page.wait_for_function("window.__rnnlens_ready === true", timeout=30_000)
        result = Opened(page, errors, requests)
        opened.append(result)
        return result

    yield load
    for o in opened:
        o.clean()                                    # every page: no errors, no network
        o.page.close()


def hover(page: Any, selector: str, t: int, u: int) -> tuple[str, float]:
    """Moves the mouse to cell (step t, unit u) of a heatmap; returns the tooltip."""
    handle = page.locator(selector)
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    rows, cols = int(handle.get_attribute("data-rows")), int(handle.get_attribute("data-cols"))
    page.mouse.move(box["x"] + (t + 0.5) * box["width"] / cols,
                    box["y"] + (u + 0.5) * box["height"] / rows)
    hidden, text, value = page.eval_on_selector(
        "#tooltip", "e => [e.hidden, e.textContent, e.dataset.value]")
    assert not hidden
    return text, float(value)


def close16(got: float, want: float) -> bool:
    return abs(got - want) <= F16 * abs(want) + 6e-8


def select(page: Any, selector: str, value: Any) -> None:
    page.select_option(selector, str(value))


# ---------------------------------------------------------------------------- seed
def test_seed_page_cells_hover_and_step(open_page: Any) -> None:
    model, x = M.seed()
    o = open_page(explain(model, x))
    page = o.page
    tr = rnnlens.trace(model, x)["lstm"]
    names = page.eval_on_selector_all("#layer .heatmap", "es => es.map(e => e.dataset.array)")
    assert names == ["h", "c", "i", "f", "g", "o"]
    for name in names:
        sel = f'#layer .heatmap[data-array="{name}"]'
        assert page.locator(sel).get_attribute("data-rows") == "1"
        assert page.locator(sel).get_attribute("data-cols") == "3"
        assert page.locator(sel + " rect.cell").count() == 3
        arr = {"h": tr.h, "c": tr.c, **tr.gates}[name]
        for t in range(3):
            text, value = hover(page, sel, t, 0)
            assert close16(value, float(arr[0, t, 0])), (name, t, value)
            assert f"{name}[unit 0, step {t}]" in text
    # the returns panel: h and c of every step, the last columns named state_h / state_c
    boxes = page.eval_on_selector_all('[data-strip="h"] .box', "es => es.map(e => e.dataset.value)")
    assert all(close16(float(v), float(tr.h[0, t, 0])) for t, v in enumerate(boxes))
    assert "state_h = h_T" in page.inner_text("#returns")
    assert "state_c = c_T" in page.inner_text("#returns")
    mine = page.inner_text("#returns tr.mine")
    assert "return_sequences=True, return_state=True" in mine
    graph = page.inner_text("#graph")
    for label in ("lstm (None, 3, 1)", "h at every step", "state_h = h_T", "state_c = c_T"):
        assert label in graph
    # the step view at the last step: c_t = f*c_(t-1) + i*g with the traced numbers
    line = next(s for s in page.eval_on_selector_all("#step-view .equation",
                                                      "es => es.map(e => e.textContent)")
                if s.startswith("c_t"))
    numbers = [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", line.split("=", 2)[2])]
    want = [tr.gates["f"][0, 2, 0], tr.c[0, 1, 0], tr.gates["i"][0, 2, 0], tr.gates["g"][0, 2, 0],
            tr.c[0, 2, 0]]
    assert len(numbers) == 5
    for got, w in zip(numbers, want):
        assert abs(got - w) <= 6e-4 * abs(w) + 1e-6, (line, want)


def test_screenshot_is_not_blank(open_page: Any) -> None:
    o = open_page(explain(*M.seed()))
    shot = o.page.screenshot(full_page=False)
    stats = o.page.evaluate("""async (b64) => {
        const img = new Image();
        img.src = 'data:image/png;base64,' + b64;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width; c.height = img.height;
        const ctx = c.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        let n = 0, s = 0, s2 = 0, colours = new Set();
        for (let i = 0; i < d.length; i += 4) {
          const v = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
          n++; s += v; s2 += v * v;
          if (i % 64 === 0) colours.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
        }
        return {std: Math.sqrt(s2 / n - (s / n) ** 2), colours: colours.size,
                width: c.width, height: c.height};
    }""", base64.b64encode(shot).decode())
    assert stats["width"] == 1280 and stats["height"] == 900
    assert stats["std"] > 15 and stats["colours"] > 20, stats


# ---------------------------------------------------------------------------- bidirectional
def test_bidirectional_selectors_hover_and_masks(open_page: Any) -> None:
    model, x = M.bidirectional()
    o = open_page(explain(model, x))
    page = o.page
    traces = rnnlens.trace(model, x)
    options = page.eval_on_selector_all("#layer-select option", "es => es.map(e => e.textContent)")
    assert options == ["forward_lstm (LSTM, forward)", "backward_lstm (LSTM, backward)",
                       "gru (GRU)"]
    # sample 0 is padded on the right: steps 4, 5 masked on the time axis
    assert page.locator("#layer .maskstrip .mcell").count() == 6
    assert page.eval_on_selector_all("#layer .maskstrip .mcell.masked",
                                     "es => es.length") == 2
    assert page.locator('#layer .heatmap[data-array="h"] .mark.masked').count() == 2
    for view_index, key in ((1, "backward_lstm"), (2, "gru")):
        select(page, "#layer-select", view_index)
        for sample in (0, 2, 4):
            select(page, "#sample-select", sample)
            tr = traces[key]
            names = page.eval_on_selector_all("#layer .heatmap", "es => es.map(e => e.dataset.array)")
            assert names == (["h", "c", "i", "f", "g", "o"] if key != "gru" else
                             ["h", "z", "r", "hh"])
            for name, t, u in (("h", 0, 1), ("c" if key != "gru" else "z", 5, 0), (names[-1], 3, 1)):
                arr = {"h": tr.h, "c": tr.c, **tr.gates}[name]
                _, value = hover(page, f'#layer .heatmap[data-array="{name}"]', t, u)
                assert close16(value, float(arr[sample, t, u])), (key, sample, name, t, u)
            masked = page.eval_on_selector_all(
                "#layer .maskstrip .mcell", "es => es.map(e => e.classList.contains('masked'))")
            assert masked == [not m for m in tr.mask[sample]]


def test_click_and_unit_change_the_step_view(open_page: Any) -> None:
    model, x = M.bidirectional()
    o = open_page(explain(model, x))
    page = o.page
    tr = rnnlens.trace(model, x)["forward_lstm"]
    handle = page.locator('#layer .heatmap[data-array="c"]')
    handle.scroll_into_view_if_needed()
    box = handle.bounding_box()
    page.mouse.click(box["x"] + 1.5 * box["width"] / 6, box["y"] + 2.5 * box["height"] / 3)
    assert page.input_value("#step-input") == "1" and page.input_value("#unit-input") == "2"
    text = page.inner_text("#step-view")
    assert f"= {float(np.float16(tr.c[0, 1, 2])):.4g}" in text.replace("(", "").replace(")", "")
    page.fill("#unit-input", "0")
    page.dispatch_event("#unit-input", "change")
    assert "unit 0" in page.inner_text("#step") and page.inner_text("#step-view") != text
    page.fill("#step-input", "5")                    # a masked step of sample 0
    page.dispatch_event("#step-input", "change")
    assert "masked step: every state is carried" in page.inner_text("#step-view")


def python_search(on: np.ndarray, pos: int, units: list[int], a: int, b: int) -> int:
    """The page's rule: windows of every traced sample whose on/off cells all agree."""
    query = on[pos, a:b + 1][:, units]
    length = b - a + 1
    found = 0
    for s in range(on.shape[0]):
        for start in range(on.shape[1] - length + 1):
            if (s, start) != (pos, a) and np.array_equal(on[s, start:start + length][:, units],
                                                         query):
                found += 1
    return found


def test_pattern_search_matches_numpy(open_page: Any) -> None:
    model, x = M.bidirectional(samples=12)
    page_obj = explain(model, x, threshold=0.05)
    o = open_page(page_obj)
    page = o.page
    view = page_obj.parts[0].views[0]
    assert page.locator("#pattern-results tr").count() == 0
    page.fill("#pattern-from", "1")
    page.dispatch_event("#pattern-from", "change")
    page.fill("#pattern-to", "2")
    page.dispatch_event("#pattern-to", "change")
    page.click("#pattern-on")
    units_text = page.input_value("#pattern-units")
    on_units = [u for u in range(3) if view.on[0, 1:3, u].all()]
    assert units_text == ", ".join(map(str, on_units))
    page.fill("#pattern-units", "0, 2")
    page.dispatch_event("#pattern-units", "change")
    page.click("#pattern-search")
    count = int(page.get_attribute("#pattern-count", "data-count"))
    assert count == python_search(view.on, 0, [0, 2], 1, 2)
    rows = page.locator("#pattern-results tr.match")
    assert rows.count() == min(count, 50) + 1         # the matches and the query itself
    assert page.locator("#pattern-results tr.self").count() == 1
    first = rows.nth(0) if "self" not in (rows.nth(0).get_attribute("class") or "") else rows.nth(1)
    target_sample = int(first.get_attribute("data-sample"))
    first.click()
    assert page.eval_on_selector("#sample-select", "e => e.selectedOptions[0].textContent") == \
        f"sample {target_sample}"
    page.select_option("#pattern-agree", "0.7")
    page.click("#pattern-search")
    assert int(page.get_attribute("#pattern-count", "data-count")) >= count


# ---------------------------------------------------------------------------- encoder-decoder
def test_attribution_bars_and_selectors(open_page: Any) -> None:
    model, x = M.encoder_decoder()
    page_obj = explain(model, x)
    part = page_obj.parts[0]
    o = open_page(page_obj)
    page = o.page
    state_c = next(t.id for t in part.tensors if t.name == "encoder_2")
    select(page, "#attr-tensor", state_c)
    select(page, "#attr-unit", 1)
    k = next(j for j, t in enumerate(part.targets) if t.tensor == state_c and t.unit == 1)
    enc = page.eval_on_selector_all('.attr-input[data-input="encoder_input"] rect.bar',
                                    "es => es.map(e => Number(e.dataset.value))")
    dec = page.eval_on_selector_all('.attr-input[data-input="decoder_input"] rect.bar',
                                    "es => es.map(e => Number(e.dataset.value))")
    assert len(enc) == 5 and len(dec) == 3
    assert all(close16(g, w) for g, w in zip(enc, part.attribution[0][0, k]))
    assert dec == [0, 0, 0]                           # the encoder's state ignores the decoder
    head = next(t.id for t in part.tensors if t.name == "head")
    select(page, "#attr-tensor", head)
    select(page, "#attr-step", 1)
    k = next(j for j, t in enumerate(part.targets) if t.tensor == head and t.step == 1)
    dec = page.eval_on_selector_all('.attr-input[data-input="decoder_input"] rect.bar',
                                    "es => es.map(e => Number(e.dataset.value))")
    assert all(close16(g, w) for g, w in zip(dec, part.attribution[1][0, k]))
    assert dec[2] == 0 and dec[0] != 0                # step 1 cannot see step 2
    select(page, "#sample-select", 3)
    moved = page.eval_on_selector_all('.attr-input[data-input="decoder_input"] rect.bar',
                                      "es => es.map(e => Number(e.dataset.value))")
    assert all(close16(g, w) for g, w in zip(moved, part.attribution[1][3, k]))
    graph = page.inner_text("#graph")
    assert re.search(r"encoder_2 \(None, 4\)\s+state_c = c_T", graph)


# ---------------------------------------------------------------------------- canvases, tour, iframe
def test_large_heatmaps_draw_on_canvas(open_page: Any) -> None:
    rnnlens.utils.set_random_seed(9)
    inputs = rnnlens.Input(shape=(120, 3))
    model = rnnlens.Model(inputs, rnnlens.layers.GRU(64, return_sequences=True, name="big")(inputs))
    x = np.random.default_rng(5).normal(size=(4, 120, 3)).astype(np.float32)
    o = open_page(explain(model, x, max_steps=100, max_units=48))
    page = o.page
    tr = rnnlens.trace(model, x)["big"]
    canvas = page.locator('#layer .heatmap[data-array="h"] canvas')
    assert canvas.get_attribute("width") == "100" and canvas.get_attribute("height") == "48"
    for t, u in ((0, 0), (57, 31), (99, 47)):
        _, value = hover(page, '#layer .heatmap[data-array="z"]', t, u)
        assert close16(value, float(tr.gates["z"][0, 20 + t, u]))
    assert "steps 20–119 of 120 and units 0–47 of 64 are shown" in page.inner_text("#notes")


def test_tour_page_model_selector(open_page: Any) -> None:
    seed_model, seed_x = M.seed()
    pages = combine([explain(seed_model, seed_x), explain(*M.encoder_decoder())],
                    titles=["the seed", "encoder-decoder"])
    o = open_page(pages)
    page = o.page
    assert page.inner_text("#title") == "rnnlens explain: the seed"
    select(page, "#model-select", 1)
    assert page.inner_text("#title") == "rnnlens explain: encoder-decoder"
    options = page.eval_on_selector_all("#layer-select option", "es => es.map(e => e.value)")
    assert len(options) == 2
    assert page.locator('#layer .heatmap[data-array="h"]').get_attribute("data-rows") == "4"


def test_jupyter_iframe_runs_isolated(browser: Any) -> None:
    page = browser.new_page()
    errors: list = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_content("<html><head><style>section{display:none}</style></head><body>"
                     + explain(*M.seed())._repr_html_() + "</body></html>")
    frame = page.frames[1]
    frame.wait_for_function("window.__rnnlens_ready === true", timeout=30_000)
    assert frame.locator("section").count() == 7
    assert frame.is_visible("#layer")                 # the notebook's style does not leak in
    assert page.evaluate("window.__rnnlens_ready") is None
    page.close()
    assert errors == []
