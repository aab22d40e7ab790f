"""The tape: what ops record while it is active, and the reverse sweep over the records.

Every value on a tape has a *slot*. A slot is either a *leaf* (a watched array, a layer's
weight, any plain float array an op received: a weight built lazily inside a traced call
is one) or the output of a recorded op. A record (``_Node``) keeps the op's name, its
bound arguments as plain arrays (``ctx.args``), its outputs (``ctx.out``), and which
argument positions hold slots.

``gradient`` first marks the slots that depend on the sources (a forward sweep), then
walks the records backwards: for each record with a cotangent on an output it calls the
op's VJP (``rnnlens.autodiff.vjps``) for the marked inputs, sums each result down to the
input's shape (broadcasting) and casts it to the input's dtype, and adds it to the
input's cotangent. Integer and bool values never carry gradients (as TensorFlow).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any, Callable, Sequence

import numpy as np

from rnnlens.autodiff.traced import Traced, plain

#: The tape ops record on, or None (the fast path).
ACTIVE: ContextVar = ContextVar("rnnlens_autodiff_tape", default=None)

_SIGNATURES: dict[Any, Any] = {}


def active() -> "Tape | None":
    """The active tape, or None."""
    return ACTIVE.get()


def _float(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind in "fc"


class _Ctx:
    """What a VJP sees: ``args`` (bound arguments, plain arrays), ``out`` (the output,
    or the tuple of outputs), ``cache`` (a fused op's forward cache), ``need`` (the
    argument names whose gradients are wanted), ``name`` (the op)."""

    __slots__ = ("args", "out", "cache", "need", "name")

    def __init__(self, name: str, args: dict, out: Any, cache: Any):
        self.name, self.args, self.out, self.cache = name, args, out, cache
        self.need: set = set()


class _Node:
    __slots__ = ("ctx", "inputs", "outs")

    def __init__(self, ctx: _Ctx, inputs: list, outs: list):
        self.ctx = ctx
        self.inputs = inputs          # [(param, index or None, slot)]
        self.outs = outs              # [(output index or None, slot)]


class Tape:
    """Records ``rnnlens.ops`` calls while active (``with Tape() as tape:``).

    Args:
        training: the training flag layers called inside a traced ``call`` inherit.

    Methods:
        watch(x): ``x`` as a recorded source (returns the ``Traced`` view to use).
        gradient(target, sources, output_gradients=None): as ``tf.GradientTape``: the
            gradient of ``sum(target * output_gradients)`` with respect to each source
            (a ``Traced``, or an array the ops received, such as a weight); None where
            the target does not depend on it.
        add_loss(value): a value ``gradient_of_losses`` adds (``Layer.add_loss``).
    """

    def __init__(self, training: bool = False):
        self.training = bool(training)
        self.paused = 0
        self.values: list[np.ndarray] = []
        self.producer: list[Any] = []
        self.nodes: list[_Node] = []
        self.leaf_ids: dict[int, int] = {}
        self.losses: list[Any] = []
        self._tokens: list[Any] = []

    # -- activation ------------------------------------------------------------------

    def __enter__(self) -> "Tape":
        self._tokens.append(ACTIVE.set(self))
        return self

    def __exit__(self, *exc: Any) -> None:
        ACTIVE.reset(self._tokens.pop())

    # -- slots -----------------------------------------------------------------------

    def leaf(self, array: np.ndarray) -> int:
        """The slot of a plain array (created on first use; identity-keyed)."""
        slot = self.leaf_ids.get(id(array))
        if slot is None:
            slot = len(self.values)
            self.values.append(array)
            self.producer.append(None)
            self.leaf_ids[id(array)] = slot
        return slot

    def wrap(self, array: np.ndarray, slot: int) -> Traced:
        t = array.view(Traced)
        t._rt_tape, t._rt_slot = self, slot
        return t

    def watch(self, x: Any) -> Traced:
        """``x`` (a float array) as a source; returns the ``Traced`` to compute with."""
        if isinstance(x, Traced) and x._rt_tape is self:
            return x
        arr = plain(x) if isinstance(x, np.ndarray) else np.asarray(x)
        if arr.dtype.kind not in "fc":
            raise TypeError(f"Tape.watch: only float tensors have gradients, received "
                            f"{arr.dtype}.")
        return self.wrap(arr, self.leaf(arr))

    def slot_of(self, x: Any) -> int | None:
        if isinstance(x, Traced):
            return x._rt_slot if x._rt_tape is self and x._rt_slot >= 0 else None
        if isinstance(x, np.ndarray):
            return self.leaf_ids.get(id(x))
        return None

    def add_loss(self, value: Any) -> None:
        self.losses.append(value)

    # -- recording -------------------------------------------------------------------

    def run_op(self, name: str, fn: Callable, args: Sequence, kwargs: dict) -> Any:
        """Runs the op ``name`` (implementation ``fn``) and records it."""
        if self.paused:
            return fn(*args, **kwargs)
        from rnnlens.autodiff import record

        return record.run(self, name, fn, args, kwargs)

    def unwrap(self, value: Any, found: dict[int, int], op: str) -> Any:
        """``value`` with ``Traced`` as plain views; ``found`` maps their ids (and the
        ids of plain float arrays, leaf candidates) to slots."""
        if isinstance(value, Traced):
            view = value.view(np.ndarray)
            if value._rt_tape is self and value._rt_slot >= 0:
                if view.dtype.kind in "fc":
                    found[id(view)] = value._rt_slot
            elif value._rt_tape is None and view.dtype.kind in "fc":
                raise TypeError(
                    f"ops.{op}: received a tensor derived from a recorded tensor by NumPy "
                    "code the tape cannot follow (an ndarray method or view such as "
                    "x.cumsum() or x.real); compute it with rnnlens.ops so that its "
                    "gradient is known.")
            return view
        if isinstance(value, np.ndarray):
            if value.dtype.kind in "fc":
                found[id(value)] = self.leaf(value)
            return value
        if isinstance(value, (list, tuple)):
            made = [self.unwrap(v, found, op) for v in value]
            return tuple(made) if isinstance(value, tuple) else made
        if isinstance(value, dict):
            return {k: self.unwrap(v, found, op) for k, v in value.items()}
        return value

    def record(self, name: str, fn: Callable, args: Sequence, kwargs: dict,
               found: dict[int, int], out: Any, cache: Any = None) -> Any:
        """Adds the record of one op call; returns ``out`` with float outputs traced."""
        single = isinstance(out, np.ndarray)
        flat = [out] if single else list(out) if isinstance(out, (list, tuple)) else None
        if flat is None or not any(_float(o) for o in flat):
            return out
        bound = _bind(fn, args, kwargs)
        inputs = []
        for param, value in bound.items():
            if isinstance(value, np.ndarray) and id(value) in found:
                inputs.append((param, None, found[id(value)]))
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, np.ndarray) and id(item) in found:
                        inputs.append((param, i, found[id(item)]))
        if not inputs:
            return out
        k = len(self.nodes)
        outs, wrapped = [], []
        for i, o in enumerate(flat):
            if not _float(o):
                wrapped.append(o)
                continue
            slot = len(self.values)
            self.values.append(o)
            self.producer.append(k)
            outs.append((None if single else i, slot))
            wrapped.append(self.wrap(o, slot))
        self.nodes.append(_Node(_Ctx(name, bound, out, cache), inputs, outs))
        if single:
            return wrapped[0]
        return tuple(wrapped) if isinstance(out, tuple) else wrapped

    # -- the reverse sweep -------------------------------------------------------------

    def gradient(self, target: Any, sources: Any, output_gradients: Any = None) -> Any:
        """Gradients of ``target`` (weighted by ``output_gradients``) w.r.t. ``sources``."""
        targets = target if isinstance(target, (list, tuple)) else [target]
        seeds = (output_gradients if isinstance(output_gradients, (list, tuple))
                 else [output_gradients] * len(targets))
        pairs = []
        for t, g in zip(targets, seeds):
            slot = self.slot_of(t)
            if slot is None:
                continue
            value = self.values[slot]
            pairs.append((slot, np.ones_like(value) if g is None else
                          np.broadcast_to(np.asarray(g, value.dtype), value.shape)))
        single = not isinstance(sources, (list, tuple))
        wanted = [self.slot_of(s) for s in ([sources] if single else sources)]
        grads = self.backprop(pairs, wanted)
        return grads[0] if single else grads

    def backprop(self, seeds: list, wanted: list) -> list:
        """Cotangents of the ``wanted`` slots (None entries allowed) given ``seeds``
        ``[(slot, cotangent)]``."""
        from rnnlens.autodiff.vjps import apply_vjp

        want = {s for s in wanted if s is not None}
        live = set(want)
        active = []
        for node in self.nodes:
            if any(s in live for _, _, s in node.inputs):
                active.append(node)
                live.update(s for _, s in node.outs)
        cot: dict[int, np.ndarray] = {}
        for slot, g in seeds:
            if slot in live:
                _accumulate(cot, slot, np.asarray(g), self.values[slot])
        for node in reversed(active):
            gs = [cot.get(s) if s in want else cot.pop(s, None) for _, s in node.outs]
            if all(g is None for g in gs):
                continue
            needed = [(p, i, s) for p, i, s in node.inputs if s in live]
            for (_, _, slot), g in zip(needed, apply_vjp(node, gs, needed)):
                if g is not None:
                    _accumulate(cot, slot, g, self.values[slot])
        return [None if s is None else cot.get(s) for s in wanted]


def _accumulate(cot: dict, slot: int, g: Any, like: np.ndarray) -> None:
    g = fit(g, like)
    cot[slot] = g if slot not in cot else cot[slot] + g


def fit(g: Any, like: np.ndarray) -> np.ndarray:
    """``g`` summed over broadcast axes down to ``like``'s shape, in ``like``'s dtype."""
    g = np.asarray(g)
    if g.shape != like.shape:
        extra = g.ndim - like.ndim
        if extra > 0:
            g = g.sum(axis=tuple(range(extra)))
        axes = tuple(i for i, n in enumerate(like.shape) if n == 1 and g.shape[i] != 1)
        if axes:
            g = g.sum(axis=axes, keepdims=True)
        g = np.broadcast_to(g, like.shape) if g.size == 1 else g.reshape(like.shape)
    if g.dtype != like.dtype:
        g = g.real if g.dtype.kind == "c" and like.dtype.kind != "c" else g
        g = g.astype(like.dtype)
    return g


def _bind(fn: Callable, args: Sequence, kwargs: dict) -> dict:
    sig = _SIGNATURES.get(fn)
    if sig is None:
        import inspect

        sig = _SIGNATURES[fn] = inspect.signature(fn)
    bound = sig.bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def value_and_grad(f: Callable, argnums: Any = 0) -> Callable:
    """``f``'s value and its gradient with respect to the arguments ``argnums``.

    ``f`` computes a (scalar) value with ``rnnlens.ops``; the gradient of its sum is
    returned (one array, or a tuple for a tuple of ``argnums``).
    """
    nums = argnums if isinstance(argnums, (list, tuple)) else (argnums,)

    def wrapped(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
        args = list(args)
        with Tape() as tape:
            watched = []
            for k in nums:
                args[k] = tape.watch(np.asarray(plain(args[k])))
                watched.append(args[k])
            value = f(*args, **kwargs)
        grads = tape.gradient(value, watched)
        grads = [np.zeros_like(plain(w)) if g is None else g for g, w in zip(grads, watched)]
        out = plain(value)
        return out, (tuple(grads) if isinstance(argnums, (list, tuple)) else grads[0])

    return wrapped


__all__ = ["ACTIVE", "Tape", "Traced", "active", "fit", "value_and_grad"]
