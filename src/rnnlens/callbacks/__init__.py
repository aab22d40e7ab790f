"""Training callbacks with Keras 3.15.1's hooks and rules, plus a Keras-style progress bar.

A trainer calls ``set_model(model)`` and ``set_params({"epochs": ..., "steps": ...,
"verbose": ...})`` on each callback, then the hooks: ``on_train_begin(logs)``,
``on_epoch_begin(epoch, logs)``, ``on_train_batch_begin(batch, logs)``,
``on_train_batch_end(batch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_end(logs)``
(and the ``on_test_*``/``on_predict_*`` ones). :class:`CallbackList` does this for a list,
adds :class:`History` (and :class:`ProgbarLogger` when ``verbose``) like Keras's ``fit``, and
turns log values into Python floats with the keys sorted, as Keras's ``pythonify_logs``
does (so ``history.history`` lists ``accuracy``, ``loss``, ``val_accuracy``, ``val_loss``).

* :class:`History`: ``history.history`` (metric name -> list of per-epoch values) and
  ``history.epoch``; also sets ``model.history``.
* :class:`EarlyStopping`: Keras 3's rules exactly (see the class docstring); stops by
  setting ``model.stop_training = True``; ``restore_best_weights`` uses
  ``model.get_weights()``/``model.set_weights()``.
* :class:`LambdaCallback`: hooks from plain functions.
* :class:`ModelCheckpoint`: calls ``model.save(path)``/``model.save_weights(path)``;
  a model without that method gets a clear ``TypeError``.
* :class:`Progbar` / :class:`ProgbarLogger`: Keras's progress lines on stdout.
* :class:`ReduceLROnPlateau`, :class:`LearningRateScheduler`: change the optimizer's
  learning rate (and log it as ``learning_rate``).
* :class:`CSVLogger`: one CSV row per epoch. :class:`TerminateOnNaN`: stop on a NaN loss.
* :class:`BackupAndRestore`: resume an interrupted ``fit`` where it stopped.
* :class:`TensorBoard`: event files TensorBoard reads, written without TensorFlow
  (``event_file.EventFileWriter``), plus the gate statistics of recurrent layers.

One module per family: ``base`` (Callback, CallbackList, History), ``monitor``
(MonitorCallback, EarlyStopping), ``lr``, ``loggers``, ``checkpoint`` (ModelCheckpoint),
``backup``, ``lambda_callback``, ``progbar``, ``tensorboard`` / ``event_file``.
"""

from rnnlens.callbacks.backup import BackupAndRestore
from rnnlens.callbacks.base import Callback, CallbackList, History, pythonify_logs
from rnnlens.callbacks.checkpoint import ModelCheckpoint
from rnnlens.callbacks.lambda_callback import LambdaCallback
from rnnlens.callbacks.loggers import CSVLogger, TerminateOnNaN
from rnnlens.callbacks.lr import LearningRateScheduler, ReduceLROnPlateau
from rnnlens.callbacks.monitor import EarlyStopping, MonitorCallback
from rnnlens.callbacks.progbar import Progbar, ProgbarLogger
from rnnlens.callbacks.tensorboard import TensorBoard

__all__ = [
    "Callback", "CallbackList", "History", "MonitorCallback", "EarlyStopping",
    "LambdaCallback", "ModelCheckpoint", "Progbar", "ProgbarLogger", "pythonify_logs",
    "ReduceLROnPlateau", "LearningRateScheduler", "CSVLogger", "TerminateOnNaN",
    "BackupAndRestore", "TensorBoard",
]
