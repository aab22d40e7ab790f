"""ReduceLROnPlateau, LearningRateScheduler, CSVLogger, TerminateOnNaN and BackupAndRestore
against live Keras 3.15.1, inside real ``fit`` runs (the pairs of ``test_fit_parity``).

* The learning rate each epoch (``history["learning_rate"]``), the loss history, the
  final weights and the lines printed with ``verbose=1`` equal Keras's.
* CSVLogger's file has Keras's header and rows (values compared as numbers).
* A NaN loss is logged and training goes on (as Keras); TerminateOnNaN stops at Keras's
  batch and epoch, or raises with ``raise_error=True``.
* BackupAndRestore: a ``fit`` interrupted by an exception and run again resumes at
  Keras's epoch with the saved weights and optimizer state, and ends with the weights of
  the uninterrupted run (and of Keras's resumed run); ``save_freq`` in batches,
  ``double_checkpoint`` (the ``.bkp`` files rescue a broken backup) and
  ``delete_checkpoint``.
"""

from __future__ import annotations

import csv
import os
import re
from typing import Any

import numpy as np
import pytest

from oracle import assert_close, keras_available
from rnnlens import callbacks as C
from test_fit_parity import NS, Pair, _seed, check_history, make_data, rel_close

pytestmark = pytest.mark.keras


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


def both(pair: Pair, K: Any, capsys: Any, make_cbs: Any, x: Any, y: Any, **kw: Any) -> tuple:
    kw = {"shuffle": False, "verbose": 0, **kw}
    theirs = pair.keras.fit(x, y, callbacks=make_cbs(NS(K)), **kw)
    out_k = capsys.readouterr().out
    ours = pair.ours.fit(x, y, callbacks=make_cbs(NS()), **kw)
    out_o = capsys.readouterr().out
    return theirs, ours, out_k, out_o


# ---------------------------------------------------------------------------- learning rate
PLATEAU = [
    pytest.param(dict(monitor="val_loss", factor=0.5, patience=1, min_delta=1e-3),
                 id="val-loss"),
    pytest.param(dict(monitor="loss", factor=0.2, patience=2, cooldown=1, min_lr=0.004),
                 id="cooldown-min-lr", marks=pytest.mark.slow),
    pytest.param(dict(monitor="val_loss", factor=0.5, patience=0, mode="max"), id="max-mode",
                 marks=pytest.mark.slow),
]


@pytest.mark.parametrize("kw", PLATEAU)
def test_reduce_lr_on_plateau_matches_keras(K, capsys, kw):
    where = f"plateau-{sorted(kw.items())}"
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile("SGD-momentum", ["mae"])
    x, y = make_data("lstm", "mse", _seed(where))
    theirs, ours, out_k, out_o = both(
        pair, K, capsys, lambda ns: [ns.callbacks.ReduceLROnPlateau(verbose=1, **kw)], x, y,
        batch_size=8, epochs=8, validation_split=0.25)
    assert "learning_rate" in theirs.history
    check_history(ours.history, theirs.history, "plateau", "SGD-momentum")
    assert ours.history["learning_rate"] == theirs.history["learning_rate"]
    assert pair.ours.optimizer.learning_rate == float(np.asarray(
        pair.keras.optimizer.learning_rate))
    assert out_o == out_k
    if kw.get("patience") == 0:
        assert "reducing learning rate" in out_k, "the case should reduce the rate"
    pair.check_weights(where, "SGD-momentum")


@pytest.mark.parametrize("form", ["epoch-lr", "epoch-only"])
def test_learning_rate_scheduler_matches_keras(K, capsys, form):
    where = f"scheduler-{form}"
    pair = Pair(K, "gru", "categorical_crossentropy", _seed(where))
    pair.compile("Adam", ["accuracy"])
    x, y = make_data("gru", "categorical_crossentropy", _seed(where))
    schedule = (lambda epoch, lr: lr if epoch < 1 else lr * 0.7) if form == "epoch-lr" \
        else (lambda epoch: 0.02 / (1 + epoch))
    theirs, ours, out_k, out_o = both(
        pair, K, capsys, lambda ns: [ns.callbacks.LearningRateScheduler(schedule, verbose=1)],
        x, y, batch_size=16, epochs=4)
    check_history(ours.history, theirs.history, where, "Adam")
    assert ours.history["learning_rate"] == theirs.history["learning_rate"]
    assert out_o == out_k and "LearningRateScheduler setting learning rate" in out_o
    pair.check_weights(where, "Adam")


def test_scheduler_and_plateau_errors(K):
    pair = Pair(K, "lstm", "mse", 3)
    pair.compile("SGD", None)
    x, y = make_data("lstm", "mse", 3)
    for ns in (NS(K), NS()):
        model = pair.keras if ns.keras else pair.ours
        with pytest.raises(ValueError, match="should be a float"):
            model.fit(x, y, epochs=1, verbose=0,
                      callbacks=[ns.callbacks.LearningRateScheduler(lambda e: 1)])
        with pytest.raises(ValueError, match="factor >= 1.0"):
            ns.callbacks.ReduceLROnPlateau(factor=1.5)


# ---------------------------------------------------------------------------- CSVLogger
def read_csv(path: str, sep: str = ",") -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=sep))
    return rows[0], rows[1:]


@pytest.mark.parametrize("validation", [True, False], ids=["with-val", "no-val"])
def test_csv_logger_writes_keras_file(K, capsys, tmp_path, validation):
    where = f"csv-{validation}"
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile("Adam", ["mae"])
    x, y = make_data("lstm", "mse", _seed(where))
    paths = {"k": str(tmp_path / "k.csv"), "o": str(tmp_path / "o.csv")}

    def cbs(ns: NS) -> list:
        side = "o" if ns.keras is None else "k"
        return [ns.callbacks.ReduceLROnPlateau(monitor="loss", patience=1),
                ns.callbacks.CSVLogger(paths[side], separator=";")]

    extra = {"validation_split": 0.2} if validation else {}
    both(pair, K, capsys, cbs, x, y, batch_size=16, epochs=3, **extra)
    head_k, rows_k = read_csv(paths["k"], ";")
    head_o, rows_o = read_csv(paths["o"], ";")
    assert head_o == head_k
    assert len(rows_o) == len(rows_k) == 3
    for rk, ro in zip(rows_k, rows_o):
        assert [c == "NA" for c in ro] == [c == "NA" for c in rk]
        assert_close([float(c) for c in ro if c != "NA"], [float(c) for c in rk if c != "NA"],
                     atol=1e-5, name=f"{where} csv row")
    # append continues the file without a second header
    pair.ours.fit(x, y, epochs=1, verbose=0, callbacks=[C.CSVLogger(paths["o"], ";", True)])
    head, rows = read_csv(paths["o"], ";")
    assert head == head_k and len(rows) == 4 and rows[-1][0] == "0"


# ---------------------------------------------------------------------------- NaN
def nan_data(seed: int) -> tuple:
    x, y = make_data("lstm", "mse", seed)
    x[21] = np.nan                                 # in the third batch of 8
    return x, y


def test_nan_loss_is_logged_and_training_goes_on(K, capsys):
    pair = Pair(K, "lstm", "mse", _seed("nan"))
    pair.compile("SGD", ["mae"])
    x, y = nan_data(_seed("nan"))
    theirs, ours, _, _ = both(pair, K, capsys, lambda ns: [], x, y, batch_size=8, epochs=2)
    assert np.isnan(theirs.history["loss"]).all()
    assert len(ours.history["loss"]) == 2
    assert_close(ours.history["loss"], theirs.history["loss"], atol=0, name="nan history")


def test_terminate_on_nan_stops_where_keras_stops(K, capsys):
    pair = Pair(K, "lstm", "mse", _seed("terminate"))
    pair.compile("SGD", ["mae"])
    x, y = nan_data(_seed("terminate"))
    batches: dict[str, list] = {"k": [], "o": []}

    def cbs(ns: NS) -> list:
        side = "o" if ns.keras is None else "k"
        rec = ns.callbacks.LambdaCallback(
            on_train_batch_end=lambda b, logs: batches[side].append(b))
        return [ns.callbacks.TerminateOnNaN(), rec]

    theirs, ours, out_k, out_o = both(pair, K, capsys, cbs, x, y, batch_size=8, epochs=3,
                                      validation_split=0.25)
    assert batches["o"] == batches["k"] == [0, 1, 2]
    assert ours.epoch == theirs.epoch == [0]
    assert out_o == out_k == "Batch 2: Invalid loss, terminating training\n"
    assert sorted(ours.history) == sorted(theirs.history)
    messages = []
    for ns in (NS(K), NS()):                 # the weights are NaN now: batch 0 fails
        model = pair.ours if ns.keras is None else pair.keras
        with pytest.raises(RuntimeError, match="NaN or Inf loss encountered at batch") as e:
            model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0,
                      callbacks=[ns.callbacks.TerminateOnNaN(raise_error=True)])
        messages.append(str(e.value))
    assert messages[0] == messages[1]


# ---------------------------------------------------------------------------- BackupAndRestore
def interrupter(ns: NS, at_epoch: int, at_batch: int | None = None) -> Any:
    class Interrupt(ns.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if at_batch is None and epoch == at_epoch:
                raise KeyboardInterrupt(f"stop at {epoch}")

        def on_train_batch_end(self, batch, logs=None):
            self.epoch_batches = getattr(self, "epoch_batches", 0) + 1
            if at_batch is not None and self.epoch_batches == at_batch:
                raise KeyboardInterrupt(f"stop after batch {batch}")
    return Interrupt()


def interrupted_fit(model: Any, ns: NS, backup_dir: str, x: Any, y: Any, stop: dict,
                    **kw: Any) -> Any:
    backup = ns.callbacks.BackupAndRestore(backup_dir, **kw.pop("backup_kw", {}))
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, y, callbacks=[backup, interrupter(ns, **stop)], **kw)
    return model.fit(x, y, callbacks=[backup], **kw)


@pytest.mark.parametrize("opt,stop,backup_kw", [
    ("Adam", {"at_epoch": 2}, {}),
    ("RMSprop-momentum", {"at_epoch": 3}, {"save_freq": 3}),
    pytest.param("SGD-momentum", {"at_epoch": 0, "at_batch": 7}, {"save_freq": 2},
                 marks=pytest.mark.slow),
], ids=["adam-epoch", "rmsprop-save-freq", "mid-epoch"])
def test_backup_and_restore_resumes_like_keras(K, tmp_path, opt, stop, backup_kw):
    where = f"backup-{opt}-{stop}"
    x, y = make_data("lstm", "mse", _seed(where))
    kw = dict(batch_size=8, epochs=5, shuffle=False, verbose=0, validation_split=0.2)
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile(opt, ["mae"])
    theirs = interrupted_fit(pair.keras, NS(K), str(tmp_path / "k"), x, y, stop,
                             backup_kw=dict(backup_kw), **kw)
    ours = interrupted_fit(pair.ours, NS(), str(tmp_path / "o"), x, y, stop,
                           backup_kw=dict(backup_kw), **kw)
    assert ours.epoch == theirs.epoch, f"resumed at {ours.epoch}, Keras at {theirs.epoch}"
    check_history(ours.history, theirs.history, where, opt)
    pair.check_weights(where, opt)
    assert not os.path.exists(tmp_path / "o")          # delete_checkpoint
    if not backup_kw:                                   # epoch backups: exact resume
        fresh = Pair(K, "lstm", "mse", _seed(where))
        fresh.compile(opt, ["mae"])
        straight = fresh.ours.fit(x, y, **kw)
        for key in ours.history:
            rel_close(ours.history[key], straight.history[key][-len(ours.epoch):],
                      f"{where} resumed vs uninterrupted {key}")
        for a, e in zip(pair.ours.get_weights(), fresh.ours.get_weights()):
            rel_close(a, e, f"{where} resumed vs uninterrupted weights", rtol=1e-6)


def test_backup_files_double_checkpoint_and_errors(K, tmp_path):
    pair = Pair(K, "lstm", "mse", 5)
    pair.compile("Adam", None)
    x, y = make_data("lstm", "mse", 5)
    backup_dir = str(tmp_path / "b")
    backup = C.BackupAndRestore(backup_dir, double_checkpoint=True, delete_checkpoint=False)
    pair.ours.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[backup])
    files = sorted(os.listdir(backup_dir))
    assert files == ["latest.weights.npz", "latest.weights.npz.bkp", "training_metadata.json",
                     "training_metadata.json.bkp"]
    with open(os.path.join(backup_dir, "training_metadata.json")) as f:
        assert f.read() == '{"epoch": 3, "batch": 0}'
    with open(os.path.join(backup_dir, "latest.weights.npz"), "wb") as f:
        f.write(b"broken")                               # a crash while writing
    seen = []
    pair.ours.fit(x, y, epochs=4, batch_size=16, verbose=0,
                  callbacks=[C.BackupAndRestore(backup_dir, double_checkpoint=True),
                             C.LambdaCallback(on_epoch_begin=lambda e, logs: seen.append(e))])
    assert seen == [2, 3]                                 # the .bkp said epoch 2
    assert not os.path.exists(backup_dir)
    with pytest.raises(ValueError, match="Empty `backup_dir`"):
        C.BackupAndRestore("")
    with pytest.raises(ValueError, match="save_freq"):
        C.BackupAndRestore(backup_dir, save_freq="batch")
    os.makedirs(backup_dir)
    with open(os.path.join(backup_dir, "latest.weights.npz"), "wb") as f:
        f.write(b"broken")
    with pytest.raises(ValueError, match=re.escape("could not read the backup")):
        pair.ours.fit(x, y, epochs=1, verbose=0, callbacks=[C.BackupAndRestore(backup_dir)])
