"""``model.summary()``: Keras 3's table of layers, output shapes and parameters."""

from __future__ import annotations

from typing import Any

from rnnlens.functional import SymbolicTensor


def _fmt(shape: Any) -> str:
    if isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape):
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + \
            ("," if len(shape) == 1 else "") + ")"
    return "[" + ", ".join(_fmt(s) for s in shape) + "]"


def readable_size(n_bytes: float) -> str:
    """48 -> '48.00 B', 4096 -> '4.00 KB' (Keras's ``readable_memory_size``)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024
    return ""


def _layer_rows(model: Any) -> tuple[list[list[str]], bool]:
    """One row per layer: name (type), output shape, params, [connected to]."""
    rows, chain = [], True
    graph_nodes = {id(n) for n in model._nodes}
    for layer in model.layers:
        nodes = [n for n in layer._inbound_nodes if id(n) in graph_nodes or n.is_input]
        node = nodes[-1] if nodes else None
        shape = _fmt(_shape_of(node)) if node is not None else "?"
        parents = [] if node is None else [
            f"{t.layer.name}[{t.node_index}][{t.tensor_index}]" for t in node.input_tensors]
        if len(parents) > 1 or len(nodes) > 1:
            chain = False
        rows.append([f"{layer.name} ({type(layer).__name__})", shape,
                     f"{layer.count_params():,}", ", ".join(parents) or "-"])
    return rows, chain


def _shape_of(node: Any) -> Any:
    out = node.output_structure
    if isinstance(out, SymbolicTensor):
        return out.shape
    return [t.shape for t in node.outputs]


def _table(headers: list[str], rows: list[list[str]], widths: list[int],
           right: set[int]) -> list[str]:
    def line(cells: list[str], sep: str, edge: tuple[str, str]) -> str:
        parts = []
        for k, (c, w) in enumerate(zip(cells, widths)):
            parts.append(" " + (c.rjust(w) if k in right else c.ljust(w)) + " ")
        return edge[0] + sep.join(parts) + edge[1]

    def rule(left: str, mid: str, right_: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right_

    out = [rule("┏", "┳", "┓", "━"), line(headers, "┃", ("┃", "┃")),
           rule("┡", "╇", "┩", "━")]
    for k, row in enumerate(rows):
        out.append(line(row, "│", ("│", "│")))
        out.append(rule("├", "┼", "┤", "─") if k < len(rows) - 1 else rule("└", "┴", "┘", "─"))
    return out


def summary_text(model: Any, line_length: int | None = None) -> str:
    """The text ``model.summary()`` prints."""
    rows, chain = _layer_rows(model)
    headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if chain:
        headers, rows = headers[:3], [r[:3] for r in rows]
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(headers)]
    widths = [max(w, m) for w, m in zip(widths, (31, 22, 13, 22))]
    total = sum(int(w.size) for w in model.weights)
    trainable = sum(int(w.size) for lyr in model.layers for w in lyr.trainable_weights)
    lines = [f'Model: "{model.name}"', *_table(headers, rows, widths, {2}),
             f" Total params: {total:,} ({readable_size(total * 4)})",
             f" Trainable params: {trainable:,} ({readable_size(trainable * 4)})",
             f" Non-trainable params: {total - trainable:,} "
             f"({readable_size((total - trainable) * 4)})"]
    return "\n".join(lines)
