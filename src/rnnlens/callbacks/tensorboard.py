"""``TensorBoard``: Keras 3's callback, writing event files without TensorFlow.

What it writes, as Keras 3.15.1 does (``log_dir/train`` and ``log_dir/validation``):

* ``epoch_<metric>`` per epoch (loss, metrics, ``learning_rate``; validation metrics
  in ``validation/`` without the ``val_`` prefix), ``epoch_steps_per_second`` with
  ``write_steps_per_second``;
* ``batch_<metric>`` every ``update_freq`` batches (``"batch"`` = 1; ``"epoch"``: none),
  at the global batch count (from 1);
* ``evaluation_<metric>_vs_iterations`` in ``validation/`` after each validation, at
  the optimizer's iteration count;
* ``<weight path>/histogram`` for every weight every ``histogram_freq`` epochs (and
  ``<weight path>/image`` with ``write_images``);
* the model's JSON (``write_graph``; TensorBoard's graph dashboard draws it);
* ``embeddings_freq``: the ``Embedding`` weights saved as ``.weights.h5`` (Keras's
  file) plus a TSV and ``projector_config.pbtxt`` so TensorBoard's projector shows them.

Beyond Keras (``trace_freq`` with ``trace_data``): every ``trace_freq`` epochs, each
recurrent layer's gate statistics over ``trace_data`` (see ``rnnlens.explain.stats``):
``trace/<layer>/<gate>_saturated`` (the fraction of unit-steps with the gate
saturated, low or high), ``trace/<layer>/memory_length`` (the median over units of each
unit's median memory length, in steps; +inf counted as the sequence length) and
histograms of both per unit.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from rnnlens.callbacks.base import Callback


def _freq(name: str, value: Any, allow_epoch: bool = False) -> Any:
    if allow_epoch and value in ("epoch", "batch"):
        return 1 if value == "batch" else "epoch"
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        extra = ', "epoch" or "batch"' if allow_epoch else ""
        raise ValueError(f"TensorBoard: {name} must be an int >= 0{extra}; received "
                         f"{value!r}.")
    return int(value)


class TensorBoard(Callback):
    """Logs training for TensorBoard (``tensorboard --logdir logs``).

    Args:
        log_dir: the directory of the run (``train/`` and ``validation/`` inside).
        histogram_freq: weight histograms every N epochs (0: never).
        write_graph: write the model's architecture (its JSON).
        write_images: write weights as images along with their histograms.
        write_steps_per_second: log training steps per second.
        update_freq: ``"epoch"``, ``"batch"`` or N: batch-level logging every N batches.
        profile_batch: must be 0 (profiling is a TensorFlow / JAX tool), as Keras on
            its NumPy backend.
        embeddings_freq: save ``Embedding`` weights for the projector every N epochs.
        embeddings_metadata: a metadata file path, or a dict ``{layer name: path}``.
        trace_freq: rnnlens: gate statistics every N epochs (0: never); needs
            ``trace_data``.
        trace_data: rnnlens: the inputs to trace (an array or a list of arrays, a few
            hundred samples at most is plenty).
    """

    def __init__(self, log_dir: Any = "logs", histogram_freq: int = 0,
                 write_graph: bool = True, write_images: bool = False,
                 write_steps_per_second: bool = False, update_freq: Any = "epoch",
                 profile_batch: int = 0, embeddings_freq: int = 0,
                 embeddings_metadata: Any = None, trace_freq: int = 0,
                 trace_data: Any = None):
        super().__init__()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _freq("histogram_freq", histogram_freq)
        self.write_graph, self.write_images = bool(write_graph), bool(write_images)
        self.write_steps_per_second = bool(write_steps_per_second)
        self.update_freq = _freq("update_freq", update_freq, allow_epoch=True)
        if profile_batch:
            raise ValueError(f"Profiling is not available with rnnlens (NumPy). Received: "
                             f"profile_batch={profile_batch!r} (must be 0), as Keras says "
                             "for its NumPy backend.")
        self.embeddings_freq = _freq("embeddings_freq", embeddings_freq)
        self.embeddings_metadata = embeddings_metadata
        self.trace_freq = _freq("trace_freq", trace_freq)
        if self.trace_freq and trace_data is None:
            raise ValueError("TensorBoard(trace_freq=...) needs trace_data: the inputs to "
                             "trace, e.g. trace_data=x_val[:256].")
        self.trace_data = trace_data
        self._writers: dict[str, Any] = {}
        self._global_train_batch = 0
        self._epoch_start = 0.0
        self._epoch_iterations = 0
        self._batch_start = 0.0

    # -- writers ---------------------------------------------------------------------
    def _writer(self, which: str) -> Any:
        from rnnlens.callbacks.event_file import EventFileWriter

        if which not in self._writers:
            self._writers[which] = EventFileWriter(os.path.join(self.log_dir, which))
        return self._writers[which]

    def _close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    # -- hooks -----------------------------------------------------------------------
    def set_model(self, model: Any) -> None:
        super().set_model(model)
        self._close()
        if self.write_graph:
            self._write_model_json()
        if self.embeddings_freq:
            self._configure_embeddings()

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._global_train_batch = 0

    def on_train_end(self, logs: dict | None = None) -> None:
        self._close()

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.time()
        self._epoch_iterations = self._iterations()

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self._global_train_batch += 1
        self._batch_start = time.time()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        step = self._global_train_batch
        if self.update_freq == "epoch" or step % self.update_freq:
            return
        writer = self._writer("train")
        if self.write_steps_per_second:
            writer.scalar("batch_steps_per_second",
                          1.0 / max(time.time() - self._batch_start, 1e-9), step)
        for name, value in (logs or {}).items():
            writer.scalar(f"batch_{name}", value, step)

    def on_test_end(self, logs: dict | None = None) -> None:
        if getattr(self.model, "optimizer", None) is None or not logs:
            return
        writer = self._writer("validation")
        for name, value in logs.items():
            writer.scalar(f"evaluation_{name}_vs_iterations", value, self._iterations())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._log_epoch_metrics(epoch, logs or {})
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._log_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._log_embeddings(epoch)
        if self.trace_freq and epoch % self.trace_freq == 0:
            self._log_trace(epoch)
        for writer in self._writers.values():
            writer.flush()

    # -- what is written -------------------------------------------------------------
    def _iterations(self) -> int:
        optimizer = getattr(self.model, "optimizer", None)
        return int(getattr(optimizer, "iterations", 0) or 0)

    def _log_epoch_metrics(self, epoch: int, logs: dict) -> None:
        if not logs:
            return
        train = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None and hasattr(optimizer, "learning_rate"):
            train["learning_rate"] = float(optimizer.learning_rate)
        if self.write_steps_per_second:
            elapsed = max(time.time() - self._epoch_start, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_iterations) / elapsed
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.scalar(f"epoch_{name}", value, epoch)

    def _log_weights(self, epoch: int) -> None:
        writer = self._writer("train")
        for layer in self.model.layers:
            for path, value in weight_paths(layer, f"{self.model.name}/{layer.name}"):
                name = path.replace(":", "_")
                writer.histogram(f"{name}/histogram", value, epoch)
                if self.write_images:
                    image = _weight_image(value)
                    if image is not None:
                        writer.image(f"{name}/image", image, epoch)

    def _write_model_json(self) -> None:
        if type(self.model).__name__ not in ("Functional", "Sequential"):
            return
        try:
            text = self.model.to_json()
        except Exception as err:        # noqa: BLE001 - as Keras: never break training
            import warnings

            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {err}",
                          stacklevel=2)
            return
        self._writer("train").raw_tensor("keras", "graph_keras_model", b"1", text, 0)

    def _embedding_layers(self) -> list:
        from rnnlens.layers import Embedding

        return [layer for layer in self.model.layers if isinstance(layer, Embedding)]

    def _configure_embeddings(self) -> None:
        meta = self.embeddings_metadata
        if isinstance(meta, dict):
            meta = dict(meta)
        lines = []
        for layer in self._embedding_layers():
            lines.append("embeddings {\n  tensor_name: "
                         "\"layer_with_weights-0/embeddings/.ATTRIBUTES/VARIABLE_VALUE\"")
            lines.append(f"  tensor_path: \"train/{layer.name}_embeddings.tsv\"")
            path = meta if isinstance(meta, str) else (meta or {}).pop(layer.name, None)
            if path:
                lines.append(f"  metadata_path: \"{path}\"")
            lines.append("}")
        if isinstance(meta, dict) and meta:
            raise ValueError("Unrecognized `Embedding` layer names passed to "
                             "`keras.callbacks.TensorBoard` `embeddings_metadata` "
                             f"argument: {meta.keys()}")
        os.makedirs(self.log_dir, exist_ok=True)
        with open(os.path.join(self.log_dir, "projector_config.pbtxt"), "w") as fh:
            fh.write("\n".join(lines) + ("\n" if lines else ""))

    def _log_embeddings(self, epoch: int) -> None:
        train_dir = os.path.join(self.log_dir, "train")
        os.makedirs(train_dir, exist_ok=True)
        self.model.save_weights(os.path.join(train_dir,
                                             f"keras_embedding.ckpt-{epoch}.weights.h5"))
        for layer in self._embedding_layers():
            np.savetxt(os.path.join(train_dir, f"{layer.name}_embeddings.tsv"),
                       np.asarray(layer.embeddings), delimiter="\t", fmt="%.9g")

    def _log_trace(self, epoch: int) -> None:
        from rnnlens import trace_stats

        writer = self._writer("train")
        for layer_name, stats in trace_stats.compute(self.model, self.trace_data).items():
            for gate, per_unit in stats["saturated"].items():
                writer.scalar(f"trace/{layer_name}/{gate}_saturated",
                              float(np.mean(per_unit)), epoch)
                writer.histogram(f"trace/{layer_name}/{gate}_saturated/histogram", per_unit,
                                 epoch)
            memory = stats.get("memory_length")
            if memory is not None:
                steps = self._trace_steps()
                finite = np.where(np.isfinite(memory), memory, steps)   # never decays: T
                finite = finite[~np.isnan(finite)]
                if finite.size:
                    writer.scalar(f"trace/{layer_name}/memory_length",
                                  float(np.median(finite)), epoch)
                    writer.histogram(f"trace/{layer_name}/memory_length/histogram", finite,
                                     epoch)

    def _trace_steps(self) -> int:
        data = self.trace_data[0] if isinstance(self.trace_data, (list, tuple)) \
            else self.trace_data
        shape = np.shape(data)
        return int(shape[1]) if len(shape) > 1 else 1


def weight_paths(owner: Any, prefix: str, seen: set | None = None) -> list[tuple[str, Any]]:
    """``(Keras variable path, array)`` for every weight of ``owner``, in ``weights`` order
    (``sequential/lstm/lstm_cell/kernel``: the owners' names down to the weight's)."""
    seen = set() if seen is None else seen
    own = owner.__dict__.get("_own_weights", [])
    out = []
    for w in [w for w in own if w.created_trainable] + \
             [w for w in own if not w.created_trainable]:
        if id(w) not in seen:
            seen.add(id(w))
            out.append((f"{prefix}/{w.name}", w.value))
    for sub in owner._sublayers() if hasattr(owner, "_sublayers") else []:
        out += weight_paths(sub, f"{prefix}/{sub.name}", seen)
    return out


def _weight_image(w: np.ndarray) -> np.ndarray | None:
    """Keras's weight-as-image layout: a bias (1, n, 1, 1), a kernel (1, rows, cols, 1)."""
    img = np.squeeze(w)
    if img.ndim == 1:
        img = img.reshape(1, img.shape[0], 1, 1)
    elif img.ndim == 2:
        if img.shape[0] > img.shape[1]:
            img = img.T
        img = img.reshape(1, img.shape[0], img.shape[1], 1)
    elif img.ndim == 3:
        img = np.transpose(img, (2, 0, 1))[..., None]
    else:
        return None
    return img if img.shape[-1] in (1, 3, 4) else None


__all__ = ["TensorBoard"]
