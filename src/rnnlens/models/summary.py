"""``model.summary()``: Keras 3's table of layers, output shapes and parameters.

Keras 3.15.1 draws the table with box characters in fixed-width columns
(31 / 22 / 13 for a sequence-like model; 19 / 17 / 10 / 17 with a
"Connected to" column for other graphs), wrapping cells at spaces and
cutting words that do not fit with "…". This module reproduces that layout.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from rnnlens.functional import SymbolicTensor

_WIDTHS = {3: (31, 22, 13), 4: (19, 17, 10, 17)}


def readable_size(n_bytes: float) -> str:
    """48 -> '48.00 B', 4096 -> '4.00 KB' (Keras's ``readable_memory_size``)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return ""


def wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap; a word longer than ``width`` is cut with '…'."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        if len(word) > width:
            word = word[: width - 1] + "…"
        candidate = word if not current else f"{current} {word}"
        if len(candidate) <= width:
            current = candidate
        else:
            lines.append(current)
            current = word
    return lines + [current]


def sequential_like(model: Any) -> bool:
    """Keras's test: one node per depth, each with one input, no shared layers."""
    from rnnlens.models.sequential import Sequential

    if isinstance(model, Sequential):
        return True
    per_depth = Counter(model._node_depth.values())
    nodes = list(model._node_depth)
    if any(n > 1 for n in per_depth.values()) or any(len(n.input_tensors) > 1 for n in nodes):
        return False
    uses = Counter(id(n.layer) for n in nodes)
    return all(n <= 1 for n in uses.values())


def _operations(model: Any) -> list:
    """What Keras lists: a Functional model's operations (its layers and the op nodes of
    ``keras.ops`` calls and mask computations, in graph order), else its layers."""
    from rnnlens.models.sequential import Sequential

    if isinstance(model, Sequential) or "_layers" not in model.__dict__:
        return model.layers
    return list(model._layers)


def _shape_text(node: Any) -> str:
    """Keras's ``format_layer_shape``: ``(None, 3)``, ``(None)`` for one dimension, and a
    list of shapes for several outputs."""
    out = node.output_structure
    if isinstance(out, SymbolicTensor):
        return _shape_text_of(out)
    return "[" + ", ".join(_shape_text_of(t) for t in node.outputs) + "]"


def _shape_text_of(tensor: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(int(d)) for d in tensor.shape) + ")"


def _layer_rows(model: Any) -> list[list[str]]:
    """One row per layer or op node: name (type), output shape, params, connected to."""
    rows = []
    in_graph = set(model._node_depth)
    for layer in _operations(model):
        nodes = [n for n in layer._inbound_nodes if n in in_graph]
        node = nodes[-1] if nodes else (layer._inbound_nodes[-1] if layer._inbound_nodes
                                        else None)
        shape = _shape_text(node) if node is not None else "?"
        parents = [f"{t.layer.name}[{t.node_index}][{t.tensor_index}]"
                   for n in nodes for t in n.input_tensors]
        rows.append([f"{layer.name} ({type(layer).__name__})", shape,
                     f"{layer.count_params():,}", ", ".join(parents) or "-"])
    return rows


def _table(headers: list[str], rows: list[list[str]], widths: tuple[int, ...]) -> list[str]:
    right = {2}

    def lines(cells: list[str], bar: str) -> list[str]:
        wrapped = [wrap(c, w) for c, w in zip(cells, widths)]
        height = max(len(w) for w in wrapped)
        out = []
        for k in range(height):
            parts = []
            for col, (w, width) in enumerate(zip(wrapped, widths)):
                text = w[k] if k < len(w) else ""
                parts.append(" " + (text.rjust(width) if col in right else text.ljust(width))
                             + " ")
            out.append(bar + bar.join(parts) + bar)
        return out

    def rule(left: str, mid: str, end: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + end

    out = [rule("┏", "┳", "┓", "━"), *lines(headers, "┃"), rule("┡", "╇", "┩", "━")]
    for k, row in enumerate(rows):
        out.extend(lines(row, "│"))
        out.append(rule("├", "┼", "┤", "─") if k < len(rows) - 1 else rule("└", "┴", "┘", "─"))
    return out


def summary_text(model: Any, line_length: int | None = None) -> str:
    """The text ``model.summary()`` prints."""
    rows = _layer_rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if sequential_like(model):
        headers, rows = headers[:3], [r[:3] for r in rows]
    total = sum(int(w.size) for w in model.weights)
    trainable = sum(int(w.size) for lyr in model.layers for w in lyr.trainable_weights)
    return "\n".join([
        f'Model: "{model.name}"', *_table(headers, rows, _WIDTHS[len(headers)]),
        f" Total params: {total:,} ({readable_size(total * 4)})",
        f" Trainable params: {trainable:,} ({readable_size(trainable * 4)})",
        f" Non-trainable params: {total - trainable:,} "
        f"({readable_size((total - trainable) * 4)})",
    ])
