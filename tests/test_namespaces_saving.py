"""``rnnlens.saving`` against live Keras 3.15.1 (TensorFlow).

* ``serialize_keras_object`` gives exactly Keras's dicts for built-in layers (with
  ``build_config``), functional models, initializers, regularizers, constraints,
  activations, losses (objects and functions), metrics, schedules, ``SeedGenerator``,
  ``DTypePolicy``, symbolic tensors and plain values (arrays, slices, bytes, Ellipsis);
  Keras's ``deserialize_keras_object`` rebuilds rnnlens's dicts (optimizers included)
  and rnnlens rebuilds Keras's, whose re-serialization equals Keras's dict.
* Registration: ``register_keras_serializable`` names, ``get_registered_name`` /
  ``get_registered_object`` / ``get_custom_objects``, ``custom_object_scope`` (an inner
  scope replaces the outer one, as Keras), custom classes and functions round-trip,
  the same errors as Keras for unknown classes and non-modeling APIs.
* Safety: lambdas are refused with ``safe_mode=False`` too; hypothesis fuzz of configs
  accepts only results or ValueError / TypeError and imports no module.
* Files: ``save_model`` -> Keras ``load_model`` and back with equal predictions (1e-5),
  ``compile=True`` compiles from a Keras file's ``compile_config`` (same ``evaluate``),
  weights both ways, and clear errors for what rnnlens does not support.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from oracle import keras_available
from rnnlens import saving as S


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


def outcome(fn: Any, *args: Any) -> Any:
    """``fn(*args)``, or the type of the exception it raised."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001
        return type(err)


def jsonable(x: Any) -> Any:
    return json.loads(json.dumps(x))


# ---------------------------------------------------------------------------- serialize
OBJECTS = {
    "relu": lambda M: M.activations.relu,
    "softmax": lambda M: M.activations.softmax,
    "mse_fn": lambda M: M.losses.mean_squared_error,
    "mae_metric_fn": lambda M: M.metrics.mean_absolute_error,
    "MSE": lambda M: M.losses.MeanSquaredError(),
    "BCE": lambda M: M.losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
    "SCCE": lambda M: M.losses.SparseCategoricalCrossentropy(reduction="sum"),
    "Huber": lambda M: M.losses.Huber(delta=2.0),
    "Mean": lambda M: M.metrics.Mean(name="m"),
    "BinaryAccuracy": lambda M: M.metrics.BinaryAccuracy(threshold=0.3),
    "AUC": lambda M: M.metrics.AUC(num_thresholds=50),
    "Precision": lambda M: M.metrics.Precision(),
    "GlorotUniform": lambda M: M.initializers.GlorotUniform(seed=3),
    "Constant": lambda M: M.initializers.Constant(2.0),
    "Orthogonal": lambda M: M.initializers.Orthogonal(gain=2.0, seed=1),
    "VarianceScaling": lambda M: M.initializers.VarianceScaling(2.0, "fan_out", "uniform"),
    "L1L2": lambda M: M.regularizers.L1L2(0.1, 0.2),
    "L2": lambda M: M.regularizers.L2(0.01),
    "MaxNorm": lambda M: M.constraints.MaxNorm(2),
    "MinMaxNorm": lambda M: M.constraints.MinMaxNorm(0.5, 2.0, rate=0.5),
    "ExponentialDecay": lambda M: M.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9),
    "CosineDecay": lambda M: M.optimizers.schedules.CosineDecay(0.1, 100, alpha=0.1),
    "SeedGenerator": lambda M: M.random.SeedGenerator(3, name="sg"),
    "DTypePolicy": lambda M: M.config.dtype_policy(),
    "Dense": lambda M: M.layers.Dense(3, activation="tanh", name="d",
                                      kernel_regularizer=M.regularizers.L2(0.1)),
    "LSTM": lambda M: M.layers.LSTM(4, name="l", return_sequences=True, dropout=0.1),
    "GRU": lambda M: M.layers.GRU(2, name="g", reset_after=False),
    "Embedding": lambda M: M.layers.Embedding(10, 4, mask_zero=True, name="e"),
    "plain": lambda M: [1, (2, 3.5), {"a": None, "b": np.arange(3, dtype="int32")},
                        slice(1, None, 2), Ellipsis, b"xy", np.float32(2.5), "s", True],
}


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_serialize_equals_keras(K: Any, name: str) -> None:
    theirs = K.saving.serialize_keras_object(OBJECTS[name](K))
    ours = S.serialize_keras_object(OBJECTS[name](rnnlens))
    assert ours == theirs


def test_serialize_built_layer_model_and_tensor_equal_keras(K: Any) -> None:
    out = {}
    for M, ser in ((K, K.saving.serialize_keras_object), (rnnlens, S.serialize_keras_object)):
        x = M.Input((5, 4), name="inp")
        lstm = M.layers.LSTM(3, name="lstm", return_sequences=True)
        h = lstm(x)
        y = M.layers.Dense(2, name="dd")(x)
        model = M.Model(x, y, name="fun")
        entry = ser(model)
        entry.pop("compile_config", None)             # Keras writes {} when uncompiled
        out[M.__name__] = (ser(lstm), ser(h), ser(y), ser(x), jsonable(entry))
    assert out["rnnlens"] == out["keras"]


def test_keras_rebuilds_rnnlens_dicts(K: Any) -> None:
    from keras.saving import deserialize_keras_object as kd  # noqa: PLC0415

    for name, make in OBJECTS.items():
        if name == "plain":
            continue
        obj = kd(jsonable(S.serialize_keras_object(make(rnnlens))))
        ref = make(K)
        assert type(obj) is type(ref) or obj is ref, name
        if hasattr(ref, "get_config"):
            assert obj.get_config() == ref.get_config(), name
    for opt in ("Adam", "SGD", "RMSprop"):
        ours = getattr(rnnlens.optimizers, opt)(learning_rate=0.05)
        theirs = kd(jsonable(S.serialize_keras_object(ours)))
        assert type(theirs).__name__ == opt
        assert abs(float(theirs.learning_rate.numpy()) - 0.05) < 1e-8
        ref = getattr(K.optimizers, opt)(learning_rate=0.05).get_config()
        cfg = S.serialize_keras_object(ours)["config"]
        assert {k: v for k, v in ref.items() if k in cfg and k != "name"} == \
            {k: v for k, v in cfg.items() if k != "name"}, opt


def test_rnnlens_rebuilds_keras_dicts(K: Any) -> None:
    for name, make in OBJECTS.items():
        theirs = K.saving.serialize_keras_object(make(K))
        obj = S.deserialize_keras_object(theirs if name == "plain" else jsonable(theirs))
        again = S.serialize_keras_object(obj)
        if name == "plain":                      # tuples come back as lists, as in Keras
            assert again == S.serialize_keras_object(
                K.saving.deserialize_keras_object(theirs))
        else:
            assert again == theirs, name
    sched = K.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)
    for opt in (K.optimizers.Adam(0.01), K.optimizers.SGD(0.1, momentum=0.5),
                K.optimizers.RMSprop(), K.optimizers.SGD(learning_rate=sched)):
        obj = S.deserialize_keras_object(jsonable(K.saving.serialize_keras_object(opt)))
        assert type(obj).__name__ == type(opt).__name__
        cfg = obj.get_config()
        ref = opt.get_config()
        assert all(cfg[k] == ref[k] for k in cfg if k != "name" and k in ref)


def test_build_config_builds_the_layer(K: Any) -> None:
    d = K.layers.Dense(3, name="d")
    d.build((None, 7))
    layer = S.deserialize_keras_object(jsonable(K.saving.serialize_keras_object(d)))
    assert layer.built and [w.shape for w in layer.weights] == [(7, 3), (3,)]
    assert isinstance(layer, rnnlens.layers.Dense)


def test_serialize_refuses_lambdas_and_opaque_objects(K: Any) -> None:
    with pytest.raises(ValueError, match="lambda"):
        S.serialize_keras_object(lambda x: x)
    with pytest.raises(TypeError):
        S.serialize_keras_object(object())
    assert outcome(lambda: K.saving.serialize_keras_object(object())) is TypeError


# ---------------------------------------------------------------------------- registry
class Scaler:
    """A custom object with a config (registered in both libraries by the tests)."""

    def __init__(self, factor: float = 1.0):
        self.factor = factor

    def get_config(self) -> dict:
        return {"factor": self.factor}

    @classmethod
    def from_config(cls, config: dict) -> "Scaler":
        return cls(**config)


def double(x: Any) -> Any:
    return 2 * x


def test_registration_equals_keras(K: Any) -> None:
    for M in (K, rnnlens):
        M.saving.register_keras_serializable("pkg")(Scaler)
        M.saving.register_keras_serializable("pkg", name="twice")(double)
    for M in (K, rnnlens):
        assert M.saving.get_registered_name(Scaler) == "pkg>Scaler"
        assert M.saving.get_registered_name(double) == "pkg>twice"
        assert M.saving.get_registered_name(np.mean) == "mean"
        assert M.saving.get_registered_object("pkg>Scaler") is Scaler
        assert M.saving.get_registered_object("nope") is None
        assert M.saving.get_registered_object("x", custom_objects={"x": 1}) == 1
        assert M.saving.get_registered_object("y", module_objects={"y": 2}) == 2
        assert M.saving.get_custom_objects()["pkg>twice"] is double
    ours = S.serialize_keras_object({"s": Scaler(3.0), "f": double})
    assert ours == K.saving.serialize_keras_object({"s": Scaler(3.0), "f": double})
    back = S.deserialize_keras_object(jsonable(ours))
    assert isinstance(back["s"], Scaler) and back["s"].factor == 3.0 and back["f"] is double
    kback = K.saving.deserialize_keras_object(jsonable(ours))
    assert isinstance(kback["s"], Scaler) and kback["f"] is double
    for M in (K, rnnlens):
        with pytest.raises(ValueError):
            M.saving.register_keras_serializable()(type("NoConfig", (), {}))


def test_custom_object_scopes_like_keras(K: Any) -> None:
    for M in (K, rnnlens):
        with M.saving.custom_object_scope({"a": 1, "b": 2}):
            assert M.saving.get_registered_object("a") == 1
            with M.saving.CustomObjectScope({"b": 3}):
                assert M.saving.get_registered_object("a") is None     # replaced, as Keras
                assert M.saving.get_registered_object("b") == 3
            assert M.saving.get_registered_object("b") == 2
        assert M.saving.get_registered_object("a") is None
        assert "a" not in M.saving.get_custom_objects()
    with pytest.raises(TypeError):
        S.CustomObjectScope(["a"])


def test_unregistered_custom_objects(K: Any) -> None:
    class Local:
        def __init__(self, v: int = 0):
            self.v = v

        def get_config(self) -> dict:
            return {"v": self.v}

        @classmethod
        def from_config(cls, config: dict) -> "Local":
            return cls(**config)

    config = jsonable(S.serialize_keras_object(Local(4)))
    assert config == jsonable(K.saving.serialize_keras_object(Local(4)))
    for M in (K, rnnlens):
        assert outcome(M.saving.deserialize_keras_object, config) is TypeError
        obj = M.saving.deserialize_keras_object(config, custom_objects={"Local": Local})
        assert isinstance(obj, Local) and obj.v == 4
        with M.saving.custom_object_scope({"Local": Local}):
            assert M.saving.deserialize_keras_object(config).v == 4


BAD_CONFIGS = {
    "os.system": {"module": "os", "class_name": "system", "config": {},
                  "registered_name": None},
    "eval function": {"module": "builtins", "class_name": "function", "config": "eval",
                      "registered_name": "function"},
    "subprocess": {"module": "subprocess", "class_name": "Popen",
                   "config": {"args": ["ls"]}, "registered_name": "Popen"},
    "no module": {"class_name": "Dense", "config": {"units": 2}},
    "unknown keras class": {"module": "keras.layers", "class_name": "Nope", "config": {},
                            "registered_name": None},
    "non-modeling api": {"module": "keras.saving", "class_name": "function",
                         "config": "load_model", "registered_name": None},
    "function config dict": {"module": "builtins", "class_name": "function",
                             "config": {"a": 1}, "registered_name": "function"},
    "class config str": {"module": "keras.layers", "class_name": "Dense", "config": "x",
                         "registered_name": None},
    "registered name on built-in": {"module": "keras.initializers", "class_name": "Zeros",
                                    "config": {}, "registered_name": "evil>Zeros"},
    "not a dict": 3 + 4j,
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_configs_raise_like_keras(K: Any, name: str) -> None:
    ours = outcome(lambda: S.deserialize_keras_object(BAD_CONFIGS[name]))
    theirs = outcome(lambda: K.saving.deserialize_keras_object(BAD_CONFIGS[name]))
    assert ours in (ValueError, TypeError), f"{name}: rnnlens gave {ours!r}"
    if theirs in (ValueError, TypeError):
        assert ours is theirs, f"{name}: rnnlens {ours}, Keras {theirs}"


def test_invalid_built_in_configs_raise_value_errors() -> None:
    for config in ({"units": -3}, {"units": 2, "foo": 1}, {"units": 2, "activation": "nope"}):
        with pytest.raises(ValueError):
            S.deserialize_keras_object({"module": "keras.layers", "class_name": "Dense",
                                        "config": config, "registered_name": None})


def test_code_and_models_are_refused(K: Any) -> None:
    lam = {"class_name": "__lambda__", "config": {"value": ["x", None, None]}}
    for safe in (True, False):
        with pytest.raises(ValueError, match="never deserializes code"):
            S.deserialize_keras_object(lam, safe_mode=safe)
    model = K.Sequential([K.Input((3,)), K.layers.Dense(2)])
    with pytest.raises(ValueError, match="load_model"):
        S.deserialize_keras_object(jsonable(K.saving.serialize_keras_object(model)))
    with pytest.raises(TypeError):
        S.deserialize_keras_object({"class_name": "Dense"}, bogus=1)


def test_module_objects_like_keras(K: Any) -> None:
    table = {"Scaler": Scaler, "double": double}
    assert S.deserialize_keras_object("double", module_objects=table) is double
    for M in (K, rnnlens):
        d = M.saving.deserialize_keras_object
        assert d("unknown", module_objects=table) == "unknown"
        assert d({"class_name": "Scaler", "config": {"factor": 2.0}},
                 module_objects=table).factor == 2.0


JSON = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                              st.text(max_size=5)),
                    lambda c: st.one_of(st.lists(c, max_size=3),
                                        st.dictionaries(st.text(max_size=5), c, max_size=3)),
                    max_leaves=8)
NAMES = st.sampled_from(["Dense", "LSTM", "function", "Zeros", "L2", "Adam", "Mean", "relu",
                         "__numpy__", "__slice__", "__bytes__", "__lambda__", "__typespec__",
                         "Sequential", "system", "SeedGenerator", "DTypePolicy", "MaxNorm"])
MODULES = st.sampled_from([None, "keras.layers", "keras.initializers", "builtins", "os",
                           "keras", "keras.optimizers", "keras.src.layers.core.dense",
                           "keras.random", "keras.metrics", "__main__", 3])


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=NAMES, module=MODULES, inner=JSON, registered=st.one_of(st.none(), NAMES),
       extra=JSON)
def test_fuzz_configs_only_results_or_clear_errors(name: str, module: Any, inner: Any,
                                                   registered: Any, extra: Any) -> None:
    before = set(sys.modules)
    config = {"module": module, "class_name": name, "config": inner,
              "registered_name": registered, "build_config": extra}
    for item in (config, {"class_name": name, "config": inner}, inner):
        try:
            S.deserialize_keras_object(item)
        except (ValueError, TypeError) as err:
            assert str(err)
    new = {m for m in set(sys.modules) - before if not m.startswith(("rnnlens", "numpy"))}
    assert new == set(), f"deserialization imported {sorted(new)}"


# ---------------------------------------------------------------------------- files
def _twins(K: Any) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    km = K.Sequential([K.Input((6, 3)), K.layers.LSTM(4, return_sequences=True),
                       K.layers.Dense(2)])
    rm = rnnlens.Sequential([rnnlens.Input((6, 3)), rnnlens.layers.LSTM(
        4, return_sequences=True), rnnlens.layers.Dense(2)])
    weights = [rng.uniform(-0.5, 0.5, w.shape).astype("float32") for w in km.get_weights()]
    km.set_weights(weights)
    rm.set_weights(weights)
    return km, rm


def test_save_model_opens_in_keras_and_back(K: Any, tmp_path: Any, parity: Any) -> None:
    km, rm = _twins(K)
    x = np.random.default_rng(1).normal(size=(5, 6, 3)).astype("float32")
    path = tmp_path / "m.keras"
    S.save_model(rm, path)
    parity(K.saving.load_model(path).predict(x, verbose=0), km.predict(x, verbose=0),
           name="keras loads rnnlens save_model")
    parity(S.load_model(str(path)).predict(x), km.predict(x, verbose=0),
           name="rnnlens load_model")
    with pytest.raises(ValueError, match="overwrite"):
        S.save_model(rm, path, overwrite=False)
    S.save_model(rm, path, overwrite=True, zipped=True)


def test_load_model_compiles_from_keras_file(K: Any, tmp_path: Any, parity: Any) -> None:
    km, _ = _twins(K)
    km.compile(optimizer=K.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    path = tmp_path / "c.keras"
    km.save(path)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(8, 6, 3)).astype("float32")
    y = rng.normal(size=(8, 6, 2)).astype("float32")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Keras saved an unbuilt optimizer (2 variables); the loaded one is built for the
        # model (12), so Keras and rnnlens skip its state with this warning.
        warnings.filterwarnings("ignore", "Skipping variable loading for optimizer")
        model = S.load_model(path)
    assert type(model.optimizer).__name__ == "Adam"
    assert abs(float(model.optimizer.learning_rate) - 0.01) < 1e-8
    ours = model.evaluate(x, y, verbose=0, return_dict=True)
    theirs = km.evaluate(x, y, verbose=0, return_dict=True)
    parity([ours["loss"], ours["mae"]], [theirs["loss"], theirs["mae"]], name="evaluate")
    plain = S.load_model(path, compile=False)
    assert getattr(plain, "optimizer", None) is None


def test_weights_both_ways(K: Any, tmp_path: Any, parity: Any) -> None:
    km, rm = _twins(K)
    x = np.random.default_rng(3).normal(size=(2, 6, 3)).astype("float32")
    S.save_weights(rm, tmp_path / "a.weights.h5")
    fresh = K.Sequential([K.Input((6, 3)), K.layers.LSTM(4, return_sequences=True),
                          K.layers.Dense(2)])
    fresh.load_weights(tmp_path / "a.weights.h5")
    parity(fresh.predict(x, verbose=0), km.predict(x, verbose=0), name="keras loads weights")
    km.save_weights(tmp_path / "k.weights.h5")
    _, other = _twins(K)
    other.set_weights([w * 0 for w in other.get_weights()])
    S.load_weights(other, tmp_path / "k.weights.h5")
    parity(other.predict(x), km.predict(x, verbose=0), name="rnnlens loads weights")
    S.load_weights(other, tmp_path / "k.weights.h5", skip_mismatch=True)


UNSUPPORTED = [
    ("save .txt", lambda m, p: S.save_model(m, p / "m.txt"), ValueError),
    ("save unzipped", lambda m, p: S.save_model(m, p / "m.keras", zipped=False), ValueError),
    ("save bad kwarg", lambda m, p: S.save_model(m, p / "m.keras", foo=1), ValueError),
    ("save not a model", lambda m, p: S.save_model(3, p / "m.keras"), TypeError),
    ("save path int", lambda m, p: S.save_model(m, 3), TypeError),
    ("weights bad name", lambda m, p: S.save_weights(m, p / "w.h5"), ValueError),
    ("weights shards", lambda m, p: S.save_weights(m, p / "w.weights.h5", max_shard_size=1),
     ValueError),
    ("load missing", lambda m, p: S.load_model(p / "none.keras"), ValueError),
    ("load .pb", lambda m, p: S.load_model(p / "saved.pb"), ValueError),
    ("load custom_objects list", lambda m, p: S.load_model(p / "x.keras", [1]), TypeError),
    ("load_weights json", lambda m, p: S.load_weights(m, p / "w.weights.json"), ValueError),
    ("load_weights by_name", lambda m, p: S.load_weights(m, p / "w.h5", by_name=True),
     ValueError),
    ("load_weights kwarg", lambda m, p: S.load_weights(m, p / "w.weights.h5", foo=1),
     ValueError),
    ("load_weights txt", lambda m, p: S.load_weights(m, p / "w.txt"), ValueError),
]


@pytest.mark.parametrize("name,call,error", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_file_arguments_raise(K: Any, tmp_path: Any, name: str, call: Any,
                                          error: type) -> None:
    _, rm = _twins(K)
    with pytest.raises(error):
        call(rm, tmp_path)


def test_keras_errors_for_file_names_match(K: Any, tmp_path: Any) -> None:
    km, rm = _twins(K)
    for fn in (lambda M, m: M.saving.save_weights(m, tmp_path / "w.h5"),
               lambda M, m: M.saving.load_model(tmp_path / "none.keras"),
               lambda M, m: M.saving.load_model(tmp_path / "saved.pb"),
               lambda M, m: M.saving.load_weights(m, tmp_path / "w.txt"),
               lambda M, m: M.saving.save_model(m, tmp_path / "m.txt")):
        assert outcome(fn, K, km) is outcome(fn, rnnlens, rm) is ValueError


def test_custom_layer_under_another_name_is_named(K: Any, tmp_path: Any) -> None:
    """A class given under its bare name while the file names it 'test>MyDense': the
    error says which name the file uses and how to pass the class."""
    @K.saving.register_keras_serializable("test")
    class MyDense(K.layers.Dense):
        pass

    km = K.Sequential([K.Input((3,)), MyDense(2)])
    path = tmp_path / "custom.keras"
    km.save(path)
    with pytest.raises(ValueError, match="registered_name") as info:
        S.load_model(path, custom_objects={"MyDense": rnnlens.layers.Dense})
    assert "package>MyDense" in str(info.value)
    with pytest.raises(ValueError) as plain:
        S.load_model(path)
    assert "registered_name, such as" not in str(plain.value)


def test_signatures_equal_keras(K: Any) -> None:
    import inspect  # noqa: PLC0415

    for name in ("load_model", "save_model", "load_weights", "save_weights",
                 "register_keras_serializable", "get_registered_object",
                 "deserialize_keras_object", "serialize_keras_object"):
        ours = inspect.signature(getattr(S, name)).parameters
        theirs = inspect.signature(getattr(K.saving, name)).parameters
        extra = {"load_model": ["limits", "semantics"]}.get(name, [])   # rnnlens's own
        assert [(p.name, p.default) for p in ours.values() if p.name not in extra] == \
            [(p.name, p.default) for p in theirs.values()], name
    missing = {n for n in dir(K.saving) if not n.startswith("_")} - set(S.__all__)
    assert missing == {"KerasFileEditor"}
