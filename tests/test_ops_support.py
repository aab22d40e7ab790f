"""Shared helpers for the ``rnnlens.ops`` parity tests (no tests here).

``check(K, name, *args, **kwargs)`` calls ``rnnlens.ops.<name>`` and ``keras.ops.<name>``
with the same arguments and asserts one of:

* both return: same structure, same dtype and shape per leaf, values within tolerance
  (exact for ints and bools; ``rtol`` 1e-5 relative to max(1, |expected|) for float32/64,
  2e-3 for float16), NaNs on the same places;
* Keras raises (anything) and rnnlens raises a ValueError or TypeError.

The worst relative float32 / float64 difference is recorded through
``conftest.record_parity`` (float16 and the looser linalg checks are not).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from conftest import record_parity
from oracle import keras_available

import rnnlens.ops  # noqa: F401
from rnnlens import ops  # noqa: E402

DTYPES = ["bool", "int8", "uint8", "int16", "int32", "int64", "float16", "float32",
          "float64"]
MAIN_DTYPES = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]
PY = ["pyint", "pyfloat", "pybool"]


def keras_module() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


def make(kind: str, shape: tuple[int, ...] = (2, 3), seed: int = 0,
         lo: float = -3.0, hi: float = 3.0) -> Any:
    """An input of ``kind``: a NumPy dtype name or pyint / pyfloat / pybool."""
    rng = np.random.default_rng(seed)
    if kind == "pyint":
        return 2
    if kind == "pyfloat":
        return 1.5
    if kind == "pybool":
        return True
    if kind == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    d = np.dtype(kind)
    if d.kind == "u":
        return np.asarray(rng.integers(0, max(int(hi), 1) + 3, shape)).astype(d)
    if d.kind == "i":
        return np.asarray(rng.integers(int(lo), int(hi) + 1, shape)).astype(d)
    return np.asarray(rng.uniform(lo, hi, shape)).astype(d)


def _leaves(x: Any) -> list[Any]:
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _leaves(item)]
    return [x]


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x)


def assert_same(ours: Any, theirs: Any, name: str, rtol: float | None = None) -> None:
    """Structure, dtype, shape and values of ``ours`` equal Keras's ``theirs``."""
    if isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)), f"{name}: Keras returned a sequence"
        assert len(ours) == len(theirs), f"{name}: {len(ours)} outputs vs {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_same(a, b, f"{name}[{i}]", rtol)
        return
    e = _np(theirs)
    if isinstance(ours, (bool, int)) and not isinstance(ours, np.ndarray) and e.ndim == 0:
        a = np.asarray(ours)
    else:
        assert isinstance(ours, np.ndarray), f"{name}: rnnlens returned {type(ours)}"
        a = ours
    if not (e.ndim == 0 and np.asarray(theirs).dtype == object):
        assert a.dtype == e.dtype, f"{name}: dtype {a.dtype} != Keras {e.dtype}"
    assert a.shape == e.shape, f"{name}: shape {a.shape} != Keras {e.shape}"
    if a.dtype.kind in "biu" or e.dtype.kind in "biu":
        assert np.array_equal(a, e), f"{name}: values differ\n{a}\nvs Keras\n{e}"
        return
    _close(a, e, name, rtol)


def _close(a: np.ndarray, e: np.ndarray, name: str, rtol: float | None) -> None:
    if rtol is None:
        rtol = 2e-3 if e.dtype == np.float16 else 1e-5
    if e.dtype.kind == "c":
        _close(np.real(a), np.real(e), name + ".real", rtol)
        _close(np.imag(a), np.imag(e), name + ".imag", rtol)
        return
    a64, e64 = a.astype("float64"), e.astype("float64")
    nan_a, nan_e = np.isnan(a64), np.isnan(e64)
    assert np.array_equal(nan_a, nan_e), f"{name}: NaNs differ\n{a}\nvs Keras\n{e}"
    inf = np.isinf(e64) | np.isinf(a64)
    assert np.array_equal(a64[inf], e64[inf]), f"{name}: infinities differ\n{a}\nvs\n{e}"
    ok = ~(nan_e | inf)
    if not ok.any():
        return
    scale = np.maximum(1.0, np.abs(e64[ok]))
    rel = np.abs(a64[ok] - e64[ok]) / scale
    assert rel.max() <= rtol, (f"{name}: max relative difference {rel.max():.3e} > {rtol}"
                               f"\n{a}\nvs Keras\n{e}")
    if rtol <= 1e-5:          # float32 / float64 at the project's 1e-5: recorded as is
        record_parity(float(rel.max()), 0.0, name, name)


def check(K: Any, name: str, *args: Any, rtol: float | None = None, lenient: bool = False,
          **kwargs: Any) -> Any:
    """Compare ``rnnlens.ops.name`` with ``keras.ops.name``; see the module docstring.

    ``lenient=True`` (the fuzz test) also accepts a ValueError / TypeError from rnnlens
    where Keras returns a value, provided the message names the op, and a value from
    rnnlens where a TensorFlow kernel fails on a zero-size input (e.g. ``add`` of two
    ``(0, 2)`` tensors, which Keras routes to ``bias_add``)."""
    label = f"{name}({_describe(args)}{', ' if kwargs else ''}{kwargs or ''})"
    try:
        theirs = getattr(K.ops, name)(*args, **kwargs)
        theirs = _to_numpy(K, theirs)
        k_err = None
    except Exception as e:  # noqa: BLE001  (any Keras failure: rnnlens must raise too)
        k_err = e
    try:
        ours = getattr(ops, name)(*args, **kwargs)
    except (ValueError, TypeError) as e:
        if k_err is not None or (lenient and f"ops.{name}" in str(e)):
            return None
        raise AssertionError(f"{label}: rnnlens raised {e!r}, Keras returned a value") from e
    if k_err is not None and lenient and _has_empty(args) and "tensorflow" in type(
            k_err).__module__:
        return ours
    if k_err is not None:
        raise AssertionError(f"{label}: Keras raised {type(k_err).__name__}: "
                             f"{str(k_err)[:200]}; rnnlens returned {ours!r}")
    if lenient and rtol is None:   # TF sums float16 in float16: ~1e-2 off for 27 terms
        rtol = 1e-2 if "float16" in label else None
    assert_same(ours, theirs, label, rtol)
    return ours


def _has_empty(args: tuple) -> bool:
    leaves = [v for a in args for v in (a if isinstance(a, (list, tuple)) else [a])]
    return any(isinstance(v, np.ndarray) and v.size == 0 for v in leaves)


def _to_numpy(K: Any, x: Any) -> Any:
    if isinstance(x, (list, tuple)):
        return tuple(_to_numpy(K, v) for v in x) if isinstance(x, tuple) else [
            _to_numpy(K, v) for v in x]
    if isinstance(x, (bool, int, float)) or x is None:
        return x
    return K.ops.convert_to_numpy(x)


def _describe(args: tuple) -> str:
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            out.append(f"{a.dtype}{list(a.shape)}")
        elif isinstance(a, (list, tuple)) and a and isinstance(a[0], np.ndarray):
            out.append("[" + ", ".join(f"{v.dtype}{list(v.shape)}" if isinstance(
                v, np.ndarray) else repr(v) for v in a) + "]")
        else:
            out.append(repr(a)[:40])
    return ", ".join(out)
