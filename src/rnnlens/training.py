"""Training: gradients of a loss through a model, by hand-written backward passes.

``gradients(model, x, y, loss)`` runs the model forward keeping each node's
cache, takes dL/d(outputs) from the loss, and sends it back through the
graph (``Model.backward``), layer by layer, each layer's backward written
beside its forward. No autodiff framework is involved.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens import losses as losses_mod


def resolve_losses(model: Any, loss: Any) -> list[Any]:
    """One loss object (or None) per model output, as Keras's ``compile`` reads it.

    A single loss applies to every output; a list gives one per output in
    order; a dict maps output names (the producing layer's name) to losses.
    """
    n = len(model.outputs)
    if isinstance(loss, dict):
        names = [t.layer.name for t in model.outputs]
        unknown = sorted(set(loss) - set(names))
        if unknown:
            raise ValueError(f"Received losses for unknown outputs {unknown}; the model's "
                             f"outputs are {names}.")
        return [losses_mod.get(loss.get(name)) for name in names]
    if isinstance(loss, (list, tuple)):
        if len(loss) != n:
            raise ValueError(f"Received {len(loss)} losses for a model with {n} outputs; "
                             "pass one per output (None to skip one).")
        return [losses_mod.get(item) for item in loss]
    if loss is None:
        raise ValueError("No loss: pass loss='mse' (or another Keras loss name).")
    return [losses_mod.get(loss) for _ in range(n)]


def _targets(model: Any, y: Any) -> list[Any]:
    n = len(model.outputs)
    if isinstance(y, dict):
        return [y.get(t.layer.name) for t in model.outputs]
    if n == 1:
        return [y]
    if not isinstance(y, (list, tuple)) or len(y) != n:
        raise ValueError(f"Model '{model.name}' has {n} outputs; pass y as a list of {n} "
                         "targets (None for an output without a loss).")
    return list(y)


def loss_and_gradients(model: Any, x: Any, y: Any, losses: Sequence[Any],
                       loss_weights: Sequence[float] | None = None, training: bool = True
                       ) -> tuple[float, list[np.ndarray], list[np.ndarray]]:
    """The total loss, each output's prediction, and the weight gradients.

    Returns:
        ``(loss, predictions (flat, one per output), gradients aligned with
        model.get_weights())``. The loss is the (weighted) sum over outputs of
        each output's reduced loss, as Keras computes it.
    """
    outputs, cache = model.forward(x, training=training)
    flat = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    flat = list(flat.values()) if isinstance(outputs, dict) else list(flat)
    targets = _targets(model, y)
    weights = list(loss_weights) if loss_weights is not None else [1.0] * len(flat)
    total, d_flat = 0.0, []
    for pred, target, loss, w in zip(flat, targets, losses, weights):
        if loss is None or target is None:
            d_flat.append(None)
            continue
        value, d_pred = loss.value_and_gradient(target, pred)
        total += w * float(value)
        d_flat.append(d_pred * np.asarray(w, d_pred.dtype))
    d_out = d_flat[0] if len(d_flat) == 1 and not isinstance(outputs, (list, tuple)) \
        else d_flat
    _, _, grads = model.backward(cache, d_out)
    return total, flat, grads


def gradients(model: Any, x: Any, y: Any, loss: Any = "mse", training: bool = False
              ) -> list[np.ndarray]:
    """Gradients of the mean loss with respect to every weight.

    Args:
        model: a ``Model`` or ``Sequential``.
        x: the inputs (as for ``predict``).
        y: the targets (a list for several outputs).
        loss: a Keras loss name or object (a list / dict for several outputs).
        training: run layers in training mode (dropout on).

    Returns:
        One array per weight, aligned with ``model.get_weights()``.
    """
    model._ensure_graph(x)
    return loss_and_gradients(model, x, y, resolve_losses(model, loss),
                              training=training)[2]


__all__ = ["gradients", "loss_and_gradients", "resolve_losses"]
