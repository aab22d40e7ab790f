"""The self-contained HTML page: one file, inline CSS / JS / data, no network.

The page is ``page.css`` and ``page.js`` (package data, embedded verbatim) and
one ``<script type="application/json">`` block of data (arrays encoded by
:mod:`rnnlens.explain.encode`). A Content-Security-Policy meta tag forbids
every fetch, so the page opens from disk in any browser and asks for nothing.
In Jupyter ``_repr_html_`` wraps the same page in an ``<iframe srcdoc>`` so its
styles and scripts stay out of the notebook's.
"""

from __future__ import annotations

import html as html_mod
import json
import math
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from rnnlens.explain import encode

_CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'")


def asset(name: str) -> str:
    """The text of ``page.js`` / ``page.css`` (package data)."""
    return resources.files("rnnlens.explain").joinpath(name).read_text(encoding="utf-8")


def asset_size() -> int:
    """Bytes of the page's fixed code (CSS and JS)."""
    return len(asset("page.js").encode()) + len(asset("page.css").encode()) + 4000


@dataclass
class Part:
    """The data of one model's page (a page may show several models: the tour)."""

    title: str
    model: str
    notes: list[str]
    total: int
    traced: list[int]
    detail: list[int]
    inputs: list[dict]
    nodes: list = field(repr=False)
    tensors: list = field(repr=False)
    views: list = field(repr=False)
    targets: list = field(repr=False)
    attribution: list = field(repr=False)
    attribution_problems: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "title": self.title, "model": self.model, "notes": self.notes,
            "samples": {"total": self.total, "traced": self.traced, "detail": self.detail},
            "inputs": self.inputs,
            "nodes": [n.to_json() for n in self.nodes],
            "tensors": [t.to_json() for t in self.tensors],
            "views": [_view_json(v) for v in self.views],
            "targets": [t.to_json() for t in self.targets],
            "attribution": [None if a is None else [encode.floats(row) for row in a]
                            for a in self.attribution],
            "attribution_problems": {str(k): v for k, v in self.attribution_problems.items()},
        }

    def view(self, key: str) -> Any:
        """The LayerView of trace key ``key``."""
        for v in self.views:
            if v.key == key:
                return v
        raise KeyError(f"no recurrent layer call {key!r}; the page has "
                       f"{[v.key for v in self.views]}")


def _numbers(values: Any) -> list:
    """Floats for the JSON: 4 significant digits; +inf -> None, NaN -> -1."""
    out = []
    for v in np.asarray(values, np.float64).ravel():
        out.append(-1 if math.isnan(v) else encode.rounded(v))
    return out


def _view_json(v: Any) -> dict:
    n = len(next(iter(v.detail.values()))) if v.detail else 0
    return {
        "key": v.key, "node": v.node, "direction": v.direction, "cell": v.cell,
        "go_backwards": v.go_backwards, "steps": v.steps, "window": list(v.window),
        "units": v.units, "units_shown": v.units_shown, "config": v.config,
        "specs": [s.to_json() for s in v.specs],
        "threshold": v.threshold, "threshold_rule": v.threshold_rule,
        "on": encode.bits(v.on), "mask": None if v.mask is None else encode.bits(v.mask),
        "saturation": {g: {"low": _numbers(lo), "high": _numbers(hi)}
                       for g, (lo, hi) in v.saturation.items()},
        "memory_gate": v.memory_gate,
        "memory": None if v.memory is None else _numbers(v.memory),
        "memory_never": None if v.memory_never is None else _numbers(v.memory_never),
        "detail": [{"arrays": {k: encode.floats(a[d]) for k, a in v.detail.items()},
                    "initial": {k: encode.floats(a[d]) for k, a in v.initial.items()}}
                   for d in range(n)],
    }


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
{css}</style></head>
<body>
<div id="app"><p class="loading">rnnlens: drawing the page (it needs JavaScript)...</p></div>
<div id="tooltip" role="tooltip" hidden></div>
<script type="application/json" id="rnnlens-data">{data}</script>
<script>
{js}</script>
</body></html>
"""


class Explanation:
    """An explainer page of one or more models; ``save``, ``html``, Jupyter display.

    Attributes:
        parts: one :class:`Part` per model, with the NumPy data behind the page
            (``parts[0].views``: the recurrent layer calls; ``.attribution``:
            per input, (detail samples, targets, steps) gradients).
    """

    def __init__(self, parts: list[Part]):
        self.parts = list(parts)
        self._html: str | None = None

    @property
    def views(self) -> list:
        """The first model's recurrent layer views."""
        return self.parts[0].views

    def data(self) -> dict:
        """The page's data, as embedded (JSON-ready)."""
        return {"version": 1, "models": [p.to_json() for p in self.parts]}

    def html(self) -> str:
        """The whole page as one string."""
        if self._html is None:
            text = json.dumps(self.data(), separators=(",", ":"), allow_nan=False)
            text = text.replace("<", "\\u003c").replace(">", "\\u003e")
            title = "rnnlens explain: " + ", ".join(p.title for p in self.parts)
            self._html = _TEMPLATE.format(csp=_CSP, title=html_mod.escape(title),
                                          css=asset("page.css"), js=asset("page.js"),
                                          data=text)
        return self._html

    def save(self, path: str | os.PathLike) -> str:
        """Writes the page (UTF-8) to ``path``; returns the path."""
        path = os.fspath(path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.html())
        return path

    @property
    def size(self) -> int:
        """The page's size in bytes."""
        return len(self.html().encode("utf-8"))

    def _repr_html_(self) -> str:
        return ('<iframe style="width:100%;height:900px;border:1px solid #ccc" '
                f'srcdoc="{html_mod.escape(self.html(), quote=True)}"></iframe>')

    def __repr__(self) -> str:
        titles = ", ".join(p.title for p in self.parts)
        return f"Explanation({titles}: {sum(len(p.views) for p in self.parts)} recurrent views)"


def combine(explanations: list[Explanation], titles: list[str] | None = None) -> Explanation:
    """One page with several models (a selector at the top switches between them)."""
    parts = [p for e in explanations for p in e.parts]
    if titles is not None:
        if len(titles) != len(parts):
            raise ValueError(f"combine: {len(titles)} titles for {len(parts)} models.")
        for p, t in zip(parts, titles):
            p.title = t
    return Explanation(parts)
