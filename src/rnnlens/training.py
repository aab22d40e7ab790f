"""Training: gradients of a loss through a model, by hand-written backward passes.

``gradients(model, x, y, loss)`` runs the model forward keeping each node's
cache, takes dL/d(outputs) from the loss, and sends it back through the
graph (``Model.backward``), layer by layer, each layer's backward written
beside its forward. No autodiff framework is involved.
"""

from __future__ import annotations

import warnings
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
    if loss is None:                     # add_loss() in a layer may supply the loss
        return [None] * n
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
    step = _step(model, x, _targets(model, y), None, losses, loss_weights, training)
    return step["loss"], step["preds"], step["grads"]


def _output_weight(loss: Any, mask: Any, sw: Any) -> Any:
    """The sample weight a loss sees: the user's (or class) weights times the mask."""
    return losses_mod.apply_mask(sw, mask, getattr(loss, "reduction", None))


def _require_targets(model: Any, targets: list, losses: Sequence[Any]) -> None:
    if any(loss is not None for loss in losses) and \
            all(t is None for t, loss in zip(targets, losses) if loss is not None):
        raise ValueError(f"Model '{model.name}' has a loss but received no targets: pass y "
                         "(or yield (x, y) batches) to fit / evaluate / train_on_batch.")


def _step(model: Any, x: Any, targets: list, sws: list | None, losses: Sequence[Any],
          loss_weights: Sequence[float] | None, training: bool) -> dict:
    """Forward, loss and backward for one batch; everything ``fit`` logs."""
    _require_targets(model, targets, losses)
    outputs, cache = model.forward(x, training=training)
    flat = flatten(outputs)
    weights = list(loss_weights) if loss_weights is not None else [1.0] * len(flat)
    sws = sws or [None] * len(flat)
    total, d_flat, per_output = 0.0, [], []
    for pred, target, loss, w, mask, sw in zip(flat, targets, losses, weights,
                                               cache["masks"], sws):
        if loss is None or target is None:
            d_flat.append(None)
            per_output.append(None)
            continue
        value, d_pred = loss.value_and_gradient(target, pred, _output_weight(loss, mask, sw))
        total += w * float(value)
        per_output.append(float(value))
        d_flat.append(d_pred * np.asarray(w, d_pred.dtype))
    if all(loss is None for loss in losses) and not cache.get("added_losses"):
        raise ValueError("No loss to compute. Provide a `loss` argument in `compile()` "
                         "(or call add_loss() in a layer's call).")
    _, _, grads = model.backward(cache, d_flat)
    total += cache.get("activity_loss", 0.0) + regularization(model, grads)
    return {"loss": total, "per_output": per_output, "preds": flat, "targets": targets,
            "masks": cache["masks"], "grads": grads}


def regularization(model: Any, grads: list | None = None) -> float:
    """Keras's weight penalties: the sum of ``regularizer(w)`` over trainable weights.

    With ``grads`` (aligned with ``model.weights``), adds each penalty's gradient to
    its weight's gradient, as the penalty is part of the loss Keras differentiates.
    """
    total = 0.0
    trainable = {id(w) for w in model.trainable_weights}
    for k, record in enumerate(model.weight_records()):
        if record.regularizer is None or id(record.value) not in trainable:
            continue
        total += float(record.regularizer(record.value))
        if grads is not None:
            grads[k] = grads[k] + record.regularizer.gradient(record.value)
    return total


def apply_constraints(model: Any) -> None:
    """Keras applies each variable's constraint right after the optimizer updates it."""
    for record in model.weight_records():
        if record.constraint is not None and record.trainable:
            record.value[...] = record.constraint(record.value)


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
    """What ``model.compile`` set: optimizer, per-output losses and metrics, and the
    arguments as given (Keras's ``compile_config``)."""

    def __init__(self, model: Any, optimizer: Any, loss: Any, metrics: Any,
                 loss_weights: Any, **options: Any):
        from rnnlens import optimizers

        self.optimizer = optimizers.get(optimizer)
        jit = options.get("jit_compile", "auto")
        self.arguments = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                          "weighted_metrics": options.get("weighted_metrics"),
                          "run_eagerly": bool(options.get("run_eagerly") or False),
                          "steps_per_execution": options.get("steps_per_execution", 1),
                          "jit_compile": False if jit == "auto" else bool(jit)}
        self.metric_specs = metrics
        self.metrics: list[tuple[int, Any]] | None = None     # built on the first batch
        self.loss_config, self._loss_weights_spec = loss, loss_weights
        self._model = model
        self._losses: list | None = None
        self._weights: list[float] | None = None
        if model.inputs_known():             # else (a Sequential without input) on first use
            self._resolve()

    def _resolve(self) -> None:
        if self._losses is None:
            self._losses = resolve_losses(self._model, self.loss_config)
            self._weights = _loss_weights(self._model, self._loss_weights_spec)

    @property
    def losses(self) -> list[Any]:
        """One loss (or None) per output, resolved once the model's outputs are known."""
        self._resolve()
        return self._losses

    @property
    def loss_weights(self) -> list[float]:
        self._resolve()
        return self._weights

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


def trainable_variables(model: Any) -> tuple[list[np.ndarray], list[str]]:
    """The arrays the optimizer updates (the trainable weights, in ``model.weights``
    order) and their Keras variable paths (``lstm/lstm_cell/kernel``; a Sequential's
    layers under its name, as Keras builds them in its scope)."""
    trainable = {id(w) for layer in model.layers for w in layer.trainable_weights}
    arrays = [w for w in model.weights if id(w) in trainable]
    paths = _variable_paths(model)
    return arrays, [paths.get(id(w), "variable") for w in arrays]


def _variable_paths(model: Any) -> dict[int, str]:
    from rnnlens.models import Model, Sequential

    out: dict[int, str] = {}

    def walk(owner: Any, prefix: str) -> None:
        for w in owner.__dict__.get("_own_weights", []):
            out.setdefault(id(w.value), prefix + w.name)
        subs = owner._sublayers() if hasattr(owner, "_sublayers") else []
        for sub in subs:
            walk(sub, f"{prefix}{getattr(sub, 'name', type(sub).__name__)}/")

    def walk_model(m: Any, prefix: str) -> None:
        for layer in m.layers:
            if isinstance(layer, Model):
                walk_model(layer, prefix + (f"{layer.name}/" if isinstance(layer, Sequential)
                                            else ""))
            else:
                walk(layer, f"{prefix}{layer.name}/")
                for w in layer.weight_records():          # adapters' plain user cells
                    out.setdefault(id(w.value), f"{prefix}{layer.name}/{w.name}")

    walk_model(model, f"{model.name}/" if isinstance(model, Sequential) else "")
    return out


def build_optimizer(model: Any) -> Any:
    """Builds the compiled optimizer's variables for the model's trainable weights, as
    Keras does before training (and when it compiles a loaded model)."""
    compiled = _require_compiled(model)
    optimizer = compiled.optimizer
    if not optimizer.built and model.inputs_known():
        model._ensure_graph(None)
        arrays, paths = trainable_variables(model)
        optimizer._traced_build = not compiled.arguments["run_eagerly"]
        try:
            optimizer.build_in_scope(arrays, paths)          # as Keras's apply builds it
        finally:
            del optimizer._traced_build
    return optimizer


def _loss_scale(optimizer: Any) -> float | None:
    """What ``optimizer.scale_loss`` multiplies the loss by (None: no scaling)."""
    if getattr(optimizer, "inner_optimizer", None) is not None:      # LossScaleOptimizer
        return float(optimizer.scale_loss(1.0))
    return getattr(optimizer, "loss_scale_factor", None)


def train_step(model: Any, xs: list, targets: list, sws: list | None = None) -> dict:
    """One optimizer step on one standardized batch; returns what ``_step`` measured.

    With loss scaling (``loss_scale_factor``, ``LossScaleOptimizer``) the gradients are
    those of ``loss * scale``, as Keras's ``train_step`` differentiates the scaled loss;
    the optimizer divides them back. A NaN / inf loss is not an error (Keras logs it and
    goes on; ``TerminateOnNaN`` stops training on it)."""
    from rnnlens.optimizers.clipping import scaled

    compiled = _require_compiled(model)
    step = _step(model, xs, targets, sws, compiled.losses, compiled.loss_weights,
                 training=True)
    trainable = {id(w) for layer in model.layers for w in layer.trainable_weights}
    pairs = [(g, w) for g, w in zip(step["grads"], model.weights) if id(w) in trainable]
    if pairs:
        optimizer = build_optimizer(model)
        grads = [g for g, _ in pairs]
        scale = _loss_scale(optimizer)
        if scale is not None:
            grads = [g if g is None else scaled(g, np.asarray(g).dtype.type(scale))
                     for g in grads]
        optimizer.apply(grads, [w for _, w in pairs])
        apply_constraints(model)
        model.weights_changed()
    else:
        warnings.warn("The model does not have any trainable weights.", stacklevel=3)
    return step


def evaluate_step(model: Any, xs: list, targets: list, sws: list | None = None) -> dict:
    """Forward and loss without gradients (``evaluate``, ``test_on_batch``)."""
    compiled = _require_compiled(model)
    _require_targets(model, targets, compiled.losses)
    values = model._standardize(xs, "evaluate input")
    model._check_inputs(values)
    flat, cache = model._execute(values, False, keep=False)
    sws = sws or [None] * len(flat)
    per_output, total = [], 0.0
    for pred, target, loss, w, mask, sw in zip(flat, targets, compiled.losses,
                                               compiled.loss_weights, cache["masks"], sws):
        value = None if loss is None or target is None else float(
            loss(target, pred, _output_weight(loss, mask, sw)))
        per_output.append(value)
        total += 0.0 if value is None else w * value
    total += cache.get("activity_loss", 0.0) + regularization(model)
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
