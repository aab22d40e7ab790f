"""``keras.ops.linalg`` on ``numpy.linalg``: norms, solves, inverses and decompositions.

All functions work on the last two axes with batch broadcasting, keep float dtypes and
compute ints in floatx. Decompositions are unique only up to signs / phases (``qr``,
``svd``, ``eig``, ``eigh``), so compare reconstructions rather than factors. ``norm``
follows Keras exactly (vector norms over one axis, matrix norms over two).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.ops._common import norm_axes, to_float
from rnnlens.ops._dispatch import cast_array, fail, keras_op
from rnnlens.ops._dtypes import floatx, result_type


def _square_float(x: np.ndarray, op: str) -> np.ndarray:
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise fail(op, f"needs (batches of) square matrices, received shape {x.shape}.")
    return to_float(x)


def _linalg(op: str, f: Any, *args: Any) -> Any:
    try:
        with np.errstate(all="ignore"):
            return f(*args)
    except np.linalg.LinAlgError as e:
        raise fail(op, f"{e} (the matrix is singular or not positive definite).") from None


@keras_op("norm", "x")
def norm(x: np.ndarray, ord: Any = None, axis: Any = None,  # noqa: A002
         keepdims: bool = False) -> np.ndarray:
    """Vector norm over one axis (``ord`` p, inf, -inf, 0) or matrix norm over two
    (``"fro"``, ``"nuc"``, 1, -1, 2, -2, inf, -inf); ``axis=None`` uses all axes."""
    d = floatx() if x.dtype == np.int64 else result_type(x.dtype.name, float)
    xf = cast_array(x, d)
    ax = tuple(range(x.ndim)) if axis is None else norm_axes(axis, x.ndim, "norm")
    if axis is not None and not isinstance(axis, (list, tuple)):
        ax = (ax[0],)
    elif axis is not None:
        ax = tuple(a % x.ndim for a in axis)
    if len(ax) == 1:
        if isinstance(ord, str):
            raise fail("norm", f"invalid ord={ord!r} for a vector norm.")
        o = 2 if ord is None else ord
        with np.errstate(all="ignore"):
            r = np.linalg.norm(xf, ord=o, axis=ax[0], keepdims=keepdims)
        return np.asarray(r).astype(d)
    if len(ax) == 2:
        ok = (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf)
        if ord not in ok:
            raise fail("norm", f"invalid ord={ord!r} for a matrix norm; expected one of "
                       f"{ok}.")
        with np.errstate(all="ignore"):
            r = np.linalg.norm(xf.astype("float64") if ord in ("nuc", 2, -2) else xf,
                               ord=ord, axis=ax, keepdims=keepdims)
        return np.asarray(r).astype(d)
    if ord is None:
        with np.errstate(all="ignore"):
            return np.sqrt(np.sum(np.abs(xf) ** 2, axis=ax, keepdims=keepdims)).astype(d)
    raise fail("norm", f"ord={ord!r} needs one or two axes, received axis={axis!r}.")


@keras_op("det", "x")
def det(x: np.ndarray) -> np.ndarray:
    a = _square_float(x, "det")
    return np.asarray(np.linalg.det(a)).astype(a.dtype)


@keras_op("inv", "x")
def inv(x: np.ndarray) -> np.ndarray:
    a = _square_float(x, "inv")
    return _linalg("inv", np.linalg.inv, a).astype(a.dtype)


@keras_op("pinv", "x")
def pinv(x: np.ndarray, rcond: float | None = None) -> np.ndarray:
    a = to_float(x)
    if a.ndim < 2:
        raise fail("pinv", f"needs rank >= 2, received shape {x.shape}.")
    rc = rcond if rcond is not None else 10 * max(a.shape[-2:]) * np.finfo(a.dtype).eps
    return np.linalg.pinv(a, rcond=rc).astype(a.dtype)


@keras_op("cholesky", "x")
def cholesky(x: np.ndarray, upper: bool = False) -> np.ndarray:
    """Lower ``L`` with ``x = L L^H`` (``upper``: its conjugate transpose)."""
    a = _square_float(x, "cholesky")
    lo = _linalg("cholesky", np.linalg.cholesky, a).astype(a.dtype)
    return np.conj(np.swapaxes(lo, -1, -2)) if upper else lo


@keras_op("cholesky_inverse", "x")
def cholesky_inverse(x: np.ndarray, upper: bool = False) -> np.ndarray:
    """``(L L^H)^-1`` from a Cholesky factor ``L`` (or ``U^H U`` with ``upper``)."""
    f = _square_float(x, "cholesky_inverse")
    fh = np.conj(np.swapaxes(f, -1, -2))
    a = fh @ f if upper else f @ fh
    return _linalg("cholesky_inverse", np.linalg.inv, a).astype(f.dtype)


@keras_op("solve", "a b")
def solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x`` with ``a @ x = b`` (``b`` a vector or a matrix per batch)."""
    aa = _square_float(a, "solve")
    bb = cast_array(b, aa.dtype.name)
    if bb.ndim == aa.ndim - 1:
        return _linalg("solve", np.linalg.solve, aa, bb[..., None])[..., 0].astype(aa.dtype)
    return _linalg("solve", np.linalg.solve, aa, bb).astype(aa.dtype)


@keras_op("solve_triangular", "a b")
def solve_triangular(a: np.ndarray, b: np.ndarray, lower: bool = False) -> np.ndarray:
    aa = _square_float(a, "solve_triangular")
    tri = np.tril(aa) if lower else np.triu(aa)
    return solve.__wrapped__(tri, b)


@keras_op("qr", "x")
def qr(x: np.ndarray, mode: str = "reduced") -> tuple[np.ndarray, np.ndarray]:
    if mode not in ("reduced", "complete"):
        raise fail("qr", f"mode={mode!r}; expected 'reduced' or 'complete'.")
    a = to_float(x)
    if a.ndim < 2:
        raise fail("qr", f"needs rank >= 2, received shape {x.shape}.")
    q, r = np.linalg.qr(a, mode=mode)
    return q.astype(a.dtype), r.astype(a.dtype)


@keras_op("svd", "x")
def svd(x: np.ndarray, full_matrices: bool = True, compute_uv: bool = True) -> Any:
    a = to_float(x)
    if a.ndim < 2:
        raise fail("svd", f"needs rank >= 2, received shape {x.shape}.")
    if not compute_uv:
        return _linalg("svd", np.linalg.svd, a, False, False).astype(a.dtype)
    u, s, vh = _linalg("svd", np.linalg.svd, a, full_matrices, True)
    return u.astype(a.dtype), s.astype(a.dtype), vh.astype(a.dtype)


@keras_op("eig", "x")
def eig(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = _square_float(x, "eig")
    w, v = _linalg("eig", np.linalg.eig, a)
    d = "complex128" if a.dtype == np.float64 else "complex64"
    return w.astype(d), v.astype(d)


@keras_op("eigh", "x")
def eigh(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a = _square_float(x, "eigh")
    w, v = _linalg("eigh", np.linalg.eigh, a)
    return w.astype(a.dtype), v.astype(a.dtype)


@keras_op("lstsq", "a b")
def lstsq(a: np.ndarray, b: np.ndarray, rcond: float | None = None) -> np.ndarray:
    """Least-squares ``x`` minimising ``||a x - b||`` (2-D ``a``)."""
    if a.ndim != 2 or b.ndim not in (1, 2) or a.shape[0] != b.shape[0]:
        raise fail("lstsq", f"needs a (M, N) and b (M,) or (M, K), received {a.shape} and "
                   f"{b.shape}.")
    aa = to_float(a)
    r = _linalg("lstsq", np.linalg.lstsq, aa, cast_array(b, aa.dtype.name), rcond)
    return r[0].astype(aa.dtype)


@keras_op("matrix_rank", "x")
def matrix_rank(x: np.ndarray, tol: float | None = None) -> np.ndarray:
    a = to_float(x)
    if a.ndim < 2:
        raise fail("matrix_rank", f"needs rank >= 2, received shape {x.shape}.")
    return np.asarray(np.linalg.matrix_rank(a, tol=tol)).astype("int32")


@keras_op("lu_factor", "x")
def lu_factor(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed LU factors and int32 pivots (LAPACK ``getrf`` convention) with partial
    pivoting: ``P x = L U``."""
    a = _square_float(x, "lu_factor").copy()
    n = a.shape[-1]
    piv = np.zeros(a.shape[:-1], "int32")
    for k in range(n):
        p = np.argmax(np.abs(a[..., k:, k]), axis=-1) + k            # (...,)
        piv[..., k] = p
        rows_k = np.take_along_axis(a, np.full(a.shape[:-2] + (1, n), k), -2)
        rows_p = np.take_along_axis(a, p[..., None, None] * np.ones((1, n), int), -2)
        np.put_along_axis(a, np.full(a.shape[:-2] + (1, n), k), rows_p, -2)
        np.put_along_axis(a, p[..., None, None] * np.ones((1, n), int), rows_k, -2)
        pivot = a[..., k:k + 1, k:k + 1]
        with np.errstate(all="ignore"):
            a[..., k + 1:, k:k + 1] = a[..., k + 1:, k:k + 1] / pivot
        a[..., k + 1:, k + 1:] -= a[..., k + 1:, k:k + 1] * a[..., k:k + 1, k + 1:]
    return a, piv
