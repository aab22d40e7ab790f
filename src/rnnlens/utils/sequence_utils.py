"""``pad_sequences``: Keras 3.15.1's padding and truncation of ragged sequences.

For ``n`` sequences and ``maxlen`` (the longest length when ``None``) the result has shape
``(n, maxlen) + sample_shape`` (``sample_shape`` is the shape of one step of the first
non-empty sequence) and starts filled with ``value``. A sequence ``s`` longer than
``maxlen`` keeps ``s[-maxlen:]`` (``truncating="pre"``) or ``s[:maxlen]`` (``"post"``);
the kept steps go at the end of the row (``padding="pre"``) or at its start (``"post"``).

Keras's results are kept, including its quirks: ``maxlen=0`` with ``truncating="pre"``
keeps ``s[-0:]``, the whole sequence, which cannot fit (a ValueError, as in Keras, while
``truncating="post"`` gives an ``(n, 0)`` array); a string ``value`` needs ``dtype=object``
(the Python type itself) or a string dtype; floats cast to an integer dtype truncate
towards zero (``2.7 -> 2``).

Where Keras returns wrong numbers or fails deep inside NumPy, rnnlens raises a
ValueError/TypeError naming the problem: NaN, infinite or out-of-range values cast to an
integer dtype (Keras gives ``-2147483648`` or wraps around), a padding value that does not
fit the dtype, ``sequences=[]`` without ``maxlen``, a negative ``maxlen``. A bad
``padding``/``truncating`` is refused up front (Keras only notices it at the first
non-empty sequence).
"""

from __future__ import annotations

from typing import Any

import numpy as np


def pad_sequences(
    sequences: Any,
    maxlen: int | None = None,
    dtype: Any = "int32",
    padding: str = "pre",
    truncating: str = "pre",
    value: Any = 0.0,
) -> np.ndarray:
    """Pads sequences to the same length.

    Args:
        sequences: List (or other sized iterable) of sequences; each sequence is a list
            (or array) of integers, or of equally shaped steps.
        maxlen: Optional int, the length of every output row. Defaults to the longest
            sequence.
        dtype: Type of the output (default ``"int32"``); ``object`` for variable-length
            strings.
        padding: ``"pre"`` or ``"post"``: pad before or after each sequence.
        truncating: ``"pre"`` or ``"post"``: remove values at the start or at the end of
            sequences longer than ``maxlen``.
        value: Float or string, the padding value.

    Returns:
        NumPy array of shape ``(len(sequences), maxlen) + sample_shape``.

    Example:

    >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2)
    array([[0, 1],
           [2, 3],
           [5, 6]], dtype=int32)
    """
    for name, option in (("padding", padding), ("truncating", truncating)):
        if option not in ("pre", "post"):
            raise ValueError(f'{name.capitalize()} type "{option}" not understood; '
                             "expected 'pre' or 'post'.")
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable (a list of sequences with a length); "
                         f"received {type(sequences).__name__}.")
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    maxlen = _maxlen(maxlen, lengths)
    out_dtype = _dtype(dtype, value)
    out = _filled((len(sequences), maxlen) + sample_shape, value, out_dtype, dtype)
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        try:
            kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        except (TypeError, KeyError):
            raise TypeError(f"The sequence at position {idx} is a {type(seq).__name__}, which "
                            "cannot be sliced; expected a list or an array.") from None
        kept = _cast(kept, out_dtype, dtype, idx)
        if kept.shape[1:] != sample_shape:
            raise ValueError(f"Shape of sample {kept.shape[1:]} of sequence at position {idx} "
                             f"is different from expected shape {sample_shape}")
        if len(kept) > maxlen:       # only maxlen=0 with truncating="pre" (s[-0:] is s)
            raise ValueError(
                f"maxlen=0 with truncating='pre' keeps the whole sequence at position {idx} "
                f"(length {len(kept)}; Keras slices s[-0:]), which does not fit a row of "
                "length 0. Use truncating='post' for an empty result."
            )
        if padding == "post":
            out[idx, : len(kept)] = kept
        else:
            out[idx, maxlen - len(kept):] = kept
    return out


def _lengths_and_sample_shape(sequences: Any) -> tuple[list[int], tuple[int, ...]]:
    """Every length, and the step shape of the first non-empty sequence (Keras's rule)."""
    lengths: list[int] = []
    sample_shape: tuple[int, ...] | None = None
    for seq in sequences:
        try:
            length = len(seq)
        except TypeError:
            raise ValueError("`sequences` must be a list of iterables. "
                             f"Found non-iterable: {seq!r}") from None
        lengths.append(length)
        if sample_shape is None and length:
            try:
                sample_shape = np.asarray(seq).shape[1:]
            except ValueError:
                raise ValueError(
                    f"The sequence at position {len(lengths) - 1} has steps of different "
                    "shapes; every step of a sequence must have one shape."
                ) from None
    return lengths, sample_shape or ()


def _maxlen(maxlen: Any, lengths: list[int]) -> int:
    if maxlen is None:
        if not lengths:
            raise ValueError("Received sequences=[] and maxlen=None: the output length is "
                             "undefined; pass maxlen (gives an array of shape (0, maxlen)).")
        return max(lengths)
    if isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)):
        raise TypeError(f"Received maxlen={maxlen!r} of type {type(maxlen).__name__}, "
                        "expected an int or None.")
    if maxlen < 0:
        raise ValueError(f"Received maxlen={maxlen}, expected an int >= 0 or None.")
    return int(maxlen)


def _dtype(dtype: Any, value: Any) -> np.dtype:
    try:
        out = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"Received dtype={dtype!r}, which is not a NumPy dtype.") from None
    if isinstance(value, str) and dtype is not object and out.kind not in "SU":
        raise ValueError(
            f"`dtype` {dtype} is not compatible with `value`'s type: {type(value)}\n"
            "You should set `dtype=object` for variable length strings."
        )
    return out


def _int_range_error(arr: np.ndarray, dtype: np.dtype) -> str | None:
    """Why ``arr`` cannot be cast exactly (up to float truncation) to integer ``dtype``."""
    if dtype.kind not in "iu" or arr.dtype.kind not in "iuf" or arr.size == 0:
        return None
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        return "NaN or infinite values cannot be stored in an integer dtype"
    info = np.iinfo(dtype)
    if arr.dtype.kind == "f":
        bad = (arr <= info.min - 1.0) | (arr >= info.max + 1.0)
    else:
        bad = (arr < info.min) | (arr > info.max)
    if bad.any():
        return f"values outside [{info.min}, {info.max}] do not fit {dtype.name}"
    return None


def _cast(seq: Any, dtype: np.dtype, given: Any, idx: int) -> np.ndarray:
    try:
        raw = np.asarray(seq)
        problem = _int_range_error(raw, dtype)
        if problem is None:
            numeric = raw.dtype.kind in "biuf" and dtype.kind in "biuf"
            arr = raw.astype(dtype, copy=False) if numeric else np.asarray(seq, dtype=dtype)
            if arr.ndim == 0:
                raise TypeError("it is not a sequence of steps")
            return arr
    except (ValueError, TypeError, OverflowError) as exc:
        problem = str(exc)
        kind = TypeError if isinstance(exc, TypeError) else ValueError
        raise kind(f"Could not convert the sequence at position {idx} to dtype={given!r}: "
                   f"{problem}.") from None
    raise ValueError(f"Could not convert the sequence at position {idx} to dtype={given!r}: "
                     f"{problem}.")


def _filled(shape: tuple[int, ...], value: Any, dtype: np.dtype, given: Any) -> np.ndarray:
    """``np.full`` with the padding value, with rnnlens errors."""
    what = f"The padding value={value!r} cannot be stored as dtype={given!r}"
    if dtype.kind in "iu" and isinstance(value, (int, float, np.number)) \
            and not isinstance(value, bool):
        problem = _int_range_error(np.asarray(value), dtype)
        if problem is not None:
            raise ValueError(f"{what}: {problem}.")
    try:
        return np.full(shape, value, dtype=dtype)
    except MemoryError:
        raise ValueError(f"The padded array of shape {shape} does not fit in memory; pass a "
                         "smaller maxlen.") from None
    except TypeError as exc:
        raise TypeError(f"{what}: {exc}.") from None
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{what}: {exc}.") from None
