"""Drawing a model graph without Graphviz: a layered layout, SVG text, matplotlib images.

Used by ``plot_model`` when pydot or Graphviz's ``dot`` is missing. Each node is
Keras's label table: a black title row (``name (Class)`` in white, 16 pt), an
optional white ``Activation`` row, and a row of cells (shapes, dtype,
trainable; 14 pt); cells are padded by 10 pt as ``cellpadding="10"``.

Layout (Sugiyama-style, simplified): a node's rank is the longest path to it
from a node without inputs; ranks are stacked along ``rankdir``; nodes of one
rank are ordered by the mean position of their neighbours in the rank before
(then after), four sweeps; each node is then placed at the mean cross
position of its inputs, pushed apart where boxes would overlap. Edges leave a
box's bottom (``LR``: right) side, turn at right angles halfway before the
target rank, and end in an arrowhead. Clusters (nested models with
``expand_nested``) are dashed boxes around their nodes, labelled top-left.

Coordinates are points (1/72 inch): an SVG is ``width x height pt``; an image
made by matplotlib is ``width / 72`` inches at ``dpi``. Text widths are
estimated generously (0.6 em a character, bold 0.68 em: Helvetica's and
DejaVu Sans's fit); the matplotlib path places the runs as rendered.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TITLE_PT, ROW_PT, PAD = 16.0, 14.0, 10.0
RANK_GAP, NODE_GAP, MARGIN, CLUSTER_PAD = 40.0, 24.0, 12.0, 10.0
FONT = "Helvetica, Arial, sans-serif"


@dataclass
class Cell:
    """One table cell: text runs ``[(text, bold)]`` and colours."""

    runs: list
    bg: str = "white"
    fg: str = "black"
    size: float = ROW_PT
    width: float = 0.0


@dataclass
class Box:
    """One node's label: title runs, an optional activation row, a row of cells."""

    title: list
    activation: list | None = None
    cells: list = field(default_factory=list)
    colspan: int = 1
    layer: str = ""
    cluster: tuple = ()
    w: float = 0.0
    h: float = 0.0
    x: float = 0.0          # centre
    y: float = 0.0

    def rows(self) -> list[list[Cell]]:
        out = [[Cell(self.title, "black", "white", TITLE_PT)]]
        if self.activation:
            out.append([Cell(self.activation)])
        if self.cells:
            out.append(self.cells)
        return out

    def text(self) -> str:
        return "\n".join("".join(t for t, _ in c.runs) for row in self.rows() for c in row)


def text_width(runs: list, size: float) -> float:
    return sum(len(t) * size * (0.68 if bold else 0.6) for t, bold in runs)


def row_height(row: list[Cell]) -> float:
    return max(c.size for c in row) * 1.2 + 2 * PAD


def measure(box: Box) -> None:
    """Sets the box's width and height from its rows."""
    widths = [sum(text_width(c.runs, c.size) + 2 * PAD for c in row) for row in box.rows()]
    box.w = max(widths) + 2
    box.h = sum(row_height(row) for row in box.rows()) + 2


# -- layout ---------------------------------------------------------------------


def ranks_of(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Rank of every node: the longest path to it, then as close to its users as that allows."""
    preds: dict[str, list[str]] = {i: [] for i in ids}
    for s, d in edges:
        preds[d].append(s)
    rank: dict[str, int] = {}

    def visit(i: str, depth: int = 0) -> int:
        if i not in rank:
            if depth > len(ids):
                raise ValueError("The model graph has a cycle.")
            rank[i] = 1 + max((visit(p, depth + 1) for p in preds[i]), default=-1)
        return rank[i]

    for i in ids:
        visit(i)
    succ: dict[str, list[str]] = {}
    for s, d in edges:
        succ.setdefault(s, []).append(d)
    for i in sorted(ids, key=lambda n: -rank[n]):       # pull nodes down to their users
        if succ.get(i):
            rank[i] = min(rank[d] for d in succ[i]) - 1
    return rank


def _order(layers: list[list[str]], edges: list[tuple[str, str]]) -> None:
    """Barycentre ordering within ranks, four down-and-up sweeps, in place."""
    up: dict[str, list[str]] = {}
    down: dict[str, list[str]] = {}
    for s, d in edges:
        down.setdefault(s, []).append(d)
        up.setdefault(d, []).append(s)
    for _ in range(4):
        for r in range(1, len(layers)):
            layers[r] = _by_barycentre(layers[r], layers[r - 1], up)
        for r in range(len(layers) - 2, -1, -1):
            layers[r] = _by_barycentre(layers[r], layers[r + 1], down)


def _by_barycentre(rank: list[str], other: list[str], near: dict[str, list[str]]
                   ) -> list[str]:
    """``rank`` sorted by the mean position of each node's neighbours in ``other``."""
    pos = {n: k for k, n in enumerate(other)}
    keys = []
    for k, n in enumerate(rank):
        ps = [pos[p] for p in near.get(n, []) if p in pos]
        keys.append((float(np.mean(ps)) if ps else float(k), k))
    return [rank[k] for _, k in sorted(keys)]


def layout(boxes: dict[str, Box], edges: list[tuple[str, str]], rankdir: str
           ) -> tuple[float, float]:
    """Places every box (centres); returns the drawing's (width, height) in points."""
    ids = list(boxes)
    rank = ranks_of(ids, edges)
    layers: list[list[str]] = [[] for _ in range(max(rank.values(), default=-1) + 1)]
    for i in ids:
        layers[rank[i]].append(i)
    _order(layers, edges)
    vertical = rankdir in ("TB", "BT")
    main = (lambda b: b.h) if vertical else (lambda b: b.w)        # size along the ranks
    cross = (lambda b: b.w) if vertical else (lambda b: b.h)
    preds: dict[str, list[str]] = {}
    for s, d in edges:
        preds.setdefault(d, []).append(s)
    at_main, at_cross, offset = {}, {}, MARGIN
    for layer in layers:
        depth = max(main(boxes[i]) for i in layer)
        wanted = []
        for k, i in enumerate(layer):
            ps = [at_cross[p] for p in preds.get(i, []) if p in at_cross]
            wanted.append(float(np.mean(ps)) if ps else k * 1e-6)
        placed = _spread([cross(boxes[i]) for i in layer], wanted)
        for i, c in zip(layer, placed):
            at_main[i], at_cross[i] = offset + depth / 2, c
        offset += depth + RANK_GAP
    low = min(at_cross[i] - cross(boxes[i]) / 2 for i in ids)
    extent_cross = max(at_cross[i] + cross(boxes[i]) / 2 for i in ids) - low + 2 * MARGIN
    extent_main = offset - RANK_GAP + MARGIN
    for i in ids:
        m, c = at_main[i], at_cross[i] - low + MARGIN
        if rankdir in ("BT", "RL"):
            m = extent_main - m
        boxes[i].x, boxes[i].y = (c, m) if vertical else (m, c)
    return (extent_cross, extent_main) if vertical else (extent_main, extent_cross)


def _spread(sizes: list[float], wanted: list[float]) -> list[float]:
    """Centres in order, as close to ``wanted`` as non-overlap allows (mean shift kept)."""
    out: list[float] = []
    for k, s in enumerate(sizes):
        c = wanted[k] if k == 0 else max(wanted[k], out[-1] + (sizes[k - 1] + s) / 2 + NODE_GAP)
        out.append(c)
    shift = float(np.mean(wanted) - np.mean(out)) if len(out) > 1 else 0.0
    return [c + shift for c in out]


def edge_path(a: Box, b: Box, rankdir: str) -> list[tuple[float, float]]:
    """Right-angled polyline from box ``a`` to box ``b`` (the last point at b's border)."""
    sign = -1.0 if rankdir in ("BT", "RL") else 1.0
    if rankdir in ("TB", "BT"):
        y0, y1 = a.y + sign * a.h / 2, b.y - sign * b.h / 2
        mid = y1 - sign * RANK_GAP / 2
        return [(a.x, y0), (a.x, mid), (b.x, mid), (b.x, y1)]
    x0, x1 = a.x + sign * a.w / 2, b.x - sign * b.w / 2
    mid = x1 - sign * RANK_GAP / 2
    return [(x0, a.y), (mid, a.y), (mid, b.y), (x1, b.y)]


def arrowhead(points: list[tuple[float, float]], size: float = 7.0) -> list[tuple[float, float]]:
    (x0, y0), (x1, y1) = points[-2], points[-1]
    d = np.array([x1 - x0, y1 - y0], float)
    d = d / (np.linalg.norm(d) or 1.0)
    n = np.array([-d[1], d[0]])
    tip = np.array([x1, y1])
    base = tip - d * size
    return [tuple(tip), tuple(base + n * size * 0.45), tuple(base - n * size * 0.45)]


# -- the scene: boxes, edges, clusters -------------------------------------------


class Scene:
    """A laid-out graph, ready to be written as SVG or drawn by matplotlib."""

    def __init__(self, boxes: dict[str, Box], edges: list[tuple[str, str]],
                 clusters: dict[tuple, str], rankdir: str, title: str = "model"):
        self.boxes, self.edges, self.rankdir, self.title = boxes, edges, rankdir, title
        for box in boxes.values():
            measure(box)
        self.width, self.height = layout(boxes, edges, rankdir) if boxes else (40.0, 40.0)
        self.clusters = self._cluster_frames(clusters)

    @classmethod
    def of(cls, dot: Any) -> "Scene":
        """The scene of an rnnlens ``Dot`` (nodes of nested clusters included)."""
        boxes: dict[str, Box] = {}
        edges: list[tuple[str, str]] = []
        clusters: dict[tuple, str] = {}

        def walk(graph: Any, path: tuple) -> None:
            for kind, item in graph.items:
                if kind == "node":
                    box = item.box if item.box is not None else Box(title=[(item.name, True)])
                    box.cluster = path
                    boxes[item.name] = box
                elif kind == "edge":
                    edges.append((item.src, item.dst))
                elif kind == "subgraph":
                    inner = path + (item.graph_name,)
                    clusters[inner] = str(item.get("label") or item.graph_name)
                    walk(item, inner)

        walk(dot, ())
        edges = [(s, d) for s, d in dict.fromkeys(edges) if s in boxes and d in boxes]
        return cls(boxes, edges, clusters, str(dot.get("rankdir") or "TB"))

    def _cluster_frames(self, clusters: dict[tuple, str]) -> list[tuple]:
        """(x0, y0, x1, y1, label) around each cluster's boxes, outer ones larger."""
        frames = []
        for path, label in clusters.items():
            inside = [b for b in self.boxes.values() if b.cluster[:len(path)] == path]
            if not inside:
                continue
            pad = CLUSTER_PAD * (1 + max(len(b.cluster) for b in inside) - len(path))
            x0 = min(b.x - b.w / 2 for b in inside) - pad
            y0 = min(b.y - b.h / 2 for b in inside) - pad - ROW_PT
            x1 = max(b.x + b.w / 2 for b in inside) + pad
            y1 = max(b.y + b.h / 2 for b in inside) + pad
            frames.append((x0, y0, x1, y1, label))
        if frames:
            lo_x = min(0.0, *(f[0] - MARGIN for f in frames))
            lo_y = min(0.0, *(f[1] - MARGIN for f in frames))
            self._shift(-lo_x, -lo_y)
            frames = [(a - lo_x, b - lo_y, c - lo_x, d - lo_y, t) for a, b, c, d, t in frames]
            self.width = max(self.width, *(f[2] + MARGIN for f in frames))
            self.height = max(self.height, *(f[3] + MARGIN for f in frames))
        return frames

    def _shift(self, dx: float, dy: float) -> None:
        for b in self.boxes.values():
            b.x, b.y = b.x + dx, b.y + dy
        self.width, self.height = self.width + dx, self.height + dy

    def cells(self, box: Box) -> list[tuple[float, float, float, float, Cell]]:
        """(x, y, w, h, cell) of every cell of a box, rows stretched to the box width."""
        out = []
        y = box.y - box.h / 2 + 1
        inner = box.w - 2
        for row in box.rows():
            hgt = row_height(row)
            natural = [text_width(c.runs, c.size) + 2 * PAD for c in row]
            scale = inner / sum(natural)
            x = box.x - box.w / 2 + 1
            for c, n in zip(row, natural):
                out.append((x, y, n * scale, hgt, c))
                x += n * scale
            y += hgt
        return out

    def text(self) -> str:
        """Every label's text, one cell a line (the PNG's description)."""
        return "\n".join(b.text() for b in self.boxes.values())

    # -- SVG ---------------------------------------------------------------

    def svg(self) -> str:
        w, h = self.width, self.height
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}pt" height="{h:.0f}pt" '
               f'viewBox="0 0 {w:.1f} {h:.1f}">',
               f"<title>{html.escape(self.title)}</title>",
               f'<rect width="{w:.1f}" height="{h:.1f}" fill="white"/>']
        for x0, y0, x1, y1, label in self.clusters:
            out.append(f'<g class="cluster"><rect x="{x0:.1f}" y="{y0:.1f}" '
                       f'width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" fill="none" '
                       'stroke="black" stroke-dasharray="5,2"/>'
                       f'<text x="{x0 + 6:.1f}" y="{y0 + ROW_PT + 2:.1f}" font-family="{FONT}" '
                       f'font-size="{ROW_PT:g}">{html.escape(label)}</text></g>')
        for s, d in self.edges:
            pts = edge_path(self.boxes[s], self.boxes[d], self.rankdir)
            head = arrowhead(pts)
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts[:-1] + [_back(pts, 6.0)])
            tri = " ".join(f"{x:.1f},{y:.1f}" for x, y in head)
            out.append(f'<g class="edge"><polyline points="{line}" fill="none" stroke="black" '
                       f'stroke-width="2"/><polygon points="{tri}" fill="black"/></g>')
        for box in self.boxes.values():
            out.append(f'<g class="node"><title>{html.escape(box.layer or box.text())}</title>')
            for x, y, cw, chh, c in self.cells(box):
                out.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cw:.1f}" height="{chh:.1f}" '
                           f'fill="{c.bg}" stroke="black"/>')
                spans = "".join(f'<tspan font-weight="bold">{html.escape(t)}</tspan>' if b
                                else f"<tspan>{html.escape(t)}</tspan>" for t, b in c.runs)
                out.append(f'<text x="{x + cw / 2:.1f}" y="{y + chh / 2 + c.size * 0.35:.1f}" '
                           f'text-anchor="middle" font-family="{FONT}" '
                           f'font-size="{c.size:g}" fill="{c.fg}">{spans}</text>')
            out.append("</g>")
        return "\n".join(out + ["</svg>"]) + "\n"

    # -- matplotlib ---------------------------------------------------------

    def image(self, fmt: str, dpi: float) -> bytes:
        """The drawing as ``fmt`` bytes (png, pdf, jpg, ps, eps, ...) by matplotlib."""
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
            from matplotlib.patches import Polygon, Rectangle
        except ImportError:
            raise ImportError(
                f"Writing a .{fmt} model plot needs Graphviz (pip install pydot; apt-get "
                "install graphviz) or matplotlib (pip install \"rnnlens[plot]\"); a .svg "
                "file needs neither.") from None
        import io

        fig = Figure(figsize=(self.width / 72.0, self.height / 72.0), dpi=dpi)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, self.width)
        ax.set_ylim(self.height, 0)
        ax.axis("off")
        for x0, y0, x1, y1, label in self.clusters:
            ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, linestyle="--",
                                   linewidth=0.8))
            ax.text(x0 + 6, y0 + ROW_PT + 2, label, fontsize=ROW_PT, family="sans-serif")
        for s, d in self.edges:
            pts = edge_path(self.boxes[s], self.boxes[d], self.rankdir)
            xs, ys = zip(*(pts[:-1] + [_back(pts, 6.0)]))
            ax.plot(xs, ys, color="black", linewidth=1.5, solid_capstyle="butt")
            ax.add_patch(Polygon(arrowhead(pts), closed=True, color="black"))
        renderer = canvas.get_renderer()
        for box in self.boxes.values():
            for x, y, cw, chh, c in self.cells(box):
                ax.add_patch(Rectangle((x, y), cw, chh, facecolor=c.bg, edgecolor="black",
                                       linewidth=0.75))
                _runs(ax, renderer, c, x + cw / 2, y + chh / 2, dpi)
        buffer = io.BytesIO()
        meta = {"png": {"Title": self.title, "Description": self.text(), "Software": "rnnlens"},
                "pdf": {"Title": self.title, "Subject": self.text(), "Creator": "rnnlens"}}
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=meta.get(fmt))
        return buffer.getvalue()


def _back(points: list[tuple[float, float]], by: float) -> tuple[float, float]:
    """The last point moved ``by`` back along the last segment (the arrowhead's base)."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    d = np.array([x1 - x0, y1 - y0], float)
    n = np.linalg.norm(d)
    return (x1, y1) if n == 0 else tuple(np.array([x1, y1]) - d / n * min(by, n))


def _runs(ax: Any, renderer: Any, cell: Cell, cx: float, cy: float, dpi: float) -> None:
    """Draws a cell's text runs side by side, centred at (cx, cy), measured as rendered."""
    texts = [ax.text(0, cy, t, fontsize=cell.size, fontweight="bold" if b else "normal",
                     color=cell.fg, va="center", ha="left", family="sans-serif")
             for t, b in cell.runs]
    widths = [t.get_window_extent(renderer).width * 72.0 / dpi for t in texts]
    x = cx - sum(widths) / 2
    for t, w in zip(texts, widths):
        t.set_x(x)
        x += w
