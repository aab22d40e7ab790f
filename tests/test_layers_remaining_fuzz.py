"""Hypothesis fuzz of issue 14's remaining layers: random (often invalid) constructor
arguments and random inputs give a correct-looking result or a ValueError / TypeError
raised by rnnlens, never another exception, a NaN from valid finite data, or a hang.
Model files with hostile values for the new keys are refused with UnsafeModelError.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlens import layers as RL
from rnnlens.interop.keras_config import Limits, UnsafeModelError, _Reader

JUNK = st.one_of(st.none(), st.integers(-3, 9), st.sampled_from([0.5, float("nan"), 1e9]),
                 st.sampled_from(["", "x", "ab,bc->ac", "...b,bc->...c", "channels_first"]),
                 st.lists(st.one_of(st.none(), st.integers(-1, 4)), max_size=4),
                 st.just({}), st.booleans())

#: class -> the argument names to fuzz, and a valid base configuration.
CLASSES = {
    "EinsumDense": (("equation", "output_shape", "bias_axes", "lora_rank"),
                    dict(equation="abc,cd->abd", output_shape=(None, 3), bias_axes="d")),
    "ReversibleEmbedding": (("input_dim", "output_dim", "tie_weights", "logit_soft_cap"),
                            dict(input_dim=6, output_dim=3)),
    "GroupNormalization": (("groups", "axis", "epsilon", "center"), dict(groups=2)),
    "RMSNormalization": (("axis", "epsilon"), dict()),
    "AdaptiveAveragePooling1D": (("output_size", "data_format"), dict(output_size=2)),
    "AdaptiveMaxPooling2D": (("output_size", "data_format"), dict(output_size=2)),
    "AdaptiveAveragePooling3D": (("output_size",), dict(output_size=1)),
    "GroupQueryAttention": (("head_dim", "num_query_heads", "num_key_value_heads",
                             "sliding_window", "dropout"),
                            dict(head_dim=2, num_query_heads=2, num_key_value_heads=1)),
    "CategoryEncoding": (("num_tokens", "output_mode"), dict(num_tokens=4)),
    "HashedCrossing": (("num_bins", "output_mode"), dict(num_bins=4)),
}

SHAPES = [(2, 4, 4), (2, 3), (2, 4, 4, 4), (2, 3, 4, 4, 4), (2, 0, 4), (1,)]


def _call(layer: Any, shape: tuple, seed: int) -> Any:
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    if isinstance(layer, RL.GroupQueryAttention):
        return layer(x, x)
    if isinstance(layer, RL.HashedCrossing):
        ids = np.abs(x * 10).astype(np.int64)
        return layer([ids, ids])
    if isinstance(layer, (RL.CategoryEncoding, RL.ReversibleEmbedding)):
        return layer(np.abs(x * 3).astype(np.int64))
    return layer(x)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(CLASSES)), data=st.data(),
       shape=st.sampled_from(SHAPES), seed=st.integers(0, 9))
def test_random_arguments_and_inputs(name: str, data: Any, shape: tuple, seed: int) -> None:
    keys, base = CLASSES[name]
    kwargs = dict(base)
    for key in data.draw(st.lists(st.sampled_from(keys), max_size=2, unique=True)):
        kwargs[key] = data.draw(JUNK)
    try:
        layer = getattr(RL, name)(**kwargs)
    except (ValueError, TypeError):
        return
    try:
        out = _call(layer, shape, seed)
    except (ValueError, TypeError):
        return
    for arr in (out if isinstance(out, (list, tuple)) else [out]):
        arr = np.asarray(arr)
        if arr.dtype.kind == "f" and arr.size:
            assert np.all(np.isfinite(arr)), f"{name}({kwargs}) on {shape} gave non-finite"


@pytest.mark.parametrize("name, config, match", [
    ("EinsumDense", {"equation": "ab,bc->ac", "output_shape": [2 ** 40]}, "output_shape"),
    ("EinsumDense", {"equation": {"x": 1}, "output_shape": 3}, "equation"),
    ("GroupQueryAttention", {"head_dim": 2, "num_query_heads": 10 ** 9,
                             "num_key_value_heads": 1}, "max_units"),
    ("CategoryEncoding", {"num_tokens": 4, "sparse": True}, "sparse"),
    ("HashedCrossing", {"num_bins": 3, "output_mode": "tf_idf"}, "output_mode"),
    ("Pipeline", {"layers": []}, "layers"),
    ("SpectralNormalization", {"layer": {"class_name": "Lambda", "config": {}}}, "Lambda"),
    ("AdaptiveMaxPooling2D", {"output_size": [2, -1]}, "output_size"),
    ("RMSNormalization", {"axis": "last"}, "axis"),
])
def test_hostile_configs_are_refused(name: str, config: dict, match: str) -> None:
    with pytest.raises(UnsafeModelError, match=match):
        _Reader("test", Limits()).layer({"class_name": name, "config": config})
