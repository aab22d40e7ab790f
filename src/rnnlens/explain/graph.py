"""The model graph the page draws: every layer call, every tensor's shape and meaning.

For a recurrent layer the tensors it returns are named for what they are
(the seed tutorial's four configurations)::

    return_sequences=True   output  (B, T, u)  h at every step, h_1 .. h_T
    default                 output  (B, u)     h after the last step, h_T
    return_state=True       state_h (B, u)     h_T: the last column of h
                            state_c (B, u)     c_T: the last column of c (LSTM)

A ``Bidirectional`` layer's output merges the forward h with the backward h
(time-aligned when it is a sequence); its states are the forward layer's
then the backward layer's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rnnlens.functional import map_graph
from rnnlens.layers.base import format_shape

CELL_KINDS = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}


@dataclass
class TensorInfo:
    """One tensor of the graph (a model input, a layer output or a state)."""

    id: int
    name: str
    shape: tuple
    role: str                   # input, sequence, last, state_h, state_c, state, tensor
    desc: str
    node: int
    output: int | None = None   # position among the model's outputs
    symbolic: Any = field(default=None, repr=False)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "shape": format_shape(self.shape),
                "role": self.role, "desc": self.desc, "node": self.node,
                "output": self.output}


@dataclass
class NodeInfo:
    """One layer call."""

    id: int
    name: str
    cls: str
    depth: int
    inputs: list[int]
    outputs: list[int]
    flags: str
    recurrent: bool
    layer: Any = field(default=None, repr=False)

    def to_json(self) -> dict:
        return {"id": self.id, "name": self.name, "class": self.cls, "depth": self.depth,
                "inputs": self.inputs, "outputs": self.outputs, "flags": self.flags,
                "recurrent": self.recurrent}


def is_recurrent(layer: Any) -> bool:
    from rnnlens.layers import RNN, Bidirectional

    return isinstance(layer, (RNN, Bidirectional))


def cell_kind(layer: Any) -> str:
    """LSTM, GRU, SimpleRNN, or "cell" for stacked and user cells."""
    return CELL_KINDS.get(type(layer.cell).__name__, "cell")


def state_names(layer: Any) -> list[str]:
    """Names of the states a recurrent layer returns (h, c; cell k's states for stacks)."""
    cell = layer.cell
    named = getattr(layer, "state_names", None)
    if named and cell_kind(layer) != "cell":
        return list(named)
    cells = getattr(cell, "cells", None)
    if cells is None:
        return [f"s{k}" for k in range(len(cell.state_size))]
    out = []
    for k, sub in enumerate(cells):
        kind = CELL_KINDS.get(type(sub).__name__)
        names = ["h", "c"] if kind == "LSTM" else ["h"] if kind else \
            [f"s{j}" for j in range(len(sub.state_size))]
        out += [f"cell{k}.{n}" for n in names]
    return out


def _flags(layer: Any) -> str:
    from rnnlens.layers import Bidirectional

    if not is_recurrent(layer):
        return ""
    inner = layer.forward_layer if isinstance(layer, Bidirectional) else layer
    parts = [f"units={inner.cell.output_size}"]
    for key in ("return_sequences", "return_state", "go_backwards"):
        if getattr(inner, key, False) and not (key == "go_backwards"
                                               and isinstance(layer, Bidirectional)):
            parts.append(f"{key}=True")
    if isinstance(layer, Bidirectional):
        parts.append(f"merge_mode={layer.merge_mode!r}")
    return ", ".join(parts)


def _recurrent_roles(layer: Any, n_out: int) -> list[tuple[str, str]]:
    """(role, description) for each output tensor of a recurrent layer call."""
    from rnnlens.layers import Bidirectional

    bidir = isinstance(layer, Bidirectional)
    inner = layer.forward_layer if bidir else layer
    seq = bool(inner.return_sequences)
    heads = 2 if bidir and layer.merge_mode is None else 1
    roles = []
    for k in range(heads):
        who = "" if not bidir else (" (forward)" if heads == 2 and k == 0 else
                                    " (backward)" if heads == 2 else
                                    f" ({layer.merge_mode} of forward and backward)")
        roles.append(("sequence", f"h at every step, h_1 .. h_T{who}: the "
                      "return_sequences output") if seq else
                     ("last", f"h after the last step, h_T{who}: the default output"))
    names = state_names(inner)
    for k in range(n_out - heads):
        name, side = names[k % len(names)], ""
        if bidir:
            side = " of the forward layer" if k < len(names) else \
                " of the backward layer (it read the sequence last step first)"
        if name.endswith("h"):
            roles.append(("state_h", f"state_h{side}: h_T, the last column of h"))
        elif name.endswith("c"):
            roles.append(("state_c", f"state_c{side}: c_T, the last column of the cell "
                          "state c (internal memory, not an output)"))
        else:
            roles.append(("state", f"final state {name}{side}"))
    return roles


def describe(model: Any) -> tuple[list[NodeInfo], list[TensorInfo]]:
    """Every node (layer call) and tensor of ``model``'s graph, inputs first."""
    ordered, _, depths = map_graph(list(model.inputs), list(model.outputs))
    tensors: list[TensorInfo] = []
    nodes: list[NodeInfo] = []
    ids: dict[int, int] = {}
    outputs = {id(t): k for k, t in enumerate(model.outputs)}
    for node in ordered:
        layer = node.layer
        if getattr(layer, "is_op", False) and not node.outputs:
            continue
        nid = len(nodes)
        roles = _recurrent_roles(layer, len(node.outputs)) if is_recurrent(layer) else \
            [("input", "a model input")] * len(node.outputs) if node.is_input else \
            [("tensor", "")] * len(node.outputs)
        out_ids = []
        for t, (role, desc) in zip(node.outputs, roles):
            info = TensorInfo(len(tensors), t.name, tuple(t.shape), role, desc, nid,
                              outputs.get(id(t)), t)
            ids[id(t)] = info.id
            tensors.append(info)
            out_ids.append(info.id)
        nodes.append(NodeInfo(nid, layer.name, type(layer).__name__, depths[node],
                              [ids[id(t)] for t in node.input_tensors if id(t) in ids],
                              out_ids, _flags(layer), is_recurrent(layer), layer))
    return nodes, tensors
