"""``to_torch`` of models with Keras op nodes (``ops.exp(h)``, ``h[:, -1]``, ...), against
``model.predict``.

The cases are those of ``tests/test_onnx_op_nodes.py`` (:data:`CASES`: one op or a short
chain on an LSTM's sequences and the float input): the torch module's outputs must equal
rnnlens's within 1e-5 (relative to the output's scale for ops that grow), with the same
dtypes (int32 for ``argmax``, bool for ``x > 0``). The masked model puts
``Embedding(mask_zero=True)`` before LSTMs and ops after them; Hypothesis draws reduction
axes / keepdims and basic keys, negative steps included (torch has no negative-step
slices). Ops without a torch form are refused naming the node and the op.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_onnx_op_nodes import (_AXIS_OPS, _BINARY_OPS, _OPERANDS, _REDUCE,  # noqa: E402
                                ATOL, CASES, REFUSED, T, U, WORST, _axis, _flat, _key,
                                _widths, add_model, axis_model, binary_model,
                                build_or_none, case_model, compare, data, index_model,
                                masked_model, padded_ids, reduction_model, shape_model)
from test_onnx_op_nodes import keras_file, keras_order_file  # noqa: E402,F401  (fixtures)

import rnnlens  # noqa: E402

from rnnlens.interop import to_torch  # noqa: E402
from rnnlens.layers import LSTM, Input  # noqa: E402
from rnnlens.models import Model  # noqa: E402


def run_torch(model: Model, *inputs: np.ndarray) -> list:
    module = to_torch(model)
    with torch.no_grad():
        out = module(*[torch.as_tensor(v) for v in inputs])
    out = out if isinstance(out, (list, tuple)) else [out]
    return [o.numpy() for o in out]


def check_dtypes(got: list, want: list) -> None:
    """Same dtypes; a cast to float16 / float64 is carried as float32 (rounded there)."""
    for g, w in zip(got, want):
        if np.dtype(w.dtype).kind == "f":
            assert np.dtype(g.dtype) == np.float32, g.dtype
        else:
            assert np.dtype(g.dtype) == np.dtype(w.dtype), (g.dtype, w.dtype)


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_case_matches_predict(name: str) -> None:
    model, x = case_model(name), data()
    want = model.predict(x, verbose=0)
    got = run_torch(model, x)
    compare(got, want, f"torch {name}")
    check_dtypes(got, want)


@pytest.mark.parametrize("batch", [1, 3, U, 5])
def test_add_follows_rnnlens_bias_rule_at_run_time(batch: int) -> None:
    """One module for every batch size: x1 + x2 is a bias add exactly when rnnlens's is."""
    model, xv = add_model(), data(4, batch)
    compare(run_torch(model, xv), model.predict(xv, verbose=0), f"torch add batch {batch}")


@pytest.mark.parametrize("batch", [1, 2])
def test_squeeze_without_axis_follows_the_run(batch: int) -> None:
    model, x = case_model("squeeze_all"), data(2, batch)
    want = model.predict(x, verbose=0)
    assert want[0].ndim == (1 if batch == 1 else 2)
    compare(run_torch(model, x), want, f"torch squeeze batch {batch}")


def test_masked_embedding_lstm_then_ops() -> None:
    model, ids = masked_model(), padded_ids()
    want = model.predict(ids, verbose=0)
    got = run_torch(model, ids)
    compare(got, want, "torch masked")
    check_dtypes(got, want)


def test_keras_saved_op_model_converts_with_kerass_numbers(keras_file: Any  # noqa: F811
                                                           ) -> None:
    import keras

    theirs = keras.saving.load_model(keras_file)
    ours = rnnlens.saving.load_model(keras_file)
    ids = padded_ids(3)
    got = run_torch(ours, ids)
    compare(got, theirs.predict(ids, verbose=0), "torch keras file vs Keras")
    compare(got, ours.predict(ids, verbose=0), "torch keras file vs rnnlens")


def test_keras_saved_order_ops_convert_with_kerass_numbers(keras_order_file: Any  # noqa: F811
                                                           ) -> None:
    """split / top_k / unstack (several outputs), pad's constant_values keyword, ..."""
    import keras

    theirs = keras.saving.load_model(keras_order_file)
    ours = rnnlens.saving.load_model(keras_order_file)
    ids = padded_ids(4)
    got = run_torch(ours, ids)
    want = theirs.predict(ids, verbose=0)
    compare(got, want, "torch order ops file vs Keras")
    check_dtypes(got, want)


def test_module_is_differentiable_through_ops() -> None:
    """Gradients reach the LSTM's torch parameters through the op nodes."""
    x = Input((T, 3), name="x")
    h = LSTM(U, return_sequences=True)(x)
    model = Model(x, ops_chain(h))
    module = to_torch(model)
    out = module(torch.as_tensor(data()))
    out.sum().backward()
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    assert grads and any(float(g.abs().sum()) > 0 for g in grads)


def ops_chain(h: Any) -> Any:
    from rnnlens import ops

    return ops.sum(ops.softmax(h[:, ::-1] * 2.0, axis=1) * ops.tanh(h), axis=(1, 2))


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_op_is_refused_naming_it(name: str) -> None:
    x = Input((T, 3), name="x")
    h = LSTM(U, return_sequences=True)(x)
    model = Model(x, REFUSED[name](h))
    node = model.outputs[0].layer
    with pytest.raises(ValueError) as info:
        to_torch(model)
    message = str(info.value)
    assert f"'{node.name}'" in message and type(node).__name__ in message, message


def test_converted_ops_match_the_docs_table() -> None:
    from rnnlens.interop.onnx.op_shapes import exported_ops
    from rnnlens.interop.torch.op_shapes import converted_ops

    names = converted_ops()
    assert {"Exp", "Add", "Sum", "GetItem", "Reshape", "Matmul", "Where"} <= set(names)
    assert "Median" not in names and set(names) == set(exported_ops())


@settings(max_examples=15, deadline=None)
@given(op=st.sampled_from(_REDUCE), axis=_axis(), keepdims=st.booleans())
def test_reductions_any_axis(op: str, axis: Any, keepdims: bool) -> None:
    model = build_or_none(lambda: reduction_model(op, axis, keepdims))
    if model is None:
        return
    xv = data(5)
    compare(run_torch(model, xv), [model.predict(xv, verbose=0)], f"torch {op}{axis}")


@settings(max_examples=25, deadline=None)
@given(op=st.sampled_from(_BINARY_OPS), operand=st.sampled_from(sorted(_OPERANDS)),
       swap=st.booleans(), batch=st.sampled_from([1, U, 5]))
def test_binary_ops_broadcast_and_constants(op: str, operand: str, swap: bool,
                                            batch: int) -> None:
    model = build_or_none(lambda: binary_model(op, operand, swap))
    if model is None:
        return
    xv = data(7, batch)
    compare(run_torch(model, xv), [model.predict(xv, verbose=0)],
            f"torch {op} {operand} swap={swap} batch={batch}")


@settings(max_examples=20, deadline=None)
@given(key=_key())
def test_basic_keys(key: Any) -> None:
    model = build_or_none(lambda: index_model(key))
    if model is None:
        return
    xv = data(6)
    compare(run_torch(model, xv), [model.predict(xv, verbose=0)], f"torch key {key}")


@settings(max_examples=25, deadline=None)
@given(op=st.sampled_from(sorted(_AXIS_OPS)), axis=st.one_of(st.none(), st.integers(-3, 2)))
def test_axis_ops_any_axis(op: str, axis: Any) -> None:
    model = build_or_none(lambda: axis_model(op, axis))
    if model is None:
        return
    xv = data(8, 6)
    want = _flat(model.predict(xv, verbose=0))
    got = run_torch(model, xv)
    compare(got, want, f"torch {op} axis={axis}")
    check_dtypes(got, want)


@settings(max_examples=20, deadline=None)
@given(mode=st.sampled_from(["constant", "reflect", "symmetric"]), widths=_widths(),
       k=st.integers(-7, 4), value=st.floats(-3.0, 3.0, width=32))
def test_pad_and_triangles(mode: str, widths: Any, k: int, value: float) -> None:
    model = build_or_none(lambda: shape_model(mode, widths, k, value))
    if model is None:
        return
    xv = data(9, 6)
    compare(run_torch(model, xv), model.predict(xv, verbose=0), f"torch pad {mode} {widths}")


def test_refused_settings_name_the_setting() -> None:
    """Checked when converting, not when the module runs."""
    from rnnlens import ops

    x = Input((T, 3), name="x")
    h = LSTM(U, return_sequences=True)(x)
    for make, words in ((lambda: ops.cumprod(h, axis=1, dtype="float16"), "dtype="),
                        (lambda: ops.ptp(h, axis=()), "no axes"),
                        (lambda: ops.pad(h, ((0, 0), (1, 1), (0, 0)),
                                         constant_values=h[0, 0, 0]), "constant_values")):
        with pytest.raises(ValueError, match="op node '.*" + re.escape(words)):
            to_torch(Model(x, make()))


def test_worst_diff_report() -> None:
    print(f"worst op-node diff: {WORST['diff']:.2e} ({WORST['case']})")
    assert WORST["diff"] <= ATOL
