"""Losses written by the user with ``rnnlens.ops``: functions and ``Loss`` subclasses.

``compile(loss=fn)`` with a function ``fn(y_true, y_pred)`` that Keras does not know
wraps it in :class:`LossFunctionWrapper` (named ``fn.__name__``, as Keras's
``compile``): ``y_true`` and ``y_pred`` are brought to the same rank as Keras's wrapper
does, ``fn`` computes the per-sample losses ``v``, and the usual reduction follows. A
``Loss`` subclass that defines ``call(y_true, y_pred)`` is used as Keras uses it: its
``call`` sees both as floatx tensors, without the rank fix.

Their gradient ``dL/dy_pred`` comes from the gradient tape (``rnnlens.autodiff``): the
call runs with ``y_pred`` watched and ``vjp(w)`` replays it with the cotangent ``w`` of
the per-sample losses (the reduction's weights).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from rnnlens.losses.base import Loss, Vjp


def traced_forward(fn: Callable, y_true: np.ndarray, y_pred: np.ndarray
                   ) -> tuple[np.ndarray, Vjp]:
    """``fn(y_true, y_pred)`` and the map from its cotangent to ``dL/dy_pred``."""
    from rnnlens.autodiff import Tape
    from rnnlens.autodiff.traced import plain

    with Tape() as tape:
        yp = tape.watch(y_pred)
        values = fn(y_true, yp)
    out = np.asarray(plain(values))
    if out.dtype.kind not in "fc":
        raise TypeError(f"The loss function returned {out.dtype} values, expected floats.")

    def vjp(g: np.ndarray) -> np.ndarray:
        grad = tape.gradient(values, yp, output_gradients=np.asarray(g, out.dtype))
        return np.zeros_like(y_pred) if grad is None else grad

    return out, vjp


class LossFunctionWrapper(Loss):
    """A loss from a function ``fn(y_true, y_pred, **kwargs)`` (Keras's class).

    Args:
        fn: the function, written with ``rnnlens.ops`` (or ``keras.ops``).
        reduction: as every loss (default ``"sum_over_batch_size"``).
        name: the loss's name (default ``"loss_function_wrapper"``).
        dtype: None or the compute dtype.
        **kwargs: passed on to ``fn``.
    """

    _fn_name = "loss_function_wrapper"

    def __init__(self, fn: Callable, reduction: Any = "sum_over_batch_size",
                 name: str | None = None, dtype: Any = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"Received fn={fn!r}, expected a function (y_true, y_pred).")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def _forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
        return traced_forward(lambda t, p: self.fn(t, p, **self._fn_kwargs), y_true, y_pred)

    def get_config(self) -> dict[str, Any]:
        from rnnlens.saving import serialize_keras_object

        return {**super().get_config(), "fn": serialize_keras_object(self.fn),
                **self._fn_kwargs}

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


def user_call(cls: type) -> bool:
    """Whether a ``Loss`` subclass defines its own ``call`` (a user's loss class)."""
    return cls.call is not Loss.call and not cls.__module__.startswith("rnnlens.")


__all__ = ["LossFunctionWrapper", "traced_forward", "user_call"]
