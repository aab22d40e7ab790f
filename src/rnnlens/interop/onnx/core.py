"""Core layers: Dense, TimeDistributed, Activation, Identity and the regularization layers.

* ``Dense``: ``activation(x @ kernel + bias)`` (MatMul, Add), on inputs of any rank, with
  every activation the ``Activation`` layer exports.
* ``TimeDistributed(layer)``: around Dense, the same MatMul on the (B, T, ...) input;
  around any other exported layer (recurrent ones included: ``TimeDistributed(LSTM)``
  on (B, T, T2, F)), the steps folded into the batch (``Reshape`` to (B*T, ...)), the
  layer's own emitter, and the output unfolded (``Reshape`` to (B, T, ...) with the
  sizes read by ``Shape``), as rnnlens runs it (the inner layer gets no mask).
* ``Activation``: every activation of :mod:`rnnlens.interop.onnx.activations`.
* The activation layers, with rnnlens's formulas::

      ReLU       y = Where(x > threshold, x, 0) (or Clip(x, 0, 6) / Max(x, 0)), clipped at
                 max_value, minus negative_slope * Max(threshold - x, 0)
      LeakyReLU  Where(x > 0, x, negative_slope * x)
      PReLU      Max(x, 0) - alpha * Max(-x, 0)          (alpha broadcast, shared axes 1)
      ELU        r = Where(x > 0, x, Exp(Min(x, 0)) - 1); Where(x > 0, r, alpha * r)
      Softmax    over ``axis`` (several axes: exp(x - max) / sum); a Keras mask sets masked
                 inputs to -1e9 before and masked outputs to 0 after
* ``Identity``, ``Dropout``, ``SpatialDropout1D/2D/3D``, ``GaussianNoise``,
  ``GaussianDropout``, ``AlphaDropout``, ``ActivityRegularization``: the identity at
  inference, so no node at all. Called with ``training=True`` where the noise would act
  (rate or stddev > 0), they are refused: random noise has no fixed ONNX form.
* Masks pass through all of them unchanged (``Embedding`` and ``Masking``: :mod:`.masks`).
"""

from __future__ import annotations

from typing import Any

from rnnlens.interop.onnx import activations as acts
from rnnlens.interop.onnx.export import INT64_MAX, Call, Value
from rnnlens.interop.onnx.masks import handles_masks
from rnnlens.layers.activations import ELU, Activation, LeakyReLU, PReLU, ReLU, Softmax
from rnnlens.layers.core import Dense, Identity
from rnnlens.layers.recurrent import RNN
from rnnlens.layers.regularization import (ActivityRegularization, AlphaDropout, Dropout,
                                          GaussianDropout, GaussianNoise, SpatialDropout1D,
                                          SpatialDropout2D, SpatialDropout3D)
from rnnlens.layers.wrappers import Bidirectional, TimeDistributed


def dense(ex: Any, layer: Any, x: str, call: Call) -> str:
    """``activation(x @ kernel + bias)``; any activation the Activation layer takes."""
    name = acts.check(layer.activation, f"Layer '{call.hint}'")
    kernel = ex.weight(layer, "kernel", lambda: layer.kernel)
    y = ex.one("MatMul", [x, kernel], call.hint)
    if layer.use_bias:
        y = ex.one("Add", [y, ex.weight(layer, "bias", lambda: layer.bias)], call.hint)
    return acts.emit(ex, name, y, call.hint, last_dim=layer.units)


def _dense(ex: Any, call: Call) -> list[str]:
    return [dense(ex, call.layer, call.x.name, call)]


def _activation(ex: Any, call: Call) -> list[str]:
    name = acts.check(call.layer.activation, call.where)
    shape = call.x.shape                                    # () for a 0-d input
    return [acts.emit(ex, name, call.x.name, call.hint, last_dim=shape[-1] if shape else None)]


def _relu(ex: Any, call: Call) -> list[str]:
    layer, x, hint = call.layer, call.x.name, call.hint
    slope, top, threshold = layer.negative_slope, layer.max_value, layer.threshold
    zero = ex.scalar(0.0)
    if slope != 0.0 and top is None and threshold == 0:
        return [ex.one("Where", [ex.one("Greater", [x, zero], hint), x,
                                 ex.one("Mul", [x, ex.scalar(slope)], hint)], hint)]
    clip = top is not None
    if threshold != 0:
        y = ex.one("Where", [ex.one("Greater", [x, ex.scalar(threshold)], hint), x, zero], hint)
    elif top == 6:
        y, clip = ex.one("Clip", [x, zero, ex.scalar(6.0)], hint), False
    else:
        y = ex.one("Max", [x, zero], hint)
    if clip:
        y = ex.one("Clip", [y, zero, ex.scalar(top)], hint)
    if slope != 0.0:
        below = ex.one("Max", [ex.one("Sub", [ex.scalar(threshold), x], hint), zero], hint)
        y = ex.one("Sub", [y, ex.one("Mul", [ex.scalar(slope), below], hint)], hint)
    return [y]


def _leaky_relu(ex: Any, call: Call) -> list[str]:
    x, hint = call.x.name, call.hint
    scaled = ex.one("Mul", [ex.scalar(call.layer.negative_slope), x], hint)
    return [ex.one("Where", [ex.one("Greater", [x, ex.scalar(0.0)], hint), x, scaled], hint)]


def _prelu(ex: Any, call: Call) -> list[str]:
    layer, x, hint = call.layer, call.x.name, call.hint
    zero = ex.scalar(0.0)
    alpha = ex.weight(layer, "alpha", lambda: layer.alpha)
    negative = ex.one("Max", [ex.one("Neg", [x], hint), zero], hint)
    return [ex.one("Sub", [ex.one("Max", [x, zero], hint),
                           ex.one("Mul", [alpha, negative], hint)], hint)]


def _elu(ex: Any, call: Call) -> list[str]:
    x, hint = call.x.name, call.hint
    positive = ex.one("Greater", [x, ex.scalar(0.0)], hint)
    expm1 = ex.one("Sub", [ex.one("Exp", [ex.one("Min", [x, ex.scalar(0.0)], hint)], hint),
                           ex.scalar(1.0)], hint)
    res = ex.one("Where", [positive, x, expm1], hint)
    if call.layer.alpha == 1:
        return [res]
    return [ex.one("Where", [positive, res, ex.one("Mul", [ex.scalar(call.layer.alpha), res],
                                                    hint)], hint)]


@handles_masks
def _softmax(ex: Any, call: Call) -> list[str]:
    layer, x, hint = call.layer, call.x.name, call.hint
    mask = call.mask[0] if isinstance(call.mask, (list, tuple)) else call.mask
    if mask is not None:
        x = ex.one("Where", [mask, x, ex.scalar(-1e9)], hint)
    axes = [layer.axis] if isinstance(layer.axis, int) else list(layer.axis)
    if len(axes) == 1:
        y = ex.one("Softmax", [x], hint, axis=int(axes[0]))
    else:
        shifted = ex.one("Sub", [x, ex.reduce("ReduceMax", x, axes, hint)], hint)
        e = ex.one("Exp", [shifted], hint)
        y = ex.one("Div", [e, ex.reduce("ReduceSum", e, axes, hint)], hint)
    if mask is not None:
        y = ex.one("Where", [mask, y, ex.scalar(0.0)], hint)
    return [y]


def _identity(ex: Any, call: Call) -> list[str]:
    return [v.name for v in call.inputs]


def _regularization(ex: Any, call: Call) -> list[str]:
    """The identity; refused in training mode where the layer would add noise."""
    layer = call.layer
    if call.training and layer._active():
        setting = ", ".join(f"{k}={getattr(layer, k)}" for k in ("rate", "stddev")
                            if hasattr(layer, k))
        raise ValueError(f"{call.where} is called with training=True and {setting}; ONNX "
                         "export does not support training-mode noise (random numbers). Call "
                         "the layer without training=True (it is the identity at inference).")
    return [call.x.name]


def _time_distributed(ex: Any, call: Call) -> list[str]:
    """The inner layer on (B*T, ...) and the result back to (B, T, ...)."""
    from rnnlens.models.model import Model

    td, inner = call.layer, call.layer.layer
    if type(inner) is Dense:
        return [dense(ex, inner, call.x.name, call)]
    if isinstance(inner, Model) or type(inner) not in ex.table:
        raise ValueError(
            f"Layer '{td.name}' is TimeDistributed({type(inner).__name__}); ONNX export "
            "supports TimeDistributed around the layers it exports (Dense, LSTM, GRU, "
            "Bidirectional, Conv1D, pooling, normalization, reshaping, ...), not around "
            f"{'a model' if isinstance(inner, Model) else type(inner).__name__}.")
    if isinstance(inner, (RNN, Bidirectional)) and inner.return_state:
        raise ValueError(f"Layer '{td.name}' wraps a recurrent layer with return_state=True; "
                         "TimeDistributed returns one tensor.")
    x, hint = call.x, call.hint
    rest = ex.shape_of(x.name, 2, INT64_MAX, hint)                      # [*rest]
    folded = ex.one("Reshape", [x.name, ex.one("Concat", [ex.ints([-1]), rest], hint,
                                                  axis=0)], hint)       # (B*T, *rest)
    inner_shape = (None, *x.shape[2:])
    inner_call = Call(inner, [Value(folded, inner_shape)], {}, call.training, hint,
                      [tuple(inner.compute_output_shape(inner_shape))], raw=[folded])
    y = ex.emit(inner_call)[0]
    batch_steps = ex.shape_of(x.name, 0, 2, hint)                       # [B, T]
    out_rest = ex.shape_of(y, 1, INT64_MAX, hint)
    shape = ex.one("Concat", [batch_steps, out_rest], hint, axis=0)
    return [ex.one("Reshape", [y, shape], hint)]                        # (B, T, *out)


_REGULARIZATION = (Dropout, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D,
                   GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization)

EMITTERS = {
    ReLU: _relu,
    LeakyReLU: _leaky_relu,
    PReLU: _prelu,
    ELU: _elu,
    Softmax: _softmax,
    Dense: _dense,
    TimeDistributed: _time_distributed,
    Activation: _activation,
    Identity: _identity,
    **{cls: _regularization for cls in _REGULARIZATION},
}

__all__ = ["EMITTERS", "dense"]
