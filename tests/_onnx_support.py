"""Shared helpers of the ONNX layer tests (tests/test_onnx_layers*.py).

``roundtrip`` randomizes a model's weights (BatchNormalization variances positive),
exports it with ``to_onnx``, checks the file with ``onnx.checker.check_model`` and that
nothing else was written, runs it in ONNX Runtime at two batch sizes (and two lengths
for unknown time axes) and compares every output with ``model.predict`` (absolute
tolerance ``ATOL``). Outputs larger than 1 (exponential, unbounded merges) are compared relative to
their largest magnitude: the tolerance is ``ATOL * max(1, max |expected|)``.
``refuses`` checks a ValueError naming the layer and writing nothing. ``WORST`` keeps
the worst (so scaled) difference for the terminal summary.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from oracle import assert_close, max_abs_diff
from rnnlens.interop.onnx import to_onnx
from rnnlens.layers import BatchNormalization, TimeDistributed
from rnnlens.layers.base import flatten
from rnnlens.models import Model

#: float32 ONNX Runtime against rnnlens: the worst seen is ~1e-6.
ATOL = 2e-6
WORST: dict[str, Any] = {"diff": 0.0, "where": "", "n": 0}


class _Summary:
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if WORST["n"]:
            terminalreporter.write_line(
                f"onnx layer export: {WORST['n']} comparisons with onnxruntime, worst "
                f"max-abs diff / max(1, |value|) {WORST['diff']:.3e} ({WORST['where']})")


def register_summary(request: pytest.FixtureRequest) -> None:
    manager = request.config.pluginmanager
    if not manager.has_plugin("rnnlens-onnx-layers-summary"):
        manager.register(_Summary(), "rnnlens-onnx-layers-summary")


def _layers(model: Any) -> list:
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(layer, Model):
            out += _layers(layer)
        if isinstance(layer, TimeDistributed):
            out.append(layer.layer)
    return out


def randomize(model: Any, seed: int = 0, scale: float = 0.7) -> None:
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(-scale, scale, size=s).astype(np.float32)
                       for s in model.weight_shapes()])
    for layer in _layers(model):
        if isinstance(layer, BatchNormalization):
            weights = layer.get_weights()
            k = int(layer.scale) + int(layer.center) + 1             # moving_variance
            weights[k] = rng.uniform(0.3, 2.0, size=weights[k].shape).astype(np.float32)
            layer.set_weights(weights)


def export(model: Any, tmp_path: Path, opset: int = 17) -> Path:
    path = tmp_path / "model.onnx"
    assert to_onnx(model, path, opset=opset) == path
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]           # nothing else written
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


def session(path: Path) -> Any:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def compare(got: list, expected: list, names: list[str], where: str, atol: float = ATOL
            ) -> None:
    assert len(got) == len(expected), f"{len(got)} ONNX outputs, {len(expected)} expected"
    for g, e, name in zip(got, expected, names):
        assert g.shape == e.shape, f"{where}/{name}: {g.shape} vs {e.shape}"
        scale = max(1.0, float(np.max(np.abs(e)))) if e.size else 1.0
        diff = max_abs_diff(g, e) / scale
        WORST["n"] += 1
        if diff > WORST["diff"]:
            WORST["diff"], WORST["where"] = diff, f"{where} / {name}"
        assert_close(g, e, atol=atol * scale, name=f"{where}/{name}")


def roundtrip(model: Any, tmp_path: Path, batches: tuple = (1, 4), steps: tuple = (7, 10),
              opset: int = 17, seed: int = 0, scale: float = 0.7, data_scale: float = 1.0,
              atol: float = ATOL, weights: bool = True) -> Any:
    """Exports ``model`` and compares ONNX Runtime with ``predict``; returns the proto.

    An unknown axis after the batch gets ``steps[k]`` entries in the k-th run.
    """
    if weights:
        randomize(model, seed, scale)
    path = export(model, tmp_path, opset)
    sess = session(path)
    assert [i.name for i in sess.get_inputs()] == [t.name for t in model.inputs]
    names = [o.name for o in sess.get_outputs()]
    rng = np.random.default_rng(seed + 1)
    for k, batch in enumerate(batches):
        feeds = []
        for t in model.inputs:
            shape = [batch] + [steps[k % len(steps)] if d is None else d for d in t.shape[1:]]
            feeds.append((rng.normal(size=shape) * data_scale).astype(t.dtype))
        expected = model.predict(feeds if len(feeds) > 1 else feeds[0], verbose=0)
        expected = flatten(expected) if isinstance(expected, (list, tuple)) else [expected]
        got = sess.run(None, {t.name: f for t, f in zip(model.inputs, feeds)})
        compare(got, expected, names, f"{model.name}@batch{batch}/opset{opset}", atol)
    return onnx.load(str(path))


def op_types(proto: Any) -> list[str]:
    return [n.op_type for n in proto.graph.node]


def refuses(model: Any, tmp_path: Path, *fragments: str, opset: int = 17) -> str:
    path = tmp_path / "refused.onnx"
    with pytest.raises(ValueError) as info:
        to_onnx(model, path, opset=opset)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message
    assert not path.exists() and os.listdir(tmp_path) == []
    return message


__all__ = ["ATOL", "WORST", "register_summary", "randomize", "export", "session", "compare",
           "roundtrip", "op_types", "refuses"]
