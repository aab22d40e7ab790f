"""Masks of symbolic calls recorded as op nodes, as Keras 3 records them.

When Keras calls a layer on a symbolic tensor it also runs the layer's
``compute_mask`` on symbolic tensors, so the ops of the mask computation become
nodes of the graph (``Embedding(mask_zero=True)``: :math:`m = (x \\ne 0)`, one
``NotEqual`` node; ``Masking(v)``: :math:`m_t = \\bigvee_f (x_{t,f} \\ne v)`,
``NotEqual`` then ``Any``; the merge layers: ``LogicalOr`` of the inputs' masks;
``Concatenate``: each input's mask broadcast (``ExpandDims``, ``LogicalOr`` with a
``ZerosLike``; ``OnesLike`` for an unmasked input), joined (``Concatenate`` op) and
reduced (``Any``)). The mask tensor is carried by the output (``_keras_mask``) and
passed to the next layer whose ``call`` takes ``mask`` as the ``mask=`` argument of
its node. These nodes change Keras's depth ordering (so ``model.layers`` and
``get_weights()``), its summary and its saved files; rnnlens records the same.

Layers whose mask rnnlens cannot build from ops fall back to the run-time masks of
``Model._execute``: their outputs carry :data:`UNKNOWN`, and no layer after them
gets a recorded ``mask=`` (the run-time mask is then passed, as before).
"""

from __future__ import annotations

import inspect
from typing import Any

#: Keras 3.15 layers whose ``call`` takes ``mask`` (Keras fills it from the input's mask).
CALL_TAKES_MASK = frozenset((
    "AdditiveAttention", "Attention", "BatchNormalization", "Bidirectional", "ConvLSTM1D",
    "ConvLSTM2D", "ConvLSTM3D", "GRU", "GlobalAveragePooling1D", "LSTM", "Lambda",
    "Pipeline", "RNN", "SimpleRNN", "Softmax", "TimeDistributed"))


class _Unknown:
    """The mask of an output whose mask is only known at run time."""

    def __repr__(self) -> str:
        return "<mask known at run time>"


UNKNOWN = _Unknown()


def _ops() -> Any:
    import rnnlens.ops

    return rnnlens.ops


def _is_symbolic(value: Any) -> bool:
    from rnnlens.functional import SymbolicTensor

    return isinstance(value, SymbolicTensor)


def mask_of(value: Any) -> Any:
    """The carried mask of a symbolic tensor (a list for a list of tensors)."""
    if isinstance(value, (list, tuple)):
        return [getattr(v, "_keras_mask", None) for v in value]
    return getattr(value, "_keras_mask", None)


def _has_unknown(mask: Any) -> bool:
    return mask is UNKNOWN or (isinstance(mask, list) and any(m is UNKNOWN for m in mask))


def _present(mask: Any) -> bool:
    return mask is not None and not (isinstance(mask, list) and all(m is None for m in mask))


def _takes_mask(layer: Any) -> bool:
    from rnnlens.models.model import Model

    if isinstance(layer, Model):
        return False                                  # nested models: run-time masks
    if type(layer).__module__.startswith("rnnlens."):
        return any(c.__name__ in CALL_TAKES_MASK for c in type(layer).__mro__)
    try:
        return "mask" in inspect.signature(layer.call).parameters
    except (TypeError, ValueError):
        return False


def _tensor_arguments(args: tuple, kwargs: dict) -> int:
    from rnnlens.layers.base import flatten

    return sum(1 for v in [*args, *kwargs.values()]
               if _is_symbolic(v) or (isinstance(v, (list, tuple)) and v
                                      and any(_is_symbolic(t) for t in flatten(list(v)))))


def mask_kwargs(layer: Any, args: tuple, kwargs: dict) -> dict:
    """The node's keywords with Keras's ``mask=`` filled from the input's mask.

    Keras fills ``mask`` for a call with one tensor argument to a layer whose ``call``
    takes it, and its node keeps that keyword only when ``__call__`` did not convert the
    arguments into new containers first (one tensor of the layer's dtype and no
    keywords); otherwise the mask reaches the layer at run time only (as here).
    """
    if kwargs.get("mask") is not None or not _takes_mask(layer) or \
            _tensor_arguments(args, kwargs) != 1 or _converted(layer, args, kwargs):
        return kwargs
    previous = mask_of(args[0])
    if not _present(previous) or _has_unknown(previous):
        return kwargs
    return {**kwargs, "mask": previous}


def _converted(layer: Any, args: tuple, kwargs: dict) -> bool:
    """Keras's ``Layer.__call__`` step 1 made new ``args`` / ``kwargs`` containers."""
    if not getattr(layer, "_convert_input_args", True) or \
            any(c.__name__ == "Pipeline" for c in type(layer).__mro__):
        return False
    dtype = getattr(layer, "compute_dtype", None)
    dtype = dtype if isinstance(dtype, str) else "float32"
    return bool(kwargs) or len(args) != 1 or not _is_symbolic(args[0]) or \
        args[0].dtype != dtype


def set_output_masks(layer: Any, inputs: Any, outputs: list, given: Any = None) -> None:
    """Records the layer's mask computation and attaches each output's mask (Keras's
    ``_set_mask_metadata``), from the ``mask=`` of the call when there is one (Keras's
    ``previous_mask``), else from the first input's; :data:`UNKNOWN` where it cannot
    be recorded."""
    if not layer.supports_masking:
        return
    previous = given if given is not None else mask_of(inputs)
    if _has_unknown(previous) or not all(
            m is None or _is_symbolic(m)
            for m in (previous if isinstance(previous, (list, tuple)) else [previous])):
        masks: Any = UNKNOWN
    else:
        try:
            masks = _symbolic_mask(layer, inputs, previous)
        except Exception:               # noqa: BLE001  (a user's compute_mask: run time)
            masks = UNKNOWN
    if masks is None:
        return
    flat = list(masks) if isinstance(masks, (list, tuple)) else [masks]
    if masks is UNKNOWN or not all(m is None or m is UNKNOWN or _is_symbolic(m)
                                   for m in flat):
        flat = [UNKNOWN] * len(outputs)
    for tensor, mask in zip(outputs, flat):
        if mask is not None:
            tensor._keras_mask = mask


def _owner(layer: Any) -> type:
    return next(c for c in type(layer).__mro__ if "compute_mask" in c.__dict__)


def _symbolic_mask(layer: Any, inputs: Any, mask: Any) -> Any:
    from rnnlens.layers import merging
    from rnnlens.layers.core import Embedding, Masking

    owner = _owner(layer)
    if owner is Masking:
        o = _ops()
        return o.any(o.not_equal(inputs, layer.mask_value), axis=-1)
    if owner is Embedding:
        return _ops().not_equal(inputs, 0) if layer.mask_zero else None
    if owner is merging.Concatenate and layer.mask_rule == "or":
        return _concatenate_mask(layer, inputs, mask)
    if owner is merging.Merge and layer.mask_rule == "or":
        return _merge_mask(mask)
    if owner.__name__ == "Attention":                   # Keras: convert_to_tensor(mask[0])
        return None if mask is None or mask[0] is None else _ops().convert_to_tensor(mask[0])
    if owner.__name__ in ("MultiHeadAttention", "GroupedQueryAttention"):
        return mask                                      # Keras's default: the query's
    if owner.__name__ in _STRUCTURAL or not owner.__module__.startswith("rnnlens."):
        return layer.compute_mask(inputs, mask)    # passes masks along (a user's: its ops)
    return UNKNOWN


#: rnnlens classes whose ``compute_mask`` only passes masks along or drops them (as
#: Keras's); ``Lambda`` calls the user's mask function, whose ops record as in Keras.
_STRUCTURAL = frozenset(("Layer", "RNN", "Bidirectional", "BaseGlobalPooling",
                         "GlobalAveragePooling1D", "Dot", "Lambda"))


def _merge_mask(mask: Any) -> Any:
    """Keras's ``Merge.compute_mask``: the OR of the masks when every input has one."""
    if mask is None or any(m is None for m in mask):
        return None
    out = mask[0]
    for m in mask[1:]:
        out = _ops().logical_or(out, m)
    return out


def _concatenate_mask(layer: Any, inputs: list, mask: Any) -> Any:
    """Keras's ``Concatenate.compute_mask`` with its ops."""
    if mask is None or all(m is None for m in mask):
        return None
    o = _ops()
    masks = []
    for x, m in zip(inputs, mask):
        if m is None:
            masks.append(o.ones_like(x, dtype="bool"))
        elif m.ndim < x.ndim:
            masks.append(o.logical_or(o.expand_dims(m, axis=-1),
                                      o.zeros_like(x, dtype="bool")))
        else:
            masks.append(m)
    joined = o.concatenate(masks, axis=layer.axis)
    return o.any(joined, axis=-1, keepdims=False)
