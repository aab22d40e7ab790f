"""Keras masks in the exported graph: where they come from, where they go, what reads them.

A mask is a bool tensor (B, T) (True: the step is real) that rides along with a layer's
output, exactly as rnnlens's ``Model._execute`` passes it (which is Keras's rule):

* a layer receives the mask given as ``mask=...`` in the graph (a Keras file's
  ``NotEqual`` op node, a bool ``Input``), else, if it ``supports_masking``, the mask
  carried by its first input (a list of them for a merge);
* its outputs carry ``compute_mask(inputs, mask)``: the incoming mask for the
  pass-through layers (Dense, Activation, Dropout, TimeDistributed, normalization,
  ...), the recurrent layers' structural rules (``return_sequences``, ``return_state``,
  Bidirectional ``merge_mode=None``), the merges' OR (``Concatenate``: joined along
  its axis, ``any`` over the last), none for a model used as a layer, and the two
  sources::

      Embedding(mask_zero=True)   mask = Not(Equal(ids, 0))              (ids as given)
      Masking(mask_value=v)       keep = ReduceMax(Cast(Not(Equal(x, v))), -1)  (B, T, 1)
                                  y = x * keep,  mask = Cast(Squeeze(keep), bool)

* the layers whose *values* depend on the mask (``_mask_users``: recurrent layers,
  Bidirectional, ConvLSTM, Multiply / Maximum / Minimum, GlobalAveragePooling1D, the
  attention layers, Softmax) must have an emitter that applies it (``handles_masks``), which
  is checked before emitting; every other layer computes the same numbers with or
  without a mask.

The Keras ops a Keras 3 file records for masks are exported too (``NotEqual``,
``Equal``, ``Any``, ``ExpandDims``, ``ZerosLike``, ``OnesLike``, ``LogicalOr``,
``LogicalAnd``, ``Concatenate``), keeping their element types (bool masks, integer
ids); float32 consumers get a ``Cast``.

Embedding ids: ``Gather(embeddings, Cast(ids, int64))`` (a float id is truncated, as
rnnlens's int32 cast). rnnlens refuses ids outside ``[0, input_dim)``; in the file an
id >= input_dim fails in ONNX Runtime and a negative id >= -input_dim indexes from the
end (``Gather``'s rule), so validate ids before running the file.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import numpy as np

from rnnlens.interop.onnx.export import Call
from rnnlens.layers import op_nodes as ops
from rnnlens.layers.base import Layer
from rnnlens.layers.core import Embedding, Masking


def handles_masks(emitter: Callable) -> Callable:
    """Marks an emitter that applies ``call.mask`` to its values."""
    emitter.handles_masks = True                     # type: ignore[attr-defined]
    return emitter


@functools.lru_cache(maxsize=1)
def _mask_users() -> tuple[type, ...]:
    from rnnlens.layers.activations import Softmax
    from rnnlens.layers.attention import AdditiveAttention, Attention, MultiHeadAttention
    from rnnlens.layers.merging import Maximum, Minimum, Multiply
    from rnnlens.layers.pooling import GlobalAveragePooling1D
    from rnnlens.layers.recurrent import RNN
    from rnnlens.layers.wrappers import Bidirectional

    return (RNN, Bidirectional, Multiply, Maximum, Minimum, GlobalAveragePooling1D,
            Attention, AdditiveAttention, MultiHeadAttention, Softmax)


def _any_mask(mask: Any) -> bool:
    if isinstance(mask, (list, tuple)):
        return any(_any_mask(m) for m in mask)
    return mask is not None


def check_mask_use(call: Call, emitter: Callable) -> None:
    """A masked call of a layer whose values read the mask needs a mask-aware emitter."""
    if not _any_mask(call.mask) or getattr(emitter, "handles_masks", False):
        return
    if isinstance(call.layer, _mask_users()):
        raise ValueError(
            f"{call.where} receives a Keras mask, which changes its values; ONNX export "
            "cannot apply a mask to this layer. Remove the mask (no Masking / "
            "Embedding(mask_zero=True) upstream), or run the model in rnnlens.")


# -- where a layer's mask comes from ------------------------------------------------------


def incoming(ex: Any, node: Any) -> Any:
    """The mask rnnlens passes to ``node``'s layer: explicit ``mask=``, else the carried
    one(s) as rnnlens's own ``_incoming_mask`` picks them."""
    from rnnlens.models.model import _incoming_mask

    if "mask" in node.kwargs:
        return _explicit(ex, node.layer, node.kwargs["mask"])
    return _incoming_mask(node, ex.masks)


def _explicit(ex: Any, layer: Any, value: Any) -> Any:
    from rnnlens.functional import SymbolicTensor

    if value is None:
        return None
    if isinstance(value, SymbolicTensor):
        return ex.as_bool(ex.raw_of(value))
    if isinstance(value, (list, tuple)):
        return [_explicit(ex, layer, v) for v in value]
    raise ValueError(f"Layer '{layer.name}' is called with a constant mask= "
                     f"({type(value).__name__}); ONNX export takes masks from the graph "
                     "(an Input or a layer's output) only.")


# -- the masks a layer's outputs carry -----------------------------------------------------


def output_masks(ex: Any, call: Call, n_out: int) -> list:
    """One mask name (or None) per output, as ``compute_mask`` gives them."""
    layer = call.layer
    if call.out_masks is not None:
        made: Any = call.out_masks
    else:
        rule = _rule(layer)
        if rule is not None:
            made = rule(ex, call)
        elif type(layer).compute_mask is Layer.compute_mask:
            made = call.mask if layer.supports_masking else None
        elif not _any_mask(call.mask):
            made = None
        else:                                             # pragma: no cover - all handled
            raise ValueError(f"{call.where} receives a mask, and ONNX export does not know "
                             "the mask it passes on.")
    flat = list(made) if isinstance(made, (list, tuple)) else [made]
    return (flat + [None] * n_out)[:n_out]


def _rule(layer: Any) -> Callable | None:
    from rnnlens.layers.merging import Concatenate, Merge

    if isinstance(layer, Concatenate):
        return _concatenate_mask
    if isinstance(layer, Merge) and type(layer).compute_mask is Merge.compute_mask:
        return _merge_mask
    if isinstance(layer, _structural()):
        # compute_mask only moves the given masks around: run it on the names
        return lambda ex, call: call.layer.compute_mask(None, call.mask)
    return None


@functools.lru_cache(maxsize=1)
def _structural() -> tuple[type, ...]:
    from rnnlens.layers.attention import AdditiveAttention, Attention
    from rnnlens.layers.cudnn import CuDNNGRU, CuDNNLSTM
    from rnnlens.layers.merging import Dot
    from rnnlens.layers.pooling import BaseGlobalPooling
    from rnnlens.layers.recurrent import RNN
    from rnnlens.layers.wrappers import Bidirectional

    return (RNN, Bidirectional, Dot, BaseGlobalPooling, CuDNNLSTM, CuDNNGRU, Attention,
            AdditiveAttention)


def _merge_mask(ex: Any, call: Call) -> str | None:
    """OR of the inputs' masks when every input has one (Keras >= 3.4); AND of those
    present for files of older Keras (``mask_rule == "and"``)."""
    mask = call.mask
    if mask is None:
        return None
    if call.layer.mask_rule == "and":
        mask = [m for m in mask if m is not None]
        if not mask:
            return None
    elif any(m is None for m in mask):
        return None
    op_type = "And" if call.layer.mask_rule == "and" else "Or"
    out = mask[0]
    for m in mask[1:]:
        out = ex.one(op_type, [out, m], f"{call.hint}/mask")
    return ex.mark(out, ex.onnx.TensorProto.BOOL)


def _concatenate_mask(ex: Any, call: Call) -> str | None:
    """Each input's mask broadcast to the input (all True without one), joined along
    ``axis``, then any / all (``mask_rule``) over the last axis."""
    mask = call.mask
    if mask is None or all(m is None for m in mask):
        return None
    hint, bool_type = f"{call.hint}/mask", ex.onnx.TensorProto.BOOL
    full = []
    for v, m in zip(call.inputs, mask):
        shape = ex.one("Shape", [v.name], hint)
        if m is None:
            m = ex.one("ConstantOfShape", [shape], hint,
                       value=ex.onnx.numpy_helper.from_array(np.ones(1, bool)))
        else:
            m = ex.one("Expand", [ex.unsqueeze(m, -1, hint), shape], hint)
        full.append(m)
    joined = ex.one("Cast", [ex.one("Concat", full, hint, axis=int(call.layer.axis))], hint,
                    to=ex.onnx.TensorProto.FLOAT)
    op_type = "ReduceMin" if call.layer.mask_rule == "and" else "ReduceMax"
    reduced = ex.reduce(op_type, joined, [-1], hint, keepdims=False)
    return ex.mark(ex.one("Cast", [reduced], hint, to=bool_type), bool_type)


# -- the mask sources ------------------------------------------------------------------------


def _elem_type(ex: Any, name: str) -> int:
    return ex.types.get(name, ex.onnx.TensorProto.FLOAT)


def _constant_like(ex: Any, value: Any, name: str) -> str:
    """A scalar ``value`` with the element type of ``name``."""
    dtype = ex.helper.tensor_dtype_to_np_dtype(_elem_type(ex, name))
    key = ("scalar", str(dtype), repr(value))
    if key not in ex.cache:                 # 0-d stays 0-d (ex.const would write [1])
        array = np.asarray(value, dtype)
        name = ex.fresh("const")
        ex.initializers.append(ex.onnx.numpy_helper.from_array(array, name))
        ex.cache[key] = name
    return ex.cache[key]


def not_equal(ex: Any, x: str, value: Any, hint: str) -> str:
    """``x != value`` as a bool tensor."""
    equal = ex.one("Equal", [x, _constant_like(ex, value, x)], hint)
    return ex.mark(ex.one("Not", [equal], hint), ex.onnx.TensorProto.BOOL)


def _embedding(ex: Any, call: Call) -> list[str]:
    layer, ids, hint = call.layer, call.raw[0], call.hint
    index = ex.one("Cast", [ids], hint, to=ex.onnx.TensorProto.INT64)
    table = ex.weight(layer, "embeddings", lambda: layer.embeddings)
    y = ex.one("Gather", [table, index], hint, axis=0)                # (B, T, D)
    call.out_masks = [not_equal(ex, ids, 0, f"{hint}/mask") if layer.mask_zero else None]
    return [y]


def _masking(ex: Any, call: Call) -> list[str]:
    x, hint = call.x.name, call.hint
    real = ex.one("Cast", [not_equal(ex, x, float(call.layer.mask_value), hint)], hint,
                  to=ex.onnx.TensorProto.FLOAT)
    keep = ex.reduce("ReduceMax", real, [-1], hint)                    # (B, T, 1)
    bool_type = ex.onnx.TensorProto.BOOL
    mask = ex.one("Cast", [ex.squeeze(keep, -1, hint)], f"{hint}/mask", to=bool_type)
    call.out_masks = [ex.mark(mask, bool_type)]
    return [ex.one("Mul", [x, keep], hint)]


# -- Keras's mask ops (op nodes of Keras 3 files) ---------------------------------------------


def _operand(ex: Any, call: Call, key: str, like: str) -> str:
    """The op's second operand: a graph tensor or a constant of ``like``'s type."""
    value = call.named.get(key)
    if hasattr(value, "shape") and not isinstance(value, (np.ndarray, np.generic)):
        return ex.raw_of(value)                 # np.float32(0.5), np.bool_: constants
    return _constant_like(ex, np.asarray(value).item() if np.ndim(value) == 0 else value, like)


def _compare(ex: Any, call: Call) -> list[str]:
    x = call.raw[0]
    equal = ex.one("Equal", [x, _operand(ex, call, "y", x)], call.hint)
    if isinstance(call.layer, ops.Equal):
        return [ex.mark(equal, ex.onnx.TensorProto.BOOL)]
    return [ex.mark(ex.one("Not", [equal], call.hint), ex.onnx.TensorProto.BOOL)]


def _any(ex: Any, call: Call) -> list[str]:
    layer, hint = call.layer, call.hint
    rank = len(call.inputs[0].shape)
    x = ex.one("Cast", [ex.as_bool(call.raw[0])], hint, to=ex.onnx.TensorProto.FLOAT)
    axes = list(range(rank)) if layer.axis is None else [int(layer.axis) % rank]
    reduced = ex.reduce("ReduceMax", x, axes, hint, keepdims=bool(layer.keepdims))
    bool_type = ex.onnx.TensorProto.BOOL
    return [ex.mark(ex.one("Cast", [reduced], hint, to=bool_type), bool_type)]


def _expand_dims(ex: Any, call: Call) -> list[str]:
    x = call.raw[0]
    axis = int(call.layer.axis) % (len(call.inputs[0].shape) + 1)
    return [ex.mark(ex.unsqueeze(x, axis, call.hint), _elem_type(ex, x))]


def _filled_like(ex: Any, call: Call) -> list[str]:
    dtype = np.dtype(call.layer.dtype or "float32")
    value = ex.onnx.numpy_helper.from_array(np.full(1, call.layer.fill, dtype))
    y = ex.one("ConstantOfShape", [ex.one("Shape", [call.raw[0]], call.hint)], call.hint,
               value=value)
    return [ex.mark(y, ex.helper.np_dtype_to_tensor_dtype(dtype))]


def _logical(ex: Any, call: Call) -> list[str]:
    op_type = "And" if isinstance(call.layer, ops.LogicalAnd) else "Or"
    x = ex.as_bool(call.raw[0])
    y = ex.as_bool(_operand(ex, call, "y", x))
    return [ex.mark(ex.one(op_type, [x, y], call.hint), ex.onnx.TensorProto.BOOL)]


def _concatenate_op(ex: Any, call: Call) -> list[str]:
    parts = call.args[0] if call.args and isinstance(call.args[0], (list, tuple)) else None
    if parts is not None and len(parts) != len(call.raw):        # NumPy constants among them
        from rnnlens.interop.onnx.op_nodes import fl

        names = [fl(ex, call, v) for v in parts]
        return [ex.one("Concat", names, call.hint, axis=int(call.layer.axis))]
    types = {_elem_type(ex, r) for r in call.raw}
    parts = call.raw if len(types) == 1 else [v.name for v in call.inputs]
    y = ex.one("Concat", parts, call.hint, axis=int(call.layer.axis))
    return [ex.mark(y, _elem_type(ex, parts[0]))]


EMITTERS = {
    Embedding: _embedding,
    Masking: _masking,
    ops.NotEqual: _compare,
    ops.Equal: _compare,
    ops.AnyOp: _any,
    ops.ExpandDims: _expand_dims,
    ops.ZerosLike: _filled_like,
    ops.OnesLike: _filled_like,
    ops.LogicalOr: _logical,
    ops.LogicalAnd: _logical,
    ops.ConcatenateOp: _concatenate_op,
}

__all__ = ["EMITTERS", "handles_masks", "check_mask_use", "incoming", "output_masks",
           "not_equal"]
