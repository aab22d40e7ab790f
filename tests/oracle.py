"""The one comparison helper every parity test uses.

``assert_close`` compares arrays, or nested lists and tuples of arrays, with an absolute
tolerance. When they differ, the message names the tensor, its shape, the worst index and
the max difference, and prints the values around the worst element for both sides.

``keras_available`` reports whether the Keras 3.15.1 oracle, on the TensorFlow backend,
can be imported. Keras is imported lazily, so this module only needs NumPy.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np

KERAS_VERSION = "3.15.1"
DEFAULT_ATOL = 1e-5
_WINDOW = (2, 3)  # half-width of the printed window: rows (axis -2), columns (axis -1)


# ---------------------------------------------------------------------------- structure
def _is_leaf(x: Any) -> bool:
    """Only lists and tuples are containers; everything else is one array."""
    return not isinstance(x, (list, tuple))


def _flatten(x: Any, path: str = "") -> list[tuple[str, Any]]:
    """Flatten nested lists and tuples into ``(path, leaf)`` pairs; the path looks like ``[1][0]``."""
    if _is_leaf(x):
        return [(path, x)]
    out: list[tuple[str, Any]] = []
    for i, item in enumerate(x):
        out.extend(_flatten(item, f"{path}[{i}]"))
    return out


def _pair_leaves(actual: Any, expected: Any, name: str) -> list[tuple[str, Any, Any]]:
    """Pair the leaves of two structures; raise AssertionError if the structures differ."""
    if _is_leaf(actual) != _is_leaf(expected):
        raise AssertionError(
            f"{name or 'value'}: structure differs: actual is {type(actual).__name__}, "
            f"expected is {type(expected).__name__}"
        )
    if _is_leaf(actual):
        return [(name, actual, expected)]
    if len(actual) != len(expected):
        raise AssertionError(
            f"{name or 'value'}: actual has {len(actual)} items, expected has {len(expected)}"
        )
    pairs: list[tuple[str, Any, Any]] = []
    for i, (a, e) in enumerate(zip(actual, expected)):
        pairs.extend(_pair_leaves(a, e, f"{name}[{i}]"))
    return pairs


def _as_array(x: Any) -> np.ndarray:
    """Turn a leaf into a float64 array; framework tensors with ``.numpy()`` work too."""
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        x = x.numpy()
    return np.asarray(x, dtype=np.float64)


def _abs_diff(a: np.ndarray, e: np.ndarray) -> np.ndarray:
    """|a - e|. A NaN on both sides counts as equal; a NaN on one side counts as inf."""
    with np.errstate(invalid="ignore"):
        d = np.abs(a - e)
    both_nan = np.isnan(a) & np.isnan(e)
    d = np.where(both_nan, 0.0, d)
    return np.where(np.isnan(d), np.inf, d)


# ---------------------------------------------------------------------------- public API
def max_abs_diff(a: Any, b: Any) -> float:
    """Max |a - b| over all leaves of two equally nested structures.

    Raises ValueError if the structures or shapes differ. Empty arrays contribute 0.
    """
    try:
        pairs = _pair_leaves(a, b, "")
    except AssertionError as exc:
        raise ValueError(str(exc)) from None
    worst = 0.0
    for path, x, y in pairs:
        xa, ya = _as_array(x), _as_array(y)
        if xa.shape != ya.shape:
            raise ValueError(f"value{path}: shape {xa.shape} != {ya.shape}")
        if xa.size:
            worst = max(worst, float(_abs_diff(xa, ya).max()))
    return worst


def assert_close(actual: Any, expected: Any, atol: float = DEFAULT_ATOL, name: str = "") -> None:
    """Assert that ``actual`` matches ``expected`` within ``atol``, leaf by leaf.

    Both may be arrays, scalars, framework tensors, or nested lists and tuples of them. A
    list on one side may face a tuple on the other. Shapes must be equal; there is no
    broadcasting.
    """
    __tracebackhide__ = True  # pytest: report the failure at the caller
    for leaf_name, a, e in _pair_leaves(actual, expected, name):
        _assert_leaf_close(_as_array(a), _as_array(e), atol, leaf_name or "value")


def keras_available() -> bool:
    """True if Keras 3.15.1 imports and runs on the TensorFlow backend.

    Sets ``KERAS_BACKEND=tensorflow`` and ``TF_CPP_MIN_LOG_LEVEL=3`` before the first
    import. The result is cached.
    """
    return _keras_available_cached()


@functools.lru_cache(maxsize=1)
def _keras_available_cached() -> bool:
    os.environ["KERAS_BACKEND"] = "tensorflow"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    try:
        import keras  # noqa: PLC0415  (lazy on purpose)
    except Exception:  # noqa: BLE001  (any import failure means "no oracle")
        return False
    return keras.__version__ == KERAS_VERSION and keras.backend.backend() == "tensorflow"


# ---------------------------------------------------------------------------- reporting
def _assert_leaf_close(a: np.ndarray, e: np.ndarray, atol: float, name: str) -> None:
    """Compare one pair of arrays and raise a detailed AssertionError on mismatch."""
    __tracebackhide__ = True
    if a.shape != e.shape:
        raise AssertionError(f"{name}: shape mismatch: actual {a.shape} vs expected {e.shape}")
    if a.size == 0:
        return
    diff = _abs_diff(a, e)
    flat_worst = int(np.argmax(diff))
    worst = float(diff.flat[flat_worst])
    if worst <= atol:
        return
    idx = np.unravel_index(flat_worst, a.shape) if a.ndim else ()
    n_bad = int(np.count_nonzero(diff > atol))
    lines = [
        f"{name}: max |actual - expected| = {worst:.3e} > atol {atol:.1e}",
        f"  shape {a.shape}, worst index {tuple(int(i) for i in idx)}: "
        f"actual {a[idx]:.8g}, expected {e[idx]:.8g}",
        f"  {n_bad} of {a.size} elements exceed atol",
        *_window_lines(a, e, diff, idx, atol),
    ]
    raise AssertionError("\n".join(lines))


def _window_slices(shape: tuple[int, ...], idx: tuple) -> tuple[tuple, list[range]]:
    """Leading fixed indices and ranges along the last one or two axes around ``idx``."""
    if len(shape) == 0:
        return (), []
    if len(shape) == 1:
        half = (_WINDOW[1],)
    else:
        half = _WINDOW
    n = len(half)
    ranges = [
        range(max(0, idx[-n + k] - half[k]), min(shape[-n + k], idx[-n + k] + half[k] + 1))
        for k in range(n)
    ]
    return tuple(idx[: len(shape) - n]), ranges


def _fmt(v: float) -> str:
    """Fixed-width (10 characters) number for the window table."""
    return f"{v:>10.6f}" if np.isfinite(v) and abs(v) < 1e3 else f"{v:>10.3e}"


def _window_lines(
    a: np.ndarray, e: np.ndarray, diff: np.ndarray, idx: tuple, atol: float
) -> list[str]:
    """Side-by-side text of actual | expected around the worst element.

    ``*`` marks the worst element and ``!`` marks every other element beyond ``atol``.
    """
    if a.ndim == 0:
        return []
    lead, ranges = _window_slices(a.shape, idx)
    rows = ranges[0] if len(ranges) == 2 else [None]
    cols = ranges[-1]
    prefix = "".join(f"[{i}]" for i in lead)
    axis_note = "rows = axis -2, columns = axis -1" if a.ndim >= 2 else "axis -1"
    block_width = 12 * len(cols) - 1
    out = [
        f"  window of {prefix or 'array'} ({axis_note}); index ranges "
        + ", ".join(f"{r.start}..{r.stop - 1}" for r in ranges),
        ("  " + " " * 7 + "actual".center(block_width) + " | " + "expected".center(block_width)).rstrip(),
    ]
    for r in rows:
        a_cells, e_cells = [], []
        for c in cols:
            full = (*lead, r, c) if r is not None else (*lead, c)
            mark = "*" if full == tuple(idx) else ("!" if diff[full] > atol else " ")
            a_cells.append(_fmt(a[full]) + mark)
            e_cells.append(_fmt(e[full]) + mark)
        label = f"{r:>5}: " if r is not None else "       "
        out.append(("  " + label + " ".join(a_cells) + " | " + " ".join(e_cells)).rstrip())
    return out
