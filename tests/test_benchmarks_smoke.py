"""The speed benchmarks still run and still check what they time.

``benchmarks/bench_forward.py`` refuses to time paths whose outputs differ from
rnnlens's call (rnnlens's C loop on its AVX-512 kernels and on BLAS, its NumPy
loop, ``predict``, PyTorch); ``bench_train.py`` trains the same model in rnnlens and
PyTorch. Their figures are not asserted (a loaded machine moves them); that they
run, print the machine's BLAS / AVX-512 lines and agree numerically is.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _run(script: str, *args: str) -> str:
    done = subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_forward_benchmark_runs_and_agrees() -> None:
    out = _run("bench_forward.py", "--quick", "--only", "rnnlens,torch", "--budget", "0.1",
               "--retries", "0")
    assert "outputs agree within 1e-05: yes" in out
    assert "rnnlens kernel: c" in out and "numpy's sgemm" in out
    assert sum(line.startswith(("LSTM", "GRU", "SimpleRNN")) for line in out.splitlines()) >= 3


@pytest.mark.slow
def test_train_benchmark_runs() -> None:
    out = _run("bench_train.py", "--quick", "--only", "rnnlens,torch", "--epochs", "2",
               "--steps", "2")
    rows = [line for line in out.splitlines() if line.startswith(("LSTM", "GRU", "SimpleRNN"))]
    assert len(rows) == 3, out
    for row in rows:                  # the same training: first-epoch losses rn c / - / torch
        rn, _, torch = row.split()[-5::2]
        assert abs(float(rn) - float(torch)) <= 5e-3 * abs(float(torch)), row
