"""``keras.utils.plot_model`` and ``keras.utils.model_to_dot`` for rnnlens models.

The graph is Keras 3.15.1's: one node per layer (per operation of a
functional model, ``InputLayer`` included; a ``Sequential``'s layers without
its input; a nested model as one node, or as a dashed cluster of its own
layers with ``expand_nested=True``), labelled with Keras's HTML table
(``<b>name</b> (Class)``, then optionally ``Activation: ...`` and the cells
``Input shape``, ``Output shape``, ``Output dtype``, ``Trainable``), and one
edge per (producing layer -> consuming layer) of the model's own calls.

Two ways to draw it:

* with ``pydot`` (and Graphviz's ``dot`` program for images) installed, exactly
  as Keras: ``model_to_dot`` returns a ``pydot.Dot`` and ``dot`` renders the
  file in any format it knows;
* otherwise rnnlens draws it itself (:mod:`rnnlens.utils._model_drawing`): a
  layered layout (ranks by longest path, order by barycentre), ``.svg`` written
  directly with NumPy only, ``.png`` / ``.pdf`` / ``.jpg`` / ``.ps`` / ``.eps``
  through matplotlib, ``.dot`` / ``.gv`` as DOT text. ``model_to_dot`` then
  returns a :class:`Dot` whose ``to_string()`` is the DOT text pydot would
  write.

Differences from Keras: without pydot or Graphviz, Keras raises ImportError
(or prints a message in a notebook); rnnlens draws the graph itself. Keras
returns ``IPython.display.Image`` for every format but PDF (which fails for
SVG); rnnlens returns ``IPython.display.SVG`` for ``.svg``, ``Image`` for
PNG / JPEG / GIF and None for other formats or without IPython.
"""

from __future__ import annotations

import os
import re
from typing import Any

from rnnlens.utils import _model_drawing as drawing

_KEYWORDS = {"graph", "node", "edge", "digraph", "subgraph", "strict"}
_PYDOT: list = []


# -- a small pydot: the part model_to_dot uses, written as pydot 4 writes it ----


def _quote(value: Any) -> str:
    """A DOT id or attribute value, quoted when pydot would quote it."""
    if value is True or value is False:
        return "true" if value else "false"
    text = str(value)
    if text.startswith("<") and text.endswith(">"):
        return text
    if re.fullmatch(r"[A-Za-z_\x80-\uffff][\w\x80-\uffff]*", text) and \
            text.lower() not in _KEYWORDS:
        return text
    if re.fullmatch(r"-?(\.\d+|\d+(\.\d*)?)", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _attr_list(attrs: dict) -> str:
    return ", ".join(f"{k}={_quote(v)}" for k, v in attrs.items())


class Node:
    """A graph node: its id, its DOT attributes, and the label's parts for drawing."""

    def __init__(self, name: str, box: Any = None, **attrs: Any):
        self.name, self.box, self.attrs = str(name), box, dict(attrs)

    def set(self, key: str, value: Any) -> None:
        self.attrs[key] = value

    def get(self, key: str) -> Any:
        return self.attrs.get(key)

    def get_name(self) -> str:
        return self.name

    def to_string(self) -> str:
        return f"{_quote(self.name)} [{_attr_list(self.attrs)}];" if self.attrs \
            else f"{_quote(self.name)};"


class Edge:
    """A directed edge between two node ids."""

    def __init__(self, src: str, dst: str, **attrs: Any):
        self.src, self.dst, self.attrs = str(src), str(dst), dict(attrs)

    def set(self, key: str, value: Any) -> None:
        self.attrs[key] = value

    def to_string(self) -> str:
        body = f"{_quote(self.src)} -> {_quote(self.dst)}"
        return f"{body} [{_attr_list(self.attrs)}];" if self.attrs else f"{body};"


class Dot:
    """A directed graph (``digraph G``) or a cluster subgraph, as pydot's ``Dot`` / ``Cluster``.

    ``to_string()`` is the DOT text; ``create(format=...)`` the drawing's bytes
    and ``write(path, format=...)`` the file, drawn by rnnlens (SVG without
    matplotlib; other images with it).
    """

    def __init__(self, graph_name: str = "G", cluster: bool = False, **attrs: Any):
        self.graph_name, self.cluster = graph_name, cluster
        self.attrs: dict = {}
        self.items: list[tuple[str, Any]] = []
        for key, value in attrs.items():
            self.set(key, value)

    def set(self, key: str, value: Any) -> None:
        self.attrs[key] = value

    def get(self, key: str) -> Any:
        return self.attrs.get(key)

    def set_node_defaults(self, **attrs: Any) -> None:
        self.items.append(("defaults", attrs))

    def add_node(self, node: Node) -> None:
        self.items.append(("node", node))

    def add_edge(self, edge: Edge) -> None:
        self.items.append(("edge", edge))

    def add_subgraph(self, graph: "Dot") -> None:
        self.items.append(("subgraph", graph))

    def get_edge(self, src: str, dst: str) -> list[Edge]:
        return [e for kind, e in self.items if kind == "edge" and (e.src, e.dst) == (src, dst)]

    def get_nodes(self) -> list[Node]:
        return [n for kind, n in self.items if kind == "node"]

    def get_edges(self) -> list[Edge]:
        return [e for kind, e in self.items if kind == "edge"]

    def get_subgraphs(self) -> list["Dot"]:
        return [g for kind, g in self.items if kind == "subgraph"]

    def to_string(self) -> str:
        head = f"subgraph {_quote('cluster_' + self.graph_name)}" if self.cluster \
            else f"digraph {_quote(self.graph_name)}"
        lines = [head + " {"] + [f"{k}={_quote(v)};" for k, v in self.attrs.items()]
        for kind, item in self.items:
            lines.append(f"node [{_attr_list(item)}];" if kind == "defaults"
                         else item.to_string().rstrip("\n"))
        return "\n".join(lines) + "\n}\n"

    def create(self, prog: Any = None, format: str = "svg", dpi: Any = None) -> bytes:
        """The drawing as bytes (``format``: svg, dot, or an image format of matplotlib)."""
        fmt = str(format).lower()
        if fmt in ("dot", "gv", "raw", "canon"):
            return self.to_string().encode("utf-8")
        scene = drawing.Scene.of(self)
        if fmt == "svg":
            return scene.svg().encode("utf-8")
        return scene.image(fmt, float(dpi or self.get("dpi") or 96))

    def write(self, path: Any, prog: Any = None, format: str = "raw") -> None:
        with open(path, "wb") as f:
            f.write(self.create(format=format))

    def _repr_svg_(self) -> str:
        return drawing.Scene.of(self).svg()


# -- pydot / Graphviz, as Keras checks them -------------------------------------


def _pydot() -> Any:
    """The pydot module (or pydot_ng / pydotplus, as Keras), or None."""
    if not _PYDOT:
        found = None
        for name in ("pydot", "pydot_ng", "pydotplus"):
            try:
                found = __import__(name)
                break
            except ImportError:
                continue
        _PYDOT.append(found)
    return _PYDOT[0]


def check_pydot() -> bool:
    """True when pydot is installed."""
    return _pydot() is not None


def check_graphviz() -> bool:
    """True when pydot and Graphviz's ``dot`` both work (Keras's check: draw an empty graph)."""
    pydot = _pydot()
    if pydot is None:
        return False
    try:
        pydot.Dot.create(pydot.Dot())
        return True
    except (OSError, getattr(pydot, "PydotException", OSError)):
        return False


# -- labels ---------------------------------------------------------------------


def activation_name(layer: Any) -> str:
    act = layer.activation
    return getattr(act, "name", None) or getattr(act, "__name__", None) or str(act)


def _format_shape(shape: Any) -> str:
    if shape is None:
        return "?"
    text = ", ".join(f"{k}: {v}" for k, v in shape.items()) if isinstance(shape, dict) \
        else f"{shape}"
    return text.replace("}", "").replace("{", "")


def _tensor_attr(layer: Any, which: str, attr: str) -> Any:
    try:
        value = getattr(layer, which)
    except (ValueError, AttributeError):
        return None
    if isinstance(value, (list, tuple)):
        return [getattr(v, attr) for v in value]
    if isinstance(value, dict):
        return {k: getattr(v, attr) for k, v in value.items()}
    return getattr(value, attr, None)


def label_box(layer: Any, show_layer_names: bool, show_layer_activations: bool,
              show_dtype: bool, show_shapes: bool, show_trainable: bool) -> drawing.Box:
    """The label's rows of cells (Keras's ``make_layer_label``, as data)."""
    cls = type(layer).__name__
    title = [(layer.name, True), (f" ({cls})", False)] if show_layer_names else [(cls, True)]
    box = drawing.Box(title=title)
    if show_layer_activations and getattr(layer, "activation", None) is not None:
        box.activation = [("Activation: ", False), (activation_name(layer), True)]
    if show_shapes:
        if cls != "InputLayer":
            box.cells.append(drawing.Cell(
                [("Input shape: ", False),
                 (_format_shape(_tensor_attr(layer, "input", "shape")), True)]))
        box.cells.append(drawing.Cell(
            [("Output shape: ", False),
             (_format_shape(_tensor_attr(layer, "output", "shape")), True)]))
    if show_dtype:
        dtype = _tensor_attr(layer, "output", "dtype")
        box.cells.append(drawing.Cell([("Output dtype: ", False), (f"{dtype or '?'}", True)]))
    if show_trainable and hasattr(layer, "trainable") and layer.weights:
        box.cells.append(drawing.Cell([("Trainable", True)], "forestgreen", "white")
                         if layer.trainable else
                         drawing.Cell([("Non-trainable", True)], "firebrick", "white"))
    box.colspan = max(1, sum(int(x) for x in (show_dtype, show_trainable)) + 2 * show_shapes)
    return box


def label_html(box: drawing.Box) -> str:
    """The label as Keras writes it (a Graphviz HTML-like table)."""
    def runs(parts: list) -> str:
        return "".join(f"<b>{text}</b>" if bold else text for text, bold in parts)

    table = '<<table border="0" cellborder="1" bgcolor="black" cellpadding="10">'
    table += (f'<tr><td colspan="{box.colspan}" bgcolor="black"><font point-size="16" '
              f'color="white">{runs(box.title)}</font></td></tr>')
    if box.activation:
        table += (f'<tr><td bgcolor="white" colspan="{box.colspan}"><font point-size="14">'
                  f"{runs(box.activation)}</font></td></tr>")
    cells = []
    for cell in box.cells:
        colour = "" if cell.fg == "black" else f' color="{cell.fg}"'
        cells.append(f'<td bgcolor="{cell.bg}"><font point-size="14"{colour}>'
                     f"{runs(cell.runs)}</font></td>")
    if cells:
        table += f"<tr>{''.join(cells)}</tr>"
    return table + "</table>>"


# -- the graph ------------------------------------------------------------------


def _kinds() -> tuple[type, type]:
    from rnnlens.models.model import Functional
    from rnnlens.models.sequential import Sequential

    return Functional, Sequential


def _make_node(pd: Any, layer: Any, label: dict) -> Any:
    box = label_box(layer, **label)
    node = pd.Node(str(id(layer)), label=label_html(box))
    if pd is _MINI:
        node.box = box
        node.box.layer = layer.name
    node.set("fontname", "Helvetica")
    node.set("border", "0")
    node.set("margin", "0")
    return node


def _add_edge(pd: Any, dot: Any, src: Any, dst: Any) -> None:
    src_id, dst_id = str(id(src)), str(id(dst))
    if not dot.get_edge(src_id, dst_id):
        edge = pd.Edge(src_id, dst_id)
        edge.set("penwidth", "2")
        dot.add_edge(edge)


class _Mini:
    """pydot's names for the small pydot above."""

    Node = Node
    Edge = Edge

    @staticmethod
    def Dot() -> Dot:
        return Dot()

    @staticmethod
    def Cluster(graph_name: str, style: str) -> Dot:
        return Dot(graph_name, cluster=True, style=style)


_MINI = _Mini()


def _check_args(model: Any, kwargs: dict) -> None:
    if not getattr(model, "built", False):
        raise ValueError("This model has not yet been built. Build the model first by "
                         "calling `build()` or by calling the model on a batch of data.")
    if kwargs.pop("layer_range", None) is not None:
        raise ValueError("Argument `layer_range` is no longer supported.")
    if kwargs:
        raise ValueError(f"Unrecognized keyword arguments: {kwargs}")


def _graph(pd: Any, model: Any, label: dict, rankdir: str, expand_nested: bool, dpi: Any,
           subgraph: bool, splines: str) -> Any:
    """Keras's ``model_to_dot`` written against a pydot-like module ``pd``."""
    functional, sequential = _kinds()
    if subgraph:
        dot = pd.Cluster(graph_name=model.name, style="dashed")
        dot.set("label", model.name)
        dot.set("labeljust", "l")
    else:
        dot = pd.Dot()
        dot.set("rankdir", rankdir)
        dot.set("concentrate", True)
        dot.set("dpi", dpi)
        dot.set("splines", splines)
        dot.set_node_defaults(shape="record")
    if isinstance(model, sequential):
        layers = model.layers
    elif not isinstance(model, functional):
        dot.add_node(_make_node(pd, model, label))           # a subclassed model: one node
        return dot
    else:
        layers = list(model._layers)                          # Keras's _operations
    for layer in layers:
        if expand_nested and isinstance(layer, (functional, sequential)):
            dot.add_subgraph(_graph(pd, layer, label, rankdir, True, dpi, True, splines))
        else:
            dot.add_node(_make_node(pd, layer, label))
    if isinstance(model, sequential):
        if not expand_nested:
            for first, second in zip(layers, layers[1:]):
                _add_edge(pd, dot, first, second)
            return dot
        layers = model.layers[1:]
    own = set(map(id, model._nodes)) if isinstance(model, functional) else None
    for layer in layers:
        for node in layer._inbound_nodes:
            if own is not None and id(node) not in own:
                continue
            for input_index, tensor in enumerate(node.input_tensors):
                source, destination = tensor.layer, layer
                output_index = tensor.tensor_index
                if expand_nested:
                    while isinstance(source, (functional, sequential)):
                        inner = source.outputs[output_index]
                        source, output_index = inner.layer, inner.tensor_index
                    while isinstance(destination, (functional, sequential)):
                        destination = destination.inputs[input_index].layer \
                            if isinstance(destination, functional) else destination.layers[0]
                _add_edge(pd, dot, source, destination)
    return dot


def model_to_dot(model: Any, show_shapes: bool = False, show_dtype: bool = False,
                 show_layer_names: bool = True, rankdir: str = "TB",
                 expand_nested: bool = False, dpi: int = 200, subgraph: bool = False,
                 show_layer_activations: bool = False, show_trainable: bool = False,
                 splines: str = "ortho", **kwargs: Any) -> Any:
    """Converts a model to dot format (``keras.utils.model_to_dot``).

    Args:
        model: a built ``Model`` / ``Sequential``.
        show_shapes: whether to display shape information.
        show_dtype: whether to display layer dtypes.
        show_layer_names: whether to display layer names.
        rankdir: ``"TB"`` (a vertical plot) or ``"LR"`` (horizontal); ``"BT"``
            and ``"RL"`` too.
        expand_nested: whether to expand nested models into clusters.
        dpi: image resolution in dots per inch.
        subgraph: whether to return a cluster (for a nested model).
        show_layer_activations: display layer activations (only for layers that
            have an ``activation`` attribute).
        show_trainable: whether to display if a layer is trainable.
        splines: how Graphviz draws edges (``"ortho"``, ``"curved"``,
            ``"polyline"``, ``"spline"``, ``"line"``); rnnlens's own drawing
            always draws right angles.

    Returns:
        A ``pydot.Dot`` (``pydot.Cluster`` with ``subgraph=True``) when pydot is
        installed, as Keras; otherwise rnnlens's :class:`Dot` (same DOT text).
    """
    _check_args(model, kwargs)
    _check_rankdir(rankdir)
    pd = _pydot() or _MINI
    label = {"show_layer_names": show_layer_names,
             "show_layer_activations": show_layer_activations, "show_dtype": show_dtype,
             "show_shapes": show_shapes, "show_trainable": show_trainable}
    return _graph(pd, model, label, rankdir, expand_nested, dpi, subgraph, splines)


def _check_rankdir(rankdir: Any) -> None:
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"rankdir must be 'TB' (vertical) or 'LR' (horizontal) ('BT', 'RL' "
                         f"also work); received {rankdir!r}.")


def plot_model(model: Any, to_file: Any = "model.png", show_shapes: bool = False,
               show_dtype: bool = False, show_layer_names: bool = False, rankdir: str = "TB",
               expand_nested: bool = False, dpi: int = 200,
               show_layer_activations: bool = False, show_trainable: bool = False,
               splines: str = "ortho", **kwargs: Any) -> Any:
    """Draws a model's graph to a file (``keras.utils.plot_model``).

    Example::

        rnnlens.utils.plot_model(model, to_file="model.svg", show_shapes=True)

    Args:
        model: a built ``Model`` / ``Sequential``.
        to_file: the file; its extension is the format (no extension: PNG).
            With Graphviz any format ``dot`` knows; without it ``.svg``
            (NumPy only), ``.dot`` / ``.gv``, and with matplotlib ``.png``,
            ``.pdf``, ``.jpg``, ``.ps``, ``.eps``.
        show_shapes, show_dtype, show_layer_names, rankdir, expand_nested, dpi,
        show_layer_activations, show_trainable, splines: as ``model_to_dot``
            (``show_layer_names`` is False by default here, as in Keras).

    Returns:
        ``IPython.display.SVG`` / ``Image`` of the file when IPython is
        installed (for SVG, PNG, JPEG, GIF), else None.
    """
    _check_args(model, kwargs)
    _check_rankdir(rankdir)
    label = {"show_layer_names": show_layer_names,
             "show_layer_activations": show_layer_activations, "show_dtype": show_dtype,
             "show_shapes": show_shapes, "show_trainable": show_trainable}
    to_file = os.fspath(to_file) if isinstance(to_file, os.PathLike) else str(to_file)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    if check_graphviz():
        dot = _graph(_pydot(), model, label, rankdir, expand_nested, dpi, False, splines)
        dot.write(to_file, format=extension)
    else:
        dot = _graph(_MINI, model, label, rankdir, expand_nested, dpi, False, splines)
        data = dot.create(format=extension, dpi=dpi)
        with open(to_file, "wb") as f:
            f.write(data)
    return _display(to_file, extension)


def _display(path: str, extension: str) -> Any:
    try:
        from IPython import display
    except ImportError:
        return None
    if extension == "svg":
        return display.SVG(filename=path)
    if extension in ("png", "jpg", "jpeg", "gif"):
        return display.Image(filename=path, format="jpeg" if extension == "jpg" else extension)
    return None


__all__ = ["plot_model", "model_to_dot", "check_pydot", "check_graphviz", "Dot", "Node",
           "Edge"]
