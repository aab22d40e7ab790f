"""``compile``, ``fit``, ``evaluate``, ``predict`` and the per-batch methods of a Model.

The mixin holds the public signatures and their documentation, as Keras's
``keras.src.trainers.trainer.Trainer`` does; ``rnnlens.trainer`` runs the loops and
``rnnlens.training`` holds the compiled loss, metrics and optimizer step.
"""

from __future__ import annotations

from typing import Any

COMPILE_ONLY_KEYS = {"run_eagerly", "jit_compile", "steps_per_execution", "auto_scale_loss",
                     "weighted_metrics"}


class Trainer:
    """Keras 3's training API for ``Model`` (``Sequential`` and functional models)."""

    def compile(self, optimizer: Any = "rmsprop", loss: Any = None, loss_weights: Any = None,
                metrics: Any = None, **kwargs: Any) -> None:
        """Configures the model for training.

        Example::

            model.compile(optimizer=rnnlens.optimizers.Adam(learning_rate=1e-3),
                          loss="mse", metrics=["mae"])

        Args:
            optimizer: a name (``"adam"``, ``"sgd"``, ``"rmsprop"``, ...) or an optimizer
                instance from ``rnnlens.optimizers``.
            loss: a loss name (``"mse"``, ``"categorical_crossentropy"``, ...), a
                ``rnnlens.losses`` instance or a function ``f(y_true, y_pred)``; for
                several outputs, a list in output order or a dict keyed by output name.
            loss_weights: a list or dict of floats weighting each output's loss; the
                loss minimized is their weighted sum.
            metrics: metrics reported by ``fit`` / ``evaluate`` (names, ``rnnlens.metrics``
                instances or functions); for several outputs, a list of lists or a dict.
            run_eagerly, jit_compile, steps_per_execution, auto_scale_loss: accepted
                for Keras code and without effect (rnnlens always runs NumPy eagerly).
            weighted_metrics: accepted for Keras code.

        Raises:
            ValueError: an unknown argument, loss, metric or optimizer name.
        """
        from rnnlens import training

        unknown = set(kwargs) - COMPILE_ONLY_KEYS
        if unknown:
            raise ValueError(f"Unrecognized arguments to compile: {sorted(unknown)}")
        if self.inputs_known():
            self._ensure_graph(None)
        self._compiled = training.Compiled(self, optimizer, loss, metrics, loss_weights,
                                           **kwargs)
        self.optimizer = self._compiled.optimizer

    def fit(self, x: Any = None, y: Any = None, batch_size: int | None = None,
            epochs: int = 1, verbose: Any = "auto", callbacks: Any = None,
            validation_split: float = 0.0, validation_data: Any = None,
            shuffle: Any = True, class_weight: Any = None, sample_weight: Any = None,
            initial_epoch: int = 0, steps_per_epoch: int | None = None,
            validation_steps: int | None = None, validation_batch_size: int | None = None,
            validation_freq: Any = 1) -> Any:
        """Trains the model for a fixed number of epochs.

        Example::

            history = model.fit(x, y, epochs=20, batch_size=32, validation_split=0.2)
            history.history["val_loss"]

        Args:
            x: input data: a NumPy array (or array-like), a list of arrays for several
                inputs, a dict of arrays keyed by input name, a Python generator or
                iterable yielding ``(x, y)`` or ``(x, y, sample_weight)`` batches, or a
                ``keras.utils.PyDataset``-like object (``__len__`` and ``__getitem__``).
            y: targets, in the same form as ``x`` when ``x`` is arrays; must be None
                when ``x`` is a generator or dataset (the batches carry the targets).
            batch_size: samples per gradient update (default 32); not given with
                generators or datasets, which batch themselves.
            epochs: the epoch to stop at (training runs ``initial_epoch`` .. ``epochs``).
            verbose: ``"auto"`` / 1 a progress bar per epoch, 2 one line per epoch,
                0 silent.
            callbacks: a list of ``rnnlens.callbacks`` instances (EarlyStopping,
                ModelCheckpoint, ReduceLROnPlateau, ...), called as Keras calls them.
            validation_split: a fraction in [0, 1) of the arrays, taken from the end
                before shuffling, held out for validation (arrays only).
            validation_data: ``(x_val, y_val)``, ``(x_val, y_val, sample_weight)``, or
                a generator / dataset; evaluated at the end of each epoch. Overrides
                ``validation_split``.
            shuffle: whether to shuffle the samples before each epoch (arrays only).
            class_weight: a dict ``{class index: weight}`` scaling each sample's loss
                by the weight of its class (single-output models).
            sample_weight: an array of per-sample weights (B,) or per-step weights
                (B, T) for sequence outputs, scaling each sample's loss.
            initial_epoch: the epoch to start at (to resume an earlier run).
            steps_per_epoch: batches per epoch; needed for endless generators.
            validation_steps: batches drawn from ``validation_data`` per validation.
            validation_batch_size: batch size for validation (default ``batch_size``).
            validation_freq: validate every N epochs (an int) or at the listed epochs.

        Returns:
            A ``History`` callback whose ``history`` dict holds, per epoch, the loss,
            each metric, and their ``val_`` counterparts.

        Raises:
            RuntimeError: the model is not compiled.
            ValueError: data and arguments that do not fit (each message names the
                argument and what was expected).
        """
        from rnnlens import trainer

        return trainer.fit(self, x, y, batch_size=batch_size, epochs=epochs, verbose=verbose,
                           callbacks=callbacks, validation_split=validation_split,
                           validation_data=validation_data, shuffle=shuffle,
                           class_weight=class_weight, sample_weight=sample_weight,
                           initial_epoch=initial_epoch, steps_per_epoch=steps_per_epoch,
                           validation_steps=validation_steps,
                           validation_batch_size=validation_batch_size,
                           validation_freq=validation_freq)

    def evaluate(self, x: Any = None, y: Any = None, batch_size: int | None = None,
                 verbose: Any = "auto", sample_weight: Any = None, steps: int | None = None,
                 callbacks: Any = None, return_dict: bool = False) -> Any:
        """Returns the loss and metric values of the model on the data.

        Args:
            x, y: as in ``fit`` (arrays, a list / dict of arrays, a generator or a
                dataset yielding ``(x, y)`` or ``(x, y, sample_weight)``).
            batch_size: samples per batch (default 32; arrays only).
            verbose: ``"auto"`` / 1 a progress bar, 0 silent.
            sample_weight: per-sample (B,) or per-step (B, T) weights of the loss.
            steps: batches to evaluate (for endless generators).
            callbacks: callbacks called with ``on_test_*``.
            return_dict: return ``{"loss": ..., metric: ...}`` instead of a list.

        Returns:
            The loss (a float) when there are no metrics; otherwise ``[loss, *metrics]``
            or, with ``return_dict``, a dict.
        """
        from rnnlens import trainer

        return trainer.evaluate(self, x, y, batch_size=batch_size, verbose=verbose,
                                sample_weight=sample_weight, steps=steps, callbacks=callbacks,
                                return_dict=return_dict)

    def predict(self, x: Any, batch_size: int | None = None, verbose: Any = "auto",
                steps: int | None = None, callbacks: Any = None) -> Any:
        """Generates output predictions for the input samples, batch by batch.

        Args:
            x: arrays (a list or dict for several inputs), a generator yielding
                ``(x,)`` tuples or arrays, or a ``PyDataset``-like object.
            batch_size: samples per batch (default 32; arrays only). Results do not
                depend on it: each sample is computed independently.
            verbose: ``"auto"`` / 1 a progress bar, 0 silent.
            steps: batches to draw (for endless generators).
            callbacks: callbacks called with ``on_predict_*``.

        Returns:
            An array for a single output; otherwise the structure the model's outputs
            were given in (a list stays a list, a dict a dict), each joined along the
            batch axis. An output without a batch axis (0-d, e.g. ``ops.mean(x)``) is,
            as in Keras, a NumPy scalar when the data fits one batch and one value per
            batch otherwise; outputs whose other axes differ between batches (Keras's
            ragged result) are a ``ValueError``.

        Small inputs (arrays that fit one batch, ``verbose=0``, no callbacks) take a
        short path with the same checks and results.
        """
        from rnnlens import trainer

        return trainer.predict(self, x, batch_size=batch_size, verbose=verbose, steps=steps,
                               callbacks=callbacks)

    def predict_on_batch(self, x: Any) -> Any:
        """The outputs on one batch of arrays (no batching, no callbacks)."""
        from rnnlens import trainer

        return trainer.predict_on_batch(self, x)

    def train_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                       class_weight: Any = None, return_dict: bool = False) -> Any:
        """One optimizer step on one batch; returns the loss (and metrics)."""
        from rnnlens import trainer

        return trainer.train_on_batch(self, x, y, sample_weight=sample_weight,
                                      class_weight=class_weight, return_dict=return_dict)

    def test_on_batch(self, x: Any, y: Any = None, sample_weight: Any = None,
                      return_dict: bool = False) -> Any:
        """The loss (and metrics) on one batch, without updating the weights."""
        from rnnlens import trainer

        return trainer.test_on_batch(self, x, y, sample_weight=sample_weight,
                                     return_dict=return_dict)


__all__ = ["Trainer"]
