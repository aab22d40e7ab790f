"""``ArrayDataset``: a re-iterable, finite stream of NumPy elements with tf.data's methods.

The datasets that ``timeseries_dataset_from_array`` and ``split_dataset`` return, and the
small part of ``tf.data.Dataset`` that Keras examples call on them. An element is an array,
or a tuple / dict of arrays (``(inputs, targets)``); a batched dataset yields batches.
Each ``for batch in ds`` is one pass (an epoch): a shuffled dataset reshuffles every pass,
as tf.data does with ``reshuffle_each_iteration=True``. ``len(ds)`` is the number of
elements (batches) in a pass, so ``Model.fit(ds)`` sees a plain iterable of
``(x, y)`` / ``(x, y, sample_weight)`` tuples with a length.

Two kinds of pipelines, one behaviour:

* *indexed* (arrays sliced by ``ArrayDataset(data)``, timeseries windows): a pass draws
  the order of the source elements (identity, or a permutation), keeps the positions
  ``[lo, hi)`` and gathers each batch with one NumPy fancy-index. ``take``/``skip``/
  ``batch`` only move ``lo``/``hi``/``batch_size``: nothing is computed for skipped
  batches.
* *streamed* (after ``map``, ``filter``, ``unbatch``, ``repeat``, ...): a generator over
  the parent's elements, in the order tf.data would produce them.

``cardinality()`` follows tf.data: the number of elements, ``INFINITE_CARDINALITY`` (-1)
after ``repeat()``, ``UNKNOWN_CARDINALITY`` (-2) after ``filter`` or an ``unbatch`` whose
batch dimension is not static; ``len`` raises ``TypeError`` for the last two, as tf.data
does. rnnlens tracks static leading dimensions as tf.data does (``batch(b,
drop_remainder=True)`` makes ``b`` static, slicing an array keeps its row shape) except
through ``map``, whose output shapes it cannot know before running it: an ``unbatch``
after a ``map`` has an unknown length here even where TensorFlow infers one.

Shuffling with a shuffle buffer of size ``s`` (tf.data's algorithm): fill a buffer with the
next ``s`` elements; repeatedly emit a uniformly chosen buffered element and put the next
input element in its slot. ``s >= n`` is a uniform permutation. The random numbers are
NumPy's, so orders differ from TensorFlow's; a ``seed`` makes the sequence of per-pass
orders reproducible, and without one the global rnnlens generator (``set_random_seed``)
is used.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable, Iterator

import numpy as np

from rnnlens.random import generator
from rnnlens.utils import _nest

UNKNOWN_CARDINALITY = -2
INFINITE_CARDINALITY = -1


class Cardinality(int):
    """An ``int`` with ``.numpy()``, so ``ds.cardinality().numpy()`` works as in tf.data."""

    def numpy(self) -> np.int64:
        return np.int64(self)


# ---------------------------------------------------------------------------- checks
def check_int(value: Any, name: str, minimum: int | None = None) -> int:
    """``value`` as an int (bools and floats refused) that is ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"Received {name}={value!r} of type {type(value).__name__}, "
                        "expected an int.")
    if minimum is not None and value < minimum:
        raise ValueError(f"Received {name}={value}, expected an int >= {minimum}.")
    return int(value)


def as_array(x: Any, name: str = "data") -> np.ndarray:
    """``x`` as tf.data would hold it: NumPy arrays keep their dtype; Python floats become
    float32 and Python ints int32 (int64 when they do not fit), as ``tf.constant``."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "numpy") and not isinstance(x, np.generic):
        return np.asarray(x.numpy())
    try:
        arr = np.asarray(x)
    except ValueError as exc:
        raise ValueError(f"Could not turn {name} into an array ({exc}); its rows must have "
                         "one shape (use a tuple for several arrays).") from None
    if isinstance(x, np.generic):
        return arr
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if arr.dtype == np.int64 and (arr.size == 0 or (arr.min() >= -2**31 and arr.max() < 2**31)):
        return arr.astype(np.int32)
    if arr.dtype.kind == "O":
        raise TypeError(f"Received {name} holding Python objects ({type(x).__name__}); "
                        "expected numbers or strings with one shape.")
    return arr


def _arrays(data: Any, name: str) -> Any:
    """The structure of ``data`` (tuples and dicts) with array leaves; lists are arrays."""
    if isinstance(data, dict):
        if not data:
            raise ValueError(f"Received an empty dict as {name}; expected arrays.")
        return {k: _arrays(v, f"{name}[{k!r}]") for k, v in data.items()}
    if isinstance(data, tuple):
        if not data:
            raise ValueError(f"Received an empty tuple as {name}; expected arrays.")
        return tuple(_arrays(v, f"{name}[{i}]") for i, v in enumerate(data))
    if data is None:
        raise TypeError(f"Received {name}=None, expected an array.")
    return as_array(data, name)


# ---------------------------------------------------------------------------- sources
class SliceSource:
    """Elements ``i`` of a structure of arrays sharing axis 0 (``from_tensor_slices``)."""

    def __init__(self, data: Any, name: str = "data") -> None:
        self.structure = _arrays(data, name)
        leaves = _nest.flatten(self.structure)
        if any(a.ndim == 0 for a in leaves):
            raise ValueError(f"Every array of {name} needs a leading axis to slice; "
                             "received a 0-d array.")
        sizes = {a.shape[0] for a in leaves}
        if len(sizes) > 1:
            raise ValueError(f"The arrays of {name} have different lengths {sorted(sizes)}; "
                             "expected one number of samples along axis 0.")
        self.n = sizes.pop()
        self.lead = static_lead([a.shape[1:] for a in leaves])

    def gather(self, sel: slice | np.ndarray) -> Any:
        return _nest.map_structure(lambda a: np.array(a[sel]), self.structure)

    def element(self, i: int) -> Any:
        return _nest.map_structure(lambda a: np.array(a[i]), self.structure)


def static_lead(shapes: list[tuple[int, ...]]) -> tuple[int | None, ...]:
    """The leading dimensions all ``shapes`` share (None where they differ), up to the
    smallest rank: what tf.data knows statically about an element, for ``unbatch``."""
    if not shapes:
        return ()
    rank = min(len(s) for s in shapes)
    return tuple(shapes[0][k] if len({s[k] for s in shapes}) == 1 else None
                 for k in range(rank))


def buffer_shuffle(n: int, buffer_size: int, rng: np.random.Generator) -> np.ndarray:
    """The order in which a shuffle buffer of ``buffer_size`` emits ``n`` inputs."""
    if buffer_size >= n:
        return rng.permutation(n)
    out = np.empty(n, dtype=np.int64)
    buf = list(range(buffer_size))
    nxt = buffer_size
    draws = rng.random(n)
    for k in range(n):
        j = int(draws[k] * len(buf))
        out[k] = buf[j]
        if nxt < n:
            buf[j] = nxt
            nxt += 1
        else:
            buf[j] = buf[-1]
            buf.pop()
    return out


class _Shuffler:
    """Per-pass random orders: a new one each pass, or the same one every pass."""

    def __init__(self, buffer_size: int, seed: int | None, reshuffle: bool) -> None:
        self.buffer_size = buffer_size
        self.seed = seed
        self.reshuffle = reshuffle
        if seed is None:
            self.seed = int(generator(None).integers(2**31))
        self.rng = np.random.default_rng(self.seed)

    def pass_rng(self) -> np.random.Generator:
        return self.rng if self.reshuffle else np.random.default_rng(self.seed)

    def order(self, n: int) -> np.ndarray:
        return buffer_shuffle(n, self.buffer_size, self.pass_rng())


class _Plan:
    """An indexed pipeline: source order per pass, positions ``[lo, hi)``, batches."""

    def __init__(self, source: Any, shuffler: _Shuffler | None = None, lo: int = 0,
                 hi: int | None = None, batch_size: int | None = None,
                 drop_remainder: bool = False) -> None:
        self.source = source
        self.shuffler = shuffler
        self.lo = lo
        self.hi = source.n if hi is None else min(hi, source.n)
        self.batch_size = batch_size
        self.drop_remainder = drop_remainder

    def replace(self, **changes: Any) -> _Plan:
        fields = dict(source=self.source, shuffler=self.shuffler, lo=self.lo, hi=self.hi,
                      batch_size=self.batch_size, drop_remainder=self.drop_remainder)
        fields.update(changes)
        return _Plan(**fields)

    def cardinality(self) -> int:
        n = max(self.hi - self.lo, 0)
        b = self.batch_size
        if b is None:
            return n
        return n // b if self.drop_remainder else -(-n // b)

    def __iter__(self) -> Iterator[Any]:
        order = None if self.shuffler is None else self.shuffler.order(self.source.n)
        b = self.batch_size
        if b is None:
            for k in range(self.lo, max(self.hi, self.lo)):
                yield self.source.element(k if order is None else int(order[k]))
            return
        for j in range(self.cardinality()):
            start = self.lo + j * b
            stop = min(start + b, self.hi)
            sel = slice(start, stop) if order is None else order[start:stop]
            yield self.source.gather(sel)


# ---------------------------------------------------------------------------- dataset
class ArrayDataset:
    """A dataset of NumPy arrays with tf.data's ``take``/``skip``/``map``/``batch``/...

    ``ArrayDataset(data, batch_size=None, shuffle=False, seed=None, drop_remainder=False)``
    slices ``data`` (an array, or a tuple / dict of arrays with one length) along axis 0
    like ``tf.data.Dataset.from_tensor_slices``: element ``i`` is ``data[i]`` with the same
    nesting. A list is one array, as in tf.data (pass a tuple for ``(x, y)``). With
    ``batch_size`` it yields batches of that many elements (the last one smaller unless
    ``drop_remainder``); ``shuffle=True`` draws a new uniform order every pass.

    Example:

    >>> ds = ArrayDataset((np.arange(10.0), np.arange(10) % 2)).shuffle(10).batch(4)
    >>> len(ds), [x.shape for x, y in ds]
    (3, [(4,), (4,), (2,)])
    """

    def __init__(self, data: Any, batch_size: int | None = None, shuffle: bool = False,
                 seed: int | None = None, drop_remainder: bool = False) -> None:
        source = SliceSource(data)
        if batch_size is not None:
            check_int(batch_size, "batch_size", 1)
        shuffler = _Shuffler(max(source.n, 1), _seed(seed), True) if shuffle else None
        lead = source.lead
        if batch_size is not None:
            lead = (batch_size if drop_remainder else None, *lead)
        self._init(_Plan(source, shuffler, batch_size=batch_size,
                         drop_remainder=bool(drop_remainder)), batch_size=batch_size, lead=lead)

    @classmethod
    def from_tensor_slices(cls, tensors: Any) -> ArrayDataset:
        """Like ``tf.data.Dataset.from_tensor_slices``: one element per row."""
        return cls(tensors)

    # ------------------------------------------------------------------ construction
    def _init(self, plan: _Plan | None = None,
              stream: Callable[[], Iterator[Any]] | None = None, card: int = 0,
              batch_size: int | None = None, lead: tuple = ()) -> None:
        self._plan = plan
        self._stream = stream
        self._card = plan.cardinality() if plan is not None else card
        self._batch_size = batch_size   # set only when the last step batched (tf.data's)
        self._lead = lead               # static leading dims of every array of an element

    @classmethod
    def _from_plan(cls, plan: _Plan, batch_size: int | None = None, lead: tuple = ()
                   ) -> ArrayDataset:
        ds = cls.__new__(cls)
        ds._init(plan=plan, batch_size=batch_size, lead=lead)
        return ds

    @classmethod
    def _from_stream(cls, stream: Callable[[], Iterator[Any]], card: int,
                     batch_size: int | None = None, lead: tuple = ()) -> ArrayDataset:
        ds = cls.__new__(cls)
        ds._init(stream=stream, card=card, batch_size=batch_size, lead=lead)
        return ds

    # ------------------------------------------------------------------ iteration
    def __iter__(self) -> Iterator[Any]:
        """The elements, with arrays as ``rnnlens.tensor.Tensor`` (``x.numpy()`` works)."""
        from rnnlens.tensor import as_tensor

        return map(as_tensor, self._elements())

    def _elements(self) -> Iterator[Any]:
        if self._plan is not None:
            return iter(self._plan)
        return iter(self._stream())

    def as_numpy_iterator(self) -> Iterator[Any]:
        """An iterator over the elements as plain NumPy arrays."""
        return self._elements()

    def cardinality(self) -> Cardinality:
        """Elements per pass, or -1 (infinite) / -2 (unknown) as tf.data."""
        return Cardinality(self._card)

    def __len__(self) -> int:
        if self._card == INFINITE_CARDINALITY:
            raise TypeError("The dataset is infinite.")
        if self._card == UNKNOWN_CARDINALITY:
            raise TypeError("The dataset length is unknown.")
        return self._card

    def __repr__(self) -> str:
        batch = f", batch_size={self._batch_size}" if self._batch_size else ""
        return f"<ArrayDataset cardinality={self._card}{batch}>"

    # ------------------------------------------------------------------ tf.data methods
    def take(self, count: int, name: str | None = None) -> ArrayDataset:
        """The first ``count`` elements (all of them for ``count < 0``)."""
        count = check_int(count, "count")
        if count < 0:
            return self._from_stream(self.__iter__, self._card, lead=self._lead) \
                if self._plan is None else self._from_plan(self._plan, lead=self._lead)
        if self._plan is not None:
            step = self._plan.batch_size or 1
            return self._from_plan(self._plan.replace(
                hi=min(self._plan.hi, self._plan.lo + count * step)), lead=self._lead)
        card = self._card if self._card == UNKNOWN_CARDINALITY else (
            count if self._card == INFINITE_CARDINALITY else min(self._card, count))
        return self._from_stream(lambda: itertools.islice(self, count), card, lead=self._lead)

    def skip(self, count: int, name: str | None = None) -> ArrayDataset:
        """All but the first ``count`` elements (none for ``count < 0``)."""
        count = check_int(count, "count")
        if self._plan is not None:
            step = self._plan.batch_size or 1
            lo = self._plan.hi if count < 0 else self._plan.lo + count * step
            return self._from_plan(self._plan.replace(lo=min(lo, self._plan.hi)),
                                   lead=self._lead)
        if count < 0:       # no elements; tf.data's cardinality: known -> 0, -1/-2 stay
            card = 0 if self._card >= 0 else self._card
            return self._from_stream(lambda: iter(()), card, lead=self._lead)
        card = self._card if self._card < 0 else max(self._card - count, 0)
        return self._from_stream(lambda: itertools.islice(self, count, None), card,
                                 lead=self._lead)

    def map(self, map_func: Callable[..., Any], num_parallel_calls: Any = None,
            deterministic: Any = None, name: str | None = None) -> ArrayDataset:
        """``map_func`` on each element (a tuple element is passed as positional arguments,
        as tf.data does); runs in order in this process."""
        if not callable(map_func):
            raise TypeError(f"Received map_func={map_func!r}, expected a callable.")

        def stream() -> Iterator[Any]:
            for element in self:
                yield _nest.as_elements(_call(map_func, element))

        return self._from_stream(stream, self._card)

    def filter(self, predicate: Callable[..., Any], name: str | None = None) -> ArrayDataset:
        """The elements for which ``predicate`` (called as ``map_func``) is true."""
        if not callable(predicate):
            raise TypeError(f"Received predicate={predicate!r}, expected a callable.")

        def stream() -> Iterator[Any]:
            for element in self:
                keep = np.asarray(_call(predicate, element))
                if keep.shape != () or keep.dtype != np.bool_:
                    raise TypeError("filter's predicate must return a scalar bool; received "
                                    f"dtype {keep.dtype} and shape {keep.shape}.")
                if keep:
                    yield element

        card = self._card if self._card == INFINITE_CARDINALITY else UNKNOWN_CARDINALITY
        return self._from_stream(stream, card, lead=self._lead)

    def batch(self, batch_size: int, drop_remainder: bool = False,
              num_parallel_calls: Any = None, deterministic: Any = None,
              name: str | None = None) -> ArrayDataset:
        """Consecutive elements stacked into batches of ``batch_size`` (the last one
        smaller unless ``drop_remainder``)."""
        b = check_int(batch_size, "batch_size", 1)
        drop = bool(drop_remainder)
        plan = self._plan
        lead = (b if drop else None, *self._lead)
        if plan is not None and plan.batch_size is None:
            return self._from_plan(plan.replace(batch_size=b, drop_remainder=drop), b, lead)

        def stream() -> Iterator[Any]:
            it = iter(self)
            while True:
                chunk = list(itertools.islice(it, b))
                if not chunk or (drop and len(chunk) < b):
                    return
                yield _nest.stack(chunk)

        card = self._card
        if card >= 0:
            card = card // b if drop else -(-card // b)
        return self._from_stream(stream, card, b, lead)

    def unbatch(self, name: str | None = None) -> ArrayDataset:
        """Split every element along axis 0 into its rows (length unknown, as tf.data)."""

        def stream() -> Iterator[Any]:
            for element in self:
                yield from _nest.unstack(element)

        card, lead = self._card, self._lead
        if card != INFINITE_CARDINALITY:
            known = bool(lead) and lead[0] is not None and card >= 0
            card = card * lead[0] if known else UNKNOWN_CARDINALITY
        return self._from_stream(stream, card, lead=lead[1:])

    def shuffle(self, buffer_size: int, seed: int | None = None,
                reshuffle_each_iteration: bool = True, name: str | None = None
                ) -> ArrayDataset:
        """Elements in a random order drawn through a buffer of ``buffer_size``."""
        size = check_int(buffer_size, "buffer_size", 1)
        shuffler = _Shuffler(size, _seed(seed), bool(reshuffle_each_iteration))
        plan = self._plan
        if plan is not None and plan.batch_size is None and plan.shuffler is None \
                and plan.lo == 0 and plan.hi == plan.source.n:
            return self._from_plan(plan.replace(shuffler=shuffler), lead=self._lead)

        def stream() -> Iterator[Any]:
            rng = shuffler.pass_rng()
            buf: list[Any] = []
            for element in self:
                if len(buf) < size:
                    buf.append(element)
                    continue
                j = int(rng.random() * size)
                yield buf[j]
                buf[j] = element
            while buf:
                j = int(rng.random() * len(buf))
                yield buf[j]
                buf[j] = buf[-1]
                buf.pop()

        return self._from_stream(stream, self._card, lead=self._lead)

    def repeat(self, count: int | None = None, name: str | None = None) -> ArrayDataset:
        """``count`` passes in a row (forever for ``None``/-1); each pass reshuffles."""
        n = -1 if count is None else check_int(count, "count", -1)

        def stream() -> Iterator[Any]:
            for _ in (itertools.count() if n < 0 else range(n)):
                empty = True
                for element in self:
                    empty = False
                    yield element
                if empty:       # tf.data stops instead of spinning on an empty input
                    return

        card = self._card
        if n < 0:
            card = 0 if card == 0 else INFINITE_CARDINALITY
        elif card >= 0 or n == 0:
            card = max(card, 0) * n
        return self._from_stream(stream, card, lead=self._lead)

    def enumerate(self, start: int = 0, name: str | None = None) -> ArrayDataset:
        """``(index, element)`` pairs, the index an int64 scalar from ``start``."""
        start = check_int(start, "start")

        def stream() -> Iterator[Any]:
            for i, element in enumerate(self, start):
                yield np.asarray(i, dtype=np.int64), element

        return self._from_stream(stream, self._card)

    def concatenate(self, dataset: ArrayDataset, name: str | None = None) -> ArrayDataset:
        """This dataset's elements followed by ``dataset``'s."""
        if not isinstance(dataset, ArrayDataset):
            raise TypeError(f"Received {type(dataset).__name__}, expected an ArrayDataset.")
        a, b = self._card, dataset._card
        if INFINITE_CARDINALITY in (a, b):
            card = INFINITE_CARDINALITY
        elif UNKNOWN_CARDINALITY in (a, b):
            card = UNKNOWN_CARDINALITY
        else:
            card = a + b
        lead = self._lead if self._lead == dataset._lead else ()
        return self._from_stream(lambda: itertools.chain(self, dataset), card, lead=lead)

    @staticmethod
    def zip(*datasets: Any, name: str | None = None) -> ArrayDataset:
        """Elements of several datasets side by side: ``zip(a, b)`` or ``zip((a, b))``
        yields ``(a_i, b_i)``; ``zip({"x": a, "y": b})`` yields dicts."""
        nested = datasets[0] if len(datasets) == 1 and isinstance(
            datasets[0], (tuple, list, dict)) else datasets
        members = _nest.flatten(nested)
        if not members or not all(isinstance(d, ArrayDataset) for d in members):
            raise TypeError("ArrayDataset.zip expects ArrayDatasets (or a tuple/dict of them).")
        cards = [d._card for d in members]
        finite = [c for c in cards if c >= 0]
        if finite:
            card = min(finite) if UNKNOWN_CARDINALITY not in cards else UNKNOWN_CARDINALITY
        else:
            card = min(cards)

        def stream() -> Iterator[Any]:
            for items in zip(*members):
                yield _nest.pack_as(nested, items)

        return ArrayDataset._from_stream(stream, card)

    def prefetch(self, buffer_size: Any = None, name: str | None = None) -> ArrayDataset:
        """No-op (rnnlens computes each batch when it is asked for)."""
        return self

    def cache(self, filename: str = "", name: str | None = None) -> ArrayDataset:
        """No-op: the arrays are in memory already. (Unlike tf.data's ``cache``, a shuffle
        before it still reshuffles every pass.)"""
        return self


def _call(fn: Callable[..., Any], element: Any) -> Any:
    return fn(*element) if isinstance(element, tuple) else fn(element)


def _seed(seed: Any) -> int | None:
    return None if seed is None else check_int(seed, "seed")
