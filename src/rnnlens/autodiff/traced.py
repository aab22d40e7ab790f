"""``Traced``: the arrays that flow through an active tape.

A ``Traced`` is an ``np.ndarray`` view that knows its tape and its slot on it. While its
tape is active (and not paused inside an op), NumPy's hooks route every use to
``rnnlens.ops`` so that it is recorded:

* operators and ufuncs (``x + y``, ``x @ w``, ``-x``, ``np.exp(x)``, ``x > 0``) through
  ``__array_ufunc__``: a ufunc with an ``rnnlens.ops`` namesake (``np.remainder`` is
  ``ops.mod``) runs that op; ``np.add.reduce`` is ``ops.sum``, ``np.add.accumulate``
  ``ops.cumsum`` (and ``multiply``/``maximum``/``minimum`` likewise);
* ``np.*`` functions through ``__array_function__`` (``np.sum``, ``np.concatenate``,
  ``np.linalg.norm`` ...): the op of the same name;
* the common methods: ``x[key]``, ``x.T``, ``x.reshape``, ``x.transpose``, ``x.sum`` /
  ``mean`` / ``max`` / ``min`` / ``prod`` / ``std`` / ``var``, ``x.astype``,
  ``x.squeeze``, ``x.flatten`` / ``ravel``, ``x.clip``, ``x.dot``, ``x.copy``, iteration.

A NumPy use without an op (``np.convolve(x, k)``, ``x.cumsum()`` through C code) that
yields floats raises a ``TypeError`` naming it (its gradient would be silently lost);
``x[0] = v`` raises too (tensors are immutable, as in Keras: use ``ops.slice_update``
or ``ops.where``). Outside its tape a ``Traced`` behaves as the plain array it views.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: ufunc name -> op name where they differ (None: the identity).
_UFUNC_ALIASES = {"true_divide": "divide", "remainder": "mod", "rint": "round",
                  "invert": "bitwise_invert", "conjugate": "conj", "positive": None,
                  "absolute": "abs"}
_REDUCE = {"add": "sum", "multiply": "prod", "maximum": "max", "minimum": "min",
           "logical_and": "all", "logical_or": "any"}
_ACCUMULATE = {"add": "cumsum", "multiply": "cumprod"}
#: NumPy function name -> op name where they differ.
_FUNCTION_ALIASES = {"amax": "max", "amin": "min", "round_": "round", "around": "round",
                     "absolute": "abs", "concat": "concatenate", "permute_dims": "transpose"}


def _ops() -> dict:
    from rnnlens.ops._dispatch import PUBLIC

    return PUBLIC


def _tape_now() -> Any:
    from rnnlens.autodiff.tape import ACTIVE

    tape = ACTIVE.get()
    return None if tape is None or tape.paused else tape


def plain(value: Any) -> Any:
    """``value`` with every ``Traced`` (in lists, tuples, dicts) as a plain ndarray view."""
    if isinstance(value, Traced):
        return value.view(np.ndarray)
    if isinstance(value, (list, tuple)):
        made = [plain(v) for v in value]
        return tuple(made) if isinstance(value, tuple) else made
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def _live(values: Any, tape: Any) -> bool:
    """Whether any ``Traced`` of ``tape`` is among ``values`` (one level of nesting)."""
    for v in values:
        if isinstance(v, Traced) and v._rt_tape is tape:
            return True
        if isinstance(v, (list, tuple)) and _live(v, tape):
            return True
    return False


def _has_float(result: Any) -> bool:
    if isinstance(result, np.ndarray):
        return result.dtype.kind in "fc"
    if isinstance(result, (list, tuple)):
        return any(_has_float(r) for r in result)
    return False


def _untraceable(what: str) -> TypeError:
    return TypeError(
        f"{what} was applied to a tensor recorded for differentiation, and rnnlens has no "
        "gradient for it, so the gradient would be lost. Write it with rnnlens.ops "
        "(keras.ops), whose ops record their gradients.")


def _broadcast_bias(x1: Any, x2: Any) -> tuple[Any, Any]:
    """``x1 + x2`` on tensors broadcasts as NumPy (``tf.add``); ``ops.add`` routes a
    bias-like ``x2`` to ``bias_add`` (Keras's rule), which differs when ``x2`` would
    broadcast to a larger shape: there ``x2`` is broadcast first."""
    s1, s2 = np.shape(x1), np.shape(x2)
    big = [d for d in s2 if d > 1]
    if s1 == s2 or len(big) != 1 or len(s1) < 2 or big[0] not in (s1[1], s1[-1]):
        return x1, x2
    try:
        full = np.broadcast_shapes(s1, s2)
    except ValueError:
        return x1, x2
    if full == s1 and (s1[-1] == big[0] or len(s2) == len(s1)):
        return x1, x2
    return x1, _ops()["broadcast_to"](x2, full)


class Traced(np.ndarray):
    """An array recorded on a :class:`~rnnlens.autodiff.tape.Tape` (see the module doc)."""

    _rt_tape: Any = None
    _rt_slot: int = -1

    # -- NumPy's hooks ---------------------------------------------------------------

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        tape = _tape_now()
        if tape is None or not _live(inputs, tape):
            return getattr(ufunc, method)(*plain(inputs), **plain(kwargs))
        out = kwargs.pop("out", None)
        if out is not None and not (len(out) == 1 and out[0] is inputs[0]):
            raise TypeError(f"np.{ufunc.__name__}(..., out=...) writes into an array; a "
                            "recorded tensor cannot be changed in place (use the result).")
        name = ufunc.__name__
        if name == "add" and method == "__call__" and len(inputs) == 2:
            inputs = _broadcast_bias(*inputs)
        if method == "__call__":
            op = _UFUNC_ALIASES.get(name, name)
            if op is None:
                return inputs[0]
        elif method == "reduce":
            op = _REDUCE.get(name)
        elif method == "accumulate":
            op = _ACCUMULATE.get(name)
        else:
            op = None
        fn = _ops().get(op) if op else None
        if fn is None:
            result = getattr(ufunc, method)(*plain(inputs), **plain(kwargs))
            if _has_float(result):
                raise _untraceable(f"np.{name}" + ("" if method == "__call__" else
                                                   f".{method}"))
            return result
        if method != "__call__":
            kwargs.pop("dtype", None)
            kwargs = {k: v for k, v in kwargs.items() if k in ("axis", "keepdims")}
        return fn(*inputs, **kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        tape = _tape_now()
        if tape is None or not (_live(args, tape) or _live(list(kwargs.values()), tape)):
            return func(*plain(args), **plain(kwargs))
        name = func.__name__
        fn = _ops().get(_FUNCTION_ALIASES.get(name, name))
        if fn is None:
            result = func(*plain(args), **plain(kwargs))
            if _has_float(result):
                raise _untraceable(f"np.{name}")
            return result
        return fn(*args, **kwargs)

    # -- methods that would bypass the hooks ---------------------------------------------

    def _recording(self) -> bool:
        tape = _tape_now()
        return tape is not None and self._rt_tape is tape

    def __getitem__(self, key: Any) -> Any:
        if not self._recording():
            return self.view(np.ndarray)[plain(key)]
        return _ops()["get_item"](self, key)

    def __setitem__(self, key: Any, value: Any) -> None:
        if self._recording():
            raise TypeError("A recorded tensor cannot be changed in place (x[...] = v); "
                            "build a new one with ops.slice_update, ops.scatter_update or "
                            "ops.where, as Keras tensors require.")
        self.view(np.ndarray)[plain(key)] = plain(value)

    def __iter__(self) -> Any:
        if not self._recording():
            return iter(self.view(np.ndarray))
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    def _call(self, name: str, op: str, *args: Any, **kwargs: Any) -> Any:
        if not self._recording():
            return getattr(self.view(np.ndarray), name)(*plain(args), **plain(kwargs))
        return _ops()[op](self, *args, **kwargs)

    @property
    def T(self) -> Any:  # noqa: N802
        return self._call("transpose", "transpose")

    def reshape(self, *shape: Any, **kwargs: Any) -> Any:
        if not self._recording():
            return self.view(np.ndarray).reshape(*shape, **kwargs)
        shape = shape[0] if len(shape) == 1 else shape
        return _ops()["reshape"](self, kwargs.get("shape", shape))

    def transpose(self, *axes: Any) -> Any:
        if not self._recording():
            return self.view(np.ndarray).transpose(*axes)
        axes = axes[0] if len(axes) == 1 else (axes or None)
        return _ops()["transpose"](self, axes)

    def astype(self, dtype: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._recording():
            return self.view(np.ndarray).astype(dtype, *args, **kwargs)
        return _ops()["cast"](self, np.dtype(dtype).name)

    def flatten(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("flatten", "ravel")

    def ravel(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("ravel", "ravel")

    def squeeze(self, axis: Any = None) -> Any:
        return self._call("squeeze", "squeeze", axis)

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        return self._call("swapaxes", "swapaxes", axis1, axis2)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        return self._call("copy", "copy")

    def clip(self, min: Any = None, max: Any = None, **kwargs: Any) -> Any:  # noqa: A002
        return self._call("clip", "clip", min, max)

    def dot(self, other: Any) -> Any:
        return self._call("dot", "dot", other)

    def _reduce(self, name: str, axis: Any, keepdims: bool, kwargs: dict) -> Any:
        if not self._recording():
            return getattr(self.view(np.ndarray), name)(axis=axis, keepdims=keepdims,
                                                       **plain(kwargs))
        if kwargs.get("out") is not None or kwargs.get("dtype") is not None:
            raise TypeError(f"x.{name}(dtype=..., out=...) is not recorded; call "
                            f"ops.{name} on ops.cast(x, dtype).")
        return _ops()[name](self, axis=axis, keepdims=keepdims)

    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: D102
            keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("sum", axis, keepdims, {"dtype": dtype, "out": out, **kw})

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: D102
             keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("mean", axis, keepdims, {"dtype": dtype, "out": out, **kw})

    def prod(self, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: D102
             keepdims: bool = False, **kw: Any) -> Any:
        return self._reduce("prod", axis, keepdims, {"dtype": dtype, "out": out, **kw})

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: D102
            **kw: Any) -> Any:
        return self._reduce("max", axis, keepdims, {"out": out, **kw})

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False,  # noqa: D102
            **kw: Any) -> Any:
        return self._reduce("min", axis, keepdims, {"out": out, **kw})

    def std(self, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: D102
            ddof: int = 0, keepdims: bool = False, **kw: Any) -> Any:
        if ddof and self._recording():
            raise TypeError("x.std(ddof=...) is not recorded; compute it with ops.")
        return self._reduce("std", axis, keepdims, {"dtype": dtype, "out": out, **kw})

    def var(self, axis: Any = None, dtype: Any = None, out: Any = None,  # noqa: D102
            ddof: int = 0, keepdims: bool = False, **kw: Any) -> Any:
        if ddof and self._recording():
            raise TypeError("x.var(ddof=...) is not recorded; compute it with ops.")
        return self._reduce("var", axis, keepdims, {"dtype": dtype, "out": out, **kw})

    def numpy(self) -> np.ndarray:
        """A plain copy (as a Keras tensor's ``.numpy()``; not differentiated)."""
        return np.array(self.view(np.ndarray))

    def __repr__(self) -> str:
        return "Traced" + repr(self.view(np.ndarray))[5:]

    def __reduce__(self) -> Any:
        return np.ndarray.__reduce__(self.view(np.ndarray))


__all__ = ["Traced", "plain"]
