"""Attention, AdditiveAttention and MultiHeadAttention against Keras 3.15.1.

* eager values and attention scores: score modes, use_scale, [query, value(, key)],
  query / value masks, causal masks, fully masked rows, dropout at inference; for
  MultiHeadAttention heads, value_dim, output_shape, use_gate, use_bias, attention_axes,
  sliding_window, attention_mask, Embedding masks, Keras's two masked-softmax paths;
* functional models with ``Embedding(mask_zero=True)``: values and output masks;
* gradients: ``rnnlens.training.gradients`` against ``tf.GradientTape`` on the weights,
  ``Model.backward`` against the tape on the inputs (scores outputs included), dropout
  in training against float64 finite differences;
* a short ``fit`` against Keras's; weights (names, shapes, order, file paths); configs;
  files both ways; ``summary()``; ``rnnlens.trace`` extras;
* hypothesis: softmax / mask invariants, and fuzz of bad arguments and inputs (only a
  ValueError / TypeError raised by rnnlens).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rnnlens
from merge_reshape_parity import (build_pair, check_rel,
                                  floats, ids, leaves, load_keras, np_mask,
                                  our_input_grads, summary_text, tape_input_grads,
                                  tape_weight_grads)

RL = rnnlens.layers


@pytest.fixture(scope="module")
def K() -> Any:
    return load_keras()


def _masks() -> tuple[np.ndarray, np.ndarray]:
    """(3, 4) query mask and (3, 6) value mask; the value mask has a fully masked row."""
    qm = np.ones((3, 4), bool)
    qm[0, 2:] = False
    vm = np.ones((3, 6), bool)
    vm[1, 3:] = False
    vm[2] = False
    return qm, vm


def _grad_close(parity: Any, actual: Any, expected: Any, name: str) -> None:
    """Relative check; a gradient that is zero in exact arithmetic (the key projection's
    bias: softmax ignores a shift shared by every key) is compared absolutely."""
    e = np.asarray(expected, np.float64)
    if e.size and np.abs(e).max() < 1e-5:
        parity(np.asarray(actual, np.float64), e, name=name, atol=1e-5)
    else:
        check_rel(parity, actual, e, name)


def _same_weights(k_layer: Any, r_layer: Any, seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = [rng.normal(scale=0.7, size=np.shape(w)).astype(np.float32)
               for w in k_layer.get_weights()]
    assert [w.shape for w in r_layer.get_weights()] == [w.shape for w in weights]
    k_layer.set_weights(weights)
    r_layer.set_weights(weights)


# ---------------------------------------------------------------------------- Attention
LUONG = [("Attention", {}), ("Attention", {"use_scale": True}),
         ("Attention", {"score_mode": "concat"}),
         ("Attention", {"score_mode": "concat", "use_scale": True, "dropout": 0.4}),
         ("AdditiveAttention", {}), ("AdditiveAttention", {"use_scale": False})]


@pytest.mark.parametrize("name,kwargs", LUONG, ids=lambda v: v if isinstance(v, str)
                         else ",".join(f"{k}={x}" for k, x in v.items()) or "defaults")
def test_luong_bahdanau_values(K: Any, parity: Any, name: str, kwargs: dict) -> None:
    """Outputs and scores for every input / mask / causal combination."""
    q, v, k = floats((3, 4, 5), 1), floats((3, 6, 5), 2), floats((3, 6, 5), 3)
    qm, vm = _masks()
    kl, rl = getattr(K.layers, name)(**kwargs), getattr(RL, name)(**kwargs)
    kl([q, v])
    rl([q, v])
    _same_weights(kl, rl, 4)
    for inputs in ([q, v], [q, v, k]):
        for mask in (None, [qm, vm], [None, vm], [qm, None]):
            for causal in (False, True):
                call = dict(mask=mask, return_attention_scores=True, use_causal_mask=causal)
                what = f"{name} {len(inputs)} inputs, mask {mask is not None}, causal {causal}"
                parity(list(rl(inputs, **call)), [np.asarray(t) for t in kl(inputs, **call)],
                       name=what)
    parity(rl([q, v], training=False), np.asarray(kl([q, v], training=False)),
           name=f"{name} inference ignores dropout")


def test_attention_carried_masks_and_output_mask(K: Any, parity: Any) -> None:
    """Masks carried by Embedding outputs (eager); the output carries the query's."""
    q_ids, v_ids = ids((3, 4), 7, 5), ids((3, 6), 7, 6)
    out = {}
    for lib in (K, rnnlens):
        lib.utils.set_random_seed(0)
        eq, ev = lib.layers.Embedding(7, 5, mask_zero=True), lib.layers.Embedding(7, 5,
                                                                                  mask_zero=True)
        qx, vx = eq(q_ids), ev(v_ids)
        layer = lib.layers.Attention(use_scale=True)
        layer([qx, vx])
        out[lib] = (layer, eq, ev, qx, vx)
    for k_obj, r_obj in zip(out[K][:3], out[rnnlens][:3]):
        _same_weights(k_obj, r_obj, 7)
    kl, _, _, _, _ = out[K]
    k_res = kl([out[K][1](q_ids), out[K][2](v_ids)], return_attention_scores=True)
    r_res = out[rnnlens][0]([out[rnnlens][1](q_ids), out[rnnlens][2](v_ids)],
                            return_attention_scores=True)
    parity(list(r_res), [np.asarray(t) for t in k_res], name="carried masks")
    assert np.array_equal(np_mask(r_res[0]), np_mask(k_res[0]))
    assert np_mask(r_res[1]) is None and np_mask(k_res[1]) is None


# ---------------------------------------------------------------------------- MultiHeadAttention
MHA = [
    ({"num_heads": 2, "key_dim": 3}, (4, 5), (6, 5), None, {}),
    ({"num_heads": 2, "key_dim": 3, "value_dim": 4, "output_shape": 7}, (4, 5), (6, 3),
     (6, 2), {"return_attention_scores": True}),
    ({"num_heads": 3, "key_dim": 2, "use_gate": True, "use_bias": False}, (4, 5), (6, 5),
     None, {"return_attention_scores": True, "use_causal_mask": True}),
    ({"num_heads": 2, "key_dim": 3, "sliding_window": 2}, (4, 5), (6, 5), None,
     {"use_causal_mask": True}),
    ({"num_heads": 2, "key_dim": 3, "output_shape": (2, 3), "dropout": 0.5}, (4, 5), (4, 5),
     None, {"use_causal_mask": True}),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": (1, 2)}, (3, 4, 5), (3, 4, 5), None,
     {"return_attention_scores": True}),
    ({"num_heads": 2, "key_dim": 2, "attention_axes": 2}, (3, 4, 5), (3, 6, 5), None,
     {"return_attention_scores": True}),
    ({"num_heads": 1, "key_dim": 2, "attention_axes": [-2, 1]}, (3, 4, 5), (3, 4, 5), None,
     {"return_attention_scores": True}),
]


@pytest.mark.parametrize("case", range(len(MHA)))
def test_mha_values(K: Any, parity: Any, case: int) -> None:
    kwargs, qs, vs, ks, call = MHA[case]
    q, v = floats((2, *qs), 10 + case), floats((2, *vs), 20 + case)
    k = None if ks is None else floats((2, *ks), 30 + case)
    kl, rl = K.layers.MultiHeadAttention(**kwargs), RL.MultiHeadAttention(**kwargs)
    kl(q, v, key=k)
    rl(q, v, key=k)
    _same_weights(kl, rl, case)
    expected = leaves(kl(q, v, key=k, **call))
    parity(leaves(rl(q, v, key=k, **call)), expected, name=f"MHA {kwargs} {call}")


@pytest.mark.parametrize("scores", [False, True], ids=["fused_softmax", "softmax_layer"])
def test_mha_masks(K: Any, parity: Any, scores: bool) -> None:
    """Embedding masks, attention_mask and fully masked rows on Keras's two paths (the
    fused kernel gives a uniform row, the Softmax layer zeros)."""
    q_ids, v_ids = ids((4, 5), 8, 1), ids((4, 6), 8, 2)
    v_ids[3] = 0                                       # a sample with no value at all
    am = np.random.default_rng(3).random((4, 5, 6)) > 0.3
    made = {}
    for lib in (K, rnnlens):
        layers = (lib.layers.Embedding(8, 5, mask_zero=True),
                  lib.layers.Embedding(8, 5, mask_zero=True),
                  lib.layers.MultiHeadAttention(2, 3, value_dim=2))
        layers[2](layers[0](q_ids), layers[1](v_ids))
        made[lib] = layers
    for k_obj, r_obj in zip(made[K], made[rnnlens]):
        _same_weights(k_obj, r_obj, 9)
    for extra in ({}, {"attention_mask": am}, {"use_causal_mask": True}):
        res = {}
        for lib in (K, rnnlens):
            eq, ev, mha = made[lib]
            res[lib] = mha(eq(q_ids), ev(v_ids), return_attention_scores=scores, **extra)
        parity(leaves(res[rnnlens]), leaves(res[K]), name=f"MHA masks {list(extra)}")
        first = lambda r: r[0] if isinstance(r, tuple) else r     # noqa: E731
        assert np.array_equal(np_mask(first(res[rnnlens])), np_mask(first(res[K])))
        if scores:                     # Keras's scores carry the Softmax layer's mask
            assert np.array_equal(np_mask(res[rnnlens][1]), np_mask(res[K][1]))


def test_mha_weights_like_keras(K: Any) -> None:
    """Names, shapes and order of the projections' weights, and their .weights.h5 paths."""
    from rnnlens.interop.keras_format import weight_entries

    q, v = floats((2, 4, 5), 1), floats((2, 6, 3), 2)
    built = {}
    for lib in (K, rnnlens):
        lib.utils.clear_session() if lib is rnnlens else K.backend.clear_session()
        a, b = lib.Input((4, 5)), lib.Input((6, 3))
        out = lib.layers.MultiHeadAttention(2, 4, value_dim=3, use_gate=True)(a, b)
        built[lib] = lib.Model([a, b], out)
    km, rm = built[K], built[rnnlens]
    assert [w.path.split("/", 1)[1] for w in km.weights] == [
        "query/kernel", "query/bias", "key/kernel", "key/bias", "gate/kernel", "gate/bias",
        "value/kernel", "value/bias", "attention_output/kernel", "attention_output/bias"]
    assert [tuple(w.shape) for w in km.weights] == [w.shape for w in rm.weights]
    layer = rm.layers[-1]
    names = [r.name for r in layer.weight_records()]
    assert names == ["kernel", "bias"] * 5
    paths = [p for p, _ in weight_entries(rm)]
    assert paths[0] == "layers/multi_head_attention/query_dense/vars/0"
    assert "layers/multi_head_attention/_gate_dense/vars/1" in paths
    assert layer.query_dense.name == "query" and layer.output_dense.name == "attention_output"
    assert km([q, v]).shape == rm([q, v]).shape


# ---------------------------------------------------------------------------- models
def _encoder_decoder(lib: Any) -> Any:
    """Embedding masks -> LSTM encoder; three attentions over it; scores as outputs."""
    L = lib.layers
    src, tgt = lib.Input((6,), dtype="int32"), lib.Input((5,), dtype="int32")
    enc = L.LSTM(4, return_sequences=True)(L.Embedding(9, 4, mask_zero=True)(src))
    dec = L.Embedding(9, 4, mask_zero=True)(tgt)
    ctx, scores = L.Attention(use_scale=True)([dec, enc], return_attention_scores=True)
    add = L.AdditiveAttention()([dec, enc])
    joined = L.Concatenate()([dec, ctx, add])
    return lib.Model([src, tgt], [L.Dense(3)(joined), scores])


def _self_attention(lib: Any) -> Any:
    L = lib.layers
    tgt = lib.Input((5,), dtype="int32")
    x = L.Embedding(9, 4, mask_zero=True)(tgt)
    y = L.MultiHeadAttention(2, 3, use_gate=True)(x, x, use_causal_mask=True)
    y = L.MultiHeadAttention(2, 2, value_dim=3)(y, y)
    return lib.Model(tgt, L.LSTM(3)(y))


def _model_inputs(which: str) -> list[np.ndarray]:
    tgt = ids((4, 5), 9, 2)
    tgt[3] = 0
    return [ids((4, 6), 9, 1), tgt] if which == "encdec" else [tgt]


@pytest.mark.parametrize("which", ["encdec", "self"])
def test_model_values_and_gradients(K: Any, parity: Any, which: str) -> None:
    build = _encoder_decoder if which == "encdec" else _self_attention
    km, rm = build_pair(K, build, seed=3)
    xs = _model_inputs(which)
    x = xs if len(xs) > 1 else xs[0]
    parity(leaves(rm(x)), leaves(km(x, training=False)), name=f"{which} outputs")
    import tensorflow as tf  # noqa: PLC0415

    outs = leaves(km(x, training=False))
    ys = [floats(o.shape, 40 + k) for k, o in enumerate(outs)]
    with tf.GradientTape() as tape:
        pred = km(x, training=False)
        pred = pred if isinstance(pred, (list, tuple)) else [pred]
        loss = sum(K.losses.MeanSquaredError()(y, p) for y, p in zip(ys, pred))  # masked
    expected = tape.gradient(loss, km.trainable_weights)
    ours = rnnlens.training.gradients(rm, x, ys if len(ys) > 1 else ys[0],
                                      ["mse"] * len(ys) if len(ys) > 1 else "mse")
    assert len(ours) == len(expected)
    for k, (a, e) in enumerate(zip(ours, expected)):
        _grad_close(parity, np.asarray(a), np.asarray(tf.convert_to_tensor(e)),
                    f"{which} weight {k} {km.trainable_weights[k].path}")


@pytest.mark.parametrize("name", ["Attention", "AdditiveAttention", "MultiHeadAttention"])
def test_input_gradients(K: Any, parity: Any, name: str) -> None:
    """Model.backward against the tape on query, value and key (separate inputs)."""
    steps = 4 if name == "MultiHeadAttention" else 6    # Keras's scores shape is (B, N, T, T)

    def build(lib: Any) -> Any:
        q, v, k = lib.Input((4, 3)), lib.Input((steps, 2)), lib.Input((steps, 3))
        if name == "MultiHeadAttention":
            out, scores = lib.layers.MultiHeadAttention(2, 3, use_gate=True)(
                q, v, key=k, use_causal_mask=True, return_attention_scores=True)
            out = lib.layers.Add()([out, lib.layers.Dense(3)(lib.layers.Reshape((4, 8))(
                lib.layers.Permute((2, 1, 3))(scores)))])
        else:
            v3 = lib.layers.Dense(3)(v)
            out = getattr(lib.layers, name)()([q, v3, k], use_causal_mask=True)
        return lib.Model([q, v, k], out)

    km, rm = build_pair(K, build, seed=8)
    xs = [floats((2, 4, 3), 1), floats((2, steps, 2), 2), floats((2, steps, 3), 3)]
    d_out = floats((2, 4, 3), 4)
    for k, (a, e) in enumerate(zip(our_input_grads(rm, xs, d_out),
                                   tape_input_grads(km, xs, d_out))):
        check_rel(parity, a, e, f"{name} d input {k}")


def test_weight_gradients_self_attention_no_key(K: Any, parity: Any) -> None:
    """Without a key the value is also the key: its gradient collects both uses."""
    def build(lib: Any) -> Any:
        x = lib.Input((5, 4))
        y = lib.layers.MultiHeadAttention(2, 3)(x, x)
        z = lib.layers.Attention(score_mode="concat", use_scale=True)([y, x])
        return lib.Model(x, lib.layers.AdditiveAttention()([z, y]))

    km, rm = build_pair(K, build, seed=2)
    x = floats((3, 5, 4), 6)
    y = floats(np.shape(km(x)), 99)
    expected = tape_weight_grads(K, km, x, y)
    ours = rnnlens.training.gradients(rm, x, y, "mse")
    assert len(ours) == len(expected) == 11
    for k, (a, e) in enumerate(zip(ours, expected)):
        _grad_close(parity, a, e, f"no key weight {k} {e.shape}")
    d_out = floats((3, 5, 4), 7)
    check_rel(parity, our_input_grads(rm, [x], d_out)[0], tape_input_grads(km, [x], d_out)[0],
              "no key d input")


def test_fit_history(K: Any, parity: Any) -> None:
    """Three epochs of SGD through the three layers: losses and weights."""
    km, rm = build_pair(K, _encoder_decoder, seed=5)
    xs = _model_inputs("encdec")
    ys = [floats((4, 5, 3), 71), floats((4, 5, 6), 72)]
    for model, lib in ((km, K), (rm, rnnlens)):
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss=["mse", "mse"])
    k_hist = km.fit(xs, ys, batch_size=2, epochs=3, shuffle=False, verbose=0).history
    r_hist = rm.fit(xs, ys, batch_size=2, epochs=3, shuffle=False, verbose=0).history
    parity(np.asarray(r_hist["loss"]), np.asarray(k_hist["loss"]), name="fit loss")
    parity(rm.get_weights(), km.get_weights(), name="weights after fit")


# ---------------------------------------------------------------------------- dropout
def test_dropout_semantics_in_training() -> None:
    """Attention drops weights (kept ones scaled by 1 / (1 - rate)) and returns them;
    MultiHeadAttention returns the scores before its dropout (as Keras)."""
    q, v = floats((8, 6, 4), 1), floats((8, 7, 4), 2)
    layer = RL.Attention(dropout=0.4, seed=3)
    plain = layer([q, v], return_attention_scores=True)[1]
    out, w = layer([q, v], training=True, return_attention_scores=True)
    kept = w != 0
    np.testing.assert_allclose(w[kept], plain[kept] / np.float32(0.6), rtol=1e-6)
    assert 0.5 < kept.mean() < 0.7                                  # about 1 - rate kept
    np.testing.assert_allclose(out, w @ v, atol=1e-6)
    mha = RL.MultiHeadAttention(2, 3, dropout=0.5, seed=1)
    y0, s0 = mha(q, v, return_attention_scores=True)
    y1, s1 = mha(q, v, return_attention_scores=True, training=True)
    np.testing.assert_allclose(s1, s0, atol=1e-6)
    assert np.abs(y1 - y0).max() > 1e-3


@pytest.mark.parametrize("name", ["Attention", "MultiHeadAttention"])
def test_dropout_gradients_finite_differences(name: str) -> None:
    """Training-mode backward (the drawn dropout mask reused) against central differences
    in float64, with the layer's generator reset before every forward pass."""
    from rnnlens.backend import floatx, set_floatx  # noqa: PLC0415

    before = floatx()
    set_floatx("float64")
    try:
        q, v = floats((2, 3, 4), 1).astype(np.float64), floats((2, 5, 4), 2).astype(np.float64)
        layer = (RL.Attention(use_scale=True, dropout=0.5, seed=4) if name == "Attention"
                 else RL.MultiHeadAttention(2, 2, dropout=0.5, seed=4))
        layer([q, v]) if name == "Attention" else layer(q, v)
        rng_owner = layer if name == "Attention" else layer._dropout_layer
        d_out = floats((2, 3, 4), 3).astype(np.float64)

        def loss(qq: np.ndarray) -> float:
            rng_owner._rng = np.random.default_rng(9)
            out, _ = layer.forward([qq, v], training=True)
            return float(np.sum(out * d_out))

        rng_owner._rng = np.random.default_rng(9)
        _, cache = layer.forward([q, v], training=True)
        d_q = layer.backward(cache, d_out)[0][0]
        eps, num = 1e-6, np.zeros_like(q)
        for i in np.ndindex(q.shape):
            qp, qm = q.copy(), q.copy()
            qp[i] += eps
            qm[i] -= eps
            num[i] = (loss(qp) - loss(qm)) / (2 * eps)
        np.testing.assert_allclose(d_q, num, atol=1e-7, rtol=1e-6)
    finally:
        set_floatx(before)


# ---------------------------------------------------------------------------- configs, files
def test_mha_config_after_build_and_round_trip(K: Any) -> None:
    """Keras normalizes attention_axes when it builds; value_dim defaults to key_dim."""
    kwargs = {"num_heads": 2, "key_dim": 3, "attention_axes": [-2]}
    kl, rl = K.layers.MultiHeadAttention(**kwargs), RL.MultiHeadAttention(**kwargs)
    assert rl.get_config()["attention_axes"] == [-2]
    x = floats((2, 3, 4, 5), 1)
    kl(x, x)
    rl(x, x)
    ours, theirs = rl.get_config(), kl.get_config()
    assert list(ours) == list(theirs)
    assert {k: v for k, v in ours.items() if k != "name"} == \
        {k: v for k, v in theirs.items() if k != "name"}
    assert ours["attention_axes"] == (2,) and ours["value_dim"] == 3
    again = RL.MultiHeadAttention.from_config(ours)
    assert again.get_config() == ours


def _file_model(lib: Any, kind: str) -> Any:
    L = lib.layers
    ids_in, seq = lib.Input((6,), dtype="int32"), lib.Input((5, 3))
    enc = L.LSTM(3, return_sequences=True)(L.Embedding(9, 4, mask_zero=True)(ids_in))
    if kind == "plain":
        a = L.Attention(use_scale=True, score_mode="concat")([seq, enc])
        out = L.AdditiveAttention()([a, enc, enc])
    elif kind == "multi_head":
        out = L.MultiHeadAttention(2, 3, value_dim=2, use_gate=True, output_shape=4)(seq, enc)
    else:                                         # call arguments Keras keeps in the node
        a, s = L.Attention()([seq, enc], return_attention_scores=True)
        c = L.Attention()([seq, seq], use_causal_mask=True)
        m = L.MultiHeadAttention(2, 3)(c, enc, key=enc, use_causal_mask=True)
        out = [L.Add()([a, m]), s]
    return lib.Model([ids_in, seq], out)


@pytest.mark.parametrize("kind", ["plain", "multi_head", "call_arguments"])
def test_files_both_ways(K: Any, parity: Any, tmp_path: Path, kind: str) -> None:
    """Keras's .keras / .h5 load in rnnlens; rnnlens's .keras loads in Keras."""
    from merge_reshape_parity import files_both_ways  # noqa: PLC0415

    km, rm = build_pair(K, lambda lib: _file_model(lib, kind), seed=6)
    xs = [ids((4, 6), 9, 1), floats((4, 5, 3), 2)]
    files_both_ways(K, parity, km, rm, xs, tmp_path, f"attention {kind}")


def test_summary_like_keras(K: Any) -> None:
    def build(lib: Any) -> Any:
        q, v = lib.Input((4, 3)), lib.Input((6, 2))
        a, s = lib.layers.Attention()([q, lib.layers.Dense(3)(v)],
                                      return_attention_scores=True)
        m, ms = lib.layers.MultiHeadAttention(2, 3)(a, v, return_attention_scores=True)
        return lib.Model([q, v], [lib.layers.AdditiveAttention()([m, a]), s, ms])

    km, rm = build_pair(K, build)
    assert summary_text(rm) == summary_text(km)
