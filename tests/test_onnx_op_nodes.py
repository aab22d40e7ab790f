"""ONNX export of Keras op nodes (``ops.exp(h)``, ``h * 2 + 1``, ``h[:, -1]``, ...) in
recurrent models, against ONNX Runtime.

Every case of :data:`CASES` puts one op (or a short chain) on the output of an LSTM (and
on the model's float input), exports the model and runs it in ONNX Runtime: the outputs
must equal ``model.predict`` within 1e-5 (relative to the output's scale for ops that
grow, such as ``exp`` and ``cumsum``), dtypes included (``argmax`` gives int32 in
rnnlens; the file's outputs are float32). Masked models put ``Embedding(mask_zero=True)``
before the LSTM and ops after it, on batches padded right, left and in the middle;
Hypothesis draws reduction axes / keepdims and basic ``x[key]`` keys. Ops with no
ONNX form are refused naming the op, and ``docs/op_export.md`` is the generated table.
:data:`CASES` is shared with ``tests/test_torch_op_nodes.py`` (nothing here imports
onnx at module level).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from rnnlens import ops
from rnnlens.layers import LSTM, Dense, Embedding, Input
from rnnlens.models import Model

ATOL = 1e-5
T, F, U = 6, 3, 4
WORST = {"diff": 0.0, "case": ""}


def _pos(h: Any) -> Any:
    return ops.abs(h) + 0.5


#: name -> f(h, x): h the LSTM's sequences (B, T, U) in (-1, 1), x the input (B, T, F).
CASES: dict[str, Callable] = {
    # elementwise
    **{name: (lambda h, x, name=name: getattr(ops, name)(h)) for name in (
        "exp", "abs", "absolute", "negative", "sin", "cos", "tan", "tanh", "sigmoid",
        "relu", "gelu", "softplus", "silu", "swish", "square", "sign", "floor", "ceil",
        "arcsin", "arctan", "arcsinh", "arctanh", "sinh", "cosh", "erf", "selu", "elu",
        "celu", "leaky_relu", "relu6", "hard_sigmoid", "hard_silu", "log_sigmoid",
        "softsign", "hard_tanh", "tanh_shrink", "soft_shrink", "hard_shrink",
        "squareplus", "sparse_plus", "sparse_sigmoid", "expm1", "trunc", "round",
        "copy", "stop_gradient")},
    **{name: (lambda h, x, name=name: getattr(ops, name)(_pos(h))) for name in (
        "sqrt", "log", "log1p", "log2", "log10", "rsqrt", "reciprocal")},
    "arccos": lambda h, x: ops.arccos(h * 0.9),
    "arccosh": lambda h, x: ops.arccosh(_pos(h) + 1.0),
    "gelu_exact": lambda h, x: ops.gelu(h, approximate=False),
    "elu_alpha": lambda h, x: ops.elu(h, alpha=0.5),
    "leaky_slope": lambda h, x: ops.leaky_relu(h, negative_slope=0.1),
    "soft_shrink_t": lambda h, x: ops.soft_shrink(h, threshold=0.1),
    "threshold": lambda h, x: ops.threshold(h, 0.1, -2.0),
    "relu_activation": lambda h, x: rnnlens.activations.relu(h, negative_slope=0.1,
                                                             max_value=0.3, threshold=0.05),
    "relu_activation_leaky": lambda h, x: rnnlens.activations.relu(h, negative_slope=0.2),
    "logical_not": lambda h, x: ops.logical_not(h > 0),
    "isfinite": lambda h, x: ops.isfinite(h),
    # binary, broadcasting, NumPy constants
    "add_const": lambda h, x: h + 2.0,
    "radd": lambda h, x: 2.0 + h,
    "add_bias_static": lambda h, x: ops.matmul(h, ops.transpose(h, (0, 2, 1)))
    + np.arange(T, dtype="float32").reshape(T, 1),
    "add_bias_axis1": lambda h, x: h + np.arange(T, dtype="float32").reshape(T, 1),
    "add_vector": lambda h, x: h + np.arange(U, dtype="float32"),
    "sub_rev": lambda h, x: 1.0 - h,
    "mul_array": lambda h, x: h * np.arange(1, U + 1, dtype="float32"),
    "rmul_array": lambda h, x: np.linspace(-1, 1, U).astype("float32") * h,
    "div": lambda h, x: h / (ops.abs(h) + 1.0),
    "true_divide": lambda h, x: ops.true_divide(h, 3.0),
    "power": lambda h, x: h ** 2,
    "pow_frac": lambda h, x: ops.power(_pos(h), 1.5),
    "maximum": lambda h, x: ops.maximum(h, 0.1),
    "minimum_bcast": lambda h, x: ops.minimum(h, h[:, -1:, :]),
    "greater": lambda h, x: h > 0.1,
    "less_equal": lambda h, x: ops.less_equal(h, h[:, :1]),
    "equal": lambda h, x: ops.equal(ops.sign(h), 1.0),
    "not_equal": lambda h, x: ops.not_equal(ops.sign(h), 1.0),
    "logical_xor": lambda h, x: ops.logical_xor(h > 0, x[..., :1] > 0),
    "floor_divide": lambda h, x: ops.floor_divide(h * 10.0, 3.0),
    "mod": lambda h, x: ops.mod(h, 0.3),
    "logaddexp": lambda h, x: ops.logaddexp(h, -h),
    "hypot": lambda h, x: ops.hypot(h, 2.0 * h),
    "matmul": lambda h, x: ops.matmul(h, ops.transpose(h, (0, 2, 1))),
    "matmul_const": lambda h, x: ops.matmul(h, np.ones((U, 2), "float32")),
    "einsum": lambda h, x: ops.einsum("btu,btf->buf", h, x),
    "where": lambda h, x: ops.where(h > 0, h, -2.0 * h),
    "clip": lambda h, x: ops.clip(h, -0.1, 0.2),
    "mixed_sum": lambda h, x: ops.concatenate([h, x], axis=-1) * 2.0 - 1.0,
    # reductions
    "sum_time": lambda h, x: ops.sum(h, axis=1),
    "mean_keep": lambda h, x: ops.mean(h, axis=(1, 2), keepdims=True),
    "max_last": lambda h, x: ops.max(h, axis=-1),
    "min_all": lambda h, x: ops.min(h),
    "amax": lambda h, x: ops.amax(h, axis=1, keepdims=True),
    "prod": lambda h, x: ops.prod(h, axis=-1),
    "all": lambda h, x: ops.all(h > -0.5, axis=1),
    "any": lambda h, x: ops.any(h > 0.5, axis=-1),
    "var": lambda h, x: ops.var(h, axis=1),
    "std": lambda h, x: ops.std(h, axis=(1, 2)),
    "logsumexp": lambda h, x: ops.logsumexp(h, axis=-1),
    "argmax": lambda h, x: ops.argmax(h, axis=-1),
    "argmin_flat": lambda h, x: ops.argmin(h[:, 0]),
    "softmax_time": lambda h, x: ops.softmax(h, axis=1),
    "log_softmax": lambda h, x: ops.log_softmax(h),
    "cumsum": lambda h, x: ops.cumsum(h, axis=1),
    # shapes and indexing
    "last_step": lambda h, x: h[:, -1],
    "middle": lambda h, x: h[:, 1:3],
    "ellipsis": lambda h, x: h[..., 0],
    "newaxis": lambda h, x: h[:, None, 2],
    "reverse": lambda h, x: h[:, ::-1],
    "strided": lambda h, x: h[:, 1::2, -2:],
    "reverse_empty": lambda h, x: ops.concatenate([h[..., -5::-1], h], axis=-1),
    "reshape": lambda h, x: ops.reshape(h, (-1, T * U)),
    "transpose": lambda h, x: ops.transpose(h, (0, 2, 1)),
    "expand_dims": lambda h, x: ops.expand_dims(h, 1),
    "squeeze": lambda h, x: ops.squeeze(h[:, :1], 1),
    "squeeze_all": lambda h, x: ops.squeeze(h[:, :1]),
    "concatenate": lambda h, x: ops.concatenate([h, x], axis=-1),
    "concatenate_const": lambda h, x: ops.concatenate([h[:1], np.ones((1, T, U), "float32")],
                                                      axis=0),
    "stack": lambda h, x: ops.stack([h, 2.0 * h], axis=1),
    "broadcast_to": lambda h, x: ops.broadcast_to(h[:1, :1], (3, T, U)),
    "flip": lambda h, x: ops.flip(h, axis=1),
    "moveaxis": lambda h, x: ops.moveaxis(h, 1, 2),
    "swapaxes": lambda h, x: ops.swapaxes(h, 1, 2),
    "ravel": lambda h, x: ops.ravel(h[:1]),
    "cast_int": lambda h, x: ops.cast(h * 10.0, "int32") + 1,
    "one_hot": lambda h, x: ops.one_hot(ops.argmax(h, axis=-1) - 1, U - 1),
    "take_const": lambda h, x: ops.take(h, np.array([[-1, 0], [2, 2]]), axis=1),
    "take_tensor": lambda h, x: ops.take(h, ops.argmax(h, axis=-1), axis=2),
    "take_flat": lambda h, x: ops.take(h, np.array([3, -2])),
    "tile": lambda h, x: ops.tile(h, (1, 2, 1)),
    "tile_short": lambda h, x: ops.tile(h, (3,)),
    "deg2rad": lambda h, x: ops.deg2rad(h * 90.0),
    "rad2deg": lambda h, x: ops.rad2deg(h),
    "cbrt": lambda h, x: ops.cbrt(h),
    "fmod": lambda h, x: ops.fmod(h, 0.3),
    "cast_float16": lambda h, x: ops.cast(h, "float16"),
    "masked_mean": lambda h, x: ops.sum(h * ops.cast(x[..., :1] > 0, "float32"), axis=1)
    / (ops.sum(ops.cast(x[..., :1] > 0, "float32"), axis=1) + 1.0),
    # order, pieces, padding, repeats, diagonals (several outputs: a list)
    "sort_time": lambda h, x: ops.sort(h, axis=1),
    "sort_flat": lambda h, x: ops.sort(h[:, 1:3], axis=None),
    "sort_ties_int": lambda h, x: ops.sort(ops.cast(h * 3.0, "int32"), axis=-2),
    "argsort": lambda h, x: ops.argsort(h),
    "argsort_ties": lambda h, x: ops.argsort(ops.round(h * 2.0), axis=1),
    "argsort_batch_flat": lambda h, x: [ops.argsort(h, axis=0), ops.argsort(h[:, 0], axis=None)],
    "top_k": lambda h, x: ops.top_k(ops.round(h * 3.0), 3),
    "top_k_unsorted": lambda h, x: ops.top_k(h, k=2, sorted=False),
    "split_sections": lambda h, x: ops.split(h, 2, axis=-1),
    "split_indices": lambda h, x: ops.split(h, [1, -2, 5], axis=1),
    "array_split": lambda h, x: ops.array_split(h, 4, axis=1),
    "unstack": lambda h, x: ops.unstack(h, axis=-1),
    "unstack_num": lambda h, x: ops.unstack(h[:, :3], num=3, axis=1),
    "pad_constant": lambda h, x: ops.pad(h, ((1, 0), (1, 2), (0, 1)), constant_values=2.5),
    "pad_zero_int": lambda h, x: ops.pad(ops.argmax(h, axis=-1), ((0, 0), (2, 1))) + 1,
    "pad_reflect": lambda h, x: ops.pad(h, ((0, 0), (2, 3), (1, 3)), mode="reflect"),
    "pad_symmetric": lambda h, x: ops.pad(h, [[1, 2], [2, 3], [1, 4]], mode="symmetric"),
    "repeat_time": lambda h, x: ops.repeat(h, 2, axis=1),
    "repeat_flat": lambda h, x: ops.repeat(h[:, :2], 3),
    "repeat_counts": lambda h, x: ops.repeat(h, [1, 2, 0, 3], axis=-1),
    "repeat_batch": lambda h, x: ops.repeat(h, 2, axis=0),
    "roll_time": lambda h, x: ops.roll(h, -2, axis=1),
    "roll_flat": lambda h, x: ops.roll(h, 7),
    "roll_axes": lambda h, x: ops.roll(h, [1, -3], axis=[-1, 1]),
    "roll_batch": lambda h, x: ops.roll(h, shift=2, axis=0),
    "static_shapes": lambda h, x: [ops.roll(h[0], 3, axis=0), ops.tril(h[0], 1),
                                   ops.cumprod(h[0] + 1.0, axis=0), ops.repeat(h[0], 2),
                                   ops.diagonal(h[0], 1)],
    "cumprod": lambda h, x: ops.cumprod(h + 1.0, axis=1),
    "cumprod_flat": lambda h, x: ops.cumprod(h[:, :2] + 1.0),
    "cumprod_last": lambda h, x: ops.cumprod(2.0 * h, axis=-1),
    "cum_int_dtype": lambda h, x: [ops.cumsum(h * 10.0, axis=1, dtype="int32"),
                                   ops.cumprod(h * 3.0, axis=-1, dtype="int32")],
    "scalar_results": lambda h, x: [ops.min(h) + 1.0, 2.0 * ops.nanmax(h),
                                    ops.trace(h[0]) - 1.0, ops.log1p(ops.ptp(h))],
    "tril": lambda h, x: ops.tril(h, -1),
    "tril_default": lambda h, x: ops.tril(h),
    "triu": lambda h, x: ops.triu(h, k=2),
    "diag_matrix": lambda h, x: ops.diag(h[0], 1),
    "diag_vector": lambda h, x: ops.diag(h[:, 0, 0], -2),
    "diag_static_vector": lambda h, x: ops.diag(h[0, :, 1], k=1),
    "diagonal": lambda h, x: ops.diagonal(h, 1, 1, 2),
    "diagonal_negative": lambda h, x: ops.diagonal(h, offset=-2, axis1=-1, axis2=-2),
    "diagonal_batch": lambda h, x: ops.diagonal(h, 0, 0, 2),
    "trace": lambda h, x: ops.trace(h, offset=-1, axis1=1, axis2=2),
    "ptp": lambda h, x: ops.ptp(h, axis=1),
    "ptp_keep": lambda h, x: ops.ptp(h, keepdims=True),
    "nanmax": lambda h, x: ops.nanmax(ops.where(h > 0.2, float("nan"), h), axis=-1),
    "nanmin_all_nan": lambda h, x: ops.nanmin(ops.where(h[..., :1] > 0, float("nan"), h),
                                              axis=(1, 2), keepdims=True),
    "fliplr": lambda h, x: ops.fliplr(h),
    "flipud": lambda h, x: ops.flipud(h),
}

#: ops without an ONNX / torch form, as refused: name -> f(h).
REFUSED: dict[str, Callable] = {
    "median": lambda h: ops.median(h, axis=1),
    "argpartition": lambda h: ops.argpartition(h, 1),
    "cumprod_float16": lambda h: ops.cumprod(h, axis=1, dtype="float16"),
    "pad_tensor_value": lambda h: ops.pad(h, ((0, 0), (1, 1), (0, 0)),
                                          constant_values=h[0, 0, 0]),
    "ptp_no_axes": lambda h: ops.ptp(h, axis=()),
    "one_hot_axis": lambda h: ops.one_hot(ops.argmax(h, axis=-1), 3, axis=1),
    "fancy_index": lambda h: h[:, np.array([0, 2])],
    "round_decimals": lambda h: ops.round(h, decimals=1),
}


def case_model(name: str, seed: int = 0) -> Model:
    rnnlens.utils.set_random_seed(seed)                  # the same weights on every run
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    y = CASES[name](h, x)
    ys = list(y) if isinstance(y, (list, tuple)) else [y]       # several outputs: each one
    return Model(x, [*ys, Dense(2)(h[:, -1])])


def data(seed: int = 0, batch: int = 5) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(batch, T, F)).astype("float32")


VOCAB = 9


def masked_model(seed: int = 0) -> Model:
    """ids -> Embedding(mask_zero) -> masked LSTM -> ops (on the masked output)."""
    rnnlens.utils.set_random_seed(seed)
    ids = Input((T,), dtype="int32", name="ids")
    e = Embedding(VOCAB, 5, mask_zero=True)(ids)
    h = LSTM(U, return_sequences=True)(e)
    last = LSTM(3)(h)
    real = ops.cast(ops.not_equal(ids, 0), "float32")                 # (B, T)
    pooled = ops.sum(h * ops.expand_dims(real, -1), axis=1) / \
        ops.maximum(ops.sum(real, axis=1, keepdims=True), 1.0)        # masked mean
    scores = ops.softmax(ops.sum(h, axis=-1) - 1e4 * (1.0 - real), axis=-1)
    outs = [pooled, scores, ops.exp(last) * 2.0, ops.argmax(h, axis=-1), h[:, -1] + last[:, :1],
            ops.tanh(Dense(2)(h))[:, ::-1]]
    return Model(ids, outs)


def padded_ids(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # 5 rows: a batch equal to no axis size (x1 + x2 with x2 of shape (B, 1) and B equal
    # to x1's last axis is TensorFlow's bias_add in rnnlens's eager ops, as in Keras)
    ids = rng.integers(1, VOCAB, size=(5, T)).astype("int32")
    ids[0, 4:] = 0                   # right
    ids[1, :2] = 0                   # left
    ids[2, 2:4] = 0                  # middle
    return ids


def compare(got: list, want: list, case: str, atol: float = ATOL) -> float:
    assert len(got) == len(want)
    worst = 0.0
    for g, w in zip(got, want):
        g, w = np.asarray(g).astype(np.float64), np.asarray(w).astype(np.float64)
        assert g.shape == w.shape, f"{case}: {g.shape} vs {w.shape}"
        assert np.array_equal(np.isnan(g), np.isnan(w)), f"{case}: NaN at other places"
        real = ~np.isnan(w)                        # NaN where rnnlens has NaN (nanmax)
        scale = max(1.0, float(np.max(np.abs(w[real])))) if real.any() else 1.0
        gap = np.where(g == w, 0.0, np.abs(g - w))[real]      # inf == inf: no gap
        diff = float(np.max(gap)) / scale if gap.size else 0.0
        assert diff <= atol, f"{case}: max abs diff {diff:.3e}"
        worst = max(worst, diff)
    if worst >= WORST["diff"]:
        WORST.update(diff=worst, case=case)
    return worst


# -- ONNX -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ort() -> Any:
    pytest.importorskip("onnx")
    return pytest.importorskip("onnxruntime")


def run_onnx(ort: Any, model: Model, feeds: dict, tmp_path: Path, opset: int = 17) -> list:
    from rnnlens.interop.onnx import to_onnx

    path = tmp_path / "model.onnx"
    to_onnx(model, path, opset=opset)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


@pytest.mark.parametrize("name", sorted(CASES))
def test_op_case_matches_predict(ort: Any, name: str, tmp_path: Path) -> None:
    model, x = case_model(name), data()
    want = model.predict(x, verbose=0)
    got = run_onnx(ort, model, {"x": x}, tmp_path)
    compare(got, want, name)


@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("name", ["sum_time", "mean_keep", "max_last", "all", "var",
                                  "logsumexp", "softmax_time", "einsum", "celu", "squeeze_all",
                                  "add_bias_static"])
def test_op_case_at_other_opsets(ort: Any, name: str, opset: int, tmp_path: Path) -> None:
    """Reductions take axes as an attribute before opset 18, as an input from 18."""
    model, x = case_model(name), data()
    compare(run_onnx(ort, model, {"x": x}, tmp_path, opset), model.predict(x, verbose=0),
            f"{name} opset {opset}")


@pytest.mark.parametrize("batch", [1, 2])
def test_squeeze_without_axis_follows_the_run(ort: Any, batch: int, tmp_path: Path) -> None:
    """``squeeze(x)`` drops every axis of size 1 of the run, a batch of 1 too (NumPy's and
    TensorFlow's rule), so the output's rank depends on the batch."""
    model, x = case_model("squeeze_all"), data(2, batch)
    want = model.predict(x, verbose=0)
    assert want[0].ndim == (1 if batch == 1 else 2)
    compare(run_onnx(ort, model, {"x": x}, tmp_path), want, f"squeeze batch {batch}")


def test_op_outputs_keep_rnnlens_dtypes_inside(ort: Any, tmp_path: Path) -> None:
    """An int32 / bool node feeds the next node as in rnnlens (argmax + 1, the count of
    True steps), not as float bits."""
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    y = ops.argmax(h, axis=-1) + 1
    count = ops.sum(h > 0, axis=1)
    model = Model(x, [y * 2, count])
    xv = data(3)
    want = model.predict(xv, verbose=0)
    assert want[0].dtype == np.int32 and want[0].min() >= 2
    got = run_onnx(ort, model, {"x": xv}, tmp_path)
    compare(got, want, "dtypes")


def add_model() -> Model:
    """``v + w[:, :1]`` with v (B, U), w (B, 1): rnnlens (as Keras on TensorFlow) adds w
    as a bias along v's last axis when the batch B equals U, else broadcasts."""
    rnnlens.utils.set_random_seed(2)
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    v, w = h[:, -1], h[:, 0, :1]
    return Model(x, [v + w, w + v, h + ops.expand_dims(w, -1)])


@pytest.mark.parametrize("batch", [1, 3, U, 5])
def test_add_follows_rnnlens_bias_rule_at_run_time(ort: Any, tmp_path: Path,
                                                   batch: int) -> None:
    model = add_model()
    xv = data(4, batch)
    want = model.predict(xv, verbose=0)
    v, w = (Model(model.inputs, t).predict(xv, verbose=0) for t in (
        model.outputs[0].layer._inbound_nodes[-1].args))
    routed = batch == U
    assert np.allclose(want[0], v + w.reshape(-1) if routed else v + w) and \
        (routed or np.allclose(want[0], want[1]))
    got = run_onnx(ort, model, {"x": xv}, tmp_path)
    compare(got, want, f"add batch {batch}")


def test_masked_embedding_lstm_then_ops(ort: Any, tmp_path: Path) -> None:
    model = masked_model()
    ids = padded_ids()
    want = model.predict(ids, verbose=0)
    got = run_onnx(ort, model, {"ids": ids}, tmp_path)
    compare(got, want, "masked")
    # the mask matters: the same ids unpadded give other numbers
    other = model.predict(np.where(ids == 0, 1, ids), verbose=0)
    assert np.max(np.abs(other[0] - want[0])) > 1e-3


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_unsupported_op_is_refused_naming_it(ort: Any, name: str, tmp_path: Path) -> None:
    from rnnlens.interop.onnx import to_onnx

    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    model = Model(x, REFUSED[name](h))
    node = model.outputs[0].layer
    with pytest.raises(ValueError) as info:
        to_onnx(model, tmp_path / "m.onnx")
    message = str(info.value)
    assert f"'{node.name}'" in message and type(node).__name__ in message, message
    assert not (tmp_path / "m.onnx").exists()


def test_docs_table_is_generated_and_exact() -> None:
    from rnnlens.interop.onnx.op_shapes import exported_ops, op_export_markdown

    path = Path(__file__).resolve().parents[1] / "docs" / "op_export.md"
    assert path.read_text() == op_export_markdown(), \
        "docs/op_export.md is stale: regenerate it with op_export_markdown()"
    for cls in ("Exp", "Add", "Sum", "GetItem", "Reshape", "Matmul", "Where", "Softmax"):
        assert f"| `{cls}` |" in path.read_text() and cls in exported_ops()
    assert "Median" not in exported_ops()
    assert {"Sort", "TopK", "Split", "Pad", "Roll", "Cumprod", "Tril"} <= set(exported_ops())


# -- a Keras-saved file with op nodes: Keras's own numbers ------------------------------------


def keras_op_model(keras: Any) -> Any:
    """Keras builds the masked model with ``keras.ops`` (its op nodes, keys and configs
    as Keras writes them)."""
    kops = keras.ops
    ids = keras.Input((T,), dtype="int32", name="ids")
    e = keras.layers.Embedding(VOCAB, 5, mask_zero=True)(ids)
    h = keras.layers.LSTM(U, return_sequences=True)(e)
    last = keras.layers.GRU(3)(h)
    real = kops.cast(kops.not_equal(ids, 0), "float32")
    pooled = kops.sum(h * kops.expand_dims(real, -1), axis=1) / \
        kops.maximum(kops.sum(real, axis=1, keepdims=True), 1.0)
    outs = [pooled, kops.softmax(kops.sum(h, axis=-1) - 1e4 * (1.0 - real), axis=-1),
            kops.exp(last) * 2.0 - kops.tanh(last), h[:, -1, 1:3], h[:, ::-1, :2],
            kops.reshape(kops.transpose(h, (0, 2, 1)), (-1, T * U)),
            kops.argmax(h, axis=-1), kops.where(h > 0, h, 0.1 * h) ** 2,
            kops.log_softmax(kops.mean(h, axis=1)), kops.stack([last, -last], axis=1)]
    return keras.Model(ids, outs)


def save_keras_model(factory: pytest.TempPathFactory, build: Any, seed: int,
                     name: str) -> Path:
    """``build(keras)`` with random weights, saved by Keras 3.15.1 as ``name``.keras."""
    from oracle import keras_available

    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras

    model = build(keras)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-0.7, 0.7, w.shape).astype(np.float32)
                       for w in model.get_weights()])
    path = factory.mktemp(name) / f"{name}.keras"
    model.save(path)
    return path


def check_keras_file(ort: Any, path: Path, batch: int, tmp_path: Path, what: str) -> None:
    """The file read by rnnlens, exported to ONNX: Keras's and rnnlens's predictions."""
    import keras

    theirs = keras.saving.load_model(path)
    ours = rnnlens.saving.load_model(path)
    ids = padded_ids(batch)
    got = run_onnx(ort, ours, {"ids": ids}, tmp_path)
    compare(got, theirs.predict(ids, verbose=0), f"{what} vs Keras")
    compare(got, ours.predict(ids, verbose=0), f"{what} vs rnnlens")


@pytest.fixture(scope="module")
def keras_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_keras_model(tmp_path_factory, keras_op_model, 7, "ops")


def test_keras_saved_op_model_exports_with_kerass_numbers(ort: Any, keras_file: Path,
                                                          tmp_path: Path) -> None:
    check_keras_file(ort, keras_file, 3, tmp_path, "keras file")


def keras_order_model(keras: Any) -> Any:
    """Keras's own nodes of the ordering / piece / padding / diagonal ops (several outputs,
    ``constant_values`` as a call keyword), as Keras writes them to a file."""
    kops = keras.ops
    ids = keras.Input((T,), dtype="int32", name="ids")
    h = keras.layers.LSTM(U, return_sequences=True)(keras.layers.Embedding(VOCAB, 5)(ids))
    a, b = kops.split(h, 2, axis=-1)
    v, i = kops.top_k(h, 2)
    outs = [a, b * 2.0, v, i, kops.sort(h, axis=1), kops.argsort(h, axis=-1),
            kops.pad(h, ((0, 0), (1, 2), (0, 1)), constant_values=1.5),
            kops.pad(h, ((0, 0), (2, 1), (1, 1)), mode="symmetric"),
            kops.repeat(h, 2, axis=1), kops.roll(h, -1, axis=1),
            kops.cumprod(h + 1.0, axis=1), kops.tril(h, -1), kops.triu(h),
            kops.diagonal(h, 0, 1, 2), kops.trace(h, 1, 1, 2), *kops.unstack(h[:, :2], axis=1),
            kops.ptp(h, axis=1), kops.nanmax(h, axis=-1), kops.array_split(h, 4, axis=1)[2],
            kops.fliplr(h), kops.diag(h[0])]
    return keras.Model(ids, outs)


@pytest.fixture(scope="module")
def keras_order_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_keras_model(tmp_path_factory, keras_order_model, 8, "order")


def test_keras_saved_order_ops_export_with_kerass_numbers(ort: Any, keras_order_file: Path,
                                                          tmp_path: Path) -> None:
    check_keras_file(ort, keras_order_file, 4, tmp_path, "order ops file")


# -- hypothesis: axes, keepdims and keys ----------------------------------------------------

_REDUCE = ["sum", "mean", "max", "min", "prod", "var", "std", "logsumexp", "amax", "amin"]


def _axis() -> Any:
    return st.one_of(st.none(), st.integers(-3, 2),
                     st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True)
                     .map(tuple))


def _item() -> Any:
    bound = st.one_of(st.none(), st.integers(-7, 7))
    step = st.one_of(st.none(), st.sampled_from([1, 2, -1, -2]))
    return st.one_of(st.integers(-3, 2), st.builds(slice, bound, bound, step), st.none())


def _key() -> Any:
    return st.lists(_item(), min_size=1, max_size=3).flatmap(
        lambda items: st.sampled_from([tuple(items), (Ellipsis, *items[:1]),
                                       (slice(None), Ellipsis, *items[:1])]))


_BINARY_OPS = ["add", "subtract", "multiply", "divide", "maximum", "minimum", "greater",
               "less_equal", "logaddexp", "mod", "floor_divide", "hypot"]
_OPERANDS: dict[str, Callable] = {
    "same": lambda h: h * 0.5 + 0.7, "first_step": lambda h: h[:, :1] + 1.1,
    "last_unit": lambda h: h[..., -1:] - 4.3, "scalar": lambda h: 0.6,
    "units": lambda h: np.linspace(0.5, 1.5, U).astype("float32"),
    "steps": lambda h: np.linspace(-1.5, -0.5, T).astype("float32").reshape(T, 1),
    "row": lambda h: np.full((1, 1, U), 1.7, "float32"),
}


def binary_model(op: str, operand: str, swap: bool) -> Model:
    rnnlens.utils.set_random_seed(3)
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x) + 2.0     # kept away from 0 (a divisor)
    other = _OPERANDS[operand](h)
    args = (other, h) if swap else (h, other)
    return Model(x, getattr(ops, op)(*args))


def reduction_model(op: str, axis: Any, keepdims: bool) -> Model:
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    return Model(x, getattr(ops, op)(h, axis=axis, keepdims=keepdims))


def index_model(key: Any) -> Model:
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    return Model(x, h[key])


def build_or_none(make: Callable) -> Model | None:
    """The model, or None when rnnlens refuses the op itself (a ValueError/TypeError)."""
    try:
        return make()
    except (ValueError, TypeError):
        return None


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(_REDUCE), axis=_axis(), keepdims=st.booleans())
def test_reductions_any_axis(ort: Any, tmp_path: Path, op: str, axis: Any,
                             keepdims: bool) -> None:
    model = build_or_none(lambda: reduction_model(op, axis, keepdims))
    if model is None:
        return
    xv = data(5)
    compare(run_onnx(ort, model, {"x": xv}, tmp_path), [model.predict(xv, verbose=0)],
            f"{op}{axis}")


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(_BINARY_OPS), operand=st.sampled_from(sorted(_OPERANDS)),
       swap=st.booleans(), batch=st.sampled_from([1, U, 5]))
def test_binary_ops_broadcast_and_constants(ort: Any, tmp_path: Path, op: str, operand: str,
                                            swap: bool, batch: int) -> None:
    model = build_or_none(lambda: binary_model(op, operand, swap))
    if model is None:
        return
    xv = data(7, batch)
    compare(run_onnx(ort, model, {"x": xv}, tmp_path), [model.predict(xv, verbose=0)],
            f"{op} {operand} swap={swap} batch={batch}")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=_key())
def test_basic_keys(ort: Any, tmp_path: Path, key: Any) -> None:
    model = build_or_none(lambda: index_model(key))
    if model is None:
        return
    xv = data(6)
    try:
        got = run_onnx(ort, model, {"x": xv}, tmp_path)
    except ValueError as err:        # only the one key form ONNX cannot slice, named
        assert "Op node 'get_item" in str(err) and "unknown size" in str(err), str(err)
        return
    compare(got, [model.predict(xv, verbose=0)], f"key {key}")


_AXIS_OPS: dict[str, Callable] = {
    "sort": lambda h, axis: ops.sort(h, axis=axis),
    "argsort": lambda h, axis: ops.argsort(ops.round(h * 2.0), axis=axis),
    "cumprod": lambda h, axis: ops.cumprod(h + 1.0, axis=axis),
    "roll": lambda h, axis: ops.roll(h, -3, axis=axis),
    "repeat": lambda h, axis: ops.repeat(h, 2, axis=axis),
    "split": lambda h, axis: ops.split(h, [1, 3], axis=axis),
    "array_split": lambda h, axis: ops.array_split(h, 3, axis=axis),
    "unstack": lambda h, axis: ops.unstack(h, axis=axis),
    "ptp": lambda h, axis: ops.ptp(h, axis=axis),
    "nanmax": lambda h, axis: ops.nanmax(ops.where(h > 0.3, float("nan"), h), axis=axis,
                                         keepdims=True),
    "nanmin": lambda h, axis: ops.nanmin(h, axis=axis),
    "diagonal": lambda h, axis: ops.diagonal(h, -1, axis, 2),
    "trace": lambda h, axis: ops.trace(h, 1, 1, axis),
}


def axis_model(op: str, axis: Any) -> Model:
    rnnlens.utils.set_random_seed(5)
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    y = _AXIS_OPS[op](h, axis)
    return Model(x, list(y) if isinstance(y, (list, tuple)) else y)


def _widths() -> Any:
    pair = st.tuples(st.integers(0, 4), st.integers(0, 4))
    return st.tuples(st.tuples(st.integers(0, 1), st.integers(0, 1)), pair, pair)


def shape_model(mode: str, widths: Any, k: int, value: float) -> Model:
    """pad (any mode, per-axis widths), tril / triu / diag with offset k, in one model."""
    rnnlens.utils.set_random_seed(6)
    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    padded = ops.pad(h, widths, mode=mode, **({"constant_values": value}
                                              if mode == "constant" else {}))
    return Model(x, [padded, ops.tril(h, k), ops.triu(h, -k), ops.diag(h[0], k % 3)])


def _flat(out: Any) -> list:
    return list(out) if isinstance(out, list) else [out]


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(sorted(_AXIS_OPS)), axis=st.one_of(st.none(), st.integers(-3, 2)))
def test_axis_ops_any_axis(ort: Any, tmp_path: Path, op: str, axis: Any) -> None:
    """Negative axes, None (the flat tensor) and the batch axis, as rnnlens takes them."""
    model = build_or_none(lambda: axis_model(op, axis))
    if model is None:
        return
    xv = data(8, 6)
    compare(run_onnx(ort, model, {"x": xv}, tmp_path), _flat(model.predict(xv, verbose=0)),
            f"{op} axis={axis}")


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(["constant", "reflect", "symmetric"]), widths=_widths(),
       k=st.integers(-7, 4), value=st.floats(-3.0, 3.0, width=32))
def test_pad_and_triangles(ort: Any, tmp_path: Path, mode: str, widths: Any, k: int,
                           value: float) -> None:
    model = build_or_none(lambda: shape_model(mode, widths, k, value))
    if model is None:
        return
    xv = data(9, 6)
    compare(run_onnx(ort, model, {"x": xv}, tmp_path), model.predict(xv, verbose=0),
            f"pad {mode} {widths} k={k}")


def test_refused_settings_name_the_setting(ort: Any, tmp_path: Path) -> None:
    """A setting with no ONNX form is refused when exporting, saying which."""
    from rnnlens.interop.onnx import to_onnx

    x = Input((T, F), name="x")
    h = LSTM(U, return_sequences=True)(x)
    for make, words in ((lambda: ops.cumprod(h, axis=1, dtype="float16"), "dtype"),
                        (lambda: ops.ptp(h, axis=()), "axis=()"),
                        (lambda: ops.pad(h, ((0, 0), (1, 1), (0, 0)),
                                         constant_values=h[0, 0, 0]), "constant_values")):
        with pytest.raises(ValueError, match="Op node '.*" + re.escape(words)):
            to_onnx(Model(x, make()), tmp_path / "m.onnx")


def test_worst_diff_report() -> None:
    """Keeps the worst difference seen visible in -rA output (no assertion on order)."""
    print(f"worst op-node diff: {WORST['diff']:.2e} ({WORST['case']})")
    assert WORST["diff"] <= ATOL
