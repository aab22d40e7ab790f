"""Models, data and gradient helpers shared by the ConvLSTM tests (no tests here).

Each model is ``build(lib)`` over the Keras-style API, so one function builds the Keras 3
model (``lib=keras``), its rnnlens twin (``lib=rnnlens``) and, for the Keras 2 file tests,
a tf_keras model (``lib=tf_keras``): the layers used exist in all three with the same
arguments. Spatial sizes are small so that TensorFlow's eager loops stay fast.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from merge_reshape_parity import floats

#: One step (channels last) per rank: (steps,), (rows, cols), (d1, d2, d3) + channels.
STEP = {1: (5, 2), 2: (4, 5, 2), 3: (3, 4, 3, 2)}


def seq(rank: int, batch: int = 2, steps: int = 3, cf: bool = False, seed: int = 0
        ) -> np.ndarray:
    """(B, T, *S, C) floats, or (B, T, C, *S) with ``cf``."""
    x = floats((batch, steps, *STEP[rank]), seed)
    return np.ascontiguousarray(np.moveaxis(x, -1, 2)) if cf else x


def layer_class(lib: Any, rank: int) -> Any:
    return getattr(lib.layers, f"ConvLSTM{rank}D")


def layer_pair(K: Any, rank: int, kwargs: dict, shape: tuple, seed: int = 0
               ) -> tuple[Any, Any]:
    """Keras and rnnlens layers built for ``shape`` with the same N(0, 0.5) weights."""
    import rnnlens  # noqa: PLC0415

    kl, rl = layer_class(K, rank)(**kwargs), layer_class(rnnlens, rank)(**kwargs)
    kl.build(shape)
    rl.build(shape)
    weights = [floats(w.shape, seed + k, 0.5) for k, w in enumerate(kl.weights)]
    kl.set_weights(weights)
    rl.set_weights(weights)
    return kl, rl


def tape_layer_grads(kl: Any, x: np.ndarray, call_kw: dict, d_out: list[np.ndarray]
                     ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """d(sum_k out_k * d_out_k) / d(x, initial states, weights) of a Keras layer call."""
    import tensorflow as tf  # noqa: PLC0415

    xt = tf.constant(x)
    states = [tf.constant(s) for s in call_kw.get("initial_state") or []]
    kw = dict(call_kw, initial_state=states or None)
    with tf.GradientTape() as tape:
        tape.watch([xt, *states])
        out = kl(xt, **kw)
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        loss = tf.add_n([tf.reduce_sum(o * d) for o, d in zip(outs, d_out)])
    grads = tape.gradient(loss, [xt, *states, *kl.trainable_weights])
    grads = [np.asarray(g) for g in grads]
    return grads[0], grads[1:1 + len(states)], grads[1 + len(states):]


def our_layer_grads(rl: Any, x: np.ndarray, call_kw: dict, d_out: list[np.ndarray]
                    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """The same through the rnnlens layer's ``forward`` / ``backward``."""
    _, cache = rl.forward(x, **call_kw)
    d = tuple(d_out) if rl.return_state else d_out[0]
    d_x, extra, d_w = rl.backward(cache, d)
    return d_x, list(extra.get("initial_state", [])), d_w


# ---------------------------------------------------------------------------- models
def video(lib: Any) -> Any:
    """Keras's next-frame example in small: ConvLSTM2D (same, sequences) ->
    BatchNormalization -> ConvLSTM2D (strided, backwards) -> Dense."""
    L = lib.layers
    i = lib.Input((3, 5, 6, 2))
    x = L.ConvLSTM2D(3, 3, padding="same", return_sequences=True, activation="relu")(i)
    x = L.BatchNormalization()(x)
    x = L.ConvLSTM2D(2, 2, strides=2, go_backwards=True)(x)
    return lib.Model(i, L.Dense(2)(L.Flatten()(x)))


def next_frame(lib: Any) -> Any:
    """keras.io's next-frame video prediction model in small: frames (T unknown, 6, 6, 1)
    through three ConvLSTM2D (5x5, 3x3, 1x1, same, relu, sequences) with
    BatchNormalization between them, then a sigmoid Conv3D over (time, rows, cols)."""
    L = lib.layers
    i = lib.Input((None, 6, 6, 1))
    x = L.ConvLSTM2D(3, (5, 5), padding="same", return_sequences=True, activation="relu")(i)
    x = L.BatchNormalization()(x)
    x = L.ConvLSTM2D(3, (3, 3), padding="same", return_sequences=True, activation="relu")(x)
    x = L.BatchNormalization()(x)
    x = L.ConvLSTM2D(3, (1, 1), padding="same", return_sequences=True, activation="relu")(x)
    return lib.Model(i, L.Conv3D(1, (3, 3, 3), activation="sigmoid", padding="same")(x))


def states_1d(lib: Any) -> Any:
    """ConvLSTM1D with its final states as outputs, then another on its sequence."""
    L = lib.layers
    i = lib.Input((4, 6, 2))
    seq_, h, c = L.ConvLSTM1D(3, 2, dilation_rate=2, return_sequences=True,
                              return_state=True)(i)
    out = L.ConvLSTM1D(2, 3, padding="same", recurrent_activation="hard_sigmoid")(seq_)
    return lib.Model(i, [out, h, c])


def channels_first_2d(lib: Any) -> Any:
    """Two ConvLSTM2D in channels_first (same padding, then a (1, 2) kernel, no bias)."""
    L = lib.layers
    cf = "channels_first"
    i = lib.Input((3, 2, 4, 5))
    x = L.ConvLSTM2D(2, 2, padding="same", data_format=cf, return_sequences=True)(i)
    x = L.ConvLSTM2D(2, (1, 2), data_format=cf, use_bias=False)(x)
    return lib.Model(i, L.Dense(2)(L.Flatten()(x)))


def volumes_3d(lib: Any) -> Any:
    """Two ConvLSTM3D (same padding with sequences, then a (1, 2, 2) kernel). TensorFlow's
    3-D convolutions in channels_first take seconds per call on CPU, so the 3-D models
    are channels-last (the layout code is the same for every rank)."""
    L = lib.layers
    i = lib.Input((2, 3, 4, 3, 2))
    x = L.ConvLSTM3D(2, 2, padding="same", return_sequences=True)(i)
    x = L.ConvLSTM3D(1, (1, 2, 2), use_bias=False, go_backwards=True)(x)
    return lib.Model(i, L.Dense(2)(L.Flatten()(x)))


def bidirectional_1d(lib: Any) -> Any:
    """Bidirectional(ConvLSTM1D) (sum of both directions' sequences), then a ConvLSTM1D."""
    L = lib.layers
    i = lib.Input((4, 6, 2))
    x = L.Bidirectional(L.ConvLSTM1D(2, 2, return_sequences=True), merge_mode="sum")(i)
    x = L.ConvLSTM1D(2, 3, padding="same", go_backwards=True)(x)
    return lib.Model(i, L.Dense(2)(L.Flatten()(x)))


def initial_states(lib: Any) -> Any:
    """ConvLSTM2D started from [h0, c0] given as model inputs."""
    L = lib.layers
    x, h0, c0 = lib.Input((3, 4, 5, 2)), lib.Input((3, 4, 2)), lib.Input((3, 4, 2))
    out = L.ConvLSTM2D(2, 2, return_sequences=True)(x, initial_state=[h0, c0])
    return lib.Model([x, h0, c0], out)


MODELS: dict[str, tuple[Callable[[Any], Any], Callable[[], Any]]] = {
    "video": (video, lambda: floats((4, 3, 5, 6, 2), 1)),
    "next_frame": (next_frame, lambda: floats((4, 3, 6, 6, 1), 9)),
    "states_1d": (states_1d, lambda: floats((4, 4, 6, 2), 2)),
    "channels_first_2d": (channels_first_2d, lambda: floats((3, 3, 2, 4, 5), 3)),
    "volumes_3d": (volumes_3d, lambda: floats((3, 2, 3, 4, 3, 2), 7)),
    "bidirectional_1d": (bidirectional_1d, lambda: floats((3, 4, 6, 2), 8)),
    "initial_states": (initial_states, lambda: [floats((3, 3, 4, 5, 2), 4),
                                                floats((3, 3, 4, 2), 5),
                                                floats((3, 3, 4, 2), 6)]),
}
