"""Whole-model streaming: one time step of a model, one state per slot and recurrent layer.

:class:`rnnlens.stream.Stream` steps one recurrent layer. A served model is a graph:
stacked recurrent layers, embeddings, masks, a Dense head. :class:`ModelStepper` runs
the graph on one time step of many sequences at once. Every recurrent layer (LSTM,
GRU, SimpleRNN, ``RNN``, ConvLSTM) keeps its states per *slot*; every other layer on
the time axis must be *time-local* (its output at step t reads only step t: Dense,
Embedding, Masking, activations, inference-time dropout and noise, merges along
features, ``TimeDistributed`` ...) and runs on the step as a (B, 1, ...) sequence.
For a slot fed ``x_1 .. x_t`` since it was last reset, with per-layer recurrences
``(h_t, c_t) = cell(x_t, h_{t-1}, c_{t-1})`` (the layer's own ``step``)::

    y_t = predict(x_{1..t})[:, t - 1]     outputs that keep the time axis
    y_t = predict(x_{1..t})               outputs after return_sequences=False

A masked step (``Masking``, ``Embedding(mask_zero=True)``) keeps the layer's states
and repeats its previous output (zeros with ``zero_output_for_mask=True``), as the
whole-sequence call does.

Example::

    >>> stepper = ModelStepper(model)                 # model: LSTM -> GRU -> Dense
    >>> y = stepper.step([x_t], slots=[0, 7])         # x_t (2, F): slots 0 and 7 move on
    >>> y = stepper.step([x_t], slots=[0, 7], reset=[False, True])   # slot 7 restarts
    >>> stepper.states([7])["lstm"]                   # {"h": (1, u), "c": (1, u)}
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np

#: Layers whose output at a time step reads only that step (any configuration).
TIME_LOCAL = frozenset({
    "Dense", "Activation", "ReLU", "LeakyReLU", "ELU", "Dropout", "SpatialDropout1D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization",
    "Identity", "Masking", "Embedding", "TimeDistributed", "Add", "Subtract", "Multiply",
    "Average", "Maximum", "Minimum", "Discretization", "NotEqual", "Equal", "ZerosLike",
    "OnesLike", "LogicalOr", "LogicalAnd", "LogicalNot", "Cast", "ConvertToTensor"})
#: Layers that combine values along ``axis``: time-local unless it includes time (or None).
ALONG_AXIS = frozenset({"Concatenate", "ConcatenateOp", "LayerNormalization",
                        "UnitNormalization", "Softmax", "AnyOp", "Any", "All"})
#: Layers with statistics per ``axis`` position: time-local unless it includes time.
PER_AXIS = frozenset({"BatchNormalization", "Normalization"})
#: Lookups: time-local when they map each element to an integer.
LOOKUPS = frozenset({"StringLookup", "IntegerLookup", "Hashing"})


class StepInput(NamedTuple):
    """One model input as streamed: its name, per-step shape and dtype."""

    name: str
    shape: tuple
    dtype: str


class StepOutput(NamedTuple):
    """One model output: its name and whether it keeps the time axis."""

    name: str
    per_step: bool


def _is_recurrent(layer: Any) -> bool:
    from rnnlens.layers.convolutional_recurrent import ConvLSTM
    from rnnlens.layers.recurrent import RNN

    return isinstance(layer, (RNN, ConvLSTM))


def _axis_ok(layer: Any, rank: int, none_ok: bool) -> bool:
    axis = getattr(layer, "axis", None)
    if axis is None:
        return none_ok
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    return all(int(a) % rank != 1 for a in axes)


def _time_local(layer: Any, rank: int) -> bool:
    """Whether ``layer`` on a (B, T, ...) tensor of ``rank`` dims is local in time."""
    kind = type(layer).__name__
    if kind in TIME_LOCAL:
        return True
    if kind in ALONG_AXIS:
        return _axis_ok(layer, rank, none_ok=False)
    if kind in PER_AXIS:
        return _axis_ok(layer, rank, none_ok=True)
    if kind == "ExpandDims":
        return int(layer.axis) % (rank + 1) >= 2
    if kind in LOOKUPS:
        return getattr(layer, "output_mode", "int") == "int"
    return False


def _rank(node: Any) -> int:
    first = node.input_tensors[0] if node.input_tensors else None
    return len(first.shape) if first is not None else 0


class _Refusal(ValueError):
    pass


def _refuse(model: Any, text: str) -> _Refusal:
    return _Refusal(f"Model '{model.name}' cannot stream step by step: {text}")


def _sequence_tensors(model: Any) -> set[int]:
    """Ids of the tensors that must carry a time axis (read backwards from the
    recurrent layers through time-local layers)."""
    need: set[int] = set()
    for node in reversed(model._nodes):
        layer = node.layer
        if _is_recurrent(layer):
            if any(id(t) in need for t in node.outputs) and not layer.return_sequences:
                raise _refuse(model, f"layer '{layer.name}' returns only its last step but "
                              "a later layer reads its output as a sequence.")
            need.add(id(node.args[0]))
        elif any(id(t) in need for t in node.outputs):
            if not _time_local(layer, _rank(node)):
                raise _refuse(model, _not_local(layer))
            need.update(id(t) for t in node.input_tensors)
    return need


def _not_local(layer: Any) -> str:
    kind = type(layer).__name__
    hint = (" Its backward half needs the end of the sequence." if kind == "Bidirectional"
            else "")
    return (f"layer '{layer.name}' ({kind}) on the time axis is not time-local (its output "
            f"at a step may read other steps), so it cannot run one step at a time.{hint}")


def plan(model: Any) -> tuple[list[StepInput], list[StepOutput], list[int]]:
    """Checks that ``model`` streams; returns its inputs, outputs and recurrent nodes.

    Raises:
        ValueError: naming the layer or input that prevents streaming.
    """
    if not getattr(model, "_nodes", None) or not hasattr(model, "inputs"):
        raise ValueError(f"ModelStepper takes a built rnnlens Model or Sequential, received "
                         f"{type(model).__name__}.")
    for node in model._nodes:
        if type(node.layer).__name__ in ("Bidirectional", "Functional", "Sequential", "Model"):
            raise _refuse(model, _not_local(node.layer) if type(node.layer).__name__ ==
                          "Bidirectional" else f"layer '{node.layer.name}' is a nested model; "
                          "build the model from its layers to stream it.")
    if not any(_is_recurrent(node.layer) for node in model._nodes):
        raise _refuse(model, "it has no recurrent layer.")
    need = _sequence_tensors(model)
    inputs = []
    for t in model.inputs:
        if id(t) not in need:
            raise _refuse(model, f"input '{t.name}' does not reach a recurrent layer along "
                          "a time axis; every input must be a sequence (batch, time, ...).")
        inputs.append(StepInput(t.name, tuple(t.shape[2:]), t.dtype))
    seq = {id(t) for t in model.inputs}
    recurrent = []
    for k, node in enumerate(model._nodes):
        _check_node(model, node, seq)
        if _is_recurrent(node.layer):
            recurrent.append(k)
            seq.add(id(node.outputs[0])) if node.layer.return_sequences else None
        elif any(id(t) in seq for t in node.input_tensors):
            seq.update(id(t) for t in node.outputs)
    outputs = [StepOutput(t.name, id(t) in seq) for t in model.outputs]
    return inputs, outputs, recurrent


def _check_node(model: Any, node: Any, seq: set[int]) -> None:
    layer = node.layer
    flags = [id(t) in seq for t in node.input_tensors]
    if _is_recurrent(layer):
        extra = [k for k, v in node.kwargs.items()
                 if k != "mask" and any(hasattr(leaf, "node") for leaf in
                                        (v if isinstance(v, (list, tuple)) else [v]))]
        mask = node.kwargs.get("mask")
        given = len(node.input_tensors) - int(hasattr(mask, "node"))   # a recorded mask node
        if extra or given != 1:
            raise _refuse(model, f"layer '{layer.name}' takes {extra or 'several inputs'} "
                          "from other tensors (e.g. initial_state); stream a model whose "
                          "recurrent layers start from zeros.")
        if not flags[0]:
            raise _refuse(model, f"layer '{layer.name}' reads a tensor without the input's "
                          "time axis (e.g. after RepeatVector).")
        if getattr(layer, "go_backwards", False):
            raise _refuse(model, f"layer '{layer.name}' has go_backwards=True: it reads the "
                          "sequence from its end.")
    elif any(flags):
        if not all(flags):
            raise _refuse(model, f"layer '{layer.name}' mixes a sequence with a value that "
                          "has no time axis.")
        if not _time_local(layer, _rank(node)):
            raise _refuse(model, _not_local(layer))


def _state_names(layer: Any, count: int) -> list[str]:
    names = list(getattr(layer, "state_names", None) or ())
    if len(names) != count:
        names = ["h", "c"][:count] if count <= 2 else [f"s{k}" for k in range(count)]
    return names


class ModelStepper:
    """Runs a model one time step at a time for many sequences (slots) at once.

    Parameters:
        model: a built ``Model`` / ``Sequential`` whose layers on the time axis are
            recurrent (not Bidirectional, not ``go_backwards``) or time-local.
        max_slots: the most slots it may hold (memory grows with the largest used).

    Attributes:
        inputs: one :class:`StepInput` per model input (per-step shape: the Input's
            shape without batch and time).
        outputs: one :class:`StepOutput` per model output.
        recurrent: the recurrent layers' names, in graph order.
    """

    def __init__(self, model: Any, max_slots: int = 1 << 16):
        if isinstance(max_slots, bool) or not isinstance(max_slots, (int, np.integer)) or \
                max_slots < 1:
            raise ValueError(f"Received max_slots={max_slots!r}, expected a positive integer.")
        self.model, self.max_slots = model, int(max_slots)
        self.inputs, self.outputs, self._recurrent = plan(model)
        self.recurrent = [model._nodes[k].layer.name for k in self._recurrent]
        self._stores: dict[int, list[np.ndarray]] = {}
        self._names: dict[int, list[str]] = {}
        self.step(self._zeros(1), [0])                   # builds the state stores
        self.reset()

    @property
    def capacity(self) -> int:
        """Slots with allocated states."""
        return next(iter(self._stores.values()))[0].shape[0] if self._stores else 0

    def _zeros(self, batch: int) -> list[np.ndarray]:
        return [np.full((batch, *[d or 1 for d in spec.shape]), "" if spec.dtype == "string"
                        else 0, dtype=object if spec.dtype == "string" else spec.dtype)
                for spec in self.inputs]

    def convert(self, xs: Sequence[Any]) -> list[np.ndarray]:
        """Checks and converts per-step inputs (one (B, *shape) array per input)."""
        if len(xs) != len(self.inputs):
            raise ValueError(f"The model takes {len(self.inputs)} input(s) "
                             f"{[s.name for s in self.inputs]}, received {len(xs)}.")
        out = []
        for value, spec in zip(xs, self.inputs):
            out.append(_convert(value, spec))
        if len({a.shape[0] for a in out}) != 1:
            raise ValueError(f"Inputs have different numbers of rows {[a.shape[0] for a in out]}.")
        return out

    def step(self, xs: Sequence[Any], slots: Sequence[int], reset: Any = None
             ) -> list[np.ndarray]:
        """Advances ``slots`` by one step.

        Args:
            xs: one (B, *shape) array per model input (row b belongs to ``slots[b]``).
            slots: B distinct slot indices below ``max_slots``.
            reset: optional (B,) bool: rows whose slot restarts from zero states first.

        Returns:
            One array per model output, (B, ...) each: the step's output for outputs
            that keep the time axis, the output so far for the others.
        """
        values = self.convert(xs)
        idx = self._slots(slots, values[0].shape[0])
        self._grow(int(idx.max()) + 1)
        if reset is not None:
            flags = np.asarray(reset, dtype=bool).reshape(-1)
            if flags.shape != idx.shape:
                raise ValueError(f"reset needs one flag per row ({len(idx)}), received "
                                 f"shape {np.shape(reset)}.")
            self.reset(idx[flags])
        seq_values = [v[:, None] for v in values]               # (B, 1, *shape)
        flat = self._execute(seq_values, idx)
        return [v[:, 0] if spec.per_step else v for v, spec in zip(flat, self.outputs)]

    def _execute(self, values: list[np.ndarray], idx: np.ndarray) -> list[np.ndarray]:
        from rnnlens.layers.base import flatten
        from rnnlens.models.model import _incoming_mask, _substitute

        model = self.model
        tensors: dict[int, Any] = {id(t): v for t, v in zip(model.inputs, values)}
        masks: dict[int, Any] = {}
        for k, node in enumerate(model._nodes):
            layer = node.layer
            args = _substitute(node.args, tensors)
            kwargs = _substitute(node.kwargs, tensors)
            in_mask = _incoming_mask(node, masks)
            if in_mask is not None and "mask" not in kwargs:
                kwargs["mask"] = in_mask
            kwargs["training"] = False
            if k in self._recurrent:
                out = self._recurrent_step(k, layer, args[0], kwargs.get("mask"), idx)
            else:
                out = layer.call(*args, **kwargs)
            out_mask = layer.compute_mask(args[0], kwargs.get("mask"))
            flat_out = flatten(out) if isinstance(out, (list, tuple)) else [out]
            flat_mask = (list(out_mask) if isinstance(out_mask, (list, tuple))
                         else [out_mask] + [None] * (len(flat_out) - 1))
            for t, v, m in zip(node.outputs, flat_out, flat_mask):
                tensors[id(t)] = v
                masks[id(t)] = m
        return [np.asarray(tensors[id(t)]) for t in model.outputs]

    def _recurrent_step(self, k: int, layer: Any, x: np.ndarray, mask: Any,
                        idx: np.ndarray) -> Any:
        keep = None if mask is None else np.asarray(mask, dtype=bool).reshape(len(idx), -1)[:, 0]
        stores = self._stores.get(k)
        prev = None if stores is None else [s[idx] for s in stores]
        stateful = bool(getattr(layer, "stateful", False))
        try:                           # the layer's own stored states are not used
            layer.stateful = False if stateful else layer.stateful
            out, new = layer.step(np.asarray(x)[:, 0], prev, mask=keep)
        finally:
            layer.stateful = stateful
        new = [leaf for item in new for leaf in
               (item if isinstance(item, (list, tuple)) else [item])]
        if stores is None:                               # first (dry) run: allocate
            self._stores[k] = [np.zeros((1, *s.shape[1:]), s.dtype) for s in new]
            self._names[k] = _state_names(layer, len(new))
            stores = self._stores[k]
        for store, value in zip(stores, new):
            store[idx] = value
        if keep is not None and layer.zero_output_for_mask:
            out = np.where(keep.reshape((-1,) + (1,) * (out.ndim - 1)), out, 0).astype(out.dtype)
        y = out[:, None] if layer.return_sequences else out
        return [y, *new] if layer.return_state else y

    def states(self, slots: Sequence[int]) -> dict[str, dict[str, np.ndarray]]:
        """``{layer name: {state name: (len(slots), ...)}}`` for slots that exist."""
        idx = self._slots(slots, len(slots))
        if idx.max() >= self.capacity:
            raise ValueError(f"Slot {int(idx.max())} has no state yet.")
        return {self.model._nodes[k].layer.name:
                {name: store[idx].copy() for name, store in zip(self._names[k], stores)}
                for k, stores in self._stores.items()}

    def reset(self, slots: Any = None) -> None:
        """Zeros the states of ``slots`` (all when None)."""
        for stores in self._stores.values():
            for store in stores:
                if slots is None:
                    store.fill(0)
                else:
                    store[np.asarray(slots, dtype=np.int64)] = 0

    def run(self, xs: Any) -> list[np.ndarray]:
        """Feeds whole sequences step by step from zero states (slots 0..B-1).

        Args:
            xs: one (B, T, *shape) array per input (or one array for one input).

        Returns:
            One array per output: (B, T, ...) for per-step outputs, else (B, T, ...)
            with the output after each step along axis 1.
        """
        xs = [xs] if isinstance(xs, np.ndarray) else list(xs)
        batch, steps = np.shape(xs[0])[0], np.shape(xs[0])[1]
        slots = np.arange(batch)
        collected: list[list[np.ndarray]] = [[] for _ in self.outputs]
        for t in range(steps):
            ys = self.step([np.asarray(x)[:, t] for x in xs], slots,
                           reset=np.full(batch, t == 0))
            for store, y in zip(collected, ys):
                store.append(y)
        return [np.stack(c, axis=1) for c in collected]

    def _slots(self, slots: Sequence[int], batch: int) -> np.ndarray:
        idx = np.asarray(slots)
        if idx.shape != (batch,) or not np.issubdtype(idx.dtype, np.integer) or \
                batch == 0 or (idx < 0).any():
            raise ValueError(f"slots must give one non-negative slot index per row ({batch}), "
                             f"received {slots!r}.")
        if len(np.unique(idx)) != batch:
            raise ValueError(f"slots must not repeat, received {slots!r}.")
        if idx.max() >= self.max_slots:
            raise ValueError(f"Slot {int(idx.max())} is beyond max_slots={self.max_slots}.")
        return idx.astype(np.int64)

    def _grow(self, size: int) -> None:
        if size <= self.capacity:
            return
        new_cap = min(self.max_slots, max(size, 2 * self.capacity))
        for k, stores in self._stores.items():
            self._stores[k] = [np.concatenate([s, np.zeros((new_cap - s.shape[0],
                                                            *s.shape[1:]), s.dtype)])
                               for s in stores]


def _convert(value: Any, spec: StepInput) -> np.ndarray:
    """One input's per-step rows as the Input's dtype, shape (B, *spec.shape)."""
    from rnnlens.layers.base import to_float_array

    if spec.dtype == "float32":
        arr = to_float_array(value, f"input '{spec.name}'")
    elif spec.dtype == "string":
        arr = np.asarray(value, dtype=object)
    else:
        arr = np.asarray(value)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or
                                       arr.dtype == bool):
            raise TypeError(f"Input '{spec.name}' takes numbers ({spec.dtype}), received "
                            f"dtype {arr.dtype}.")
        if np.issubdtype(np.dtype(spec.dtype), np.integer) and arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
                raise ValueError(f"Input '{spec.name}' takes integers ({spec.dtype}).")
        arr = arr.astype(spec.dtype)
    fits = arr.ndim == len(spec.shape) + 1 and all(
        d is None or d == a for d, a in zip(spec.shape, arr.shape[1:]))
    if not fits:
        shape = tuple(d if d is not None else "any" for d in spec.shape)
        raise ValueError(f"Input '{spec.name}' takes steps of shape {shape}, received rows "
                         f"of shape {tuple(arr.shape[1:])}.")
    return arr


__all__ = ["ModelStepper", "StepInput", "StepOutput", "plan", "TIME_LOCAL"]
