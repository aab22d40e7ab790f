"""rnnlens.ops bad input: a ValueError or TypeError that names the op and the problem,
never a raw NumPy IndexError / AxisError / broadcasting message alone (no Keras needed)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnlens.ops  # noqa: F401
from rnnlens import ops

X = np.ones((2, 3), "float32")

CASES = [
    (ValueError, "reshape", lambda: ops.reshape(X, (4, 2)), "cannot reshape"),
    (ValueError, "reshape", lambda: ops.reshape(X, (-1, -1)), "at most one -1"),
    (ValueError, "matmul", lambda: ops.matmul(X, X), "inner dimensions"),
    (ValueError, "add", lambda: ops.add(X, np.ones((4,))), "cannot be broadcast"),
    (ValueError, "concatenate", lambda: ops.concatenate([X, np.ones((3, 3))], axis=1),
     "differ outside"),
    (ValueError, "sum", lambda: ops.sum(X, axis=2), "out of range"),
    (ValueError, "sum", lambda: ops.sum(X, axis=(0, 0)), "repeats"),
    (TypeError, "sum", lambda: ops.sum(X, axis=1.5), "must be an integer"),
    (ValueError, "take", lambda: ops.take(X, [7], axis=1), "indices must lie"),
    (TypeError, "take", lambda: ops.take(X, np.array([0.5, np.nan])), "integers"),
    (ValueError, "squeeze", lambda: ops.squeeze(X, 1), "is not 1"),
    (ValueError, "split", lambda: ops.split(X, 2, axis=1), "equal sections"),
    (ValueError, "transpose", lambda: ops.transpose(X, (0, 0)), "not a permutation"),
    (TypeError, "sigmoid", lambda: ops.sigmoid(np.arange(3)), "floating-point"),
    (TypeError, "add", lambda: ops.add(np.ones(2, bool), np.ones(2, bool)), "bool"),
    (ValueError, "floor_divide", lambda: ops.floor_divide(np.arange(3), 0), "by zero"),
    (ValueError, "one_hot", lambda: ops.one_hot([1, 2], -1), "non-negative"),
    (ValueError, "zeros", lambda: ops.zeros((2, -1)), "negative dimension"),
    (ValueError, "arange", lambda: ops.arange(0, 5, 0), "step"),
    (ValueError, "arange", lambda: ops.arange(0, float("inf")), "infinite"),
    (TypeError, "cast", lambda: ops.cast(X, "bfloat16"), "no NumPy equivalent"),
    (ValueError, "cast", lambda: ops.cast(X, "float8"), "invalid dtype"),
    (TypeError, "convert_to_tensor", lambda: ops.convert_to_tensor({"a": 1}), "numeric"),
    (ValueError, "convert_to_tensor", lambda: ops.convert_to_tensor([[1], [1, 2]]),
     "cannot convert"),
    (TypeError, "concatenate", lambda: ops.concatenate(3, axis=0), "list or tuple"),
    (ValueError, "top_k", lambda: ops.top_k(X, 5), "k=5"),
    (ValueError, "sparse_categorical_crossentropy",
     lambda: ops.sparse_categorical_crossentropy([0, 3], X), "labels must lie"),
    (ValueError, "inv", lambda: ops.inv(np.zeros((2, 2), "float32")), "singular"),
    (ValueError, "det", lambda: ops.det(X), "square"),
    (ValueError, "einsum", lambda: ops.einsum("ij,jk->ik", X, X), "does not fit"),
    (ValueError, "pad", lambda: ops.pad(X, ((1, 1),)), "each of the 2 axes"),
    (ValueError, "pad", lambda: ops.pad(X, ((1, 1), (1, 1)), mode="wrap"), "mode="),
    (ValueError, "slice", lambda: ops.slice(X, (0, 2), (2, 2)), "does not fit"),
    (ValueError, "segment_sum", lambda: ops.segment_sum(X, np.array([0, 1, 2])),
     "segment_ids"),
    (ValueError, "quantile", lambda: ops.quantile(X, 1.5), "[0, 1]"),
    (TypeError, "while_loop", lambda: ops.while_loop(1, lambda x: x, 0), "callable"),
]


@pytest.mark.parametrize("err,name,call,text", CASES, ids=[c[1] + "-" + c[3][:12]
                                                           for c in CASES])
def test_errors_name_op_and_problem(err, name, call, text):
    with pytest.raises(err) as info:
        call()
    msg = str(info.value)
    assert msg.startswith(f"ops.{name}: "), msg
    assert text in msg, msg


def test_no_raw_numpy_errors_from_odd_inputs():
    odd = [None, "abc", {"a": 1}, [[1], [1, 2]], np.ones((0, 3)), np.ones(()), object()]
    for name in ["sum", "exp", "reshape", "softmax", "argmax", "concatenate", "matmul",
                 "take", "where", "clip", "one_hot", "pad", "tile", "sort", "cumsum"]:
        f = getattr(ops, name)
        for a in odd:
            for args in [(a,), (a, a), (a, 2), (np.ones((2, 2)), a)]:
                try:
                    f(*args)
                except (ValueError, TypeError) as e:
                    assert str(e).startswith("ops."), (name, e)
