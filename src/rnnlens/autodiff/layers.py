"""Custom layers on the tape: their forward / backward in a model, sublayers, ``add_loss``.

A layer *uses the tape* when its class is defined outside rnnlens and its ``call`` is its
author's (written with ``rnnlens.ops``) with no ``backward`` of its own. In a model being
trained, ``Model.forward`` runs such a layer through :func:`layer_forward`:

1. a fresh :class:`~rnnlens.autodiff.tape.Tape` watches the layer's float inputs, and
   the layer's weight attributes (``self.kernel``, its custom sublayers' too) are swapped
   for watched views while ``call`` runs;
2. ``call`` runs; its ops record. A built-in layer called inside it (``self.dense(x)``,
   ``self.lstm(x)``) is recorded as *one* op whose VJP is that layer's fused, hand-written
   ``backward`` (its weights get their gradients from it); a custom sublayer's ``call``
   simply records into the same tape. Sublayers inherit the ``training`` flag;
3. ``layer.add_loss(value)`` during the call adds ``sum(value)`` to the model's loss (as
   Keras's ``compute_loss`` sums each added loss) and seeds its gradient with ones.

:func:`layer_backward` replays the tape from ``dL/d(outputs)`` (and the added losses) and
returns ``(dL/d inputs, dL/d other tensor arguments, weight gradients)`` in the layer's
``weights`` order, as a built-in ``backward`` does.
"""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import Any, Iterator

import numpy as np

from rnnlens.autodiff.tape import ACTIVE, Tape
from rnnlens.autodiff.traced import Traced, plain

#: While a model runs, the list its layers' ``add_loss`` values go to.
LOSS_SINK: ContextVar = ContextVar("rnnlens_loss_sink", default=None)

_USES_TAPE: dict[type, bool] = {}


def uses_tape(layer: Any) -> bool:
    """Whether ``layer`` trains through the tape (a user class with its own ``call`` and
    no ``backward`` / ``forward`` of its own)."""
    cls = type(layer)
    known = _USES_TAPE.get(cls)
    if known is None:
        known = _USES_TAPE[cls] = _class_uses_tape(cls)
    return known


def _class_uses_tape(cls: type) -> bool:
    from rnnlens.layers.base import Layer

    for klass in cls.__mro__:
        if klass.__module__.startswith("rnnlens.") or klass is Layer:
            return False                  # rnnlens's own call: its own backward applies
        own = klass.__dict__
        if "backward" in own or "forward" in own:
            return False
        if "call" in own:
            return True
    return False


# ---------------------------------------------------------------------------- add_loss
def add_loss(layer: Any, value: Any) -> None:
    """``layer.add_loss(value)``: recorded for ``layer.losses``, the active tape (its
    gradient) and the running model (its value)."""
    if callable(value) and not isinstance(value, np.ndarray):
        raise TypeError(f"Layer '{layer.name}'.add_loss received a callable; Keras 3 takes "
                        "the loss tensor itself (compute it in call()).")
    if not isinstance(value, np.ndarray):
        from rnnlens.ops import convert_to_tensor

        value = convert_to_tensor(value)
    layer.__dict__.setdefault("_rt_losses", []).append(value)
    tape = ACTIVE.get()
    if tape is not None and not tape.paused:
        tape.add_loss(value)
    sink = LOSS_SINK.get()
    if sink is not None:
        sink.append(value)


def layer_losses(layer: Any) -> list:
    """Keras's ``layer.losses``: the ``add_loss`` values of the latest call (the layer's,
    then its sublayers'), then each weight regularizer's penalty."""
    out, seen = [], set()

    def visit(owner: Any) -> None:
        if id(owner) in seen:
            return
        seen.add(id(owner))
        out.extend(plain(v) for v in owner.__dict__.get("_rt_losses", []))
        subs = owner.layers if hasattr(owner, "_layers") else owner._sublayers()
        for sub in subs:
            visit(sub)

    visit(layer)
    for record in layer.weight_records():
        if record.regularizer is not None and record.trainable:
            out.append(np.asarray(record.regularizer(record.value), np.float32))
    return out


def total(values: list) -> float:
    """Keras's aggregation of added losses: each summed (cast to float), then added."""
    return float(sum(float(np.sum(np.asarray(plain(v), dtype="float64"))) for v in values))


@contextlib.contextmanager
def collecting() -> Iterator[list]:
    """Collects the ``add_loss`` values of everything run inside (``Model._execute``)."""
    sink: list = []
    token = LOSS_SINK.set(sink)
    try:
        yield sink
    finally:
        LOSS_SINK.reset(token)


# ---------------------------------------------------------------------------- forward
class TapeCache:
    """What :func:`layer_forward` keeps for :func:`layer_backward`."""

    def __init__(self, tape: Tape, args: list, kwargs: dict, out: Any):
        self.tape, self.args, self.kwargs, self.out = tape, args, kwargs, out

    @property
    def has_losses(self) -> bool:
        return bool(self.tape.losses)


def _watch(tape: Tape, value: Any) -> Any:
    """Each float argument as its own source: a fresh view, so that a tensor given twice
    (``layer(x, x)``, ``layer([x, x])``) gets two slots, each with its own share of the
    gradient (one shared slot would hand both uses the sum of the two)."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return tape.watch(plain(value).view())
    if isinstance(value, (list, tuple)):
        return type(value)(_watch(tape, v) for v in value)
    return value


def _owners(layer: Any) -> list:
    """The layer and its tape-using sublayers (whose weight attributes get swapped)."""
    out, stack, seen = [], [layer], set()
    while stack:
        owner = stack.pop()
        if id(owner) in seen:
            continue
        seen.add(id(owner))
        out.append(owner)
        stack.extend(s for s in owner._sublayers() if uses_tape(s))
    return out


@contextlib.contextmanager
def swapped_weights(layer: Any, tape: Tape) -> Iterator[None]:
    """The weight attributes of ``layer`` (and custom sublayers) as watched views."""
    saved = []
    for owner in _owners(layer):
        ids = {id(w.value) for w in owner.__dict__.get("_own_weights", [])}
        for key, value in list(vars(owner).items()):
            if isinstance(value, np.ndarray) and id(value) in ids:
                saved.append((owner, key, value))
                object.__setattr__(owner, key, tape.watch(value))
    try:
        yield
    finally:
        for owner, key, value in saved:
            object.__setattr__(owner, key, value)


def _shape(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [tuple(np.shape(v)) for v in value]
    return tuple(np.shape(value))


def _clear_losses(layer: Any) -> None:
    for owner in [layer] + list(layer._sublayers()):
        owner.__dict__.pop("_rt_losses", None)


def layer_forward(layer: Any, args: tuple, kwargs: dict) -> tuple[Any, TapeCache]:
    """``layer.call(*args, **kwargs)`` recorded on a new tape; returns the plain output
    and the cache :func:`layer_backward` replays."""
    tape = Tape(training=bool(kwargs.get("training", False)))
    _clear_losses(layer)
    if not layer.built:
        layer.maybe_build(_shape(args[0]))
    with tape:
        t_args = [_watch(tape, a) for a in args]
        t_kwargs = {k: (v if k == "mask" else _watch(tape, v)) for k, v in kwargs.items()}
        with swapped_weights(layer, tape):
            out = layer.call(*t_args, **t_kwargs)
    return untrace(out, layer), TapeCache(tape, t_args, t_kwargs, out)


def untrace(out: Any, layer: Any) -> Any:
    """The plain arrays of a traced output (refusing values derived outside the ops)."""
    if isinstance(out, Traced):
        if out._rt_tape is None and out.dtype.kind in "fc":
            raise TypeError(f"Layer '{layer.name}' returned a tensor derived from a recorded "
                            "tensor by NumPy code the tape cannot follow (an ndarray method "
                            "or view); compute it with rnnlens.ops.")
        return out.view(np.ndarray)
    if isinstance(out, (list, tuple)):
        return type(out)(untrace(v, layer) for v in out)
    if isinstance(out, dict):
        return {k: untrace(v, layer) for k, v in out.items()}
    return out


def _flatten(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flatten(item)]
    if isinstance(value, dict):
        return [v for k in value for v in _flatten(value[k])]
    return [value]


def layer_backward(layer: Any, cache: TapeCache, d_out: Any) -> tuple[Any, dict, list]:
    """``(dL/d args[0], {other argument: dL/d it}, weight gradients)`` from the tape."""
    tape = cache.tape
    seeds = []
    outs = _flatten(cache.out)
    grads_out = _flatten(d_out) if isinstance(d_out, (list, tuple, dict)) else [d_out]
    if len(outs) == 1 and len(grads_out) != 1:
        grads_out = [d_out]
    for o, g in zip(outs, grads_out):
        slot = tape.slot_of(o)
        if g is not None and slot is not None:
            seeds.append((slot, np.asarray(g)))
    for value in tape.losses:
        slot = tape.slot_of(value)
        if slot is not None:
            seeds.append((slot, np.ones_like(tape.values[slot])))
    records = layer.weight_records()
    arg_leaves = [_flatten(a) for a in cache.args]
    kw_leaves = {k: _flatten(v) for k, v in cache.kwargs.items() if k != "mask"}
    wanted = [tape.slot_of(v) for leaves in arg_leaves for v in leaves]
    wanted += [tape.slot_of(v) for leaves in kw_leaves.values() for v in leaves]
    wanted += [tape.leaf_ids.get(id(r.value)) for r in records]
    grads = iter(tape.backprop(seeds, wanted))
    d_args = [_restore(a, leaves, grads) for a, leaves in zip(cache.args, arg_leaves)]
    d_extra: dict[Any, Any] = {}
    for k, leaves in kw_leaves.items():
        d_extra[k] = _restore(cache.kwargs[k], leaves, grads)
    for i, d in enumerate(d_args[1:], start=1):
        d_extra[i] = d
    d_w = [np.zeros_like(r.value) if g is None else g for r, g in zip(records, grads)]
    return d_args[0], {k: v for k, v in d_extra.items() if v is not None}, d_w


def _restore(structure: Any, leaves: list, grads: Iterator) -> Any:
    """Gradients for ``structure``'s leaves, in its nesting (None for non-floats)."""
    got = []
    for leaf in leaves:
        g = next(grads)
        if g is None and isinstance(leaf, np.ndarray) and leaf.dtype.kind in "fc":
            g = np.zeros(leaf.shape, leaf.dtype)
        got.append(g)
    if not isinstance(structure, (list, tuple)):
        return got[0]
    it = iter(got)

    def build(s: Any) -> Any:
        if isinstance(s, (list, tuple)):
            return type(s)(build(v) for v in s)
        return next(it)

    return build(structure)


#: Unknown sizes tried after 83 / 89 fail: a call may need them small (a CTC loss needs
#: labels no longer than the known number of frames).
SMALL_FILLS = (2, 3)


def infer_output_shape(layer: Any, input_shape: Any) -> Any:
    """A custom layer's output shape without ``compute_output_shape``: ``call`` on zeros
    (unknown sizes filled with 83, then 89, or if that call fails with 2, then 3; sizes
    that change are None), as Keras's symbolic call would infer it."""
    from rnnlens.layers import _lambda_code as LC

    unknown = None in LC._flat_dims(input_shape)
    fills = LC.FILL_SIZES if unknown else LC.FILL_SIZES[:1]
    if LC._dummy_size(input_shape, fills[-1]) > LC.MAX_DUMMY_ELEMENTS:
        raise ValueError(_no_shape(layer, f"the input shape {input_shape} is too large to "
                                          "run call() on a dummy batch"))
    try:
        shapes = [_probe(layer, input_shape, fill) for fill in fills]
    except ValueError:
        if not unknown:
            raise
        try:
            shapes = [_probe(layer, input_shape, fill) for fill in SMALL_FILLS]
        except ValueError:
            shapes = [_probe(layer, input_shape, fill) for fill in fills]  # the first error
    try:
        return shapes[0] if len(shapes) == 1 else LC._merge(*shapes)
    except ValueError as err:
        raise ValueError(_no_shape(layer, str(err))) from None


def _probe(layer: Any, input_shape: Any, fill: int) -> Any:
    """The output shapes of ``call`` on zeros whose unknown sizes are ``fill``."""
    from rnnlens.backend import FLOATX
    from rnnlens.layers import _build_shapes
    from rnnlens.layers import _lambda_code as LC

    batch = fill if fill in LC.FILL_SIZES and _unknown_batch(input_shape) else None
    token = _build_shapes.PROBE_BATCH.set(batch)   # nested builds see batch None, as Keras's
    try:
        args, kwargs = _dummy_call(layer, input_shape, fill, FLOATX.dtype)
        with np.errstate(all="ignore"):
            out = layer.call(*args, **kwargs)
    except Exception as err:  # noqa: BLE001  (any failure of user code)
        raise ValueError(_no_shape(layer, f"running call() on a dummy batch raised "
                                          f"{type(err).__name__}: {err}")) from None
    finally:
        _build_shapes.PROBE_BATCH.reset(token)
        _clear_losses(layer)
    return LC._shapes(out)


def _unknown_batch(input_shape: Any) -> bool:
    """Whether the (first) input's batch size is unknown (None)."""
    while isinstance(input_shape, list) and input_shape:
        input_shape = input_shape[0]
    return isinstance(input_shape, tuple) and bool(input_shape) and input_shape[0] is None


def _dummy_call(layer: Any, input_shape: Any, fill: int, dtype: Any) -> tuple[list, dict]:
    """Zeros for every tensor argument of the node being built (``layer(a, b, k=c)``),
    else for the input shape alone."""
    from rnnlens import functional
    from rnnlens.layers import _lambda_code as LC

    def dummy(v: Any) -> Any:
        if isinstance(v, functional.SymbolicTensor):
            d = dtype if v.dtype in ("float32", None) else np.dtype(v.dtype)
            return LC._dummy(tuple(v.shape), fill, d)
        if isinstance(v, (list, tuple)):
            return type(v)(dummy(x) for x in v)
        return v

    nodes = layer.__dict__.get("_inbound_nodes") or []
    node = nodes[-1] if nodes else None
    if node is not None and not getattr(node, "outputs", None) and node.args and \
            _shape_of(node.args[0]) == input_shape:
        kwargs = call_kwargs(layer, {k: dummy(v) for k, v in node.kwargs.items()})
        return [dummy(a) for a in node.args], kwargs
    return [LC._dummy(input_shape, fill, dtype)], {}


def _shape_of(value: Any) -> Any:
    from rnnlens import functional

    if isinstance(value, functional.SymbolicTensor):
        return tuple(value.shape)
    if isinstance(value, (list, tuple)):
        return [_shape_of(v) for v in value]
    return None


def _no_shape(layer: Any, why: str) -> str:
    return (f"Could not infer the output shape of layer '{layer.name}' "
            f"({type(layer).__name__}) ({why}). Define compute_output_shape(input_shape).")


# ---------------------------------------------------------------------------- nested calls
def traced_call(layer: Any, args: tuple, kwargs: dict) -> Any:
    """``layer(*args, **kwargs)`` while a tape records (``Layer.__call__``'s hook)."""
    tape = ACTIVE.get()
    from rnnlens import functional

    if tape.paused or any(isinstance(v, functional.SymbolicTensor)
                          for v in _flatten([list(args), kwargs])):
        token = ACTIVE.set(None)
        try:
            return layer(*plain(args), **plain(kwargs))
        finally:
            ACTIVE.reset(token)
    if not args:
        raise TypeError(f"Layer '{layer.name}' was called without an input.")
    kwargs = dict(kwargs)
    if "training" not in kwargs and _accepts(layer, "training"):
        kwargs["training"] = tape.training
    kwargs = call_kwargs(layer, kwargs)
    _clear_losses(layer)
    if uses_tape(layer):
        layer.maybe_build(_shape(plain(args[0])))
        with swapped_weights(layer, tape):
            return layer.call(*args, **kwargs)
    return _fused_call(tape, layer, args, kwargs)


_ACCEPTS: dict[tuple, bool] = {}


def _accepts(layer: Any, name: str) -> bool:
    """Whether ``layer.call`` takes ``name`` (or ``**kwargs``), as Keras checks."""
    key = (type(layer), name)
    if key not in _ACCEPTS:
        import inspect

        try:
            params = inspect.signature(type(layer).call).parameters
            _ACCEPTS[key] = name in params or any(p.kind is p.VAR_KEYWORD
                                                  for p in params.values())
        except (TypeError, ValueError):
            _ACCEPTS[key] = False
    return _ACCEPTS[key]


def call_kwargs(layer: Any, kwargs: dict) -> dict:
    """``kwargs`` without ``training`` / ``mask`` when a user's ``call`` does not take
    them (Keras passes them only to a call that names them)."""
    if type(layer).__module__.startswith("rnnlens."):
        return kwargs
    return {k: v for k, v in kwargs.items()
            if k not in ("training", "mask") or _accepts(layer, k)}


def _fused_call(tape: Tape, layer: Any, args: tuple, kwargs: dict) -> Any:
    """A built-in layer as one record whose VJP is its hand-written ``backward``."""
    from rnnlens.autodiff.tape import _Ctx, _Node

    found: dict[int, int] = {}
    p_args = tape.unwrap(list(args), found, f"layer '{layer.name}'")
    p_kwargs = tape.unwrap(kwargs, found, f"layer '{layer.name}'")
    tape.paused += 1
    try:
        inputs = layer.convert_inputs(p_args[0])
        shape = _shape(inputs)
        layer.check_input_shape(shape)
        layer.maybe_build(shape)
        out, cache = layer.forward(inputs, *p_args[1:], **p_kwargs)
    finally:
        tape.paused -= 1
    weights = layer.weights
    bound = {"inputs": p_args[0], **{k: v for k, v in p_kwargs.items()},
             "weights": list(weights)}
    ins = []
    for key, value in (("inputs", p_args[0]), *p_kwargs.items()):
        if isinstance(value, np.ndarray) and id(value) in found:
            ins.append((key, None, found[id(value)]))
        elif isinstance(value, (list, tuple)):
            ins += [(key, i, found[id(v)]) for i, v in enumerate(value)
                    if isinstance(v, np.ndarray) and id(v) in found]
    ins += [("weights", i, tape.leaf(w)) for i, w in enumerate(weights)]
    flat = out if isinstance(out, (list, tuple)) else [out]
    k = len(tape.nodes)
    outs, wrapped = [], []
    for i, o in enumerate(flat):
        if not (isinstance(o, np.ndarray) and o.dtype.kind in "fc"):
            wrapped.append(o)
            continue
        slot = len(tape.values)
        tape.values.append(o)
        tape.producer.append(k)
        outs.append((None if not isinstance(out, (list, tuple)) else i, slot))
        wrapped.append(tape.wrap(o, slot))
    ctx = _Ctx("layer", bound, out, (layer, cache))
    tape.nodes.append(_Node(ctx, ins, outs))
    if not isinstance(out, (list, tuple)):
        return wrapped[0]
    return type(out)(wrapped)


def layer_vjp(ctx: Any, g: Any) -> dict:
    """The VJP of a built-in layer called inside a traced ``call``."""
    layer, cache = ctx.cache
    d_in, d_extra, d_w = layer.backward(cache, g)
    return {"inputs": d_in, **d_extra, "weights": list(d_w)}


__all__ = ["uses_tape", "add_loss", "layer_losses", "total", "collecting", "layer_forward",
           "layer_backward", "traced_call", "call_kwargs", "TapeCache", "LOSS_SINK"]
