#!/usr/bin/env python
"""Writes docs/explain.png: the seed model's explainer page, as the README shows it.

The seed tutorial's model (Input(3, 1) -> LSTM(1, return_sequences=True,
return_state=True), weights from seed 1, x = [0.1, 0.2, 0.3]) in headless Chromium
(``CHROMIUM``, default /usr/bin/chromium), 1000 px wide, from the top of the page
to the end of the step view; palette-reduced with Pillow when it is installed, so
the file stays under 150 kB.

Usage: python tests/make_explain_screenshot.py [OUT.png]
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

import _explain_models as M  # noqa: E402
from rnnlens.explain import explain  # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main(out: str = str(ROOT / "docs" / "explain.png")) -> int:
    from playwright.sync_api import sync_playwright

    page_obj = explain(*M.seed(), title="the seed tutorial's LSTM")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        path = page_obj.save(os.path.join(tmp, "seed.html"))
        ctx = p.chromium.launch_persistent_context(
            os.path.join(tmp, "profile"), headless=True, args=ARGS,
            executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
            viewport={"width": 1000, "height": 900})
        page = ctx.new_page()
        page.goto("file://" + path)
        page.wait_for_function("window.__rnnlens_ready === true")
        bottom = page.evaluate("document.getElementById('step').getBoundingClientRect().bottom")
        png = page.screenshot(clip={"x": 0, "y": 0, "width": 1000, "height": bottom + 12},
                              full_page=True)
        ctx.close()
    try:
        from PIL import Image

        image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", optimize=True)
        png = buffer.getvalue()
    except ImportError:
        pass
    Path(out).write_bytes(png)
    print(f"wrote {out}: {len(png) / 1e3:.0f} kB")
    return 0 if len(png) < 150_000 else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
