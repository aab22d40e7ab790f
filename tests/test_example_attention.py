"""The attention example: dates translate for real, decoding step by step agrees with
the whole-sequence model, and ``rnnlens.trace`` shows where each output step looked."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

import rnnlens
from rnnlens.examples import date_attention as D


@pytest.mark.slow
def test_dates_reach_95_percent() -> None:
    """The time is printed, not asserted (benchmarks/ measures speed)."""
    result = D.run(seed=0, verbose=0)
    assert result.sequence_accuracy >= 0.95, result
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert len(result.alignment) == D.TARGET_LEN
    print(f"dates: {result.sequence_accuracy:.2%} exact ({result.char_accuracy:.2%} of "
          f"characters), trained in {result.train_seconds:.1f} s")


def test_every_style_writes_the_date() -> None:
    day = datetime.date(1998, 3, 3)
    styles = [D.written(day, k) for k in range(8)]
    assert styles == ["march 3 1998", "3 march 1998", "march 3, 1998", "mar 3 1998",
                      "3 mar 98", "3/3/98", "03.03.1998", "1998 march 3"]
    longest = D.written(datetime.date(1998, 9, 30), 2)
    assert len(longest) == D.SOURCE_LEN
    src, tgt = D.make_data(50, np.random.default_rng(1))
    ids = D.encode_source(src)
    assert ids.shape == (50, D.SOURCE_LEN) and ids.max() < D.SOURCE_VOCAB
    assert all((ids[k] != 0).sum() == len(s) for k, s in enumerate(src))
    assert D.decode_target(D.encode_target(tgt)) == tgt
    assert all(1950 <= int(t[:4]) <= 2049 for t in tgt)


def test_step_decoding_matches_the_model_and_trace() -> None:
    """Greedy step-by-step decoding (decoder.step + Attention on one step) reproduces the
    whole-sequence model fed with its own guesses, attention weights included."""
    rnnlens.utils.set_random_seed(3)
    model, layers = D.build(units=8, dim=4)
    src, _ = D.make_data(5, np.random.default_rng(2))
    x = D.encode_source(src)
    guess, weights = D.greedy_decode(layers, x)
    assert guess.shape == (5, D.TARGET_LEN) and weights.shape == (5, D.TARGET_LEN,
                                                                   D.SOURCE_LEN)
    t = rnnlens.trace(model, [x, D.teacher_inputs(guess)])
    probs = model([x, D.teacher_inputs(guess)])
    np.testing.assert_array_equal(np.asarray(probs).argmax(-1), guess)
    traced = t.extras["attention"]["attention_scores"]
    np.testing.assert_allclose(traced, weights, atol=1e-5)
    np.testing.assert_allclose(traced.sum(-1), 1.0, atol=1e-5)
    assert np.all(traced[np.broadcast_to((x == 0)[:, None], traced.shape)] < 1e-6)
    assert "decoder" in t and any(k.startswith("forward_") for k in t) and \
        any(k.startswith("backward_") for k in t)
    rows = D.alignment(src[0], D.decode_target(guess)[0], weights[0])
    assert len(rows) == D.TARGET_LEN and all("@" in where for _, where in rows)


def test_command_line_offers_the_example() -> None:
    from rnnlens.cli import build_parser

    args = build_parser().parse_args(["example", "dates", "--epochs", "2"])
    assert args.name == "dates" and args.epochs == 2
    assert build_parser().parse_args(["example", "reverse"]).epochs is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["example", "nope"])
