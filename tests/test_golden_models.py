"""Models that Keras 3.15.1 built and ran (tests/golden/models, made by
tests/make_golden_models.py) give the same outputs in rnnlens, read from their configs
with rnnlens's safe model-file reader. Needs no Keras."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from make_golden_models import CASES, GOLDEN
from rnnlens.interop.keras_config import Limits, read_model_config

FILES = sorted(GOLDEN.glob("*.npz"))


def test_every_case_has_a_fixture() -> None:
    missing = sorted(set(CASES) - {p.stem for p in FILES})
    assert not missing, (f"run `.venv/bin/python tests/make_golden_models.py --missing` "
                         f"for {missing}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_golden_model(path: Path, parity) -> None:
    data = np.load(path)
    model = read_model_config(json.loads(str(data["config"])), path.name, Limits())
    n_w = len([k for k in data.files if k.startswith("w_")])
    model.set_weights([data[f"w_{i}"] for i in range(n_w)])
    xs = [data[f"x_{i}"] for i in range(len([k for k in data.files if k.startswith("x_")]))]
    outs = model.predict(xs if len(xs) > 1 else xs[0], verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    expected = [data[f"out_{i}"] for i in range(len([k for k in data.files
                                                     if k.startswith("out_")]))]
    assert len(outs) == len(expected)
    for i, (a, e) in enumerate(zip(outs, expected)):
        parity(np.asarray(a), e, name=f"{path.stem} out_{i}")
