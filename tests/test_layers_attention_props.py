"""Attention layers without the oracle: ``rnnlens.trace`` extras, invariants (hypothesis)
and fuzz of bad arguments and inputs (only a ValueError / TypeError raised by rnnlens)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from merge_reshape_parity import assert_raised_by_rnnlens, floats

RL = rnnlens.layers
SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------- trace
def test_trace_records_attention_weights() -> None:
    """Every attention call's weights, by layer name (a second call: ``name_call_1``), in a
    model without recurrent layers too; LayerTraces are unchanged."""
    q, v = rnnlens.Input((4, 3)), rnnlens.Input((6, 3))
    att = RL.Attention(name="att")
    a, s = att([q, v], return_attention_scores=True)
    b = att([a, v])
    m, ms = RL.MultiHeadAttention(2, 2, name="mha")(b, v, return_attention_scores=True)
    model = rnnlens.Model([q, v], [a, s, m, ms])
    xs = [floats((2, 4, 3), 1), floats((2, 6, 3), 2)]
    t = rnnlens.trace(model, xs)
    outs = model(xs)
    assert dict(t) == {} and list(t.extras) == ["att", "att_call_1", "mha"]
    np.testing.assert_array_equal(t.extras["att"]["attention_scores"], outs[1])
    np.testing.assert_array_equal(t.extras["mha"]["attention_scores"], outs[3])
    assert t.extras["att_call_1"]["attention_scores"].shape == (2, 4, 6)
    from rnnlens.trace import current  # noqa: PLC0415

    assert current() is None                                     # recording is off again


def test_trace_keeps_recurrent_traces_and_refuses_models_without_either() -> None:
    x = rnnlens.Input((5, 2))
    h = RL.LSTM(3, return_sequences=True, name="enc")(x)
    model = rnnlens.Model(x, RL.AdditiveAttention(name="add")([h, h]))
    t = rnnlens.trace(model, floats((2, 5, 2), 3))
    assert list(t) == ["enc"] and t["enc"].h.shape == (2, 5, 3)
    assert t.extras["add"]["attention_scores"].shape == (2, 5, 5)
    dense = rnnlens.Model(x, RL.Dense(2)(x))
    with pytest.raises(ValueError, match="no recurrent layer"):
        rnnlens.trace(dense, floats((2, 5, 2), 3))


# ---------------------------------------------------------------------------- invariants
@st.composite
def _problem(draw: Any) -> tuple:
    b, tq, tv, d = (draw(st.integers(1, 3)), draw(st.integers(1, 5)), draw(st.integers(1, 6)),
                    draw(st.integers(1, 4)))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    q, v = floats((b, tq, d), seed), floats((b, tv, d), seed + 1)
    vm = rng.random((b, tv)) > 0.3
    qm = rng.random((b, tq)) > 0.3
    return q, v, qm, vm, draw(st.booleans()), draw(st.sampled_from(LAYERS)), rng


LAYERS = ["dot", "concat", "additive", "mha"]


def _make(kind: str) -> Any:
    if kind == "mha":
        return RL.MultiHeadAttention(2, 3)
    if kind == "additive":
        return RL.AdditiveAttention()
    return RL.Attention(use_scale=True, score_mode=kind)


def _call(layer: Any, q: np.ndarray, v: np.ndarray, mask: Any, causal: bool) -> Any:
    if isinstance(layer, RL.MultiHeadAttention):
        return layer(q, v, return_attention_scores=True, use_causal_mask=causal,
                     attention_mask=None if mask is None else
                     mask[0][:, :, None] & mask[1][:, None, :])
    return layer([q, v], mask=mask, return_attention_scores=True, use_causal_mask=causal)


@SETTINGS
@given(_problem())
def test_weights_are_distributions_over_visible_steps(problem: tuple) -> None:
    q, v, qm, vm, causal, kind, _ = problem
    layer = _make(kind)
    out, w = _call(layer, q, v, [qm, vm], causal)
    keep = vm[:, None, :] & (np.tril(np.ones((q.shape[1], v.shape[1]), bool))[None]
                             if causal else True)
    keep = np.broadcast_to(keep, (q.shape[0], q.shape[1], v.shape[1]))
    if kind == "mha":
        keep = keep & qm[:, :, None]
        w = w.sum(axis=1) / 2                                      # mean over the heads
    rows = keep.any(-1)
    np.testing.assert_allclose(w.sum(-1)[rows], 1.0, atol=1e-5)
    assert np.all(w[np.broadcast_to(~keep, w.shape) & rows[..., None]] < 1e-6)
    if kind != "mha":
        np.testing.assert_allclose(out, np.where(qm[..., None], w @ v, 0), atol=1e-5)


@SETTINGS
@given(_problem())
def test_reordering_the_value_steps_changes_nothing(problem: tuple) -> None:
    """Without a causal mask, attention is a set operation over the value steps."""
    q, v, qm, vm, _, kind, rng = problem
    layer = _make(kind)
    perm = rng.permutation(v.shape[1])
    out, w = _call(layer, q, v, [qm, vm], False)
    out2, w2 = _call(layer, q, v[:, perm], [qm, vm[:, perm]], False)
    np.testing.assert_allclose(out2, out, atol=1e-5)
    np.testing.assert_allclose(w2, w[..., perm], atol=1e-6)


# ---------------------------------------------------------------------------- fuzz
JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 40), st.floats(-2, 3),
                 st.text(max_size=6), st.lists(st.integers(-3, 5), max_size=3),
                 st.tuples(st.integers(-3, 5)))


@SETTINGS
@given(st.sampled_from(["Attention", "AdditiveAttention", "MultiHeadAttention"]),
       st.dictionaries(st.sampled_from(["use_scale", "score_mode", "dropout", "seed",
                                        "num_heads", "key_dim", "value_dim", "output_shape",
                                        "attention_axes", "sliding_window", "use_bias",
                                        "flash_attention", "use_gate",
                                        "activity_regularizer", "kernel_initializer"]),
                       JUNK, max_size=4))
def test_bad_arguments(name: str, kwargs: dict) -> None:
    if name == "MultiHeadAttention":
        kwargs = {"num_heads": 2, "key_dim": 2, **kwargs}
    try:
        layer = getattr(RL, name)(**kwargs)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    x = floats((2, 3, 4), 1)
    try:
        out = layer(x, x) if name == "MultiHeadAttention" else layer([x, x])
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)
        return
    assert np.all(np.isfinite(out))


@SETTINGS
@given(st.sampled_from(["dot", "additive", "mha"]),
       st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(1, 4)),
                min_size=0, max_size=4),
       st.one_of(st.none(), st.tuples(st.integers(0, 3), st.integers(0, 5))),
       st.one_of(st.none(), st.tuples(st.integers(0, 3), st.integers(0, 5),
                                      st.integers(0, 5))),
       st.booleans(), st.booleans())
def test_bad_inputs(kind: str, shapes: list, mask_shape: Any, am_shape: Any,
                    causal: bool, strings: bool) -> None:
    layer = _make(kind)
    xs = [floats(s, k) for k, s in enumerate(shapes)]
    if strings and xs:
        xs[0] = np.full(xs[0].shape, "a")
    mask = None if mask_shape is None else [np.ones(mask_shape, bool)] * max(len(xs), 2)
    try:
        if kind == "mha":
            if len(xs) < 2:
                layer(*xs) if xs else layer(None)
            else:
                am = None if am_shape is None else np.ones(am_shape, bool)
                layer(*xs[:3], attention_mask=am, use_causal_mask=causal)
        else:
            layer(xs, mask=mask, use_causal_mask=causal)
    except (ValueError, TypeError) as err:
        assert_raised_by_rnnlens(err)


def test_clear_errors_for_common_mistakes() -> None:
    x = floats((2, 3, 4), 1)
    with pytest.raises(ValueError, match=r"list of inputs, namely \[query, value\]"):
        RL.Attention()(x)
    with pytest.raises(ValueError, match="length 2 or 3"):
        RL.Attention()([x])
    with pytest.raises(ValueError, match="same feature size"):
        RL.Attention()([x, floats((2, 3, 5), 2)])
    with pytest.raises(ValueError, match="query mask has shape"):
        RL.Attention()([x, x], mask=[np.ones((2, 4), bool), None])
    with pytest.raises(TypeError, match="needs a `value`"):
        RL.MultiHeadAttention(2, 2)(x)
    with pytest.raises(ValueError, match="must be equal"):
        RL.MultiHeadAttention(2, 2)(x, x, key=floats((2, 4, 4), 3))
    with pytest.raises(ValueError, match="flash_attention"):
        RL.MultiHeadAttention(2, 2, flash_attention=True)
    with pytest.raises(ValueError, match="activity_regularizer"):
        RL.MultiHeadAttention(2, 2, activity_regularizer="l2")
    with pytest.raises(ValueError, match="attention_axes"):
        RL.MultiHeadAttention(2, 2, attention_axes=3)(x, x)
    with pytest.raises(ValueError, match="does not fit"):
        RL.MultiHeadAttention(2, 2)(x, x, attention_mask=np.ones((2, 5, 3), bool))
    with pytest.raises(TypeError, match="unexpected keyword argument 'masks'"):
        RL.Attention()([x, x], masks=None)
