"""Checking weight lists given to ``set_weights`` (count, shapes, numbers)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from rnnlens.backend import FLOATX



def as_list(weights: Any, owner: str) -> list:
    """``weights`` as a list, or a TypeError naming what was received."""
    if isinstance(weights, np.ndarray) or not isinstance(weights, (list, tuple)):
        raise TypeError(
            f"set_weights of '{owner}' expects a list of arrays (as get_weights() returns), "
            f"received {type(weights).__name__}."
        )
    return list(weights)


def checked(weights: Any, names: Sequence[str], shapes: Sequence[tuple], owner: str
            ) -> list[np.ndarray]:
    """Float32 copies of ``weights`` after checking their count and shapes."""
    weights = as_list(weights, owner)
    if len(weights) != len(shapes):
        listing = ", ".join(f"{n} {tuple(s)}" for n, s in zip(names, shapes))
        raise ValueError(f"Layer '{owner}' expects {len(shapes)} weights ({listing}), "
                         f"but received {len(weights)}.")
    out = []
    for name, shape, w in zip(names, shapes, weights):
        try:
            arr = np.array(w, dtype=FLOATX, copy=True)
        except (TypeError, ValueError):
            raise TypeError(f"Layer '{owner}' weight '{name}' must be numeric, received "
                            f"{type(w).__name__}.") from None
        if arr.shape != tuple(shape):
            raise ValueError(f"Layer '{owner}' weight '{name}' has shape {tuple(shape)}, "
                             f"received an array of shape {arr.shape}.")
        out.append(arr)
    return out


class RowGradient(np.ndarray):
    """The dense gradient of an embedding table, keeping its per-occurrence rows.

    TensorFlow hands Keras an embedding's gradient as ``IndexedSlices``: one row
    per occurrence of an id in the batch. Keras's optimizers then square (Adam,
    RMSprop), clip and measure norms row by row *before* summing duplicates, so
    an id used twice contributes ``g1**2 + g2**2``, not ``(g1 + g2)**2``. This
    array is the summed dense gradient (what every dense use sees) and carries
    ``rows`` (n,) and ``values`` (n, D) for the optimizers to do the same.
    """

    rows: np.ndarray | None = None
    values: np.ndarray | None = None

    @staticmethod
    def of(dense: np.ndarray, rows: np.ndarray, values: np.ndarray) -> "RowGradient":
        out = np.asarray(dense).view(RowGradient)
        out.rows, out.values = rows, values
        return out

    @staticmethod
    def from_rows(shape: tuple, rows: np.ndarray, values: np.ndarray) -> "RowGradient":
        dense = np.zeros(shape, values.dtype)
        np.add.at(dense, rows, values)
        return RowGradient.of(dense, rows, values)


# -- the weight registry: add_weight, as Keras layers create their weights -----------

#: A single weight larger than this is refused with a clear error instead of an
#: out-of-memory failure deep inside NumPy (e.g. ``LSTM(2**40)``).
MAX_WEIGHT_BYTES = 1 << 34


class Weight:
    """One weight of a layer: its array and what Keras attaches to the variable.

    Attributes:
        name: Keras's variable name (``kernel``, ``bias``, ``moving_mean``, ...).
        value: the float array itself; layers read it, optimizers update it in place.
        trainable: whether the optimizer updates it (Keras's ``variable.trainable``).
        created_trainable: the flag at creation, which fixes Keras's variable order.
        regularizer: penalty added to the training loss, or None.
        constraint: projection applied after every optimizer update, or None.
    """

    __slots__ = ("name", "value", "trainable", "created_trainable", "regularizer",
                 "constraint", "owner")

    def __init__(self, name: str, value: np.ndarray, trainable: bool, regularizer: Any,
                 constraint: Any, owner: Any = None):
        self.name, self.value, self.owner = name, value, owner
        self.trainable = self.created_trainable = bool(trainable)
        self.regularizer, self.constraint = regularizer, constraint

    def __repr__(self) -> str:
        return f"<Weight {self.name} shape={self.value.shape} trainable={self.trainable}>"


class _Budget:
    """While a model file is built, every ``add_weight`` is counted here first.

    The file's weights replace the zeros allocated meanwhile, so no initializer
    runs and no config, however it states or omits its shapes, can allocate
    more than ``limit`` values in all.
    """

    def __init__(self, limit: int, refuse: Any, zeros: bool = True):
        self.limit, self.refuse, self.used = int(limit), refuse, 0
        self.zeros = zeros          # False: count, then initialize (model_from_json)

    def take(self, shape: tuple, owner: str) -> None:
        self.used += int(np.prod(shape, dtype=object))
        if self.used > self.limit:
            raise self.refuse(f"a weight of shape {tuple(shape)} in '{owner}' brings the "
                              f"parameter count to {self.used}, over the limit of "
                              f"{self.limit}.")


_BUDGETS: list[_Budget] = []


class allocation_budget:
    """``with allocation_budget(limit, refuse):`` weights are counted, zero-filled (or
    initialized as usual with ``zeros=False``)."""

    def __init__(self, limit: int, refuse: Any, zeros: bool = True):
        self.budget = _Budget(limit, refuse, zeros)

    def __enter__(self) -> _Budget:
        _BUDGETS.append(self.budget)
        return self.budget

    def __exit__(self, *exc: Any) -> None:
        _BUDGETS.remove(self.budget)


def _is_owner(value: Any) -> bool:
    return isinstance(value, WeightOwner)


def _as_shape(shape: Any) -> tuple:
    """The shape as a tuple of ints for counting (invalid shapes count as empty)."""
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        return tuple(max(0, int(d)) for d in shape)
    except (TypeError, ValueError):
        return ()


def _check_shape(shape: Any, owner: str, name: str) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list)) or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0
            for d in shape):
        raise ValueError(f"add_weight of '{owner}' received shape={shape!r} for weight "
                         f"'{name}', expected a tuple of non-negative integers (no None).")
    shape = tuple(int(d) for d in shape)
    size = int(np.prod(shape, dtype=object)) * FLOATX.dtype.itemsize
    if size > MAX_WEIGHT_BYTES:
        raise ValueError(
            f"Layer '{owner}' would create weight '{name}' of shape {shape}, "
            f"{size / 2**30:.3g} GiB, over rnnlens's limit of {MAX_WEIGHT_BYTES / 2**30:.0f} "
            "GiB per weight (rnnlens.weights.MAX_WEIGHT_BYTES). Use fewer units or a smaller "
            "input size.")
    return shape


class WeightOwner:
    """What layers and cells share: Keras's ``add_weight`` and the weights it registers.

    A subclass creates its weights in ``build`` with ``self.kernel =
    self.add_weight(shape=..., initializer=..., name="kernel")``. Layers (and
    lists of layers) assigned to public attributes are tracked as sublayers, as
    Keras tracks them. From this one registry follow, in Keras's order (own
    trainable weights, own non-trainable weights, then each sublayer's):
    ``weights``, ``trainable_weights``, ``non_trainable_weights``,
    ``get_weights`` / ``set_weights``, the regularization penalties and
    constraints that training applies, and the paths of the weights in Keras
    files (``vars/0``, ``cell/vars/1``, ...).
    """

    def _init_registry(self) -> None:
        d = self.__dict__
        d.setdefault("_own_weights", [])
        d.setdefault("_tracked", {})
        d.setdefault("_trainable", True)
        d.setdefault("_version", 0)

    def __setattr__(self, name: str, value: Any) -> None:
        tracked = self.__dict__.get("_tracked")
        if tracked is not None and not name.startswith("_"):
            if _is_owner(value) or (isinstance(value, (list, tuple)) and value
                                    and all(_is_owner(v) for v in value)):
                tracked[name] = value
            else:
                tracked.pop(name, None)
        object.__setattr__(self, name, value)

    # -- creating -----------------------------------------------------------------

    def add_weight(self, *args: Any, shape: Any = None, initializer: Any = None,
                   dtype: Any = None, trainable: bool = True, autocast: bool = True,
                   regularizer: Any = None, constraint: Any = None, aggregation: str = "none",
                   overwrite_with_gradient: bool = False, name: str | None = None
                   ) -> np.ndarray:
        """Creates a weight, registers it and returns its array (Keras's signature).

        Args:
            shape: the weight's shape (default ``()``).
            initializer: name, instance or callable ``f(shape, dtype)``; None means
                ``glorot_uniform`` (as Keras, for float weights).
            dtype: only the compute dtype (float32) is supported.
            trainable: whether the optimizer updates it.
            regularizer: penalty added to the training loss (``rnnlens.regularizers``).
            constraint: applied after every optimizer update (``rnnlens.constraints``).
            name: the variable's name.
            autocast, aggregation, overwrite_with_gradient: accepted for Keras code;
                they do not change rnnlens's numbers.
        """
        from rnnlens import initializers

        self._init_registry()
        if args:
            shape, initializer, dtype = _legacy_args(args, shape, initializer, dtype)
        name = name or f"variable_{len(self._own_weights)}"
        owner = str(getattr(self, "name", type(self).__name__))
        if _BUDGETS:
            _BUDGETS[-1].take(_as_shape(shape), owner)
        shape = _check_shape(() if shape is None else shape, owner, name)
        if dtype is not None and np.dtype(dtype).kind != "f":
            raise ValueError(f"add_weight of '{owner}' received dtype={dtype!r} for weight "
                             f"'{name}'; rnnlens weights are floats ({FLOATX.dtype}).")
        if _BUDGETS and _BUDGETS[-1].zeros:
            value = np.zeros(shape, FLOATX)
        else:
            init = initializers.get("glorot_uniform" if initializer is None else initializer)
            value = np.array(init(shape, FLOATX), dtype=FLOATX, copy=True)
            if value.shape != shape:
                raise ValueError(f"The initializer of weight '{name}' of '{owner}' returned "
                                 f"shape {value.shape}, expected {shape}.")
        self._own_weights.append(Weight(name, value, trainable and self.trainable,
                                        _get("regularizers", regularizer),
                                        _get("constraints", constraint), self))
        self._own_weights[-1].created_trainable = bool(trainable)
        return value

    def _sublayers(self) -> list:
        """The tracked sublayers (and lists of them), in order of assignment."""
        out = []
        for value in self.__dict__.get("_tracked", {}).values():
            out.extend(value if isinstance(value, (list, tuple)) else [value])
        return out

    # -- reading ------------------------------------------------------------------

    def weight_records(self) -> list[Weight]:
        """Every :class:`Weight`, in Keras's ``weights`` order, without repeats."""
        own = self.__dict__.get("_own_weights", [])
        records = [w for w in own if w.created_trainable] + \
                  [w for w in own if not w.created_trainable]
        seen = {id(w) for w in records}
        for sub in self._sublayers():
            for w in sub.weight_records():
                if id(w) not in seen:
                    seen.add(id(w))
                    records.append(w)
        return records

    @property
    def weights(self) -> list[np.ndarray]:
        """The weight arrays in Keras's order (own trainable, own non-trainable, sublayers')."""
        return [w.value for w in self.weight_records()]

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        if not self.trainable:
            return []
        return [w.value for w in self.weight_records() if w.trainable]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        if not self.trainable:
            return self.weights
        return [w.value for w in self.weight_records() if not w.trainable]

    @property
    def trainable(self) -> bool:
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Sets the flag for this layer, its weights and its sublayers, as Keras does."""
        self._init_registry()
        self.__dict__["_trainable"] = bool(value)
        for w in self.__dict__["_own_weights"]:
            if w.created_trainable:
                w.trainable = bool(value)
        for sub in self._sublayers():
            sub.trainable = value

    def weight_shapes(self) -> list[tuple[int, ...]]:
        return [w.shape for w in self.weights]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of the weights, in Keras's order."""
        return [np.array(w, copy=True) for w in self.weights]

    def count_params(self) -> int:
        return int(sum(int(w.size) for w in self.weights))

    # -- writing ------------------------------------------------------------------

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Replaces every weight (count and shapes as ``get_weights()``), in place."""
        owner = str(getattr(self, "name", type(self).__name__))
        records = self.weight_records()
        if not records and not getattr(self, "built", True):
            raise ValueError(
                f"Layer '{owner}' has no weights yet, so set_weights() cannot be used. "
                "Build it first: call it on data or on an Input, or call "
                "layer.build(input_shape).")
        if isinstance(weights, (list, tuple)) and len(weights) == len(records):
            self.explain_weights(list(weights), owner)
        arrays = checked(weights, [w.name for w in records],
                         [w.value.shape for w in records], owner)
        for record, arr in zip(records, arrays):
            record_assign(record, arr)
        self.weights_changed()

    def explain_weights(self, weights: list, owner: str) -> None:
        """Raises a clearer error for weights made by a differently configured layer.

        ``weights`` has the right count; each sublayer checks its own slice (a GRU
        cell recognises the bias of the other ``reset_after``).
        """
        k = len(self.__dict__.get("_own_weights", []))
        for sub in self._sublayers():
            n = len(sub.weight_records())
            sub.explain_weights(weights[k:k + n], owner)
            k += n

    def weights_changed(self) -> None:
        """Call after changing weight arrays in place (optimizers do): drops caches."""
        self.__dict__["_version"] = self.__dict__.get("_version", 0) + 1
        for sub in self._sublayers():
            sub.weights_changed()


def record_assign(record: Weight, arr: np.ndarray) -> None:
    """Copies ``arr`` into the weight's array (kept, so references stay live)."""
    if record.value.dtype == arr.dtype:
        np.copyto(record.value, arr)
        return
    old, record.value = record.value, arr                 # the compute dtype changed
    if record.owner is not None:                          # re-point the layer's attribute
        for key, value in list(vars(record.owner).items()):
            if value is old:
                object.__setattr__(record.owner, key, arr)


def _get(module: str, identifier: Any) -> Any:
    if identifier is None:
        return None
    import importlib

    return importlib.import_module(f"rnnlens.{module}").get(identifier)


def _legacy_args(args: tuple, shape: Any, initializer: Any, dtype: Any) -> tuple:
    """Keras 3's positional form ``add_weight(shape, initializer, dtype)``."""
    if len(args) > 3:
        raise TypeError(f"add_weight() takes at most 3 positional arguments but {len(args)} "
                        "were given.")
    if isinstance(args[0], str):
        raise ValueError(f"`name` must be passed as a keyword argument. Received: "
                         f"add_weight('{args[0]}', ...). Use: add_weight(shape=..., "
                         f"name='{args[0]}').")
    given = [shape, initializer, dtype]
    for k, value in enumerate(args):
        if given[k] is not None:
            what = ("shape", "initializer", "dtype")[k]
            raise ValueError(f"`{what}` was passed both positionally and as a keyword "
                             "argument.")
        given[k] = value
    return tuple(given)
