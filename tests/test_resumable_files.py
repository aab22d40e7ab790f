"""Resumable model files: compiled models saved with their optimizer state, against live
Keras 3.15.1.

* Train N epochs, save (``.keras`` or legacy ``.h5``), load, train M more == train N + M
  straight: in rnnlens (bit for bit, every optimizer), and across libraries (rnnlens
  saves -> Keras loads and continues; Keras saves -> rnnlens loads and continues),
  compared with the straight run at 1e-5 relative.
* The files: ``compile_config`` in ``config.json`` and ``to_json`` equal to Keras's,
  ``optimizer/vars/<k>`` (and a LossScaleOptimizer's ``inner_optimizer`` group, a
  MultiOptimizer's ``optimizers/<class>`` groups) laid out
  as Keras writes them, the legacy ``training_config`` / ``optimizer_weights``, and
  ``save_weights`` / ``load_weights`` carrying the optimizer as Keras's do.
* A ``Sequential`` without ``Input`` (built on its first data): slot paths as Keras's,
  and Keras resumes from its file.
* ``compile=False``; and the safe reader: compile configs naming anything but Keras's
  optimizers, schedules, losses and metrics, code, oversized or malformed entries, and
  optimizer variables of the wrong shape, kind or name are refused or skipped with a
  warning, never executed (hypothesis fuzz included).

Keras 3.15.1 cannot continue training a model it loaded from a legacy ``.h5`` (it builds
the optimizer on the model's own, empty, variable list); those tests check what it
does restore (compile arguments, iteration count, learning rate).
"""

from __future__ import annotations

import io
import json
import re
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available

RTOL = 1e-5
N, M = 2, 2                              # epochs before and after the file


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return (rng.normal(size=(32, 6, 3)).astype("float32"),
            rng.normal(size=(32, 2)).astype("float32"))


WEIGHTS = [np.random.default_rng(8).uniform(-0.5, 0.5, s).astype("float32")
           for s in [(3, 20), (5, 20), (20,), (5, 2), (2,)]]


def model(lib: Any, make: Any, loss: Any = "mse", **compile_kw: Any) -> Any:
    inp = lib.Input((6, 3), name="x")
    out = lib.layers.Dense(2, name="dense")(lib.layers.LSTM(5, name="lstm")(inp))
    m = lib.Model(inp, out)
    m.set_weights([w.copy() for w in WEIGHTS])
    m.compile(make(lib), loss(lib) if callable(loss) else loss, **compile_kw)
    return m


def fit(m: Any, epochs: int) -> None:
    x, y = _data()
    m.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0)


def _norm(name: str) -> str:
    """Keras numbers its unnamed variables per session (``variable_7``)."""
    return re.sub(r"^variable(_\d+)?$", "variable", name)


def rel(a: Any, e: Any) -> float:
    a, e = np.asarray(a, np.float64), np.asarray(e, np.float64)
    scale = float(np.max(np.abs(e))) if e.size and np.max(np.abs(e)) > 0 else 1.0
    return float(np.max(np.abs(a - e))) / scale


def assert_weights(parity: Any, actual: Any, expected: Any, what: str) -> None:
    for k, (a, e) in enumerate(zip(actual.get_weights(), expected.get_weights())):
        scale = max(float(np.max(np.abs(e))), 1e-30)
        parity(np.asarray(a) / scale, np.asarray(e) / scale, name=f"{what} weight{k}",
               atol=RTOL)


def _sched(lib: Any) -> Any:
    return lib.optimizers.schedules.ExponentialDecay(0.02, 3, 0.7)


CASES = {
    "adam-schedule": lambda lib, **n: lib.optimizers.Adam(_sched(lib), **n),
    "sgd-nesterov": lambda lib, **n: lib.optimizers.SGD(0.05, momentum=0.9, nesterov=True,
                                                        **n),
    "nadam": lambda lib, **n: lib.optimizers.Nadam(0.01, **n),
    "adafactor": lambda lib, **n: lib.optimizers.Adafactor(0.01, **n),
    "adam-accumulate": lambda lib, **n: lib.optimizers.Adam(
        0.01, gradient_accumulation_steps=3, **n),
    "loss-scale-adam": lambda lib, **n: lib.optimizers.LossScaleOptimizer(
        lib.optimizers.Adam(0.01, **({"name": "inner"} if n else {})),
        dynamic_growth_steps=3, **n),
    "rmsprop-centered": lambda lib, **n: lib.optimizers.RMSprop(0.01, centered=True,
                                                                momentum=0.5, **n),
    "adamw": lambda lib, **n: lib.optimizers.AdamW(0.01, weight_decay=0.1, **n),
    "adagrad": lambda lib, **n: lib.optimizers.Adagrad(0.05, **n),
    "adadelta": lambda lib, **n: lib.optimizers.Adadelta(1.0, **n),
    "adamax": lambda lib, **n: lib.optimizers.Adamax(0.01, **n),
    "ftrl": lambda lib, **n: lib.optimizers.Ftrl(
        0.05, l2_shrinkage_regularization_strength=0.01, **n),
    "lion": lambda lib, **n: lib.optimizers.Lion(0.001, **n),
    "lamb": lambda lib, **n: lib.optimizers.Lamb(0.01, **n),
    "muon": lambda lib, **n: lib.optimizers.Muon(0.01, **n),
    "schedule-free": lambda lib, **n: lib.optimizers.ScheduleFreeAdamW(0.01, **n),
    "multi": lambda lib, **n: _multi(lib, **n),
}


def _multi(lib: Any, **n: Any) -> Any:
    """A MultiOptimizer: Adam on the LSTM, Nadam on the Dense bias, SGD on the rest, a
    loss scale; named inner optimizers (their names are in the config). (No EMA here:
    ``fit`` ends by copying the averages into the weights, so a split run differs.)"""
    opts = lib.optimizers
    table = opts.OptimizerMap(opts.SGD(0.05, momentum=0.5, name="s"),
                              {"lstm/.*": opts.Adam(0.01, amsgrad=True, name="a"),
                               "dense/bias": opts.Nadam(0.01, name="n")})
    return opts.MultiOptimizer(table, loss_scale_factor=4.0, **n)


def named(case: str) -> Any:
    """The case's optimizer named ``opt`` (paths then do not depend on name counters)."""
    return lambda lib: CASES[case](lib, name="opt")


# Across libraries in the fast run (the others are slow; adam-schedule also goes through
# legacy .h5 below and adam-accumulate's file layout is checked against Keras's).
FAST = ("nadam", "adafactor", "loss-scale-adam", "multi")


# ---------------------------------------------------------------------------- rnnlens
@pytest.mark.parametrize("ext", ["keras", "h5"])
@pytest.mark.parametrize("case", list(CASES))
def test_rnnlens_resumes_exactly(tmp_path: Path, case: str, ext: str) -> None:
    straight = model(rnnlens, CASES[case])
    fit(straight, N + M)
    first = model(rnnlens, CASES[case])
    fit(first, N)
    path = tmp_path / f"m.{ext}"
    if case == "adafactor" and ext == "h5":
        with pytest.raises(ValueError, match="share a path"):     # Keras fails too
            first.save(path)
        assert not path.exists()
        rnnlens.saving.save_model(first, path, include_optimizer=False)
        assert getattr(rnnlens.models.load_model(path), "_compiled", None) is None
        return
    first.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = rnnlens.models.load_model(path)
    assert type(resumed.optimizer) is type(first.optimizer)
    assert resumed.optimizer.iterations == first.optimizer.iterations
    for a, b in zip(resumed.optimizer.variables, first.optimizer.variables):
        assert _norm(a.name) == _norm(b.name)   # Nadam's product: variable_<session count>
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    fit(resumed, M)
    for a, b in zip(resumed.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert resumed.optimizer.iterations == straight.optimizer.iterations


def test_compile_false_and_uncompiled_files(tmp_path: Path) -> None:
    m = model(rnnlens, CASES["nadam"])
    fit(m, 1)
    for ext in ("keras", "h5"):
        m.save(tmp_path / f"m.{ext}")
        plain = rnnlens.saving.load_model(tmp_path / f"m.{ext}", compile=False)
        assert getattr(plain, "_compiled", None) is None
        for a, b in zip(plain.get_weights(), m.get_weights()):
            np.testing.assert_array_equal(a, b)
    bare = rnnlens.Model.from_config(m.get_config())           # never compiled
    bare.save(tmp_path / "b.keras")
    with zipfile.ZipFile(tmp_path / "b.keras") as z:
        assert "compile_config" not in json.loads(z.read("config.json"))
        h5 = _h5(z.read("model.weights.h5"))
    assert "optimizer" not in h5
    assert getattr(rnnlens.models.load_model(tmp_path / "b.keras"), "_compiled", None) is None


def test_ema_is_finalized_and_resumes(tmp_path: Path) -> None:
    """With ``use_ema`` fit ends by copying the averages into the weights (Keras's
    ``finalize_variable_values``); the averages travel with the file."""
    m = model(rnnlens, lambda lib: lib.optimizers.Adam(0.01, use_ema=True))
    fit(m, 1)
    averages = [a.copy() for a in m.optimizer.slots["average"]]
    for a, w in zip(averages, m.trainable_weights):
        np.testing.assert_array_equal(a, w)
    m.save(tmp_path / "e.keras")
    back = rnnlens.models.load_model(tmp_path / "e.keras")
    for a, b in zip(back.optimizer.slots["average"], averages):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------- files
def _h5(data: bytes) -> Any:
    import h5py

    return h5py.File(io.BytesIO(data), "r")


def _layout(h5: Any) -> list[tuple[str, Any, str]]:
    import h5py

    found: list = []
    h5.visititems(lambda n, o: found.append(
        (n, tuple(o.shape), str(o.dtype)) if isinstance(o, h5py.Dataset) else
        (n, None, str(o.attrs.get("name", "")))))
    return sorted(found)


@pytest.mark.keras
@pytest.mark.parametrize("case", ["nadam", "adafactor", "loss-scale-adam", "adam-accumulate",
                                  "multi"])
def test_keras_file_layout_and_configs_match(K: Any, tmp_path: Path, case: str) -> None:
    ours, theirs = model(rnnlens, named(case)), model(K, named(case))
    ours.save(tmp_path / "unbuilt_r.keras")                  # compiled, optimizer unbuilt
    theirs.save(tmp_path / "unbuilt_k.keras")
    fit(ours, 1)
    fit(theirs, 1)
    ours.save(tmp_path / "r.keras")
    theirs.save(tmp_path / "k.keras")
    for r_name, k_name in (("unbuilt_r", "unbuilt_k"), ("r", "k")):
        with zipfile.ZipFile(tmp_path / f"{r_name}.keras") as zr, \
                zipfile.ZipFile(tmp_path / f"{k_name}.keras") as zk:
            cr = json.loads(zr.read("config.json"))["compile_config"]
            ck = json.loads(zk.read("config.json"))["compile_config"]
            assert cr == ck
            lr = [e for e in _layout(_h5(zr.read("model.weights.h5")))
                  if e[0].startswith("optimizer")]
            lk = [e for e in _layout(_h5(zk.read("model.weights.h5")))
                  if e[0].startswith("optimizer")]
            assert lr == lk
    assert json.loads(ours.to_json())["compile_config"] == \
        json.loads(theirs.to_json())["compile_config"]
    again = rnnlens.models.model_from_json(ours.to_json())
    assert again.optimizer.get_config() == ours.optimizer.get_config()


@pytest.mark.keras
def test_compile_config_of_losses_metrics_and_options_matches(K: Any) -> None:
    def make(lib: Any) -> Any:
        return lib.optimizers.SGD(_sched(lib), momentum=0.5, name="opt")

    kw = {"loss_weights": [0.5], "metrics": ["mae"], "weighted_metrics": ["mse"],
          "steps_per_execution": 2, "jit_compile": False, "run_eagerly": True}
    for loss in (lambda lib: lib.losses.Huber(delta=0.5), lambda lib: "mse",
                 lambda lib: lib.losses.mean_absolute_error):
        ours = model(rnnlens, make, loss=loss, **kw)
        theirs = model(K, make, loss=loss, **kw)
        assert json.loads(ours.to_json())["compile_config"] == \
            json.loads(theirs.to_json())["compile_config"]
        back = K.models.model_from_json(ours.to_json())
        assert back.optimizer.get_config() == theirs.optimizer.get_config()


# ---------------------------------------------------------------------------- across
@pytest.mark.keras
@pytest.mark.parametrize("case", FAST)
def test_rnnlens_file_resumes_in_keras(K: Any, parity: Any, tmp_path: Path, case: str
                                       ) -> None:
    _rnnlens_to_keras(K, parity, tmp_path, case)


@pytest.mark.keras
@pytest.mark.parametrize("case", FAST)
def test_keras_file_resumes_in_rnnlens(K: Any, parity: Any, tmp_path: Path, case: str
                                       ) -> None:
    _keras_to_rnnlens(K, parity, tmp_path, case)


SLOW = [c for c in CASES if c not in FAST]


@pytest.mark.keras
@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW)
def test_every_optimizer_resumes_across_libraries(K: Any, parity: Any, tmp_path: Path,
                                                  case: str) -> None:
    _rnnlens_to_keras(K, parity, tmp_path, case)
    _keras_to_rnnlens(K, parity, tmp_path, case)


def _rnnlens_to_keras(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    straight = model(K, named(case))
    fit(straight, N + M)
    first = model(rnnlens, named(case))
    fit(first, N)
    first.save(tmp_path / "r.keras")
    loaded = K.models.load_model(tmp_path / "r.keras")
    assert type(loaded.optimizer).__name__ == type(first.optimizer).__name__
    assert [_norm(v.name) for v in loaded.optimizer.variables] == \
        [_norm(v.name) for v in first.optimizer.variables]
    for a, b in zip(loaded.optimizer.variables, first.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a.numpy()), b.numpy())
    fit(loaded, M)
    assert_weights(parity, loaded, straight, f"{case} rnnlens->keras")


def _keras_to_rnnlens(K: Any, parity: Any, tmp_path: Path, case: str) -> None:
    straight = model(K, CASES[case])
    fit(straight, N + M)
    first = model(K, CASES[case])
    fit(first, N)
    first.save(tmp_path / "k.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = rnnlens.models.load_model(tmp_path / "k.keras")
    for a, b in zip(loaded.optimizer.variables, first.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), np.asarray(b.numpy()))
    fit(loaded, M)
    assert_weights(parity, loaded, straight, f"{case} keras->rnnlens")
    assert loaded.optimizer.iterations == int(np.asarray(straight.optimizer.iterations))


@pytest.mark.keras
def test_sequential_without_input_trains_and_saves_as_keras(K: Any, parity: Any,
                                                            tmp_path: Path) -> None:
    """A Sequential without ``Input`` builds on its first data (here ``predict``); the
    optimizer's slots are named under the Sequential (``opt/seq_lstm_...``) as Keras's,
    and Keras resumes from rnnlens's file."""
    def make(lib: Any) -> Any:
        m = lib.Sequential([lib.layers.LSTM(4, name="lstm"), lib.layers.Dense(2, name="dense")],
                           name="seq")
        m.compile(lib.optimizers.Adam(0.01, name="opt"), "mse")
        return m

    x, y = _data()
    ours, theirs = make(rnnlens), make(K)
    assert not ours.built
    ours.predict(x[:1], verbose=0)
    theirs.build((None, 6, 3))
    ours.set_weights(theirs.get_weights())
    fit(ours, 1)
    fit(theirs, 1)
    assert [v.path for v in ours.optimizer.variables] == \
        [v.path for v in theirs.optimizer.variables]
    assert_weights(parity, ours, theirs, "deferred sequential")
    ours.save(tmp_path / "s.keras")
    loaded = K.models.load_model(tmp_path / "s.keras")
    for a, b in zip(loaded.optimizer.variables, ours.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a.numpy()), b.numpy())
    fit(loaded, 1)
    fit(theirs, 1)
    assert_weights(parity, loaded, theirs, "keras resumes deferred sequential")


@pytest.mark.keras
def test_legacy_h5_both_ways(K: Any, parity: Any, tmp_path: Path) -> None:
    make = named("adam-schedule")
    losses = (lambda lib: lib.losses.MeanSquaredError())       # Keras cannot load "mse"
    ours, theirs = model(rnnlens, make, loss=losses), model(K, make, loss=losses)
    fit(ours, N)
    fit(theirs, N)
    ours.save(tmp_path / "r.h5")
    theirs.save(tmp_path / "k.h5")
    import h5py

    with h5py.File(tmp_path / "r.h5", "r") as hr, h5py.File(tmp_path / "k.h5", "r") as hk:
        assert json.loads(hr.attrs["training_config"]) == \
            json.loads(hk.attrs["training_config"])
        assert [e[:2] for e in _layout(hr)] == [e[:2] for e in _layout(hk)]
        assert list(hr["optimizer_weights"].attrs["weight_names"]) == \
            list(hk["optimizer_weights"].attrs["weight_names"])
        cfg_r, cfg_k = (json.loads(h.attrs["model_config"]) for h in (hr, hk))
        assert [(e["class_name"], e["config"]) for e in cfg_r["config"]["layers"]] == \
            [(e["class_name"], e["config"]) for e in cfg_k["config"]["layers"]]
    # Keras reads rnnlens's file: compiled, weights, iteration count and rate.
    loaded = K.models.load_model(tmp_path / "r.h5")
    assert loaded.optimizer.get_config() == ours.optimizer.get_config()
    assert int(np.asarray(loaded.optimizer.iterations)) == ours.optimizer.iterations
    assert_weights(parity, loaded, ours, "keras loads rnnlens h5")
    # rnnlens reads Keras's file, restores the whole optimizer and resumes.
    straight = model(K, make, loss=losses)
    fit(straight, N + M)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        resumed = rnnlens.models.load_model(tmp_path / "k.h5")
    for a, b in zip(resumed.optimizer.variables, theirs.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), np.asarray(b.numpy()))
    fit(resumed, M)
    assert_weights(parity, resumed, straight, "rnnlens resumes keras h5")


@pytest.mark.keras
def test_weights_files_carry_the_optimizer(K: Any, parity: Any, tmp_path: Path) -> None:
    ours, theirs = model(rnnlens, CASES["nadam"]), model(K, CASES["nadam"])
    fit(ours, N)
    ours.save_weights(tmp_path / "r.weights.h5")
    fit(theirs, 1)                                      # Keras: built optimizer to load into
    theirs.load_weights(tmp_path / "r.weights.h5")
    assert int(np.asarray(theirs.optimizer.iterations)) == ours.optimizer.iterations
    for a, b in zip(theirs.optimizer.variables, ours.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(a.numpy()), b.numpy())
    theirs.save_weights(tmp_path / "k.weights.h5")
    fresh = model(rnnlens, CASES["nadam"])
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        fresh.load_weights(tmp_path / "k.weights.h5")      # unbuilt: as Keras, skipped
    fit(fresh, 1)
    fresh.load_weights(tmp_path / "k.weights.h5")
    assert fresh.optimizer.iterations == ours.optimizer.iterations
    assert_weights(parity, fresh, ours, "weights")


# ---------------------------------------------------------------------------- safety
def _rewrite(src: Path, dst: Path, config: Any = None, weights: Any = None) -> Path:
    """``src``'s archive with ``config.json`` edited by ``config(dict)`` and the weights
    by ``weights(h5py.File)``."""
    import h5py

    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    if config is not None:
        cfg = json.loads(members["config.json"])
        config(cfg)
        members["config.json"] = json.dumps(cfg).encode()
    if weights is not None:
        buf = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buf, "a") as h5:
            weights(h5)
        members["model.weights.h5"] = buf.getvalue()
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return dst


@pytest.fixture(scope="module")
def trained(tmp_path_factory: Any) -> Path:
    path = tmp_path_factory.mktemp("safe") / "m.keras"
    m = model(rnnlens, CASES["adam-schedule"], metrics=["mae"])
    fit(m, 1)
    m.save(path)
    return path


def _set(key: str, value: Any) -> Any:
    return lambda cfg: cfg["compile_config"].__setitem__(key, value)


BAD_CONFIGS = {
    "layer as loss": _set("loss", {"module": "keras.layers", "class_name": "Dense",
                                   "config": {"units": 10 ** 9},
                                   "build_config": {"input_shape": [None, 10 ** 6]}}),
    "lambda loss": _set("loss", {"module": "builtins", "class_name": "__lambda__",
                                 "config": {"code": "x"}}),
    "unknown function": _set("loss", {"module": "builtins", "class_name": "function",
                                      "config": "os.system", "registered_name": "function"}),
    "custom module": _set("metrics", [{"module": "evil", "class_name": "X", "config": {}}]),
    "unknown key": _set("callbacks", []),
    "optimizer is a metric": _set("optimizer", {"module": "keras.metrics",
                                                "class_name": "Mean", "config": {}}),
    "long list": _set("metrics", ["mae"] * 20_000),
    "not a dict": lambda cfg: cfg.__setitem__("compile_config", [1, 2]),
    "bad optimizer arg": lambda cfg: cfg["compile_config"]["optimizer"]["config"]
    .__setitem__("beta_1", "x"),
}


@pytest.mark.parametrize("kind", list(BAD_CONFIGS))
def test_bad_compile_configs_load_uncompiled(trained: Path, tmp_path: Path, kind: str
                                             ) -> None:
    path = _rewrite(trained, tmp_path / "bad.keras", config=BAD_CONFIGS[kind])
    with pytest.warns(UserWarning, match="not compiled"):
        m = rnnlens.models.load_model(path)
    assert getattr(m, "_compiled", None) is None
    x, _ = _data()
    assert m.predict(x[:2], verbose=0).shape == (2, 2)


BAD_STATE = {
    "wrong shape": (lambda h5: (h5.__delitem__("optimizer/vars/3"),
                                h5.create_dataset("optimizer/vars/3", data=np.zeros(7))),
                    "shape"),
    "extra name": (lambda h5: h5.create_dataset("optimizer/vars/x", data=np.zeros(1)),
                   "entries other than"),
    "strings": (lambda h5: (h5.__delitem__("optimizer/vars/2"),
                            h5.create_dataset("optimizer/vars/2",
                                              data=np.array([b"a"] * 60).reshape(3, 20))),
                "expected numbers"),
    "soft link": (lambda h5: (h5.__delitem__("optimizer/vars/2"),
                              h5.__setitem__("optimizer/vars/2", _soft())), "SoftLink"),
}


def _soft() -> Any:
    import h5py

    return h5py.SoftLink("/layers/lstm/cell/vars/0")


@pytest.mark.parametrize("kind", list(BAD_STATE))
def test_bad_optimizer_variables_are_refused(trained: Path, tmp_path: Path, kind: str
                                             ) -> None:
    edit, message = BAD_STATE[kind]
    path = _rewrite(trained, tmp_path / "bad.keras", weights=edit)
    with pytest.raises(ValueError, match=message):
        rnnlens.models.load_model(path)
    assert getattr(rnnlens.saving.load_model(path, compile=False), "_compiled", None) is None


def test_fewer_optimizer_variables_are_skipped_with_keras_warning(trained: Path,
                                                                  tmp_path: Path) -> None:
    path = _rewrite(trained, tmp_path / "few.keras",
                    weights=lambda h5: h5.__delitem__("optimizer/vars/10"))
    with pytest.warns(UserWarning, match="Skipping variable loading"):
        m = rnnlens.models.load_model(path)
    assert m.optimizer.iterations == 0 and m.optimizer.built


def test_legacy_training_config_refusals(tmp_path: Path) -> None:
    import h5py

    m = model(rnnlens, CASES["nadam"], loss=lambda lib: lib.losses.MeanSquaredError())
    fit(m, 1)
    m.save(tmp_path / "m.h5")
    for bad in ({"optimizer_config": {"class_name": "Dense", "config": {}}},
                {"optimizer_config": {"class_name": "Adam", "config": {"lr": 0.1}}},
                {"loss": {"class_name": "Dense", "config": {}},
                 "optimizer_config": {"class_name": "SGD", "config": {}}}, [1]):
        with h5py.File(tmp_path / "m.h5", "a") as h5:
            h5.attrs["training_config"] = json.dumps(bad).encode()
        with pytest.warns(UserWarning, match="not compiled"):
            back = rnnlens.models.load_model(tmp_path / "m.h5")
        assert getattr(back, "_compiled", None) is None
    with h5py.File(tmp_path / "m.h5", "a") as h5:
        h5.attrs["training_config"] = b"{not json"
    with pytest.raises(ValueError, match="training_config is not valid JSON"):
        rnnlens.models.load_model(tmp_path / "m.h5")


_JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2)
                     | st.sampled_from(["mse", "adam", "keras.layers", "Dense", "function",
                                        "builtins", "keras.losses", "__lambda__"]),
                     lambda children: st.lists(children, max_size=3) |
                     st.dictionaries(st.sampled_from(["module", "class_name", "config",
                                                      "registered_name", "loss",
                                                      "optimizer", "metrics", "units"]),
                                     children, max_size=4), max_leaves=12)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(config=_JSON)
def test_fuzz_compile_configs(trained: Path, tmp_path: Path, config: Any) -> None:
    """Any compile_config: a compiled model or one loaded uncompiled with a warning."""
    path = _rewrite(trained, tmp_path / "fuzz.keras",
                    config=lambda cfg: cfg.__setitem__("compile_config", config))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = rnnlens.models.load_model(path)
    x, _ = _data()
    assert m.predict(x[:1], verbose=0).shape == (1, 2)
