"""What the preprocessing layers share: categorical encoding, config params, key order.

Categorical encoding (Keras's ``numerical_utils.encode_categorical_inputs`` on the
TensorFlow backend), for integer ids ``x`` and an output size ``depth``:

* ``"int"``: ``x`` itself.
* ``"one_hot"``: a last axis of size 1 is dropped, then ``out[..., k] = [x == k]``.
* ``"multi_hot"`` / ``"count"`` on inputs of rank <= 2 (TensorFlow's ``bincount`` fast
  path): per row of the last axis, ``out[k] = [k occurs]`` / ``#occurrences of k``;
  a rank-1 input is one row, so the output is ``(depth,)``.
* ``"multi_hot"`` / ``"count"`` on rank > 2: ``one_hot(x)`` reduced (max / sum) over
  **axis 1**, as Keras's generic path does (``(B, T, S) -> (B, S, depth)``).
* ``"tf_idf"``: ``count * idf_weights``.

Ids outside ``[0, depth)`` (Keras's dropped mask value ``2**63 - 1``) count nowhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P

DROPPED = np.iinfo(np.int64).max          # Keras's mask value outside "int" mode


def one_hot(x: np.ndarray, depth: int, dtype: Any) -> np.ndarray:
    """``tf.one_hot``: zeros for ids outside ``[0, depth)``."""
    out = np.zeros((*x.shape, depth), dtype)
    valid = (x >= 0) & (x < depth)
    idx = np.nonzero(valid)
    out[(*idx, x[valid])] = 1
    return out                                                   # (..., depth)


def _bincount_rows(rows: np.ndarray, depth: int, binary: bool, dtype: Any) -> np.ndarray:
    out = np.zeros((rows.shape[0], depth), np.int64)
    valid = (rows >= 0) & (rows < depth)
    r, _ = np.nonzero(valid)
    np.add.at(out, (r, rows[valid]), 1)
    if binary:
        out = np.minimum(out, 1)
    return out.astype(dtype)


def encode(x: np.ndarray, mode: str, depth: int, dtype: Any,
           idf: np.ndarray | None = None) -> np.ndarray:
    """Keras's categorical encoding of integer ids ``x`` (see the module docstring)."""
    x = np.asarray(x, np.int64)
    if mode == "int":
        return x.astype(dtype)
    if x.ndim == 0:
        x = x[None]
    if mode == "one_hot":
        if x.ndim > 1 and x.shape[-1] == 1:
            x = x[..., 0]
        return one_hot(x, depth, dtype)
    base = "count" if mode == "tf_idf" else mode
    if x.ndim <= 2:
        rows = x if x.ndim == 2 else x[None]
        out = _bincount_rows(rows, depth, base == "multi_hot", dtype)
        out = out[0] if x.ndim == 1 else out                        # (depth,) / (B, depth)
    else:
        hot = one_hot(x, depth, dtype)
        out = hot.max(axis=1) if base == "multi_hot" else hot.sum(axis=1, dtype=dtype)
    if mode == "tf_idf":
        if idf is None:
            raise ValueError("When `output_mode` is `'tf_idf'`, `idf_weights` must be "
                             "provided: adapt the layer or pass a vocabulary with "
                             "idf_weights.")
        if idf.shape[0] != depth:
            raise ValueError(f"The idf weights have {idf.shape[0]} entries but the output has "
                             f"{depth}; set the vocabulary and its idf_weights together.")
        out = out.astype(idf.dtype) * idf
    return out


def output_mode_param(default: str = "int", modes: tuple = ("int", "one_hot", "multi_hot",
                                                              "count", "tf_idf"),
                      aliases: bool = True) -> P.Param:
    """``output_mode``; Keras's deprecated ``"binary"`` / ``"tf-idf"`` are accepted."""
    names = {"binary": "multi_hot", "tf-idf": "tf_idf"} if aliases else {}

    def check(value: Any) -> str:
        value = names.get(value, value) if isinstance(value, str) else value
        if value not in modes:
            raise ValueError(value)
        return value

    return P.Json(default, validate=check, expected="one of " + ", ".join(map(repr, modes)))


def is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_salt(value: Any) -> list | None:
    """Keras's ``salt``: None, an int (used twice) or two ints, stored as ``[a, b]``."""
    if value is None:
        return None
    pair = [value, value] if is_int(value) else value
    if not isinstance(pair, (list, tuple)) or len(pair) != 2 or \
            not all(is_int(v) and -2**63 <= v < 2**64 for v in pair):
        raise ValueError(value)
    return [int(v) for v in pair]


def salt_param() -> P.Param:
    return P.Json(None, validate=check_salt, none=True,
                  expected="None, an integer, or a tuple of 2 integers")


def float_list(value: Any, what: str, limit: int = 1 << 24) -> list[float]:
    """A 1-D list of finite numbers (``bin_boundaries``, ``idf_weights``)."""
    arr = np.asarray(value, dtype=object)
    if arr.ndim != 1 or arr.size > limit or not all(
            isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
            and np.isfinite(float(v)) for v in arr):
        raise ValueError(f"`{what}` must be a 1-D list of finite numbers.")
    return [float(v) for v in arr]


def ordered(config: dict, order: tuple[str, ...]) -> dict:
    """``config`` with the base keys first, then ``order``, then the rest (Keras's order)."""
    keys = [k for k in ("name", "trainable", "dtype") if k in config]
    keys += [k for k in order if k in config and k not in keys]
    keys += [k for k in config if k not in keys]
    return {k: config[k] for k in keys}


__all__ = ["encode", "one_hot", "DROPPED", "output_mode_param", "salt_param", "check_salt",
           "float_list", "ordered", "is_int"]
