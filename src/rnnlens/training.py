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
from rnnlens.layers.base import flatten


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
        each output's reduced loss, as Keras computes it (masked steps of a
        masked output do not count, as in Keras).
    """
    step = _step(model, x, y, losses, loss_weights, training)
    return step["loss"], step["preds"], step["grads"]


def _step(model: Any, x: Any, y: Any, losses: Sequence[Any],
          loss_weights: Sequence[float] | None, training: bool) -> dict:
    """Forward, loss and backward for one batch; everything ``fit`` logs."""
    outputs, cache = model.forward(x, training=training)
    flat = flatten(outputs)
    targets = _targets(model, y)
    weights = list(loss_weights) if loss_weights is not None else [1.0] * len(flat)
    total, d_flat, per_output = 0.0, [], []
    for pred, target, loss, w, mask in zip(flat, targets, losses, weights, cache["masks"]):
        if loss is None or target is None:
            d_flat.append(None)
            per_output.append(None)
            continue
        weight = losses_mod.apply_mask(None, mask, getattr(loss, "reduction", None))
        value, d_pred = loss.value_and_gradient(target, pred, weight)
        total += w * float(value)
        per_output.append(float(value))
        d_flat.append(d_pred * np.asarray(w, d_pred.dtype))
    _, _, grads = model.backward(cache, d_flat)
    return {"loss": total, "per_output": per_output, "preds": flat, "targets": targets,
            "masks": cache["masks"], "grads": grads}


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


# -- compile / fit / evaluate ---------------------------------------------------


class Compiled:
    """What ``model.compile`` set: optimizer, per-output losses and metrics."""

    def __init__(self, model: Any, optimizer: Any, loss: Any, metrics: Any,
                 loss_weights: Any):
        from rnnlens import optimizers

        self.optimizer = optimizers.get(optimizer)
        self.losses = resolve_losses(model, loss)
        self.loss_weights = _loss_weights(model, loss_weights)
        self.metric_specs = metrics
        self.metrics: list[tuple[int, Any]] | None = None     # built on the first batch
        self.loss_config = loss

    def build_metrics(self, model: Any, targets: list, preds: list) -> None:
        """Resolves metric names against the data, as Keras does on first use."""
        from rnnlens import metrics as metrics_mod

        if self.metrics is not None:
            return
        self.metrics = []
        specs = self.metric_specs or []
        per_output = specs if isinstance(specs, dict) else (
            [specs] * len(preds) if not (specs and isinstance(specs[0], (list, tuple)))
            else specs)
        names = [t.layer.name for t in model.outputs]
        for k, (target, pred) in enumerate(zip(targets, preds)):
            items = per_output.get(names[k], []) if isinstance(per_output, dict) \
                else per_output[k]
            for item in items or []:
                metric = metrics_mod.get(item, np.shape(target), np.shape(pred),
                                         self.losses[k])
                if len(preds) > 1:
                    metric.name = f"{names[k]}_{metric.name}"
                self.metrics.append((k, metric))


def _loss_weights(model: Any, loss_weights: Any) -> list[float]:
    n = len(model.outputs)
    if loss_weights is None:
        return [1.0] * n
    if isinstance(loss_weights, dict):
        return [float(loss_weights.get(t.layer.name, 1.0)) for t in model.outputs]
    if isinstance(loss_weights, (int, float)):
        return [float(loss_weights)] * n
    if len(loss_weights) != n:
        raise ValueError(f"Received {len(loss_weights)} loss_weights for {n} outputs.")
    return [float(w) for w in loss_weights]


def _require_compiled(model: Any) -> Compiled:
    compiled = getattr(model, "_compiled", None)
    if compiled is None:
        raise ValueError(f"Model '{model.name}' is not compiled: call model.compile("
                         "optimizer=..., loss=...) before fit, evaluate or train_on_batch.")
    return compiled


def _as_list(data: Any) -> tuple[list, str]:
    if isinstance(data, dict):
        return list(data.values()), "dict"
    if isinstance(data, (list, tuple)) and data and isinstance(data[0], np.ndarray):
        return list(data), "list"
    return [data], "single"


def _slice(data: Any, index: Any) -> Any:
    if isinstance(data, dict):
        return {k: (None if v is None else np.asarray(v)[index]) for k, v in data.items()}
    if isinstance(data, (list, tuple)) and data and not np.isscalar(data[0]) and \
            isinstance(data[0], np.ndarray):
        return [None if v is None else v[index] for v in data]
    return np.asarray(data)[index]


def _num_samples(x: Any) -> int:
    first = _as_list(x)[0][0]
    return int(np.shape(first)[0])


def train_step(model: Any, x: Any, y: Any) -> dict:
    """One optimizer step on one batch; returns what ``_step`` measured."""
    compiled = _require_compiled(model)
    step = _step(model, x, y, compiled.losses, compiled.loss_weights, training=True)
    if not np.isfinite(step["loss"]):
        raise FloatingPointError(f"The loss became {step['loss']} during training; lower the "
                                 "learning rate or check the data for NaN / inf.")
    trainable = {id(w) for layer in model.layers for w in layer.trainable_weights}
    pairs = [(g, w) for g, w in zip(step["grads"], model.weights) if id(w) in trainable]
    compiled.optimizer.apply([g for g, _ in pairs], [w for _, w in pairs])
    model.weights_changed()
    return step


def _evaluate_step(model: Any, x: Any, y: Any, compiled: Compiled) -> dict:
    """Forward and loss without gradients (``evaluate``)."""
    values = model._standardize(x, "evaluate input")
    model._check_inputs(values)
    flat, cache = model._execute(values, False, keep=False)
    targets = _targets(model, y)
    per_output, total = [], 0.0
    for pred, target, loss, w, mask in zip(flat, targets, compiled.losses,
                                           compiled.loss_weights, cache["masks"]):
        value = None if loss is None or target is None else float(loss(
            target, pred, losses_mod.apply_mask(None, mask, getattr(loss, "reduction", None))))
        per_output.append(value)
        total += 0.0 if value is None else w * value
    return {"loss": total, "per_output": per_output, "preds": flat, "targets": targets,
            "masks": cache["masks"]}


class _Trackers:
    """Running means over an epoch: the loss, each output's loss, the metrics.

    As Keras: each batch's loss weighs by its number of samples; with several
    outputs each output's (unweighted) loss is logged as ``<output>_loss``;
    metrics weigh masked steps 0.
    """

    def __init__(self, model: Any, compiled: Compiled):
        from rnnlens import metrics as metrics_mod

        self.model, self.compiled = model, compiled
        self.loss = metrics_mod.Mean(name="loss")
        names = [t.layer.name for t in model.outputs]
        self.outputs = [] if len(names) < 2 else [
            (k, metrics_mod.Mean(name=f"{name}_loss")) for k, name in enumerate(names)
            if compiled.losses[k] is not None]

    def reset(self) -> None:
        self.loss.reset_state()
        for _, tracker in self.outputs:
            tracker.reset_state()
        for _, metric in self.compiled.metrics or []:
            metric.reset_state()

    def update(self, step: dict, batch: int) -> None:
        self.loss.update_state(step["loss"], sample_weight=batch)
        for k, tracker in self.outputs:
            if step["per_output"][k] is not None:
                tracker.update_state(step["per_output"][k], sample_weight=batch)
        self.compiled.build_metrics(self.model, step["targets"], step["preds"])
        for k, metric in self.compiled.metrics:
            if step["targets"][k] is not None:
                mask = step["masks"][k]
                weight = None if mask is None else np.asarray(mask, np.float32)
                metric.update_state(step["targets"][k], step["preds"][k], sample_weight=weight)

    def logs(self, prefix: str = "") -> dict[str, float]:
        logs = {f"{prefix}loss": float(self.loss.result())}
        for _, tracker in self.outputs:
            logs[f"{prefix}{tracker.name}"] = float(tracker.result())
        for _, metric in self.compiled.metrics or []:
            logs[f"{prefix}{metric.name}"] = float(metric.result())
        return logs


def _result(logs: dict[str, float], return_dict: bool) -> Any:
    """Keras's return value: the dict, the loss alone, or [loss, *metrics]."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def fit(model: Any, x: Any, y: Any, epochs: int = 1, batch_size: int | None = None,
        verbose: Any = "auto", callbacks: Any = None, validation_split: float = 0.0,
        validation_data: Any = None, shuffle: bool = True, initial_epoch: int = 0) -> Any:
    """Keras's ``fit``: epochs of mini-batch steps; returns a ``History``."""
    from rnnlens import callbacks as cb_mod
    from rnnlens.random import generator

    model._ensure_graph(x)
    compiled = _require_compiled(model)
    if validation_data is None and validation_split:
        n = _num_samples(x)
        split = int(np.floor(n * (1.0 - validation_split)))
        if split in (0, n):
            raise ValueError(f"Training data contains {n} samples, which is not sufficient "
                             f"to split it into a validation and training set as specified "
                             f"by `validation_split={validation_split}`.")
        validation_data = (_slice(x, slice(split, None)), _slice(y, slice(split, None)))
        x, y = _slice(x, slice(None, split)), _slice(y, slice(None, split))
    n = _num_samples(x)
    size = 32 if batch_size is None else int(batch_size)
    steps = max(1, -(-n // size))
    history = cb_mod.History()
    cbs = cb_mod.CallbackList(callbacks, add_history=False, add_progbar=bool(verbose),
                              model=model, verbose=verbose, epochs=epochs, steps=steps)
    cbs.append(history)
    history.set_model(model)
    model.stop_training = False
    cbs.on_train_begin()
    trackers = _Trackers(model, compiled)
    for epoch in range(initial_epoch, epochs):
        trackers.reset()
        cbs.on_epoch_begin(epoch)
        order = generator().permutation(n) if shuffle else np.arange(n)
        for step in range(steps):
            cbs.on_train_batch_begin(step)
            idx = order[step * size:(step + 1) * size]
            trackers.update(train_step(model, _slice(x, idx), _slice(y, idx)), len(idx))
            cbs.on_train_batch_end(step, trackers.logs())
        logs = trackers.logs()
        if validation_data is not None:
            val = evaluate(model, *validation_data[:2], batch_size=size, verbose=0,
                           return_dict=True)
            logs.update({f"val_{k}": v for k, v in val.items()})
        cbs.on_epoch_end(epoch, logs)
        if getattr(model, "stop_training", False):
            break
    cbs.on_train_end(logs)
    return history


def evaluate(model: Any, x: Any, y: Any, batch_size: int | None = None, verbose: Any = "auto",
             return_dict: bool = False) -> Any:
    """Keras's ``evaluate``: the loss (and metrics) over all batches, no updates."""
    model._ensure_graph(x)
    compiled = _require_compiled(model)
    n = _num_samples(x)
    size = 32 if batch_size is None else int(batch_size)
    trackers = _Trackers(model, compiled)
    trackers.reset()
    for start in range(0, n, size):
        idx = slice(start, start + size)
        xb, yb = _slice(x, idx), _slice(y, idx)
        trackers.update(_evaluate_step(model, xb, yb, compiled), _num_samples(xb))
    return _result(trackers.logs(), return_dict)


def train_on_batch(model: Any, x: Any, y: Any, return_dict: bool = False) -> Any:
    """One optimizer step on ``(x, y)``; returns the loss (and metrics)."""
    model._ensure_graph(x)
    compiled = _require_compiled(model)
    trackers = _Trackers(model, compiled)
    trackers.reset()
    trackers.update(train_step(model, x, y), _num_samples(x))
    return _result(trackers.logs(), return_dict)
