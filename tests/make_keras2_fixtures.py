"""Small hand-made Keras 2 model files for forms tf-keras 2.21 no longer writes.

Run:  .venv/bin/python tests/make_keras2_fixtures.py     (writes tests/fixtures/keras2/)

tf-keras 2.21 builds each model and its reference outputs; the file's config and
attributes are then rewritten into the older form (what standalone Keras 2.1 / 2.2 wrote:
``keras_version`` "2.1.4" / "2.2.4", a Sequential config that is a bare list of layers,
GRU configs without ``reset_after``, no ``time_major``, ``hard_sigmoid`` recurrent
activations, list-form inbound nodes). Each fixture is ``<name>.h5`` plus ``<name>.npz``
with the inputs ``x_*`` and the outputs ``out_*`` standalone Keras computed:

* bare-list Sequential, hard_sigmoid, GRU without reset_after: standalone Keras's
  definitions are tf-keras's (``hard_sigmoid = clip(0.2 x + 0.5)``; a GRU without
  ``reset_after`` is the reset-before GRU), so tf-keras computes the reference;
* Bidirectional with a mask and ``return_sequences``: standalone Keras 2 did not force
  ``zero_output_for_mask``, so each direction carries its last output; the reference is
  tf-keras's two directions run as separate layers (carrying) and merged;
* leading masked steps with an initial state (Keras <= 2.2.5 repeated the previous state
  h, so they output h0): tf-keras's outputs with those steps set to h0.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

OUT = Path(__file__).resolve().parent / "fixtures" / "keras2"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _weights(model, seed: int) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(np.float32)
                       for w in model.get_weights()])


def _strip(config: dict) -> dict:
    """A tf-keras layer config as standalone Keras 2.1 / 2.2 wrote it."""
    config = {k: v for k, v in config.items()
              if k not in ("time_major", "zero_output_for_mask", "ragged", "optional")}
    if config.get("dtype") is not None:
        config["dtype"] = "float32"
    for key in ("kernel_initializer", "recurrent_initializer", "bias_initializer"):
        if isinstance(config.get(key), dict):
            config[key] = {"class_name": config[key]["class_name"],
                           "config": config[key]["config"]}
    return config


def _write(model, name: str, config: dict, version: str, xs: list, outs: list) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.h5"
    model.save(str(path))
    with h5py.File(path, "r+") as h5:
        h5.attrs["model_config"] = json.dumps(config).encode()
        h5.attrs["keras_version"] = version.encode()
        if "training_config" in h5.attrs:
            del h5.attrs["training_config"]
    np.savez_compressed(OUT / f"{name}.npz", **{f"x_{k}": x for k, x in enumerate(xs)},
                        **{f"out_{k}": np.asarray(o) for k, o in enumerate(outs)})
    print("wrote", path, path.stat().st_size, "bytes")


def bare_list_sequential(k2) -> None:
    L = k2.layers
    model = k2.Sequential([
        L.LSTM(4, input_shape=(5, 3), return_sequences=True,
               recurrent_activation="hard_sigmoid", implementation=1),
        L.GRU(3, recurrent_activation="hard_sigmoid", reset_after=False),
        L.Dense(2, activation="hard_sigmoid")])
    _weights(model, 1)
    x = np.random.default_rng(1).normal(size=(3, 5, 3)).astype(np.float32) * 2
    layers = [_strip({**lyr["config"]}) for lyr in model.get_config()["layers"][1:]]
    layers = [{"class_name": c, "config": cfg} for c, cfg in
              zip(["LSTM", "GRU", "Dense"], layers)]
    layers[0]["config"]["batch_input_shape"] = [None, 5, 3]
    del layers[1]["config"]["reset_after"]                 # Keras <= 2.1.4 had no key
    _write(model, "keras21_bare_list_sequential",
           {"class_name": "Sequential", "config": layers}, "2.1.4", [x],
           [model.predict(x, verbose=0)])


def _list_nodes(config: dict) -> dict:
    """tf-keras's list-form inbound nodes are already Keras 2's; only strip configs."""
    for layer in config["layers"]:
        layer["config"] = _strip(layer["config"])
        inner = layer["config"].get("layer")
        if isinstance(inner, dict):
            inner["config"] = _strip(inner["config"])
            inner.pop("module", None)
            inner.pop("registered_name", None)
        layer.pop("module", None)
        layer.pop("registered_name", None)
    return config


def bidirectional_mask(k2) -> None:
    L = k2.layers
    i = k2.Input((6,))
    e = L.Embedding(9, 3, mask_zero=True)(i)
    bi = L.Bidirectional(L.LSTM(3, return_sequences=True))
    out = bi(e)
    model = k2.Model(i, out)
    _weights(model, 2)
    ids = np.random.default_rng(2).integers(1, 9, size=(3, 6)).astype(np.float32)
    ids[0, 4:] = 0
    ids[1, 2:] = 0
    # Reference: each direction as its own layer, carrying at masked steps.
    fw, bw = bi.forward_layer, bi.backward_layer
    emb = model.layers[1](ids)
    mask = ids != 0
    y_f = L.LSTM(3, return_sequences=True, weights=fw.get_weights())(emb, mask=mask)
    y_b = L.LSTM(3, return_sequences=True, go_backwards=True,
                 weights=bw.get_weights())(emb, mask=mask)
    expected = np.concatenate([np.asarray(y_f), np.asarray(y_b)[:, ::-1]], axis=-1)
    config = _list_nodes(model.get_config())
    _write(model, "keras22_bidirectional_mask", {"class_name": "Model", "config": config},
           "2.2.4", [ids], [expected])


def leading_mask_initial_state(k2) -> None:
    L = k2.layers
    x_in, h_in, c_in = k2.Input((5, 3)), k2.Input((4,)), k2.Input((4,))
    masked = L.Masking(0.0)(x_in)
    seq = L.LSTM(4, return_sequences=True)(masked, initial_state=[h_in, c_in])
    model = k2.Model([x_in, h_in, c_in], seq)
    _weights(model, 3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 5, 3)).astype(np.float32)
    x[0, :2] = 0.0                                         # left padding
    x[1, :1] = 0.0
    h0 = rng.normal(size=(3, 4)).astype(np.float32)
    c0 = rng.normal(size=(3, 4)).astype(np.float32)
    out = np.array(model.predict([x, h0, c0], verbose=0))
    out[0, :2] = h0[0]                                     # Keras <= 2.2.5: h0 there
    out[1, :1] = h0[1]
    config = _list_nodes(model.get_config())
    _write(model, "keras22_leading_mask_initial_state",
           {"class_name": "Model", "config": config}, "2.2.4", [x, h0, c0], [out])


def main() -> int:
    import tf_keras as k2

    bare_list_sequential(k2)
    bidirectional_mask(k2)
    leading_mask_initial_state(k2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
