#!/usr/bin/env python
"""The explainer page at full size: its bytes, build time, and time to interactive.

The case the limits are made for: 3 stacked ``LSTM(256, return_sequences=True)``
layers on (32, 500, 8) inputs (``explain``'s defaults: max_samples=32,
max_steps=500, max_units=256). Measured:

* ``build``: seconds for ``rnnlens.explain(model, x)`` (tracing every sample,
  statistics, the attribution backward passes) and for ``html()``;
* ``size``: the page's bytes (target < 10 MB) and how many samples got detail;
* ``ready``: time to interactive in headless Chromium, from navigation start to
  the moment the page sets ``window.__rnnlens_ready`` (every view drawn),
  as ``performance.now()`` reports it (target < 2 s; the median of ``--runs``);
* ``switch``: milliseconds to redraw after choosing another layer and sample.

Usage:
    python benchmarks/bench_explain.py                 # the full case
    python benchmarks/bench_explain.py --quick         # 2 layers x 64 units x 100 steps
    python benchmarks/bench_explain.py --json out.json --chromium /usr/bin/chromium

Needs the ``playwright`` package and a Chromium binary (``--chromium``; Debian's
``chromium`` package installs ``/usr/bin/chromium``); without them only the
Python side is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import rnnlens  # noqa: E402
from rnnlens.layers import LSTM, Input  # noqa: E402
from rnnlens.explain import explain  # noqa: E402
from rnnlens.models import Model  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def build_case(layers: int, units: int, steps: int, samples: int, features: int = 8):
    rnnlens.utils.set_random_seed(0)
    inputs = Input(shape=(steps, features))
    y = inputs
    for k in range(layers):
        y = LSTM(units, return_sequences=True, name=f"lstm_{k}")(y)
    model = Model(inputs, y, name=f"bench_{layers}x{units}x{steps}")
    x = np.random.default_rng(0).normal(size=(samples, steps, features)).astype(np.float32)
    return model, x


def measure_browser(path: str, chromium: str, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    ready, switch, errors = [], [], []
    with sync_playwright() as p:
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as profile:
                ctx = p.chromium.launch_persistent_context(
                    profile, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
                    viewport={"width": 1280, "height": 900})
                page = ctx.new_page()
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                    ("file:", "data:", "about:")) else (errors.append(route.request.url), route.abort()))
                page.goto("file://" + path)
                page.wait_for_function("window.__rnnlens_ready === true", timeout=60_000)
                ready.append(page.evaluate("window.__rnnlens_ready_ms") / 1000)
                switch.append(page.evaluate("""() => {
                    const t0 = performance.now();
                    const layer = document.getElementById('layer-select');
                    layer.value = String(layer.options.length - 1);
                    layer.dispatchEvent(new Event('change'));
                    const sample = document.getElementById('sample-select');
                    sample.value = String(sample.options.length - 1);
                    sample.dispatchEvent(new Event('change'));
                    return performance.now() - t0; }"""))
                ctx.close()
    return {"ready_s": statistics.median(ready), "ready_all_s": ready,
            "switch_ms": statistics.median(switch), "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small case (CI smoke test)")
    parser.add_argument("--runs", type=int, default=3, help="browser loads to take the median of")
    parser.add_argument("--chromium", default=os.environ.get("CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--json", help="write the results to this file")
    parser.add_argument("--out", help="keep the page at this path")
    args = parser.parse_args(argv)

    shape = (2, 64, 100, 32) if args.quick else (3, 256, 500, 32)
    model, x = build_case(*shape)
    t0 = time.perf_counter()
    page = explain(model, x)
    t1 = time.perf_counter()
    text = page.html()
    t2 = time.perf_counter()
    size = len(text.encode("utf-8"))
    result = {"case": "layers x units x steps x samples = {} x {} x {} x {}".format(*shape),
              "explain_s": round(t1 - t0, 2), "html_s": round(t2 - t1, 2), "bytes": size,
              "detail_samples": len(page.parts[0].detail),
              "attribution_targets": len(page.parts[0].targets), "size_ok": size < 10_000_000}
    print(f"{result['case']}: explain {result['explain_s']} s, html {result['html_s']} s, "
          f"page {size / 1e6:.2f} MB ({'<' if result['size_ok'] else '>='} 10 MB), "
          f"{result['detail_samples']} sample(s) in detail, "
          f"{result['attribution_targets']} attributed outputs")
    with tempfile.TemporaryDirectory() as tmp:
        path = args.out or os.path.join(tmp, "bench_explain.html")
        Path(path).write_text(text, encoding="utf-8")
        try:
            import playwright  # noqa: F401
            browser_ok = os.path.exists(args.chromium)
        except ImportError:
            browser_ok = False
        if browser_ok:
            result.update(measure_browser(os.path.abspath(path), args.chromium, args.runs))
            result["ready_ok"] = result["ready_s"] < 2.0
            print(f"time to interactive (median of {args.runs}): {result['ready_s']:.2f} s "
                  f"({'<' if result['ready_ok'] else '>='} 2 s); redraw after switching layer "
                  f"and sample: {result['switch_ms']:.0f} ms; page errors: {result['errors']}")
        else:
            print("playwright or Chromium not found: browser timings skipped")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    ok = result["size_ok"] and result.get("ready_ok", True) and not result.get("errors")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
