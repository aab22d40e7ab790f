"""Every op node Keras 3.15.1 can record on one or two symbolic tensors loads in rnnlens.

For each op of ``rnnlens.layers._op_table`` that takes one or two tensors and no required
constructor argument, Keras builds ``keras.ops.<op>(x)`` / ``keras.ops.<op>(x, y)`` on
``Input((3, 4))`` tensors when it can (ops Keras cannot apply to such inputs, e.g. ``stack``
of one tensor or ``solve`` of non-square matrices, are left out); all of them go into one
Keras model, saved once. rnnlens loads it, and its outputs (shapes, dtypes, NaN positions,
values to 1e-5) equal Keras's; rnnlens's save of it loads back in Keras with the same
outputs, and ``summary()`` prints Keras's text.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import keras_available
from rnnlens.layers._op_table import OPS

pytestmark = pytest.mark.keras

#: Ops left out: their numbers or symbolic shapes legitimately differ on these inputs.
DIFFERENT = {"svd": "singular vectors' signs follow LAPACK (documented in docs/ops.md)",
             **{q: "y as q: rnnlens.ops takes a scalar or 1-d q (TensorFlow any shape)"
                for q in ("percentile", "quantile", "nanpercentile", "nanquantile")},
             "view_as_real": "rnnlens.ops takes complex tensors only (Keras casts floats)",
             "ndim": "Keras's symbolic shape is (rank,) for its scalar value; rnnlens: ()"}


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable; skipped")
    import keras  # noqa: PLC0415

    return keras


def _flat(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    return [value]


def _keras_graph(K: Any, xa: np.ndarray, ya: np.ndarray) -> tuple[Any, list[str]]:
    """One Keras model with every op Keras can apply to ``x`` (and ``y``)."""
    K.utils.clear_session()
    x, y = K.Input((3, 4), name="x"), K.Input((3, 4), name="y")
    outs, names = [], []
    for name, (_cls, _module, positional, _kw, init) in OPS.items():
        args = positional.split()
        if name in DIFFERENT or any(v is ... for v in init.values()) or \
                len(args) not in (1, 2) or args[0].startswith("*"):
            continue
        fn = getattr(K.ops, name)
        try:
            fn(*[xa, ya][: len(args)])                 # Keras computes it on arrays
            out = _flat(fn(*[x, y][: len(args)]))
        except Exception:  # noqa: BLE001  (an op Keras cannot apply to these inputs)
            continue
        outs += out
        names += [name] * len(out)
    return K.Model([x, y], outs, name="all_ops"), names


def _check(parity: Any, ours: list, theirs: list, names: list[str], where: str) -> None:
    assert len(ours) == len(theirs) == len(names)
    for a, b, name in zip(ours, theirs, names):
        a, b = np.asarray(a), np.asarray(b)
        assert a.shape == b.shape, f"{where} {name}: shape {a.shape} != {b.shape}"
        assert (a.dtype.kind == "b") == (b.dtype.kind == "b"), f"{where} {name}: dtype"
        a, b = a.astype("float64"), b.astype("float64")
        assert np.array_equal(np.isnan(a), np.isnan(b)), f"{where} {name}: NaN positions"
        keep = ~np.isnan(b)
        scale = max(1.0, float(np.abs(b[keep]).max())) if keep.any() else 1.0
        parity(np.where(keep, a, 0) / scale, np.where(keep, b, 0) / scale,
               name=f"{where} {name}")


def test_every_recordable_op_loads_and_saves_both_ways(K: Any, parity: Any,
                                                       tmp_path: Any) -> None:
    rng = np.random.default_rng(0)
    xa = rng.uniform(0.1, 0.9, (2, 3, 4)).astype("float32")
    ya = rng.uniform(0.1, 0.9, (2, 3, 4)).astype("float32")
    km, names = _keras_graph(K, xa, ya)
    assert len(set(names)) >= 140, sorted(set(names))
    expected = [np.asarray(t) for t in _flat(km([xa, ya]))]
    km.save(tmp_path / "k.keras")
    ours = rnnlens.models.load_model(tmp_path / "k.keras")
    _check(parity, _flat(ours([xa, ya])), expected, names, "keras->rnnlens")
    shapes = [(n, a.shape, tuple(b.shape)) for n, a, b in zip(names, ours.outputs, km.outputs)
              if a.shape != tuple(b.shape)]
    assert not shapes, shapes
    lines: list[str] = []
    ours.summary(print_fn=lines.append)
    theirs: list[str] = []
    km.summary(print_fn=lambda s, *a, **k: theirs.append(s))
    assert "\n".join(lines).rstrip() == "\n".join(theirs).rstrip()
    ours.save(tmp_path / "r.keras")
    back = K.models.load_model(tmp_path / "r.keras")
    _check(parity, [np.asarray(t) for t in _flat(back([xa, ya]))], expected, names,
           "keras->rnnlens->keras")
