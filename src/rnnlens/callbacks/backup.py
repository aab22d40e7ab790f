"""``BackupAndRestore``: resume a ``fit`` that was interrupted, as Keras 3.15.1's.

At each epoch end (``save_freq="epoch"``) or every ``save_freq`` batches the callback
writes a backup into ``backup_dir``; when ``fit`` starts with a backup there, the model
and optimizer are restored and training resumes at the saved epoch (``model.
_initial_epoch``, read by ``fit`` after ``on_train_begin``, as Keras's trainer does).
When ``fit`` ends normally the directory is deleted (``delete_checkpoint=True``); an
exception leaves it in place for the next ``fit``.

Files (rnnlens cannot yet write optimizer state in Keras's ``latest.weights.h5``, so the
weights file is rnnlens's own; the metadata file is Keras's):

* ``latest.weights.npz``: ``model/<k>`` = ``model.get_weights()[k]``; ``optimizer/...``
  = the optimizer's ``save_own_variables`` (``iterations``, a float ``learning_rate``,
  each slot as ``<slot>/<variable index>``). Read back with ``allow_pickle=False``.
* ``training_metadata.json``: ``{"epoch": E, "batch": B}`` exactly as Keras writes it:
  ``E`` is the number of epochs finished *by this callback since it was created* (Keras
  never advances it on a resume, so a mid-epoch backup taken after a resume records the
  epoch the callback counted, as in Keras); ``B`` the last batch seen.
* with ``double_checkpoint=True`` the previous pair is kept as ``*.bkp`` and used when
  the latest files cannot be read (a crash while writing them).

Resuming after an epoch-end backup reproduces uninterrupted training exactly (weights,
optimizer slots and iterations, learning rate); after a mid-epoch backup it restarts the
recorded epoch from its first batch with the mid-epoch weights, as Keras does.
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from typing import Any

import numpy as np

from rnnlens.callbacks.base import Callback

_UNREADABLE = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)


class BackupAndRestore(Callback):
    """Back up the training state regularly and restore it when ``fit`` restarts.

    Args:
        backup_dir: the directory of the backup files (created when needed; a directory
            of its own, as it is deleted at the end of training).
        save_freq: ``"epoch"`` or a number of batches between backups.
        double_checkpoint: keep the previous backup as well (``*.bkp``).
        delete_checkpoint: delete ``backup_dir`` when training ends normally.
    """

    def __init__(self, backup_dir: Any, save_freq: str | int = "epoch",
                 double_checkpoint: bool = False, delete_checkpoint: bool = True) -> None:
        super().__init__()
        if not backup_dir:
            raise ValueError("Empty `backup_dir` argument passed")
        if not isinstance(backup_dir, (str, os.PathLike)):
            raise TypeError(f"Received backup_dir={backup_dir!r}, expected a str or path.")
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, (int, np.integer))
                                     or save_freq < 1):
            raise ValueError("Invalid value for argument `save_freq`. Received: "
                             f"save_freq={save_freq}. Expected either 'epoch' or an integer "
                             "value (>= 1).")
        self.save_freq = save_freq
        self.double_checkpoint = double_checkpoint
        self.delete_checkpoint = delete_checkpoint
        self._batches_seen_since_last_saving = 0
        self._last_batch_seen = 0
        self._current_epoch = 0
        self.backup_dir = os.fspath(backup_dir)
        self._weights_path = os.path.join(self.backup_dir, "latest.weights.npz")
        self._training_metadata_path = os.path.join(self.backup_dir, "training_metadata.json")
        self._prev_weights_path = f"{self._weights_path}.bkp"
        self._prev_training_metadata_path = f"{self._training_metadata_path}.bkp"

    # -- restoring
    def on_train_begin(self, logs=None):
        try:
            self._load_model()
        except _UNREADABLE as e:
            if not os.path.exists(self._prev_weights_path):
                raise ValueError(f"BackupAndRestore could not read the backup in "
                                 f"'{self.backup_dir}' ({e}); delete that directory to start "
                                 "afresh.") from e
            shutil.copyfile(self._prev_weights_path, self._weights_path)
            if os.path.exists(self._prev_training_metadata_path):
                shutil.copyfile(self._prev_training_metadata_path,
                                self._training_metadata_path)
            elif os.path.exists(self._training_metadata_path):
                os.remove(self._training_metadata_path)
            self._load_model()

    def _load_model(self) -> None:
        if not getattr(self.model, "built", True):
            raise ValueError("To use the BackupAndRestore callback, you model must be built "
                             f"before you call `fit()`. Model {self.model} is unbuilt. You can "
                             "build it beforehand by calling it on a batch of data.")
        if os.path.exists(self._weights_path):
            with np.load(self._weights_path, allow_pickle=False) as data:
                count = sum(1 for k in data.files if k.startswith("model/"))
                self.model.set_weights([data[f"model/{k}"] for k in range(count)])
                state = {k[len("optimizer/"):]: data[k] for k in data.files
                         if k.startswith("optimizer/")}
            optimizer = getattr(self.model, "optimizer", None)
            if state and optimizer is not None and hasattr(optimizer, "load_own_variables"):
                optimizer.load_own_variables(state)
        if os.path.exists(self._training_metadata_path):
            with open(self._training_metadata_path, encoding="utf-8") as f:
                metadata = json.loads(f.read())
            self.model._initial_epoch = metadata["epoch"]

    # -- saving
    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        if self.save_freq == "epoch":
            self._save_model()

    def on_train_batch_end(self, batch, logs=None):
        if self._should_save_on_batch(batch):
            self._save_model()

    def _save_model(self) -> None:
        os.makedirs(self.backup_dir, exist_ok=True)
        if self.double_checkpoint and os.path.exists(self._weights_path):
            shutil.copyfile(self._weights_path, self._prev_weights_path)
        if self.double_checkpoint and os.path.exists(self._training_metadata_path):
            shutil.copyfile(self._training_metadata_path, self._prev_training_metadata_path)
        arrays = {f"model/{k}": np.asarray(w) for k, w in enumerate(self.model.get_weights())}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "save_own_variables"):
            state: dict[str, Any] = {}
            optimizer.save_own_variables(state)
            arrays.update({f"optimizer/{k}": v for k, v in state.items()})
        tmp = self._weights_path + ".tmp.npz"
        np.savez(tmp, **arrays)
        os.replace(tmp, self._weights_path)
        with open(self._training_metadata_path, "w", encoding="utf-8") as f:
            f.write(json.dumps({"epoch": self._current_epoch, "batch": self._last_batch_seen}))

    def _should_save_on_batch(self, batch: int) -> bool:
        if self.save_freq == "epoch":
            return False
        if batch <= self._last_batch_seen:        # a new epoch
            add_batches = batch + 1
        else:
            add_batches = batch - self._last_batch_seen
        self._batches_seen_since_last_saving += add_batches
        self._last_batch_seen = batch
        if self._batches_seen_since_last_saving >= self.save_freq:
            self._batches_seen_since_last_saving = 0
            return True
        return False

    def on_train_end(self, logs=None):
        if self.delete_checkpoint and os.path.exists(self.backup_dir):
            shutil.rmtree(self.backup_dir)
