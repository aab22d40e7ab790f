"""Keras 3.15.1's training loops: ``fit``, ``evaluate``, ``predict`` and the ``*_on_batch``
methods, over the data forms of :mod:`rnnlens.data_adapter`.

``fit``, as Keras's TensorFlow trainer::

    build the optimizer's variables
    callbacks.on_train_begin()                       # BackupAndRestore may set the start
    for epoch in range(model._initial_epoch or initial_epoch, epochs):
        reset the loss / metric trackers; on_epoch_begin(epoch)
        for each step (steps_per_epoch, or until the data runs out):
            on_train_batch_begin(step); read the batch; one optimizer step
            on_train_batch_end(step, running logs)
            stop the epoch if model.stop_training (TerminateOnNaN, a user callback)
        validate (every validation_freq epochs) with the same callbacks (on_test_*)
        on_epoch_end(epoch, logs + val_ logs); stop if model.stop_training
    optimizer.finalize_variable_values(trainable weights)   # EMA, epochs > 0
    on_train_end(last epoch's logs)

``epochs <= initial_epoch`` trains nothing and returns an empty ``History``. A NaN / inf
loss is logged like any other value. Data that runs out ends the epoch with Keras's
warning; the next epoch starts the data over (a generator replays its first two
batches, see :mod:`rnnlens.data_adapter`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import data_adapter as da
from rnnlens import data_handler as dh
from rnnlens import training as tr


def _iterator(model: Any, x: Any, y: Any, sw: Any, batch_size: Any, steps: Any,
              shuffle: Any, class_weight: Any, what: str) -> da.EpochIterator:
    adapter = dh.make_adapter(model, x, y, sw, batch_size, steps, shuffle, class_weight, what)
    sample = dh.peek_x(adapter)
    if sample is not None:
        model._ensure_graph(sample)
    return da.EpochIterator(adapter, steps)


def _batch(model: Any, it: da.EpochIterator, what: str) -> tuple:
    """The next batch as flat lists (raises StopIteration when the data ran out)."""
    batch = it.next_batch()
    if isinstance(it.adapter, da.ArrayAdapter):
        return batch
    return dh.standardize_batch(model, batch, what)


def _callbacks(model: Any, callbacks: Any, verbose: Any, epochs: int, steps: Any,
               history: bool) -> Any:
    from rnnlens import callbacks as cb_mod

    if isinstance(callbacks, cb_mod.CallbackList):
        return callbacks
    if callbacks is not None and not isinstance(callbacks, (list, tuple)):
        callbacks = [callbacks]
    return cb_mod.CallbackList(callbacks, add_history=history, add_progbar=verbose != 0,
                               model=model, verbose=verbose, epochs=epochs, steps=steps)


def _should_eval(epoch: int, validation_freq: Any) -> bool:
    epoch += 1
    if isinstance(validation_freq, list):
        return epoch in validation_freq
    return epoch % validation_freq == 0


def fit(model: Any, x: Any = None, y: Any = None, batch_size: Any = None, epochs: Any = 1,
        verbose: Any = "auto", callbacks: Any = None, validation_split: Any = 0.0,
        validation_data: Any = None, shuffle: Any = True, class_weight: Any = None,
        sample_weight: Any = None, initial_epoch: Any = 0, steps_per_epoch: Any = None,
        validation_steps: Any = None, validation_batch_size: Any = None,
        validation_freq: Any = 1) -> Any:
    """Keras's ``fit``; returns the ``History``."""
    compiled = tr._require_compiled(model)
    dh.check_fit_args(epochs, batch_size, initial_epoch, steps_per_epoch, validation_steps,
                      validation_batch_size, validation_split, validation_freq, shuffle)
    if validation_split and validation_data is None:
        (x, y, sample_weight), validation_data = dh.train_validation_split(
            x, y, sample_weight, validation_split)
    train = _iterator(model, x, y, sample_weight, batch_size, steps_per_epoch, shuffle,
                      class_weight, "fit")
    val = None
    if validation_data is not None:
        vx, vy, vsw = da.unpack_x_y_sample_weight(validation_data)
        val = _iterator(model, vx, vy, vsw, validation_batch_size or batch_size,
                        validation_steps, False, None, "fit validation_data")
    train.reset()
    cbs = _callbacks(model, callbacks, verbose, epochs, train.num_batches, history=True)
    model.stop_training = False
    tr.build_optimizer(model)        # its variables exist for on_train_begin (restores)
    cbs.on_train_begin()
    trackers, training_logs = tr._Trackers(model, compiled), None
    start = getattr(model, "_initial_epoch", None) or initial_epoch
    for epoch in range(start, epochs):
        trackers.reset()
        cbs.on_epoch_begin(epoch)
        _train_epoch(model, train, trackers, cbs)
        epoch_logs = trackers.logs()
        if val is not None and _should_eval(epoch, validation_freq):
            val_logs = _evaluate_loop(model, val, cbs)
            epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, epoch_logs)
        training_logs = epoch_logs
        if model.stop_training:
            break
    _finalize(model, compiled.optimizer, epochs)
    cbs.on_train_end(logs=training_logs)
    return cbs.history


def _finalize(model: Any, optimizer: Any, epochs: int) -> None:
    """Keras's end of ``fit``: ``finalize_variable_values`` (EMA weights replace the
    model's when ``use_ema``)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)        # LossScaleOptimizer
    subs = getattr(inner, "optimizers", None) or [inner]             # MultiOptimizer
    if epochs > 0 and optimizer.built and any(getattr(o, "use_ema", False) for o in subs):
        arrays, _ = tr.trainable_variables(model)
        optimizer.finalize_variable_values(arrays)
        model.weights_changed()


def _train_epoch(model: Any, it: da.EpochIterator, trackers: Any, cbs: Any) -> None:
    for step in it.steps():
        cbs.on_train_batch_begin(step)
        try:
            xs, ys, sws = _batch(model, it, "fit")
        except StopIteration:
            it.ran_out()
            break
        trackers.update(tr.train_step(model, xs, ys or _nones(model), sws), len(xs[0]))
        cbs.on_train_batch_end(step, trackers.logs())
        if model.stop_training:
            break


def _nones(model: Any) -> list:
    return [None] * len(model.outputs)


def _evaluate_loop(model: Any, it: da.EpochIterator, cbs: Any) -> dict:
    """Keras's ``evaluate`` body over an iterator (also validation inside ``fit``)."""
    compiled = tr._require_compiled(model)
    it.reset()
    model.stop_evaluating = False
    cbs.on_test_begin()
    trackers = tr._Trackers(model, compiled)
    trackers.reset()
    for step in it.steps():
        cbs.on_test_batch_begin(step)
        try:
            xs, ys, sws = _batch(model, it, "evaluate")
        except StopIteration:
            it.ran_out()
            break
        trackers.update(tr.evaluate_step(model, xs, ys or _nones(model), sws), len(xs[0]))
        cbs.on_test_batch_end(step, trackers.logs())
        if getattr(model, "stop_evaluating", False):
            break
    logs = trackers.logs()
    cbs.on_test_end(logs)
    return logs


def evaluate(model: Any, x: Any = None, y: Any = None, batch_size: Any = None,
             verbose: Any = "auto", sample_weight: Any = None, steps: Any = None,
             callbacks: Any = None, return_dict: bool = False) -> Any:
    """Keras's ``evaluate``: the loss (and metrics) over the data, no updates."""
    tr._require_compiled(model)
    dh.check_int("batch_size", batch_size, 1)
    dh.check_int("steps", steps, 1)
    it = _iterator(model, x, y, sample_weight, batch_size, steps, False, None, "evaluate")
    cbs = _callbacks(model, callbacks, verbose, 1, it.num_batches, history=False)
    return tr._result(_evaluate_loop(model, it, cbs), return_dict)


def predict(model: Any, x: Any, batch_size: Any = None, verbose: Any = 0, steps: Any = None,
            callbacks: Any = None) -> Any:
    """Keras's ``predict``: the outputs over all batches, joined along the batch axis
    (:func:`_join`: 0-d batch outputs are stacked, as Keras does)."""
    from rnnlens.models.model import _restructure

    dh.check_int("batch_size", batch_size, 1)
    dh.check_int("steps", steps, 1)
    if _lean(x, batch_size or 32, verbose, steps, callbacks):
        xs = dh.standardize_x(model, x, "predict")      # graph, inputs, batch sizes checked
        model.stop_predicting = False
        flat = [_join([out]) for out in model._run(xs, training=False)]
        return _restructure(model._output_structure, flat)
    it = _iterator(model, x, None, None, batch_size, steps, False, None, "predict")
    cbs = _callbacks(model, callbacks, verbose, 1, it.num_batches, history=False)
    model.stop_predicting = False
    cbs.on_predict_begin()
    chunks: list = []
    for step in it.steps():
        cbs.on_predict_batch_begin(step)
        try:
            xs = _batch(model, it, "predict")[0]
        except StopIteration:
            it.ran_out()
            break
        values = model._standardize(xs, "predict input")
        model._check_inputs(values)
        chunks.append(model._run(values, training=False))
        cbs.on_predict_batch_end(step, {"outputs": chunks[-1]})
        if getattr(model, "stop_predicting", False):
            break
    cbs.on_predict_end()
    flat = [_join([c[j] for c in chunks]) for j in range(len(model.outputs))]
    return _restructure(model._output_structure, flat)


def _lean(x: Any, batch_size: int, verbose: Any, steps: Any, callbacks: Any) -> bool:
    """Whether ``predict`` may skip the adapter, the iterator and the callbacks: arrays
    (one array or a list of arrays) that fit one batch, silent, no callbacks, no
    ``steps``. It runs the same checks and returns the same values as the full loop."""
    if steps is not None or not (callbacks is None or (type(callbacks) is list
                                                       and not callbacks)):
        return False
    if verbose is not False and not (type(verbose) is int and verbose == 0):
        return False
    arrays = [x] if type(x) is np.ndarray else x if type(x) is list and x else ()
    return all(type(a) is np.ndarray and a.ndim > 0 and a.shape[0] <= batch_size
               for a in arrays) and len(arrays) > 0


def _join(chunks: list) -> Any:
    """One output's batches joined as Keras's ``potentially_ragged_concat``: a single batch
    as it is (a 0-d output becomes a NumPy scalar), 0-d batch outputs stacked into
    ``(num_batches,)``, others concatenated along the batch axis."""
    arrays = [np.asarray(c) for c in chunks]
    first = arrays[0]
    if len(arrays) == 1:
        return first[()] if first.ndim == 0 else first.copy()
    if any(a.shape[1:] != first.shape[1:] for a in arrays):
        raise ValueError("predict's batches gave outputs whose shapes differ beyond the batch "
                         f"axis ({sorted({a.shape for a in arrays})}); Keras would return a "
                         "ragged tensor, which rnnlens does not have. Predict in one batch "
                         "(a larger `batch_size`) or call the model on each batch.")
    if first.ndim == 0:
        return np.stack(arrays, axis=0)
    return np.concatenate(arrays, axis=0)


def _one_batch(model: Any, x: Any, y: Any, sample_weight: Any, class_weight: Any,
               what: str) -> tuple:
    if class_weight is not None:
        if sample_weight is not None:
            raise ValueError("Arguments `sample_weight` and `class_weight` cannot be specified "
                             f"at the same time. Received: sample_weight={sample_weight}, "
                             f"class_weight={class_weight}")
        da.check_class_weight(class_weight)
    if not da.is_array_data(x):
        raise TypeError(f"{what} takes arrays (one batch), received a {da.describe(x)}; use "
                        "fit / evaluate / predict for generators and datasets.")
    xs = dh.standardize_x(model, x, what)
    ys = dh.standardize_y(model, y, what)
    if class_weight is not None:
        if len(model.outputs) > 1 or ys is None:
            raise ValueError(f"{what}: `class_weight` needs a single-output model and y.")
        sample_weight = da.class_weight_to_sample_weights(ys[0], class_weight)
    sws = dh.standardize_sw(model, sample_weight, what)
    dh.check_cardinality(xs, ys, sws)
    return xs, ys or _nones(model), sws


def train_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None,
                   class_weight: Any = None, return_dict: bool = False) -> Any:
    """One optimizer step on ``(x, y)``; returns the loss (and metrics)."""
    compiled = tr._require_compiled(model)
    xs, ys, sws = _one_batch(model, x, y, sample_weight, class_weight, "train_on_batch")
    trackers = tr._Trackers(model, compiled)
    trackers.reset()
    trackers.update(tr.train_step(model, xs, ys, sws), len(xs[0]))
    return tr._result(trackers.logs(), return_dict)


def test_on_batch(model: Any, x: Any, y: Any = None, sample_weight: Any = None,
                  return_dict: bool = False) -> Any:
    """The loss (and metrics) on one batch, no update."""
    compiled = tr._require_compiled(model)
    xs, ys, sws = _one_batch(model, x, y, sample_weight, None, "test_on_batch")
    trackers = tr._Trackers(model, compiled)
    trackers.reset()
    trackers.update(tr.evaluate_step(model, xs, ys, sws), len(xs[0]))
    return tr._result(trackers.logs(), return_dict)


def predict_on_batch(model: Any, x: Any) -> Any:
    """The model's outputs on one batch (NumPy arrays, in the outputs' structure)."""
    from rnnlens.models.model import _restructure

    if not da.is_array_data(x):
        raise TypeError(f"predict_on_batch takes arrays (one batch), received a "
                        f"{da.describe(x)}; use predict for generators and datasets.")
    xs = dh.standardize_x(model, x, "predict_on_batch")
    model._check_inputs(xs)
    flat = [o[()] if isinstance(o, np.ndarray) and o.ndim == 0 else o    # Keras: a scalar
            for o in model._run(xs, training=False)]
    return _restructure(model._output_structure, flat)


__all__ = ["fit", "evaluate", "predict", "train_on_batch", "test_on_batch",
           "predict_on_batch"]
