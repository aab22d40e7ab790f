"""GroupQueryAttention against live Keras 3.15.1.

Head layouts (N query heads over K key / value heads, K = N and K = 1 included), a separate
key, the gate, no biases; every mask source (the inputs' Keras masks, explicit
query / value / key masks, attention_mask, use_causal_mask alone (TensorFlow's fused
causal kernel) and combined, sliding_window, fully masked rows on both softmax paths);
returned scores; gradients against ``tf.GradientTape`` (with scores too); dropout's
semantics; a short fit; configs; files both ways; summaries; errors; and a hypothesis
property: with K = N the layer is MultiHeadAttention with the same weights.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from regact_parity import file_round_trips
from remaining_parity import (fit_both, floats, keras_module, summary_lines,
                              trainable_gradients, twins)
from rnnlens import layers as RL


@pytest.fixture(scope="module")
def K() -> Any:
    return keras_module()


HEADS = [dict(head_dim=3, num_query_heads=4, num_key_value_heads=2),
         dict(head_dim=2, num_query_heads=3, num_key_value_heads=1, use_gate=True),
         dict(head_dim=4, num_query_heads=2, num_key_value_heads=2, use_bias=False),
         dict(head_dim=2, num_query_heads=6, num_key_value_heads=3, sliding_window=2)]


def _masked(x: np.ndarray, seed: int) -> np.ndarray:
    x = x.copy()
    x[0, -2:] = 0.0
    x[1, :1] = 0.0
    return x


def _model(lib: Any, heads: dict, key: bool = False, scores: bool = False,
           **call: Any) -> Any:
    q, v = lib.Input((5, 6)), lib.Input((7, 6))
    inputs = [q, v]
    args = [lib.layers.Masking(0.0)(q), lib.layers.Masking(0.0)(v)]
    kwargs = dict(call)
    if key:
        k = lib.Input((7, 4))
        inputs.append(k)
        kwargs["key"] = lib.layers.Masking(0.0)(k)
    out = lib.layers.GroupQueryAttention(**heads)(*args, return_attention_scores=scores,
                                                  **kwargs)
    return lib.Model(inputs, list(out) if scores else out)


def _inputs(key: bool = False, seed: int = 0) -> list[np.ndarray]:
    xs = [_masked(floats((3, 5, 6), seed), seed), _masked(floats((3, 7, 6), seed + 1), seed)]
    if key:
        xs.append(_masked(floats((3, 7, 4), seed + 2), seed))
    return xs


@pytest.mark.parametrize("heads", HEADS, ids=[str(h) for h in HEADS])
@pytest.mark.parametrize("key, scores, call", [
    (False, False, {}), (True, False, {}), (False, True, {}),
    (False, False, {"use_causal_mask": True}), (True, True, {"use_causal_mask": True})])
def test_values_equal_keras(K: Any, parity: Any, heads: dict, key: bool, scores: bool,
                            call: dict) -> None:
    kmodel, rmodel = twins(K, lambda lib: _model(lib, heads, key, scores, **call))
    xs = _inputs(key, 3)
    parity(rmodel.predict(xs, verbose=0), [np.asarray(o) for o in kmodel(xs)] if scores
           else np.asarray(kmodel(xs)), name=f"GQA {heads} key={key} scores={scores} {call}")


def _copy(K: Any, heads: dict, q: np.ndarray, v: np.ndarray) -> tuple[Any, Any]:
    theirs = K.layers.GroupQueryAttention(**heads)
    theirs(q, v)
    theirs.set_weights([floats(w.shape, k) * 0.5 for k, w in enumerate(theirs.get_weights())])
    ours = RL.GroupQueryAttention(**heads)
    ours(q, v)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


@pytest.mark.parametrize("kw", [
    {"attention_mask": "rand"}, {"attention_mask": "rows"},
    {"attention_mask": "rows", "return_attention_scores": True},
    {"query_mask": "q"}, {"value_mask": "v"}, {"key_mask": "v", "use_causal_mask": True},
    {"use_causal_mask": True, "return_attention_scores": True}])
def test_explicit_masks_equal_keras(K: Any, parity: Any, kw: dict) -> None:
    """Explicit masks on eager calls, incl. fully masked query rows (uniform on the fused
    path, zeros with the scores), as Keras's two softmax paths give them."""
    q, v = floats((2, 4, 5), 4), floats((2, 6, 5), 5)
    rng = np.random.default_rng(6)
    masks = {"rand": rng.random((2, 4, 6)) > 0.4, "q": np.array([[1, 1, 0, 1], [0, 1, 1, 1]]),
             "v": np.array([[1, 1, 1, 0, 0, 1], [1, 0, 1, 1, 1, 1]])}
    rows = np.ones((2, 4, 6), bool)
    rows[0, 1] = False
    rows[1, 3] = False
    masks["rows"] = rows
    call = {k: (masks[v] if isinstance(v, str) else v) for k, v in kw.items()}
    theirs, ours = _copy(K, HEADS[0], q, v)
    expected = theirs(q, v, **call)
    got = ours(q, v, **call)
    if call.get("return_attention_scores"):
        parity(list(got), [np.asarray(e) for e in expected], name=f"GQA {kw}")
    else:
        parity(got, np.asarray(expected), name=f"GQA {kw}")


@pytest.mark.parametrize("heads", HEADS[:2], ids=[str(h) for h in HEADS[:2]])
@pytest.mark.parametrize("key, scores, call", [(False, False, {}), (True, True, {}),
                                               (False, False, {"use_causal_mask": True})])
def test_gradients_equal_tape(K: Any, parity: Any, heads: dict, key: bool, scores: bool,
                              call: dict) -> None:
    def build(lib: Any) -> Any:
        m = _model(lib, heads, key, scores, **call)
        if not scores:
            return m
        out, s = m.outputs
        flat = lib.layers.Concatenate()([lib.layers.Flatten()(out), lib.layers.Flatten()(s)])
        return lib.Model(m.inputs, flat)
    kmodel, rmodel = twins(K, build)
    xs = _inputs(key, 7)
    y = floats(np.asarray(kmodel(xs)).shape, 8)
    trainable_gradients(parity, K, kmodel, rmodel, xs, y, f"GQA {heads} {key} {scores}")


def test_dropout_semantics_in_training() -> None:
    """Scores are returned before dropout (as Keras); the output changes in training and
    not at inference or with rate 0."""
    q, v = floats((4, 5, 6), 9), floats((4, 7, 6), 10)
    layer = RL.GroupQueryAttention(3, 4, 2, dropout=0.5, seed=1)
    y0, s0 = layer(q, v, return_attention_scores=True)
    y1, s1 = layer(q, v, return_attention_scores=True, training=True)
    np.testing.assert_allclose(s1, s0, atol=1e-6)
    assert np.abs(y1 - y0).max() > 1e-3
    np.testing.assert_allclose(layer(q, v), y0, atol=1e-6)
    still = RL.GroupQueryAttention(3, 4, 2)
    still(q, v)
    still.set_weights(layer.get_weights())
    np.testing.assert_allclose(still(q, v, training=True), y0, atol=1e-5)


def test_fit_config_files_summary(K: Any, parity: Any, tmp_path: Path) -> None:
    def build(lib: Any) -> Any:
        x = lib.Input((5, 6), name="x")
        y = lib.layers.GroupQueryAttention(3, 4, 2, use_gate=True, name="gqa")(
            x, x, use_causal_mask=True)
        return lib.Model(x, lib.layers.Dense(2, name="o")(y), name="m")
    fit_both(parity, K, build, floats((8, 5, 6), 11), floats((8, 5, 2), 12), "GQA")
    file_round_trips(parity, K, build, floats((2, 5, 6), 13), tmp_path, "gqa")
    assert summary_lines(build(rnnlens)) == summary_lines(build(K))
    kw = dict(head_dim=2, num_query_heads=4, num_key_value_heads=2, dropout=0.1,
              sliding_window=3, name="g")
    theirs, ours = K.layers.GroupQueryAttention(**kw).get_config(), \
        RL.GroupQueryAttention(**kw).get_config()
    assert list(ours) == list(theirs) and ours == theirs


def test_weights_and_file_paths_as_keras(K: Any, tmp_path: Path) -> None:
    from rnnlens.interop.keras_format import weight_entries

    def build(lib: Any) -> Any:
        q, v = lib.Input((5, 6)), lib.Input((7, 6))
        return lib.Model([q, v], lib.layers.GroupQueryAttention(3, 4, 2, use_gate=True)(q, v))
    kmodel, rmodel = build(K), build(rnnlens)
    assert [w.shape for w in rmodel.get_weights()] == [tuple(w.shape) for w in kmodel.weights]
    paths = [p for p, _ in weight_entries(rmodel)]
    assert paths[0] == "layers/grouped_query_attention/_query_dense/vars/0"
    assert "layers/grouped_query_attention/_gate_dense/vars/1" in paths
    assert type(rmodel.layers[-1]).__name__ == "GroupedQueryAttention"


@pytest.mark.parametrize("make, match", [
    (lambda: RL.GroupQueryAttention(2, 3, 2), "divisible"),
    (lambda: RL.GroupQueryAttention(2, 4, 2, flash_attention=True), "flash_attention"),
    (lambda: RL.GroupQueryAttention(2, 4, 2, activity_regularizer="l2"),
     "activity_regularizer"),
    (lambda: RL.GroupQueryAttention(2, 4, 2, sliding_window=0), "sliding_window"),
    (lambda: RL.GroupQueryAttention(2, 4, 2)(floats((2, 3, 4), 0), floats((2, 5, 6), 0)),
     "last dimension"),
    (lambda: RL.GroupQueryAttention(2, 4, 2)(floats((2, 3, 4, 1), 0),
                                              floats((2, 5, 4, 1), 0)), "steps, features"),
    (lambda: RL.GroupQueryAttention(2, 4, 2)(floats((2, 3, 4), 0)), "value"),
    (lambda: RL.GroupQueryAttention(2, 4, 2)(floats((2, 3, 4), 0), floats((2, 5, 4), 0),
                                             attention_mask=np.ones((2, 4, 4))), "mask"),
])
def test_errors_are_named(make: Any, match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        make()


@settings(max_examples=20, deadline=None)
@given(heads=st.integers(1, 3), head_dim=st.integers(1, 3), causal=st.booleans(),
       scores=st.booleans(), seed=st.integers(0, 99))
def test_equal_heads_is_multi_head_attention(heads: int, head_dim: int, causal: bool,
                                             scores: bool, seed: int) -> None:
    """K = N: every query head has its own key / value head, as MultiHeadAttention."""
    q, v = floats((2, 4, 5), seed), floats((2, 3, 5), seed + 1)
    gqa = RL.GroupQueryAttention(head_dim, heads, heads)
    mha = RL.MultiHeadAttention(heads, head_dim)
    gqa(q, v)
    mha(q, v)
    weights = [floats(w.shape, seed + k) for k, w in enumerate(gqa.get_weights())]
    gqa.set_weights(weights)
    mha.set_weights(weights)
    a = gqa(q, v, use_causal_mask=causal, return_attention_scores=scores)
    b = mha(q, v, use_causal_mask=causal, return_attention_scores=scores)
    for x, y in zip(a if scores else [a], b if scores else [b]):
        np.testing.assert_allclose(x, y, atol=1e-5)
