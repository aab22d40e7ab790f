"""``split_dataset``: Keras 3.15.1's left/right split of in-memory data.

The data is read as a list of ``n`` samples (rows of an array; ``(row_0, row_1, ...)`` of a
tuple/list of arrays; the elements of an :class:`~rnnlens.utils.ArrayDataset`, unbatched
first when its last step batched). With ``shuffle`` the samples are shuffled with Python's
``random.Random(seed).shuffle``, the same permutation as Keras's ``random.seed(seed);
random.shuffle(...)``. Then the left split is the first ``left_size`` samples and the right
split the *last* ``right_size`` (samples in between are dropped when the sizes do not add
up to ``n``). Sizes, as Keras:

* a float in ``(0, 1)`` is a fraction: ``round(f * n)`` samples (Python's round, halves to
  even); an int in ``[1, n)`` is a count; ``None`` is the complement of the other size;
* both None, both 0, a size out of those ranges, two fractions summing to more than 1,
  sizes summing to more than ``n``, or a split that rounds to 0 samples is a ValueError;
  a size of another type (bool, str, ...) a TypeError.

Each split is an unbatched :class:`~rnnlens.utils.ArrayDataset` (batched again with the
input's batch size when the input dataset was batched), yielding arrays, tuples, or dicts
like the input, with the input's dtypes, except one TensorFlow artifact kept as Keras has
it: the samples of a 1-D integer array come out as int32 (int64 if they do not fit).
Beyond Keras: a dict of arrays is accepted (Keras raises TypeError) and NumPy integer /
float scalars count as ints / floats (Keras wants Python's own types).
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from rnnlens.random import generator
from rnnlens.utils import _nest
from rnnlens.utils.dataset import INFINITE_CARDINALITY, ArrayDataset


def split_dataset(
    dataset: Any,
    left_size: int | float | None = None,
    right_size: int | float | None = None,
    shuffle: bool = False,
    seed: Any = None,
    preferred_backend: str | None = None,
) -> tuple[ArrayDataset, ArrayDataset]:
    """Splits a dataset into a left half and a right half (e.g. train / test).

    Args:
        dataset: A NumPy array, a tuple / list / dict of arrays with the same length, or an
            :class:`~rnnlens.utils.ArrayDataset`.
        left_size: Float in ``(0, 1)``: the fraction of samples in the left split; int: the
            number of samples; None: the complement of ``right_size``.
        right_size: The same for the right split.
        shuffle: Whether to shuffle the samples before splitting them.
        seed: A random seed for shuffling.
        preferred_backend: Accepted for Keras compatibility and ignored.

    Returns:
        ``(left, right)``, two :class:`~rnnlens.utils.ArrayDataset` s.

    Example:

    >>> left, right = split_dataset(np.zeros((10, 4)), left_size=0.8)
    >>> len(left), len(right)
    (8, 2)
    """
    kind = _kind(dataset)
    if left_size is None and right_size is None:
        raise ValueError("At least one of the `left_size` or `right_size` must be specified. "
                         "Received: left_size=None and right_size=None")
    structure, n, samples = _read(dataset, kind)
    order = list(range(n))
    if shuffle:
        if seed is None:
            seed = int(generator(None).integers(10**6 + 1))
        random.Random(seed).shuffle(order)
    n_left, n_right = rescale_split_sizes(left_size, right_size, n)
    halves = (np.asarray(order[:n_left], dtype=np.int64),
              np.asarray(order[n - n_right:], dtype=np.int64))
    batch_size = dataset._batch_size if kind == "dataset" else None
    out = []
    for idx in halves:
        if samples is None:
            part = _nest.map_structure(lambda a, idx=idx: a[idx], structure)
            if kind == "array":
                part = _tf_scalar_list(part)
        else:
            part = _nest.stack([samples[i] for i in idx])
        ds = ArrayDataset(part)
        out.append(ds.batch(batch_size) if batch_size else ds)
    return out[0], out[1]


def _tf_scalar_list(rows: np.ndarray) -> np.ndarray:
    """Keras hands the rows of a 1-D integer array to tf.data as a list of scalars, which
    TensorFlow stores as int32 (int64 when a value does not fit): the same dtype here."""
    if rows.ndim != 1 or rows.dtype.kind not in "iu":
        return rows
    fits = rows.size == 0 or (rows.min() >= -2**31 and rows.max() < 2**31)
    return rows.astype(np.int32 if fits else np.int64)


def _kind(dataset: Any) -> str:
    if isinstance(dataset, ArrayDataset):
        return "dataset"
    for kind, types in (("tuple", (tuple, list)), ("dict", dict), ("array", np.ndarray)):
        if isinstance(dataset, types):
            return kind
    raise TypeError(
        "The `dataset` argument must be a NumPy array, a tuple/list/dict of NumPy arrays "
        f"or an rnnlens ArrayDataset. Received: dataset of type {type(dataset).__name__}"
    )


def _read(dataset: Any, kind: str) -> tuple[Any, int, list | None]:
    """``(structure of arrays, n, None)`` for arrays; ``(None, n, samples)`` for datasets."""
    if kind == "dataset":
        samples = _dataset_samples(dataset)
        return None, len(samples), samples
    if kind == "array":
        if dataset.ndim == 0:
            raise ValueError("Received a 0-d array as dataset; expected samples along axis 0.")
        if len(dataset) == 0:
            raise ValueError("Received an empty dataset. Argument `dataset` must be a "
                             "non-empty array or tuple/list/dict of arrays.")
        return dataset, len(dataset), None
    items = list(dataset.values()) if kind == "dict" else list(dataset)
    what = {"tuple": type(dataset).__name__, "dict": "dict"}[kind]
    if not items:
        raise ValueError(f"Received an empty {what} dataset. Please provide a non-empty "
                         f"{what} of arrays.")
    for i, item in enumerate(items):
        if not isinstance(item, np.ndarray):
            raise ValueError(f"Expected a {what} of `numpy.ndarray` objects, received: "
                             f"{type(item).__name__} at index {i}.")
        if item.ndim == 0:
            raise ValueError(f"Received a 0-d array at index {i} of the {what}; every array "
                             "needs samples along axis 0.")
        if item.shape[0] != items[0].shape[0]:
            raise ValueError(f"Received a {what} of NumPy arrays with different lengths: "
                             f"{items[0].shape[0]} at index 0 and {item.shape[0]} at index "
                             f"{i}. Please provide arrays of the same length.")
    if items[0].shape[0] == 0:
        raise ValueError("Received an empty dataset (arrays of length 0).")
    structure = dict(dataset) if kind == "dict" else tuple(items)
    return structure, items[0].shape[0], None


def _dataset_samples(dataset: ArrayDataset) -> list[Any]:
    if dataset._card == INFINITE_CARDINALITY:
        raise ValueError("Received an infinite dataset (after repeat()); split_dataset needs "
                         "a finite one.")
    source = dataset.unbatch() if dataset._batch_size else dataset
    samples = list(source)
    if not samples:
        raise ValueError("Received an empty dataset. Argument `dataset` must be non-empty.")
    first = samples[0]
    if _nest.is_leaf(first):
        shape = np.shape(first)
        for i, sample in enumerate(samples[1:]):
            if np.shape(sample) != shape:
                raise ValueError(f"All `dataset` samples must have same shape, Expected "
                                 f"shape: {shape} Received shape: {np.shape(sample)} at "
                                 f"index {i}.")
    return samples


def _size_kind(size: Any) -> str | None:
    """'int', 'float', 'none' or None (not a valid size type)."""
    if size is None:
        return "none"
    if isinstance(size, bool):
        return None
    if isinstance(size, (int, np.integer)):
        return "int"
    if isinstance(size, (float, np.floating)):
        return "float"
    return None


def rescale_split_sizes(left_size: Any, right_size: Any, total: int) -> tuple[int, int]:
    """Keras's ``_rescale_dataset_split_sizes``: ``(left, right)`` sample counts."""
    kinds = {"left": _size_kind(left_size), "right": _size_kind(right_size)}
    sizes = {"left": left_size, "right": right_size}
    for side in ("left", "right"):
        if kinds[side] is None:
            raise TypeError(f"Invalid `{side}_size` type. Expected: int or float or None, "
                            f"Received: type({side}_size)={type(sizes[side]).__name__}.")
    if left_size == 0 and right_size == 0:
        raise ValueError("Both `left_size` and `right_size` are zero. At least one of the "
                         "split sizes must be non-zero.")
    for side in ("left", "right"):
        size, kind = sizes[side], kinds[side]
        if (kind == "int" and not 0 < size < total) or (kind == "float" and not 0 < size < 1):
            raise ValueError(f"`{side}_size` should be either a positive integer smaller than "
                             f"{total}, or a float within the range `[0, 1]`. Received: "
                             f"{side}_size={size}")
    if kinds["left"] == kinds["right"] == "float" and left_size + right_size > 1:
        raise ValueError("The sum of `left_size` and `right_size` is greater than 1. It must "
                         "be less than or equal to 1.")
    counts = {}
    for side in ("left", "right"):
        if kinds[side] == "float":
            counts[side] = round(float(sizes[side]) * total)
        elif kinds[side] == "int":
            counts[side] = int(sizes[side])
    counts.setdefault("left", total - counts.get("right", 0))
    counts.setdefault("right", total - counts["left"])
    left, right = counts["left"], counts["right"]
    if left + right > total:
        raise ValueError(f"The sum of `left_size` and `right_size` should be smaller than the "
                         f"{total}. Received: left_size + right_size = {left + right} and "
                         f"total_length = {total}")
    for count, side in ((left, "left"), (right, "right")):
        if count == 0:
            raise ValueError(f"With `dataset` of length={total}, `left_size`={left} and "
                             f"`right_size`={right}. Resulting {side} side dataset split will "
                             "be empty. Adjust any of the aforementioned parameters")
    return left, right
