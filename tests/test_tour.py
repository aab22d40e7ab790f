"""The main job: ``rnnlens tour`` runs, prints every tensor, and its checks hold."""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pytest

from rnnlens import tour
from tests.oracle import keras_available


def run_tour(**kwargs) -> tuple[int, str]:
    out = io.StringIO()
    code = tour.run(out=out, **kwargs)
    return code, out.getvalue()


def test_default_tour_passes_every_check() -> None:
    code, text = run_tour()
    assert code == 0, text
    assert "[FAIL]" not in text
    n_pass = text.count("[PASS]")
    assert re.search(rf"{n_pass}/{n_pass} checks passed", text)
    for name in ("lstm1", "state_h", "state_c", "(1, 3, 1)", "(1, 1)"):
        assert name in text
    for use in ("Stacked LSTMs", "TimeDistributed(Dense(1))", "Encoder-decoder",
                "Masks.", "Bidirectional(LSTM(1, return_state=True)) returns five tensors"):
        assert use in text
    for row in ("h_fwd", "c_fwd", "h_bwd", "c_bwd", "right    yes", "left     yes"):
        assert row in text


def test_tour_values_are_the_real_model_outputs() -> None:
    """The printed state_c is what the model returns for the same seed."""
    import rnnlens
    from rnnlens.layers import LSTM

    _, text = run_tour(seed=5)
    rnnlens.utils.set_random_seed(5)
    layer = LSTM(1, return_state=True)
    _, _, c = layer(tour.data(3))
    assert f"{c[0, 0]:.5f}" in text


@pytest.mark.parametrize("units,timesteps,seed", [(2, 5, 0), (4, 1, 3), (3, 7, 11)])
def test_tour_options(units: int, timesteps: int, seed: int) -> None:
    code, text = run_tour(units=units, timesteps=timesteps, seed=seed)
    assert code == 0, text
    assert f"(1, {timesteps}, {units})" in text
    assert f"h_{timesteps}" in text


def test_tour_seed_is_reproducible_and_matters() -> None:
    assert run_tour(seed=3)[1] == run_tour(seed=3)[1]
    assert run_tour(seed=3)[1] != run_tour(seed=4)[1]


def test_failed_check_gives_nonzero_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that does not hold is reported and fails the command."""
    real = tour.Tour.check

    def broken(self, claim, ok, detail=""):
        real(self, claim, ok if "state_c" not in claim else False, detail)

    monkeypatch.setattr(tour.Tour, "check", broken)
    code, text = run_tour()
    assert code == 1 and "[FAIL]" in text


def test_cli_entry_points() -> None:
    done = subprocess.run([sys.executable, "-m", "rnnlens", "tour", "--units", "2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "checks passed" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "rnnlens", "tour", "--units", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "positive integer" in bad.stderr


@pytest.mark.keras
@pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 (TensorFlow) not installed")
def test_tour_compare_keras() -> None:
    code, text = run_tour(units=2, timesteps=4, compare="keras")
    assert code == 0, text
    diffs = [float(v) for v in re.findall(r"return_\S+.*?\s([0-9.]+e[-+]\d+)\n", text)]
    assert "equals Keras to 1e-5" in text and diffs and max(diffs) <= 1e-5


def test_readme_examples_run() -> None:
    """Every ```python block in the README runs and its claimed checks hold
    (```py blocks are illustrations that need files, not run)."""
    from pathlib import Path

    readme = Path(__file__).resolve().parents[1] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), flags=re.S)
    assert len(blocks) >= 2
    for block in blocks:
        lines = []
        for line in block.splitlines():
            code, _, comment = line.partition("#")
            if comment.strip() == "True":            # a line claiming True is asserted
                line = f"assert {code.strip()}"
            lines.append(line)
        exec(compile("\n".join(lines), "README", "exec"), {"np": np})
