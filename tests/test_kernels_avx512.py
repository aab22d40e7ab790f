"""The C loops' AVX-512 kernels (``_fused.c``: panel_product, row4, lstm_gates16,
tanh16) against the same loops on NumPy's BLAS and portable gate loops, and against
the NumPy path; the switch (``set_avx512``, ``RNNLENS_AVX512``) and what it reports.

Both C variants compute the same equations; they differ only in the order of the
products' sums (BLAS's blocking vs the panels' p order), fused multiply-adds inside
tanh16 and, for a batch of one, x_t @ W made for all steps at once. So they agree
to float32 rounding: every result is compared relative to its largest value.

On a CPU without AVX-512F the switch reports False and the comparisons run the
portable path twice (they still pass; the report test checks that it is off).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oracle import assert_close
from rnnlens import backend
from rnnlens.cells import _kernels
from test_kernels import KINDS, c_kernel, forward_backward, fresh_loader, kernel, new_layer
from test_kernels import random_weights

__all__ = ["c_kernel"]           # the fixture, imported for the tests below


def cpu_has_avx512f() -> bool:
    with open("/proc/cpuinfo") as info:
        return any(line.startswith("flags") and " avx512f" in line for line in info)


@contextlib.contextmanager
def avx512(on: bool) -> Iterator[None]:
    before = _kernels._State.avx512
    _kernels.set_avx512(on)
    try:
        yield
    finally:
        _kernels.set_avx512(before)


def both_variants(layer: Any, x: np.ndarray, mask: np.ndarray | None, threads: int | None,
                  seed: int = 3) -> tuple[list, list, list]:
    """Forward + backward on the AVX-512 kernels, on BLAS + portable loops, in NumPy."""
    out = []
    for on in (True, False):
        with kernel("c", threads=threads), avx512(on):
            out.append(forward_backward(layer, x, None, mask, seed))
    with kernel("numpy"):
        out.append(forward_backward(layer, x, None, mask, seed))
    return out[0], out[1], out[2]


def assert_agree(got: list, ref: list, what: str, tol: float = 2e-6) -> None:
    for k, (a, b) in enumerate(zip(got, ref)):
        scale = 1.0 + float(np.max(np.abs(b), initial=0.0))
        assert_close(a / scale, b / scale, atol=tol, name=f"{what} result {k}")


# (batch, steps, features, units, threads): tails of 8 rows, 16 and 32 columns, one
# row (row4: 4 panels = 128 columns at once, + a tail), rows split over threads (one
# packing shared by all), small batches split over units (each thread packs its own
# slice of columns; GRU without reset_after splits rows instead: one row per thread).
SHAPES = [(2, 3, 5, 7, 1), (9, 4, 3, 33, 1), (17, 5, 40, 16, 1), (1, 6, 7, 100, 1),
          (1, 5, 3, 40, 1), (40, 4, 6, 24, 2), (3, 5, 4, 70, 2), (8, 2, 1, 1, 1),
          (2, 4, 5, 40, 2), (1, 600, 3, 40, 1), (1, 530, 2, 70, 2)]   # (x @ W in 256-step parts)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_avx512_kernels_equal_blas_and_numpy(c_kernel: None, kind: str,
                                             shape: tuple) -> None:
    batch, steps, features, units, threads = shape
    rng = np.random.default_rng(batch * 1000 + units)
    layer = new_layer(kind, units, return_sequences=True, return_state=True)
    random_weights(layer, features, rng)
    if steps > 100:       # contracting weights: rounding must not grow over 500 steps
        layer.set_weights([w * np.float32(0.3) for w in layer.get_weights()])
    x = rng.uniform(-2, 2, (batch, steps, features)).astype(np.float32)
    mask = rng.random((batch, steps)) > 0.3
    own, blas, numpy = both_variants(layer, x, mask, threads)
    assert_agree(own, blas, f"{kind} avx512 vs blas")
    assert_agree(own, numpy, f"{kind} avx512 vs numpy", tol=5e-6)   # + tanh's own ulps


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kind=st.sampled_from(KINDS), batch=st.integers(1, 20), steps=st.integers(2, 5),
       features=st.integers(1, 40), units=st.integers(1, 80), masked=st.booleans(),
       threads=st.sampled_from([1, 2]), seed=st.integers(0, 2**16))
def test_avx512_kernels_property(c_kernel: None, kind: str, batch: int, steps: int,
                                 features: int, units: int, masked: bool, threads: int,
                                 seed: int) -> None:
    """Any shape: the two C variants agree to rounding, forward and backward."""
    rng = np.random.default_rng(seed)
    layer = new_layer(kind, units, return_sequences=True, return_state=True)
    random_weights(layer, features, rng)
    x = rng.uniform(-2, 2, (batch, steps, features)).astype(np.float32)
    mask = rng.random((batch, steps)) > 0.3 if masked else None
    own, blas, _ = both_variants(layer, x, mask, threads, seed)
    assert_agree(own, blas, f"{kind} avx512 vs blas")


def test_lstm_gates_see_extreme_and_non_finite_values_alike(c_kernel: None) -> None:
    """tanh16 on large, tiny, infinite and NaN pre-activations: as the portable tanh."""
    rng = np.random.default_rng(8)
    layer = new_layer("lstm", 40, return_sequences=True)
    random_weights(layer, 3, rng)
    x = rng.uniform(-1, 1, (5, 4, 3)).astype(np.float32)
    x[0, 1] = [1e4, -1e4, 1e-30]
    x[1, 2] = [np.inf, -np.inf, 0.0]
    x[2, 3] = [np.nan, 1.0, 2.0]
    results = []
    for on in (True, False):
        with kernel("c"), avx512(on):
            results.append(layer(x))
    own, portable = results
    assert np.array_equal(np.isnan(own), np.isnan(portable))
    finite = ~np.isnan(portable)
    assert_close(own[finite], portable[finite], atol=1e-6)


def test_switch_reports_what_runs(c_kernel: None) -> None:
    has = cpu_has_avx512f()
    with avx512(True):
        assert backend.kernel_info()["avx512"] is has     # on wherever the CPU has it
    with avx512(False):
        assert backend.kernel_info()["avx512"] is False
    with kernel("numpy"):
        assert backend.kernel_info()["avx512"] is False
    with pytest.raises(TypeError, match="True or False"):
        _kernels.set_avx512(1)                           # type: ignore[arg-type]


def test_environment_variable_turns_them_off(monkeypatch: pytest.MonkeyPatch,
                                            c_kernel: None) -> None:
    before = _kernels._State.avx512
    try:
        with fresh_loader(monkeypatch):
            monkeypatch.setenv("RNNLENS_AVX512", "0")
            assert backend.kernel_info()["avx512"] is False
        with fresh_loader(monkeypatch):
            monkeypatch.setenv("RNNLENS_AVX512", "yes")
            with pytest.warns(RuntimeWarning, match="RNNLENS_AVX512"):
                assert backend.kernel_info()["avx512"] is cpu_has_avx512f()
    finally:
        _kernels.set_avx512(before)


def _activation(which: int, x: np.ndarray) -> np.ndarray | None:
    out = np.empty_like(x)
    rc = _kernels._State.lib.rnn_activation_f32(which, x.size, x.ctypes.data, out.ctypes.data)
    return out if rc == 0 else None


def _ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    ref = exact.astype(np.float32)
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(ref)).astype(np.float64)


def test_activations_stay_within_their_error_bounds(c_kernel: None) -> None:
    """tanh_f32 (portable), tanh16 and sigm16 (σ(2x)) against float64 over 2^20 random
    float32 bit patterns, a dense grid over [-20, 20] and the special values."""
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**32, 2**20, dtype=np.uint64).astype(np.uint32).view(np.float32)
    x = np.concatenate([bits[np.isfinite(bits)], np.linspace(-20, 20, 400_001, dtype=np.float32),
                        np.float32([0.0, -0.0, 1e-45, -1e-45, 0.625, -0.625, 9.0, 44.0, 3e38])])
    exact_tanh = np.tanh(x.astype(np.float64))
    with np.errstate(over="ignore"):
        exact_sigm = 1.0 / (1.0 + np.exp(-2.0 * x.astype(np.float64)))
    with avx512(True):
        results = {which: _activation(which, x) for which in (0, 1, 2)}
        specials = np.float32([np.inf, -np.inf, np.nan])
        special_out = {which: _activation(which, specials) for which in (0, 1, 2)}
    assert _ulps(results[0], exact_tanh).max() <= 3.0
    if not cpu_has_avx512f():
        assert results[1] is None and results[2] is None
        return
    assert _ulps(results[1], exact_tanh).max() <= 3.0
    moderate = np.abs(x.astype(np.float64)) <= 43.5                  # |v| = |2x| <= 87
    assert _ulps(results[2][moderate], exact_sigm[moderate]).max() <= 3.0
    assert np.abs(results[2] - exact_sigm).max() <= 1e-7
    for which in (0, 1):            # ±inf: ±tanh(9) = ±(1 - 1 ulp), the clamp's value
        assert_close(special_out[which][:2], np.float32([1.0, -1.0]), atol=6e-8)
        assert np.isnan(special_out[which][2])
    assert_close(special_out[2][:2], np.float32([1.0, 0.0]), atol=1e-38)  # e^-88 clamp
    assert np.isnan(special_out[2][2])


def test_a_failing_self_test_keeps_them_off(monkeypatch: pytest.MonkeyPatch,
                                            c_kernel: None) -> None:
    before = _kernels._State.avx512
    try:
        monkeypatch.setattr(_kernels, "_panels_pass", lambda lib: False)
        assert _kernels.set_avx512(True) is False
        assert backend.kernel_info()["avx512"] is False
        x = np.ones((1, 4), np.float32)                    # the C side is off too
        assert _activation(1, x) is None
    finally:
        monkeypatch.undo()
        _kernels.set_avx512(before)
