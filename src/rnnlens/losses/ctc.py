"""``keras.losses.CTC`` and ``keras.losses.ctc``: connectionist temporal classification.

``ctc(y_true, y_pred)`` takes labels ``y_true`` (B, L) with 0 as the blank / padding and
logits ``y_pred`` (B, T, C), and returns per sample

.. math::

    v_b = \\operatorname{ctc\\_loss}(y_b, z_b, \\ell_b, T),\\qquad
    \\ell_b = \\#\\{j : y_{bj} \\neq 0\\}

(``rnnlens.ops.ctc_loss`` with ``mask_index=0``: every frame counts, the label length is
the number of non-zero labels, which must come first). As in Keras, ``y_true`` reaches
the loss as floats (Keras's ``Loss`` converts it) and is truncated to int32 labels.
``CTC`` reduces ``v`` like every loss (default ``sum_over_batch_size``); its gradient is
TensorFlow's ``softmax(z) - gamma`` of the dense CTC kernel, times the reduction's
weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.losses.base import Loss, Vjp, as_numeric


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_true.ndim != 2:
        raise ValueError("Targets `y_true` are expected to be a tensor of shape "
                         f"`(batch_size, max_length)` in integer format. Received: "
                         f"y_true.shape={y_true.shape}")
    if y_pred.ndim != 3:
        raise ValueError("Logits `y_pred` are expected to be a tensor of shape "
                         f"`(batch_size, max_length, num_classes)`. Received: "
                         f"y_pred.shape={y_pred.shape}")


def _lengths(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    label_length = np.sum(y_true != 0, axis=-1).astype("int32")
    input_length = np.full((y_pred.shape[0],), y_pred.shape[1], "int32")
    return label_length, input_length


def ctc(y_true: Any, y_pred: Any) -> np.ndarray:
    """The CTC loss of each sample (B,) (Keras's ``keras.losses.ctc``)."""
    from rnnlens import ops

    yt = as_numeric(y_true, "y_true")
    yp = np.asarray(y_pred) if isinstance(y_pred, np.ndarray) else as_numeric(y_pred,
                                                                                 "y_pred")
    _check(yt, yp)
    label_length, input_length = _lengths(yt, yp)
    return ops.ctc_loss(y_true, y_pred, label_length, input_length, mask_index=0)


class CTC(Loss):
    """CTC loss (Keras's ``keras.losses.CTC``): ``y_true`` (B, L) labels, 0 the blank /
    padding; ``y_pred`` (B, T, C) logits (not softmax).

    Args:
        reduction: as every loss (default ``"sum_over_batch_size"``).
        name: default ``"ctc"``.
        dtype: None or the compute dtype.
    """

    _fn_name = "ctc"

    def __init__(self, reduction: Any = "sum_over_batch_size", name: str = "ctc",
                 dtype: Any = None) -> None:
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def _forward(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, Vjp]:
        from rnnlens.ops.ctc import ctc_loss_backward, ctc_loss_forward

        _check(y_true, y_pred)
        label_length, input_length = _lengths(y_true, y_pred)
        values, grad = ctc_loss_forward(y_true, y_pred, label_length, input_length, 0)

        def vjp(g: np.ndarray) -> np.ndarray:
            return ctc_loss_backward(grad, np.asarray(g).reshape(-1))

        return values, vjp


__all__ = ["CTC", "ctc"]
