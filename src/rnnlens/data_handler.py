"""The user's ``fit`` / ``evaluate`` / ``predict`` arguments, checked and standardized.

Arguments get Keras's meaning or a ``ValueError`` / ``TypeError`` naming the argument
and the fix (where Keras would fail deep inside, loop forever or train on nonsense:
``batch_size=0`` / ``-2`` / ``1.5``, ``epochs=1.5``, ``x=None``, a scalar ``x``, ...).

Data is brought to flat lists aligned with the model: ``xs`` (one array per input, as
``model(x)`` takes them), ``ys`` (one target per output, ``None`` where there is none)
and ``sws`` (one sample-weight array per output or ``None``). Keras's rules:

* One ``sample_weight`` array with several outputs applies to every output and must be
  per sample (``(N,)`` or ``(N, 1)``); otherwise pass one array per output (a list in
  output order or a dict by output name).
* ``class_weight`` (a dict ``{class: weight}``) becomes per-sample weights from the
  targets; it needs a single-output model, no ``sample_weight``, and one class per
  sample (not a sequence output).
* Every array has the same number of samples (Keras's "Data cardinality is
  ambiguous" with the sizes otherwise).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from rnnlens import data_adapter as da


# ---------------------------------------------------------------------------- arguments
def check_int(name: str, value: Any, low: int, allow_none: bool = True) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"Received {name}={value!r} of type {type(value).__name__}, "
                        f"expected an int >= {low}" + (" or None." if allow_none else "."))
    if value < low:
        raise ValueError(f"Received {name}={value!r}, expected an int >= {low}"
                         + (" (or None for the default)." if allow_none else "."))


def check_fit_args(epochs: Any, batch_size: Any, initial_epoch: Any, steps_per_epoch: Any,
                   validation_steps: Any, validation_batch_size: Any, validation_split: Any,
                   validation_freq: Any, shuffle: Any) -> None:
    check_int("epochs", epochs, 0, allow_none=False)
    check_int("initial_epoch", initial_epoch, 0, allow_none=False)
    check_int("batch_size", batch_size, 1)
    check_int("steps_per_epoch", steps_per_epoch, 1)
    check_int("validation_steps", validation_steps, 1)
    check_int("validation_batch_size", validation_batch_size, 1)
    if isinstance(validation_split, bool) or not isinstance(
            validation_split, (int, float, np.number)) or not 0 <= validation_split < 1:
        raise ValueError(f"Received validation_split={validation_split!r}, expected a float "
                         "in [0, 1): the fraction of the data kept for validation.")
    if isinstance(validation_freq, list):
        for v in validation_freq:
            check_int("validation_freq item", v, 1, allow_none=False)
    elif isinstance(validation_freq, bool) or not isinstance(validation_freq, (int, np.integer)):
        raise ValueError("Expected `validation_freq` to be a list or int. Received: "
                         f"validation_freq={validation_freq} of the type "
                         f"{type(validation_freq)}.")
    elif validation_freq < 1:
        raise ValueError(f"Received validation_freq={validation_freq}, expected an int >= 1 "
                         "(validate every that many epochs) or a list of epochs.")
    if shuffle not in (True, False, "batch"):
        raise ValueError(f"Received shuffle={shuffle!r}, expected True, False or 'batch'.")


# ---------------------------------------------------------------------------- arrays
def _numeric(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"Received {name} that is not a rectangular array ({e}); pass a "
                         "NumPy array.") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"Received {name} of dtype {arr.dtype}, expected numbers.")
    if arr.ndim == 0:
        raise ValueError(f"Received a scalar {name}; pass an array with one entry per "
                         "sample (batch axis first).")
    return arr


def standardize_x(model: Any, x: Any, what: str) -> list[np.ndarray]:
    if x is None:
        raise ValueError(f"{what} received x=None: pass the input data (an array, a list "
                         "or dict of arrays, a generator or a PyDataset).")
    if np.isscalar(x) or (isinstance(x, np.ndarray) and x.ndim == 0):
        raise ValueError(f"{what} received a scalar input x={x!r}; pass an array with a batch "
                         "axis first, e.g. np.array([[...]]).")
    model._ensure_graph(x)
    xs = model._standardize(x, f"{what} input")
    model._check_inputs(xs)
    return xs


def standardize_y(model: Any, y: Any, what: str) -> list[Any] | None:
    if y is None:
        return None
    names = [t.layer.name for t in model.outputs]
    n = len(names)
    if isinstance(y, dict):
        unknown = sorted(set(y) - set(names))
        if unknown:
            raise ValueError(f"{what} received targets for unknown outputs {unknown}; the "
                             f"model's outputs are {names}.")
        items = [y.get(name) for name in names]
    elif n == 1:
        single = isinstance(y, (list, tuple)) and len(y) == 1 and isinstance(y[0], np.ndarray)
        items = [y[0] if single else y]
    elif not isinstance(y, (list, tuple)) or len(y) != n:
        got = len(y) if isinstance(y, (list, tuple)) else "one array"
        raise ValueError(f"Model '{model.name}' has {n} outputs {names}; {what} received "
                         f"{got} as y. Pass a list of {n} targets (None for an output "
                         "without a loss) or a dict by output name.")
    else:
        items = list(y)
    return [None if v is None else _numeric(v, f"y for output '{names[k]}'")
            for k, v in enumerate(items)]


def standardize_sw(model: Any, sw: Any, what: str) -> list[Any] | None:
    if sw is None:
        return None
    names = [t.layer.name for t in model.outputs]
    if isinstance(sw, dict):
        unknown = sorted(set(sw) - set(names))
        if unknown:
            raise ValueError(f"{what} received sample weights for unknown outputs {unknown}; "
                             f"the model's outputs are {names}.")
        items = [sw.get(name) for name in names]
    elif isinstance(sw, (list, tuple)) and len(names) > 1 and len(sw) > 0 and all(
            v is None or np.ndim(v) >= 1 for v in sw) and not _is_flat_numbers(sw):
        if len(sw) != len(names):
            raise ValueError("You should provide one `sample_weight` array per output in "
                             f"`y`. The two structures did not match: {len(names)} outputs "
                             f"{names}, {len(sw)} sample_weight arrays.")
        items = list(sw)
    else:
        arr = _numeric(sw, "sample_weight")
        if len(names) > 1 and not (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] == 1)):
            raise ValueError("For a model with multiple outputs, when providing a single "
                             "`sample_weight` array, it should only have one scalar score "
                             "per sample (i.e. shape `(num_samples,)`). If you want to use "
                             "non-scalar sample weights, pass a `sample_weight` argument "
                             "with one array per model output.")
        items = [arr] * len(names)
    return [None if v is None else _numeric(v, "sample_weight").astype(np.float32, copy=False)
            for v in items]


def _is_flat_numbers(items: Any) -> bool:
    return all(np.isscalar(v) for v in items)


def check_cardinality(xs: list, ys: list | None, sws: list | None) -> int:
    """Keras's ``check_data_cardinality``; returns the number of samples."""
    parts = [("x", xs), ("y", ys or []), ("sample_weight", sws or [])]
    sizes = {int(a.shape[0]) for _, part in parts for a in part if a is not None}
    if len(sizes) > 1:
        msg = ("Data cardinality is ambiguous. Make sure all arrays contain the same number "
               "of samples.")
        for label, part in parts:
            shown = [str(a.shape[0]) for a in part if a is not None]
            if shown:
                msg += f"'{label}' sizes: {', '.join(shown)}\n"
        raise ValueError(msg)
    n = sizes.pop()
    if n == 0:
        raise ValueError("Received data with 0 samples; pass at least one sample.")
    return n


def standardize_batch(model: Any, batch: Any, what: str) -> tuple:
    """One batch ``(x, y, sw)`` (from a generator / PyDataset) as flat lists."""
    x, y, sw = da.unpack_x_y_sample_weight(batch)
    xs = standardize_x(model, x, what)
    ys = standardize_y(model, y, what)
    sws = standardize_sw(model, sw, what)
    check_cardinality(xs, ys, sws)
    return xs, ys, sws


# ---------------------------------------------------------------------------- adapters
def make_adapter(model: Any, x: Any, y: Any, sample_weight: Any, batch_size: Any,
                 steps: Any, shuffle: Any, class_weight: Any, what: str) -> da.DataAdapter:
    """Keras's ``get_data_adapter`` for rnnlens's data forms."""
    da.check_class_weight(class_weight)
    if da.is_array_data(x):
        return _array_adapter(model, x, y, sample_weight, batch_size, steps, shuffle,
                              class_weight, what)
    kind = da.describe(x)
    if y is not None:
        da.raise_unsupported_arg("y", "the targets", kind)
    if sample_weight is not None:
        da.raise_unsupported_arg("sample_weights", "the sample weights", kind)
    if kind == "PyDataset":
        adapter = da.PyDatasetAdapter(x, class_weight, shuffle)
        if adapter.num_batches is None and shuffle:
            warnings.warn("`shuffle=True` was passed, but will be ignored since the data `x` "
                          "was provided as an infinite PyDataset. The PyDataset is expected "
                          "to already be shuffled.", stacklevel=4)
        return adapter
    if shuffle:
        warnings.warn(_ignored_shuffle(x, kind), stacklevel=4)
    if class_weight is not None:
        raise ValueError("Argument `class_weight` is not supported for Python generator "
                         f"inputs. Received: class_weight={class_weight}")
    return da.GeneratorAdapter(x)


def _ignored_shuffle(x: Any, kind: str) -> str:
    """Keras's warning for ``shuffle=True`` (``fit``'s default) with data that yields its
    own batches: a generator, or a dataset (worded as Keras's for a ``tf.data.Dataset``)."""
    from rnnlens.utils.dataset import ArrayDataset  # noqa: PLC0415

    start = "`shuffle=True` was passed, but will be ignored since the data `x` was provided as"
    if isinstance(x, ArrayDataset):
        return (f"{start} an ArrayDataset (rnnlens's tf.data.Dataset). The dataset is "
                "expected to already be shuffled (via `.shuffle(buffer_size)`).")
    what = "a generator" if kind == "generator" else "an iterable"
    return f"{start} {what}. The {kind} is expected to yield already-shuffled data."


def _array_adapter(model: Any, x: Any, y: Any, sample_weight: Any, batch_size: Any,
                   steps: Any, shuffle: Any, class_weight: Any, what: str) -> da.DataAdapter:
    xs = standardize_x(model, x, what)
    ys = standardize_y(model, y, what)
    if sample_weight is not None and class_weight is not None:
        raise ValueError("You cannot `class_weight` and `sample_weight` at the same time.")
    sws = standardize_sw(model, sample_weight, what)
    if class_weight is not None:
        if len(model.outputs) > 1:
            raise ValueError("`class_weight` is only supported for Models with a single "
                             "output.")
        if ys is None or ys[0] is None:
            raise ValueError("class_weight needs the targets y to find each sample's class.")
        sws = [da.class_weight_to_sample_weights(ys[0], class_weight)]
    n = check_cardinality(xs, ys, sws)
    return da.ArrayAdapter((xs, ys, sws), n, batch_size, steps, shuffle)


def train_validation_split(x: Any, y: Any, sw: Any, validation_split: float) -> tuple:
    """Keras's split: the last ``validation_split`` of the samples validate."""
    for item in (x, y, sw):
        if item is not None and not da.is_array_data(item):
            raise ValueError("Argument `validation_split` is only supported for tensors or "
                             "NumPy arrays.Found incompatible type in the input: "
                             f"[{type(item)}]")
    first = next((a for a in _leaves(x) if a is not None), None)
    if first is None:
        return (x, y, sw), (x, y, sw)
    n = int(np.shape(first)[0]) if np.ndim(first) else 0
    split_at = int(math.floor(n * (1.0 - validation_split)))
    if split_at in (0, n):
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to "
                         "split it into a validation and training set as specified by "
                         f"`validation_split={validation_split}`. Either provide more data, "
                         "or a different value for the `validation_split` argument.")

    def cut(data: Any, part: slice) -> Any:
        if data is None:
            return None
        if isinstance(data, dict):
            return {k: cut(v, part) for k, v in data.items()}
        if isinstance(data, (list, tuple)) and data and all(
                v is None or isinstance(v, np.ndarray) for v in data):
            return [cut(v, part) for v in data]
        return np.asarray(data)[part]

    train, val = slice(0, split_at), slice(split_at, n)
    return (cut(x, train), cut(y, train), cut(sw, train)), (cut(x, val), cut(y, val),
                                                            cut(sw, val))


def _leaves(data: Any) -> list:
    if isinstance(data, dict):
        return [v for item in data.values() for v in _leaves(item)]
    if isinstance(data, (list, tuple)) and data and all(
            v is None or isinstance(v, np.ndarray) for v in data):
        return list(data)
    return [data]


def peek_x(adapter: da.DataAdapter) -> Any:
    """An input batch for building a Sequential model from data."""
    if isinstance(adapter, da.GeneratorAdapter):
        return da.unpack_x_y_sample_weight(adapter.first[0])[0]
    if isinstance(adapter, da.PyDatasetAdapter):
        return da.unpack_x_y_sample_weight(adapter._standardize(adapter.dataset[0]))[0]
    return None
