"""``load_weights`` from another architecture: Keras's outcome, rnnlens's clearer message.

Keras 3 refuses a ``.weights.h5`` whose layers do not fit the model ("A total of 1 objects
could not be loaded"), loads a file with extra layers, and with ``skip_mismatch=True``
loads the layers that fit. rnnlens does the same in each case; its error names every
layer that differs, what the model has and what the file has.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import assert_close, keras_available

L = rnnlens.layers


def build(lib: Any, kinds: list[str]) -> Any:
    rnnlens.utils.set_random_seed(len(kinds))
    made = {"lstm": lambda: lib.layers.LSTM(4), "gru": lambda: lib.layers.GRU(4),
            "d1": lambda: lib.layers.Dense(1), "d2": lambda: lib.layers.Dense(2)}
    return lib.Sequential([lib.Input((5, 3))] + [made[k]() for k in kinds])


SAVED = ["lstm", "d1", "d1"]
CASES = {                                   # model layers -> fits?
    "gru_instead_of_lstm": (["gru", "d1"], False),
    "wider_dense": (["lstm", "d2"], False),
    "extra_layer_in_model": (["lstm", "d1", "d1", "d1"], False),
    "fewer_layers_than_file": (["lstm", "d1"], True),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: Any) -> tuple[Path, list]:
    path = tmp_path_factory.mktemp("w") / "m.weights.h5"
    model = build(rnnlens, SAVED)
    model.save_weights(path)
    return path, model.get_weights()


@pytest.mark.parametrize("case", sorted(CASES))
def test_rnnlens_error_names_the_differing_layers(saved: tuple, case: str) -> None:
    path, source = saved
    kinds, fits = CASES[case]
    model = build(rnnlens, kinds)
    if fits:
        model.load_weights(path)
        assert_close(model.get_weights(), source[:len(model.get_weights())], atol=0)
        return
    with pytest.raises(ValueError) as err:
        model.load_weights(path)
    text = str(err.value)
    assert "do not fit model" in text and "skip_mismatch=True" in text
    if case == "gru_instead_of_lstm":
        assert "layer 'gru" in text and "(GRU" in text
        assert "does not have: dense_1, lstm" in text
    if case == "wider_dense":
        assert "(4, 2) in the model, (4, 1) in the file" in text
    if case == "extra_layer_in_model":
        assert "group 'dense_2') has no weights in the file" in text


@pytest.mark.parametrize("case", ["gru_instead_of_lstm", "wider_dense"])
def test_skip_mismatch_loads_the_layers_that_fit(saved: tuple, case: str) -> None:
    path, source = saved
    model = build(rnnlens, CASES[case][0])
    before = model.get_weights()
    with pytest.warns(UserWarning, match="keep their weights"):
        model.load_weights(path, skip_mismatch=True)
    after = model.get_weights()
    if case == "gru_instead_of_lstm":        # GRU kept, dense (group 'dense') loaded
        assert_close(after[:3], before[:3], atol=0)
        assert_close(after[3:], source[3:5], atol=0)
    else:                                    # LSTM loaded, the wider Dense kept
        assert_close(after[:3], source[:3], atol=0)
        assert_close(after[3:], before[3:], atol=0)


@pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 is not importable")
@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_agrees_on_what_loads(saved: tuple, case: str) -> None:
    import keras  # noqa: PLC0415

    path, _ = saved
    kinds, fits = CASES[case]
    model = build(keras, kinds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            model.load_weights(path)
            loaded = True
        except ValueError:
            loaded = False
    assert loaded == fits


@pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 is not importable")
@pytest.mark.parametrize("case", ["gru_instead_of_lstm", "wider_dense"])
def test_skip_mismatch_loads_what_keras_loads(saved: tuple, case: str) -> None:
    import keras  # noqa: PLC0415

    path, _ = saved
    ours, theirs = build(rnnlens, CASES[case][0]), build(keras, CASES[case][0])
    theirs.set_weights(ours.get_weights())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.load_weights(path, skip_mismatch=True)
        theirs.load_weights(path, skip_mismatch=True)
    assert_close(ours.get_weights(), [np.asarray(w) for w in theirs.get_weights()], atol=0)
