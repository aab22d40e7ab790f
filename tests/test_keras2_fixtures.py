"""Hand-made Keras 2.1 / 2.2 files (tests/fixtures/keras2, made by
tests/make_keras2_fixtures.py) load without Keras and compute what standalone Keras 2
computed: bare-list Sequential configs, Keras 2's hard_sigmoid, GRUs without
``reset_after`` (reset before), Bidirectional carrying outputs at masked steps, and
leading masked steps that repeat the initial state. The version-dependent choices are
listed in ``model.keras_file_info`` and by ``rnnlens inspect``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnlens.models import load_model

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "keras2"
CASES = sorted(p.stem for p in FIXTURES.glob("*.h5"))
CHOICES = {"keras21_bare_list_sequential": ["hard_sigmoid", "reset_after"],
           "keras22_bidirectional_mask": ["carry each direction"],
           "keras22_leading_mask_initial_state": ["initial state"]}


def _data(name: str) -> tuple[list, list]:
    data = np.load(FIXTURES / f"{name}.npz")
    xs = [data[k] for k in sorted(data.files) if k.startswith("x_")]
    outs = [data[k] for k in sorted(data.files) if k.startswith("out_")]
    return xs, outs


def test_every_fixture_is_listed() -> None:
    assert CASES == sorted(CHOICES)


@pytest.mark.parametrize("name", CASES)
def test_keras2_fixture(name: str, parity) -> None:
    model = load_model(FIXTURES / f"{name}.h5")
    xs, expected = _data(name)
    got = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    got = got if isinstance(got, (list, tuple)) else [got]
    for k, (a, e) in enumerate(zip(got, expected)):
        parity(np.asarray(a), e, name=f"{name} out_{k}")
    info = model.keras_file_info
    assert info["semantics"] == "keras2" and info["keras_version"][0] == 2
    for word in CHOICES[name]:
        assert any(word in c for c in info["choices"]), (word, info["choices"])


@pytest.mark.parametrize("name", CASES)
def test_keras3_semantics_give_other_numbers(name: str) -> None:
    """The override is honoured, and the version matters for every fixture."""
    xs, expected = _data(name)
    if name == "keras21_bare_list_sequential":          # Keras 3 cannot load it either:
        from rnnlens.interop.keras_config import UnsafeModelError

        with pytest.raises(UnsafeModelError, match="'gru'.*(2, 9).*(9,)"):
            load_model(FIXTURES / f"{name}.h5", semantics="keras3")   # reset_after=True
        return
    model = load_model(FIXTURES / f"{name}.h5", semantics="keras3")
    got = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    got = got if isinstance(got, (list, tuple)) else [got]
    assert max(float(np.max(np.abs(np.asarray(a) - e))) for a, e in zip(got, expected)) > 1e-3
    assert model.keras_file_info["choices"] == [] and \
        model.keras_file_info["semantics"] == "keras3"


def test_inspect_names_the_version_and_the_choices() -> None:
    path = FIXTURES / "keras21_bare_list_sequential.h5"
    done = subprocess.run([sys.executable, "-m", "rnnlens", "inspect", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "standalone Keras 2, version 2.1.4" in done.stdout
    assert "clip(0.2 x + 0.5, 0, 1)" in done.stdout and "reset_after" in done.stdout
