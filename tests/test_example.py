"""The worked example trains for real and reaches its accuracy (its training time is
printed here and measured in benchmarks/, not asserted: a loaded machine varies it)."""

from __future__ import annotations

import pytest

from rnnlens.examples import reverse_digits


@pytest.mark.slow
def test_reverse_digits_reaches_95_percent_quickly() -> None:
    result = reverse_digits.run(seed=0, verbose=0)
    assert result.token_accuracy >= 0.95, result
    assert result.history["loss"][-1] < result.history["loss"][0]
    print(f"reverse digits: token accuracy {result.token_accuracy:.2%}, sequences "
          f"{result.sequence_accuracy:.2%}, trained in {result.train_seconds:.1f} s")


def test_greedy_decoding_uses_encoder_states() -> None:
    """An untrained reverser still decodes through the step API with the right shapes."""
    import numpy as np

    model, encoder, decoder, head = reverse_digits.build(8, 4)
    seqs = np.random.default_rng(0).integers(0, 10, size=(3, 4))
    out = reverse_digits.greedy_decode(encoder, decoder, head, seqs)
    assert out.shape == (3, 4) and out.min() >= 0 and out.max() < 10
