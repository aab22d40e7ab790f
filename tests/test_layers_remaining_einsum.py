"""EinsumDense and ReversibleEmbedding against live Keras 3.15.1.

EinsumDense: every equation form Keras accepts (named axes, leading and trailing
``...``, summed-out input axes, repeated letters, transposed kernels), bias_axes,
activations; values, symbolic shapes (None kept as Keras keeps it), gradients against
``tf.GradientTape``, LoRA (construction, ``enable_lora``, frozen kernel, gradients of the
factors, a Keras file read with the merged kernel, writing refused), a short fit, configs
in Keras's key order, files both ways, summaries, Keras's errors, and a hypothesis fuzz
over random equations. ReversibleEmbedding: tied and separate reverse weights, the soft
cap, masks (forward carries ``ids != 0``, reverse none), the shared layer in a graph
(forward then reverse), gradients, files, errors.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from regact_parity import file_round_trips, keras_save, layer_configs
from remaining_parity import (fit_both, floats, keras_module, summary_lines,
                              trainable_gradients, twins)
from rnnlens import layers as RL


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


#: (equation, output_shape, bias_axes, input shape without the batch)
FORMS = [("ab,bc->ac", 4, "c", (3,)), ("abc,cd->abd", (None, 4), "d", (5, 3)),
         ("abc,cd->abd", (5, 4), None, (5, 3)), ("...b,bc->...c", 4, "c", (5, 3)),
         ("...b,bc->...c", 4, "c", (3,)), ("ab...,bc->ac...", 4, "c", (3, 5)),
         ("abc,cde->abde", (None, 2, 4), "de", (5, 3)),
         ("abc,cde->abde", (None, 2, 4), "e", (5, 3)), ("abc,cd->ad", 4, "d", (5, 3)),
         ("aab,bc->ac", 4, "c", (2, 3)), ("ab,bcc->ac", 4, "c", (3,)),
         ("ab,cb->ac", 4, "c", (3,)), ("abc,bcd->ad", 4, "d", (5, 3)),
         ("Ab,bC->AC", 4, "C", (3,)), ("abcd,cde->abe", (None, 6), "e", (4, 2, 3))]


def _einsum(lib: Any, form: tuple, activation: Any = "tanh", **kw: Any) -> Any:
    eq, out, bias, _ = form
    return lib.layers.EinsumDense(eq, out, activation=activation, bias_axes=bias, **kw)


@pytest.mark.parametrize("form", FORMS, ids=[f[0] for f in FORMS])
def test_values_and_shapes_equal_keras(K: Any, parity: Any, form: tuple) -> None:
    shape = form[3]
    batch = 2 if form[0] != "aab,bc->ac" else shape[0]      # 'a' is the batch twice
    x = floats((batch, *shape), 1)
    theirs = _einsum(K, form, bias_initializer="random_normal")
    expected = np.asarray(theirs(x))
    ours = _einsum(rnnlens, form)
    ours.build(x.shape)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in
                                                     theirs.get_weights()]
    parity(ours(x), expected, name=f"EinsumDense {form[0]}")
    sym = (None, *shape)
    assert ours.compute_output_shape(sym) == tuple(theirs.compute_output_shape(sym))


@pytest.mark.parametrize("form", [f for f in FORMS if f[0] != "aab,bc->ac"],
                         ids=[f[0] for f in FORMS if f[0] != "aab,bc->ac"])
def test_gradients_equal_tape(K: Any, parity: Any, form: tuple) -> None:
    shape = form[3]

    def build(lib: Any) -> Any:
        i = lib.Input(shape)
        return lib.Model(i, lib.layers.Flatten()(_einsum(lib, form)(i)))

    kmodel, rmodel = twins(K, build)
    x = floats((3, *shape), 2)
    y = floats(np.asarray(kmodel(x)).shape, 3)
    trainable_gradients(parity, K, kmodel, rmodel, x, y, f"EinsumDense {form[0]}")


def test_symbolic_shape_keeps_none_as_keras(K: Any) -> None:
    for lib in (K, rnnlens):
        i = lib.Input((5, 3))
        y = lib.layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d")(i)
        assert tuple(y.shape) == (None, None, 4)          # Keras does not infer 'b'
    out = RL.EinsumDense("abc,cd->abd", (None, 4))(floats((2, 5, 3), 0))
    assert out.shape == (2, 5, 4)


def test_fit_history_equals_keras(K: Any, parity: Any) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5, 3)),
                               lib.layers.EinsumDense("abc,cde->abde", (None, 2, 4),
                                                      bias_axes="de", activation="relu"),
                               lib.layers.EinsumDense("abcd,cde->abe", (None, 2),
                                                      bias_axes="e")])
    fit_both(parity, K, build, floats((8, 5, 3), 4), floats((8, 5, 2), 5), "EinsumDense")


def test_config_key_order_equals_keras(K: Any) -> None:
    kw = dict(equation="abc,cd->abd", output_shape=(None, 4), bias_axes="d",
              activation="relu", name="e")
    theirs, ours = K.layers.EinsumDense(**kw).get_config(), RL.EinsumDense(**kw).get_config()
    assert list(ours) == list(theirs) and ours == theirs
    kw["lora_rank"] = 2
    theirs, ours = K.layers.EinsumDense(**kw).get_config(), RL.EinsumDense(**kw).get_config()
    assert list(ours) == list(theirs) and ours == theirs


def test_lora_equals_keras(K: Any, parity: Any) -> None:
    """Keras's LoRA: kernel frozen, A / B trainable, K + (alpha / r) A B used."""
    def build(lib: Any) -> Any:
        i = lib.Input((5, 3))
        layer = lib.layers.EinsumDense("abc,cde->abde", (None, 2, 4), bias_axes="de",
                                       lora_rank=2, lora_alpha=3)
        return lib.Model(i, lib.layers.Flatten()(layer(i)))

    kmodel, rmodel = twins(K, build)
    names = [w.name for w in rmodel.layers[1].weight_records()]
    assert names == ["kernel", "bias", "lora_kernel_a", "lora_kernel_b"]
    assert [r.trainable for r in rmodel.layers[1].weight_records()] == \
        [w.trainable for w in kmodel.layers[1].weights]
    x, y = floats((4, 5, 3), 6), floats((4, 40), 7)
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name="LoRA predict")
    trainable_gradients(parity, K, kmodel, rmodel, x, y, "LoRA")
    layer = RL.EinsumDense("ab,bc->ac", 4, bias_axes="c")
    layer.build((None, 3))
    layer.enable_lora(2)
    assert layer.lora_enabled and layer.get_config()["lora_rank"] == 2
    with pytest.raises(ValueError, match="already enabled"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match="kernel constraints"):
        c = RL.EinsumDense("ab,bc->ac", 4, kernel_constraint="non_neg")
        c.build((None, 3))
        c.enable_lora(1)


def test_lora_fit_trains_the_factors_only(K: Any, parity: Any) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((5, 3)),
                               lib.layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d",
                                                      lora_rank=2)])
    kmodel, rmodel = fit_both(parity, K, build, floats((8, 5, 3), 14), floats((8, 5, 4), 15),
                              "LoRA")
    start = twins(K, build)[1].get_weights()
    np.testing.assert_array_equal(rmodel.get_weights()[0], start[0])     # kernel frozen
    assert not np.allclose(rmodel.get_weights()[3], start[3])            # B trained


def test_masks_stop_at_einsum_dense(K: Any, parity: Any) -> None:
    """EinsumDense does not support masking (Keras drops the mask): the LSTM after it
    runs every step."""
    def build(lib: Any) -> Any:
        i = lib.Input((6, 3))
        y = lib.layers.EinsumDense("abc,cd->abd", (None, 4))(lib.layers.Masking(0.0)(i))
        return lib.Model(i, lib.layers.LSTM(2, return_sequences=True)(y))
    kmodel, rmodel = twins(K, build)
    x = floats((2, 6, 3), 16)
    x[0, 3:] = 0.0
    parity(rmodel.predict(x, verbose=0), np.asarray(kmodel(x)), name="EinsumDense mask")
    assert getattr(RL.EinsumDense("abc,cd->abd", (None, 4))(RL.Masking()(x)), "_keras_mask",
                   None) is None


def test_lora_files(K: Any, parity: Any, tmp_path: Path) -> None:
    """Keras saves the merged kernel only: rnnlens reads the file as a plain EinsumDense
    with the same outputs (and a note), and refuses to write a LoRA layer."""
    i = K.Input((3,))
    layer = K.layers.EinsumDense("ab,bc->ac", 4, bias_axes="c", lora_rank=2)
    kmodel = K.Model(i, layer(i))
    kmodel.set_weights([floats(w.shape, k) for k, w in enumerate(kmodel.get_weights())])
    x = floats((3, 3), 9)
    keras_save(kmodel, tmp_path / "lora.keras")
    loaded = rnnlens.models.load_model(tmp_path / "lora.keras")
    parity(loaded.predict(x, verbose=0), np.asarray(kmodel(x)), name="LoRA file")
    assert any("lora_rank" in c for c in loaded.keras_file_info["choices"])
    ri = rnnlens.Input((3,))
    native = rnnlens.Model(ri, RL.EinsumDense("ab,bc->ac", 4, lora_rank=2)(ri))
    with pytest.raises(ValueError, match="LoRA"):
        native.save(tmp_path / "native.keras")


def test_files_both_ways(K: Any, parity: Any, tmp_path: Path) -> None:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input((4, 6)),
                               lib.layers.EinsumDense("...b,bc->...c", 5, bias_axes="c",
                                                      activation="gelu"),
                               lib.layers.EinsumDense("ab...,bc->ac...", 3, bias_axes="c")])
    file_round_trips(parity, K, build, floats((2, 4, 6), 10), tmp_path, "einsum")


def test_summary_equals_keras(K: Any) -> None:
    def build(lib: Any) -> Any:
        i = lib.Input((5, 3), name="x")
        y = lib.layers.EinsumDense("abc,cd->abd", (None, 4), bias_axes="d", name="e1")(i)
        y = lib.layers.EinsumDense("abc,cde->abde", (None, 2, 2), name="e2")(y)
        return lib.Model(i, y, name="m")
    assert summary_lines(build(rnnlens)) == summary_lines(build(K))


@pytest.mark.parametrize("eq, out, bias, shape", [
    ("ab,bc->ac", 4, "x", (3,)), ("ab,bd->ac", 4, None, (3,)),
    ("abc,cd->abd", (6, 4), None, (5, 3)), ("a b,bc->ac", 4, None, (3,)),
    ("abc,cde->abde", (None, 2, 4), "b", (5, 3)), ("ab,bc->ac", None, None, (3,)),
])
def test_keras_errors_are_value_errors(K: Any, eq: str, out: Any, bias: Any,
                                       shape: tuple) -> None:
    with pytest.raises((ValueError, TypeError)) as theirs:
        K.layers.EinsumDense(eq, out, bias_axes=bias).build((None, *shape))
    with pytest.raises(theirs.type):
        RL.EinsumDense(eq, out, bias_axes=bias).build((None, *shape))


def test_rnnlens_errors_name_the_problem() -> None:
    layer = RL.EinsumDense("ab,bc->ac", 4)
    layer(floats((2, 3), 0))
    with pytest.raises(ValueError, match="expected ndim=2"):
        layer(floats((2, 3, 3), 0))
    with pytest.raises(ValueError, match="one entry per output letter"):
        RL.EinsumDense("ab,bc->ac", (4, 5)).build((None, 3))
    with pytest.raises(ValueError, match="repeats a letter"):
        RL.EinsumDense("ab,bc->acc", (4, 4))
    with pytest.raises(TypeError):
        RL.EinsumDense(3, 4)


LETTERS = string.ascii_lowercase[:6]


@st.composite
def _equations(draw: Any) -> tuple:
    """A random equation of Keras's plain form, with sizes and a bias subset."""
    inner = draw(st.lists(st.sampled_from(LETTERS[1:]), min_size=1, max_size=3, unique=True))
    out_only = draw(st.lists(st.sampled_from("uvw"), min_size=0, max_size=2, unique=True))
    kept = [c for c in inner if draw(st.booleans())]
    contracted = [c for c in inner if c not in kept]
    weight = contracted + [c for c in kept if draw(st.booleans())] + out_only
    if not weight:
        weight = out_only = ["u"]
    out = ["a"] + kept + [c for c in out_only]
    sizes = {c: draw(st.integers(1, 3)) for c in inner + out_only}
    bias = "".join(c for c in out[1:] if draw(st.booleans())) or None
    eq = f"a{''.join(inner)},{''.join(weight)}->{''.join(out)}"
    return eq, tuple(sizes[c] for c in out[1:]), bias, tuple(sizes[c] for c in inner)


@settings(max_examples=30, deadline=None)
@given(form=_equations(), seed=st.integers(0, 9))
def test_fuzz_random_equations_match_einsum_and_finite_differences(form: tuple,
                                                                   seed: int) -> None:
    """Outputs are numpy's einsum plus the bias; the hand-written gradient matches
    central finite differences in float64."""
    eq, out, bias, shape = form
    from rnnlens.backend import set_floatx

    set_floatx("float64")
    try:
        layer = RL.EinsumDense(eq, out, bias_axes=bias, activation="tanh",
                               bias_initializer="random_normal")
        x = np.random.default_rng(seed).normal(size=(2, *shape))
        layer.build(x.shape)
        y, cache = layer.forward(x)
        a = np.einsum(eq, x, layer.kernel) + (0 if layer.bias is None else layer.bias)
        np.testing.assert_allclose(y, np.tanh(a), atol=1e-12)
        g = np.random.default_rng(seed + 1).normal(size=y.shape)
        dx, _, grads = layer.backward(cache, g)
        eps = 1e-6
        for arr, d in [(x, dx), (layer.kernel, grads[0])]:
            idx = tuple(np.unravel_index(seed % arr.size, arr.shape))
            old_v = arr[idx]
            arr[idx] = old_v + eps
            up = float(np.sum(layer.forward(x)[0] * g))
            arr[idx] = old_v - eps
            down = float(np.sum(layer.forward(x)[0] * g))
            arr[idx] = old_v
            assert abs((up - down) / (2 * eps) - d[idx]) < 1e-6
    finally:
        set_floatx("float32")


# ------------------------------------------------------------------ ReversibleEmbedding


def _lm(lib: Any, **kw: Any) -> Any:
    ids = lib.Input((6,), dtype="int32")
    emb = lib.layers.ReversibleEmbedding(11, 4, **kw)
    h = emb(ids)
    h = lib.layers.LSTM(4, return_sequences=True)(h)
    return lib.Model(ids, emb(h, reverse=True))


def _ids(seed: int) -> np.ndarray:
    ids = np.random.default_rng(seed).integers(1, 11, (3, 6)).astype(np.int32)
    ids[0, 4:] = 0
    ids[1, :2] = 0
    return ids


@pytest.mark.parametrize("kw", [{}, {"tie_weights": False}, {"logit_soft_cap": 0.5},
                                {"mask_zero": True},
                                {"mask_zero": True, "tie_weights": False,
                                 "logit_soft_cap": 2.0}])
def test_reversible_embedding_graph_equals_keras(K: Any, parity: Any, kw: dict) -> None:
    """Forward on ids, an LSTM (sees the mask with mask_zero), reverse to logits."""
    kmodel, rmodel = twins(K, lambda lib: _lm(lib, **kw))
    ids = _ids(1)
    parity(rmodel.predict(ids, verbose=0), np.asarray(kmodel(ids)), name=f"RE {kw}")
    trainable_gradients(parity, K, kmodel, rmodel, ids, floats((3, 6, 11), 2), f"RE {kw}")


def test_reversible_embedding_eager_and_masks(K: Any, parity: Any) -> None:
    theirs = K.layers.ReversibleEmbedding(7, 3, mask_zero=True)
    ours = RL.ReversibleEmbedding(7, 3, mask_zero=True)
    ids = np.array([[1, 0, 6], [0, 2, 3]])
    h_k = theirs(ids)
    ours.build(ids.shape)
    ours.set_weights([np.asarray(w) for w in theirs.get_weights()])
    h_r = ours(ids)
    parity(h_r, np.asarray(h_k), name="RE forward")
    np.testing.assert_array_equal(h_r._keras_mask, np.asarray(h_k._keras_mask))
    logits = ours(h_r, reverse=True)
    parity(logits, np.asarray(theirs(h_k, reverse=True)), name="RE reverse")
    assert getattr(logits, "_keras_mask", None) is None
    assert ours.compute_output_shape((None, 5, 3), reverse=True) == (None, 5, 7)


def test_reversible_embedding_fit_and_files(K: Any, parity: Any, tmp_path: Path) -> None:
    fit_both(parity, K, lambda lib: _lm(lib, tie_weights=False), _ids(3),
             floats((3, 6, 11), 4), "RE", batch_size=3)
    file_round_trips(parity, K, lambda lib: _lm(lib, mask_zero=True, logit_soft_cap=3.0),
                     _ids(5), tmp_path, "reversible")


def test_reversible_embedding_errors() -> None:
    layer = RL.ReversibleEmbedding(5, 3)
    with pytest.raises(ValueError, match="output_dim=3"):
        layer(floats((2, 4), 0), reverse=True)
    with pytest.raises(ValueError, match="outside"):
        layer(np.array([[7]]))
    with pytest.raises(ValueError, match="logit_soft_cap"):
        RL.ReversibleEmbedding(5, 3, logit_soft_cap=0.0)
    with pytest.raises(ValueError, match="reverse_dtype"):
        RL.ReversibleEmbedding(5, 3, reverse_dtype="bfloat16")
    assert RL.ReversibleEmbedding(5, 3, False).tie_weights is False      # Keras's order


def test_reversible_embedding_summary_equals_keras(K: Any) -> None:
    def build(lib: Any) -> Any:
        ids = lib.Input((6,), dtype="int32", name="ids")
        emb = lib.layers.ReversibleEmbedding(11, 4, tie_weights=False, name="emb")
        return lib.Model(ids, emb(emb(ids), reverse=True), name="m")
    assert summary_lines(build(rnnlens)) == summary_lines(build(K))
    assert [c["name"] for c in layer_configs(build(rnnlens))] == ["emb"]
