"""Fuzzing rnnlens.ops with hypothesis, and the API coverage check against dir(keras.ops).

* The fuzz test draws an op from a representative set, random shapes (broadcastable or
  not), dtypes and axes (in range or not) and accepts only a result equal to Keras's (dtype
  and values) or a ValueError / TypeError raised by rnnlens (also when Keras fails).
* The coverage test lists the public callables of ``keras.ops`` that rnnlens.ops lacks and
  asserts that they are exactly the ones docs/ops.md lists under "Not implemented".
"""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_ops_support import check, keras_module, make, ops

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "ops.md"

UNARY_AXIS = ["sum", "mean", "max", "min", "prod", "std", "var", "any", "all", "argmax",
              "argmin", "cumsum", "sort", "argsort", "logsumexp", "softmax", "log_softmax",
              "flip", "squeeze", "expand_dims", "count_nonzero", "nanmean", "median"]
UNARY = ["exp", "log1p", "sqrt", "square", "abs", "sign", "tanh", "sigmoid", "relu",
         "floor", "round", "isnan", "nan_to_num", "negative", "reciprocal", "erf", "relu6",
         "logical_not", "ravel", "transpose", "copy"]
BINARY = ["add", "subtract", "multiply", "divide", "floor_divide", "mod", "power", "maximum",
          "minimum", "equal", "less", "greater_equal", "logical_and", "where_like", "matmul",
          "dot", "append", "arctan2", "true_divide"]
KINDS = ["bool", "int8", "uint8", "int32", "int64", "float16", "float32", "float64"]

shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)


@pytest.fixture(scope="module")
def K():
    return keras_module()


def fcheck(K, name, *args, **kwargs):
    """``check`` that also accepts rnnlens's ValueError / TypeError naming the op."""
    return check(K, name, *args, lenient=True, **kwargs)


def _arg(data, kinds=KINDS):
    kind = data.draw(st.sampled_from(kinds + ["pyint", "pyfloat"]), label="kind")
    shape = data.draw(shapes, label="shape")
    return make(kind, shape, seed=data.draw(st.integers(0, 5)), lo=-3, hi=3)


@pytest.mark.keras
@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_fuzz_against_keras(K, data):
    family = data.draw(st.sampled_from(["axis", "unary", "binary", "shape"]))
    if family == "axis":
        name = data.draw(st.sampled_from(UNARY_AXIS))
        x = _arg(data)
        axis = data.draw(st.one_of(st.none(), st.integers(-4, 3)), label="axis")
        kwargs = {} if name in ("sort", "argsort", "cumsum", "softmax", "log_softmax",
                                "flip", "squeeze", "expand_dims", "count_nonzero") else {
            "keepdims": data.draw(st.booleans())}
        if name == "expand_dims" and axis is None:
            axis = 0
        fcheck(K, name, x, axis=axis, **kwargs)
    elif family == "unary":
        fcheck(K, data.draw(st.sampled_from(UNARY)), _arg(data))
    elif family == "binary":
        name = data.draw(st.sampled_from(BINARY))
        a, b = _arg(data), _arg(data)
        if name == "where_like":
            fcheck(K, "where", make("bool", np.shape(a)), a, b)
        else:
            fcheck(K, name, a, b)
    else:
        x = _arg(data)
        op = data.draw(st.sampled_from(["reshape", "tile", "repeat", "take", "concatenate",
                                        "stack", "split", "pad", "roll", "one_hot", "clip"]))
        n = data.draw(st.integers(-1, 4))
        shape = data.draw(shapes)
        if op == "reshape":
            fcheck(K, op, x, shape + (n,))
        elif op in ("tile", "repeat", "roll"):
            fcheck(K, op, x, abs(n))
        elif op == "take":
            fcheck(K, op, x, np.array([n, 0]), axis=data.draw(st.sampled_from([None, 0, -1])))
        elif op in ("concatenate", "stack"):
            y = _arg(data)
            if op == "stack" and not (np.size(x) and np.size(y) and np.ndim(x) and np.ndim(y)):
                return       # Keras packs empty / 0-d NumPy arrays by value (docs/ops.md)
            fcheck(K, op, [x, y], axis=data.draw(st.integers(-2, 2)))
        elif op == "split":
            fcheck(K, op, x, max(n, 1), axis=data.draw(st.integers(-2, 2)))
        elif op == "pad":
            fcheck(K, op, x, [[abs(n), 1]] * np.ndim(x))
        elif op == "one_hot":
            fcheck(K, op, x, abs(n) + 1)
        else:
            fcheck(K, op, x, -1, n)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(UNARY_AXIS), shape=shapes, axis=st.integers(-6, 6))
def test_fuzz_bad_axes_raise_value_errors(name, shape, axis):
    """Without Keras: any axis either works or raises a ValueError naming the op."""
    x = np.ones(shape, "float32")
    try:
        getattr(ops, name)(x, axis=axis)
    except ValueError as e:
        assert f"ops.{name}" in str(e)


def _keras_callables(K) -> set[str]:
    return {n for n in dir(K.ops) if not n.startswith("_") and callable(getattr(K.ops, n))}


def _documented_missing() -> set[str]:
    text = DOC.read_text()
    section = text.split("## Not implemented", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\s*[-*]\s*`([a-z_0-9]+)`", section, re.M))


@pytest.mark.keras
def test_missing_ops_match_the_docs(K):
    import rnnlens.ops as R

    missing = sorted(_keras_callables(K) - set(dir(R)))
    print("keras.ops names rnnlens.ops lacks:", missing)
    assert set(missing) == _documented_missing(), (
        "docs/ops.md 'Not implemented' is out of date: rnnlens lacks "
        f"{missing}, the docs list {sorted(_documented_missing())}")
    extra = sorted(set(R.__all__) - _keras_callables(K))
    assert not extra, f"rnnlens.ops has names keras.ops lacks: {extra}"


def test_every_documented_op_exists():
    import rnnlens.ops as R

    text = DOC.read_text().split("## Not implemented", 1)[0]
    listed = set(re.findall(r"`([a-z_0-9]+)`", text))
    for name in listed & set(R.__all__):
        assert callable(getattr(R, name))
    assert len(set(R.__all__) - listed) == 0, f"undocumented ops: {set(R.__all__) - listed}"


def test_import_is_cheap():
    import subprocess
    import sys

    code = ("import sys, rnnlens.ops; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('keras', 'tensorflow', 'torch', 'scipy', 'jax')]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"
