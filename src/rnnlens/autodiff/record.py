"""Recording one op call on the active tape, and the ops that record differently.

``run`` unwraps the ``Traced`` arguments, runs the op's implementation with recording
paused (an op's own NumPy code, and ops it calls, are not recorded), and records the
call (``Tape.record``). A fused op (``vjps.FUSED``) runs its hand-written forward to keep
the cache its backward needs.

:data:`SPECIAL` ops are recorded through what they run, not as one record:

* ``cond``, ``switch``, ``while_loop``, ``fori_loop`` run the user's functions on the
  traced values, whose ops record as usual (eager control flow);
* ``scan``, ``map``, ``vectorized_map``, ``associative_scan`` run here with the slicing
  and stacking done by recorded ops (``get_item``, ``stack``, ``concatenate``);
* ``stop_gradient`` and ``convert_to_numpy`` return plain (constant) arrays;
* ``custom_gradient(f)`` records one op whose VJP is ``f``'s gradient function, called
  as TensorFlow calls it: ``grad_fn(upstream)``, one gradient per argument of ``f``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.autodiff.tape import ACTIVE, Tape, _Ctx, _Node


def run(tape: Tape, name: str, fn: Callable, args: Any, kwargs: dict) -> Any:
    special = SPECIAL.get(name)
    if special is not None:
        return special(tape, fn, list(args), kwargs)
    from rnnlens.autodiff import vjps

    vjps._load()
    found: dict[int, int] = {}
    p_args = tape.unwrap(list(args), found, name)
    p_kwargs = tape.unwrap(kwargs, found, name)
    fused = vjps.FUSED.get(name) if found else None
    tape.paused += 1
    try:
        if fused is not None:
            out, cache = fused(*p_args, **p_kwargs)
        else:
            out, cache = fn(*p_args, **p_kwargs), None
    finally:
        tape.paused -= 1
    if not found:
        return out
    from rnnlens.ops._dispatch import _to_output

    return tape.record(name, fn, p_args, p_kwargs, found, _to_output(out), cache)


def _paused(tape: Tape, fn: Callable, args: list, kwargs: dict) -> Any:
    found: dict[int, int] = {}
    p_args = tape.unwrap(args, found, "stop_gradient")
    p_kwargs = tape.unwrap(kwargs, found, "stop_gradient")
    tape.paused += 1
    try:
        return fn(*p_args, **p_kwargs)
    finally:
        tape.paused -= 1


def _transparent(tape: Tape, fn: Callable, args: list, kwargs: dict) -> Any:
    return fn(*args, **kwargs)


def _ops() -> Any:
    from rnnlens import ops

    return ops


def _flat(t: Any) -> list:
    if isinstance(t, (list, tuple)):
        return [v for item in t for v in _flat(item)]
    if isinstance(t, dict):
        return [v for k in sorted(t) for v in _flat(t[k])]
    return [t]


def _pack(like: Any, flat: list) -> Any:
    it = iter(flat)

    def build(t: Any) -> Any:
        if isinstance(t, (list, tuple)):
            return type(t)(build(v) for v in t)
        if isinstance(t, dict):
            return {k: build(t[k]) for k in sorted(t)}
        return next(it)

    return build(like)


def _stack(outs: list) -> Any:
    flats = [_flat(o) for o in outs]
    return _pack(outs[0], [_ops().stack([f[i] for f in flats])
                           for i in range(len(flats[0]))])


def _scan(tape: Tape, fn: Callable, args: list, kwargs: dict) -> Any:
    import inspect

    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    f, init, xs = bound.arguments["f"], bound.arguments["init"], bound.arguments["xs"]
    length, reverse = bound.arguments["length"], bound.arguments["reverse"]
    flat = [_ops().convert_to_tensor(v) for v in _flat(xs)] if xs is not None else []
    n = int(length) if xs is None else (flat[0].shape[0] if flat else 0)
    carry, ys = init, []
    for i in (range(n - 1, -1, -1) if reverse else range(n)):
        x = _pack(xs, [v[i] for v in flat]) if xs is not None else None
        carry, y = f(carry, x)
        ys.append(y)
    if reverse:
        ys.reverse()
    return carry, (_stack(ys) if ys and ys[0] is not None else None)


def _map(tape: Tape, fn: Callable, args: list, kwargs: dict) -> Any:
    import inspect

    bound = inspect.signature(fn).bind(*args, **kwargs)
    names = list(bound.arguments)
    f, xs = bound.arguments[names[0]], bound.arguments[names[1]]
    flat = [_ops().convert_to_tensor(v) for v in _flat(xs)]
    n = flat[0].shape[0] if flat and flat[0].ndim else 0
    nested = isinstance(xs, (list, tuple, dict))
    outs = [f(_pack(xs, [v[i] for v in flat]) if nested else flat[0][i]) for i in range(n)]
    return _stack(outs) if outs else None


def _associative_scan(tape: Tape, fn: Callable, args: list, kwargs: dict) -> Any:
    import inspect

    bound = inspect.signature(fn).bind(*args, **kwargs)
    bound.apply_defaults()
    f, elems = bound.arguments["f"], bound.arguments["elems"]
    reverse, axis = bound.arguments["reverse"], bound.arguments["axis"]
    ops = _ops()
    flat = [ops.convert_to_tensor(v) for v in _flat(elems)]
    if reverse:
        flat = [ops.flip(v, axis) for v in flat]
    n = flat[0].shape[axis]
    acc = [ops.take(v, [0], axis=axis) for v in flat]
    outs = [acc]
    for i in range(1, n):
        cur = [ops.take(v, [i], axis=axis) for v in flat]
        acc = _flat(f(_pack(elems, acc), _pack(elems, cur)))
        outs.append(acc)
    res = [ops.concatenate([o[j] for o in outs], axis=axis) for j in range(len(flat))]
    if reverse:
        res = [ops.flip(r, axis) for r in res]
    return _pack(elems, res)


def call_custom(f: Callable, args: tuple, kwargs: dict) -> Any:
    """``f(*args)`` of ``ops.custom_gradient(f)``: with a tape, one record whose VJP is
    the gradient function ``f`` returns."""
    t = ACTIVE.get()
    if t is None or t.paused:
        return f(*args, **kwargs)[0]
    found: dict[int, int] = {}
    pa = t.unwrap(list(args), found, "custom_gradient")
    t.paused += 1
    try:
        out, grad_fn = f(*pa, **kwargs)
    finally:
        t.paused -= 1
    out_flat = out if isinstance(out, (list, tuple)) else [out]
    if not found or not any(isinstance(o, np.ndarray) and o.dtype.kind in "fc"
                            for o in out_flat):
        return out
    bound = {str(i): v for i, v in enumerate(pa)}
    return _record_custom(t, bound, found, out, grad_fn)


def _record_custom(tape: Tape, bound: dict, found: dict, out: Any, grad_fn: Any) -> Any:
    inputs = [(p, None, found[id(v)]) for p, v in bound.items()
              if isinstance(v, np.ndarray) and id(v) in found]
    k = len(tape.nodes)
    single = not isinstance(out, (list, tuple))
    flat = [out] if single else list(out)
    outs, wrapped = [], []
    for i, o in enumerate(flat):
        o = np.asarray(o)
        slot = len(tape.values)
        tape.values.append(o)
        tape.producer.append(k)
        outs.append((None if single else i, slot))
        wrapped.append(tape.wrap(o, slot))
    ctx = _Ctx("custom_gradient", bound, flat[0] if single else tuple(flat),
               (grad_fn, len(bound)))
    tape.nodes.append(_Node(ctx, inputs, outs))
    return wrapped[0] if single else type(out)(wrapped)


SPECIAL: dict[str, Callable] = {
    "stop_gradient": _paused, "convert_to_numpy": _paused,
    "cond": _transparent, "switch": _transparent, "while_loop": _transparent,
    "fori_loop": _transparent, "scan": _scan, "map": _map, "vectorized_map": _map,
    "associative_scan": _associative_scan, "custom_gradient": _transparent,
}


def custom_gradient_vjp(ctx: Any, g: Any) -> dict:
    """Calls the user's gradient function with the upstream gradient(s)."""
    grad_fn, n = ctx.cache
    upstream = g if isinstance(g, list) else [g]
    tape = Tape()
    tape.paused = 1                     # the user's gradient code runs unrecorded
    token = ACTIVE.set(tape)
    try:
        grads = grad_fn(*upstream)
    finally:
        ACTIVE.reset(token)
    grads = list(grads) if isinstance(grads, (list, tuple)) else [grads]
    if len(grads) < n:
        raise ValueError(f"ops.custom_gradient: the gradient function returned "
                         f"{len(grads)} gradients for {n} arguments.")
    from rnnlens.autodiff.traced import plain

    return {str(i): None if gi is None else np.asarray(plain(gi)) for i, gi in
            enumerate(grads[:n])}


__all__ = ["run", "SPECIAL", "call_custom", "custom_gradient_vjp"]
