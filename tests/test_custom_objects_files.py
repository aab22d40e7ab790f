"""Custom layer classes in ``.keras`` files, both ways, as Keras's safe mode handles them.

The same classes are written once per library (``keras`` / ``rnnlens``) and registered
under the same name (``@register_keras_serializable(package="RnnlensFiles")``). Keras's
files load in rnnlens when the class is registered or passed in ``custom_objects``
(found by the file's ``registered_name``, built by the class's ``from_config``),
rnnlens's files load in Keras, and both write the same entry. An unregistered class is
refused by ``model.save`` (naming ``register_keras_serializable``); a file naming an
unknown class, or a known class with a hostile config (a lambda, huge weights), is
refused without running anything from the file.
"""

from __future__ import annotations

import json
import os
import zipfile
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import keras_available
from rnnlens.interop.keras_config import UnsafeModelError

PACKAGE = "RnnlensFiles"


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on TensorFlow is not importable")
    import keras  # noqa: PLC0415

    return keras


def define(K: Any, register: bool = True) -> dict[str, type]:
    """The classes for ``K``; registered under ``PACKAGE`` (or not)."""
    ops = K.ops
    wrap = K.saving.register_keras_serializable(package=PACKAGE) if register else (
        lambda c: c)

    @wrap
    class TimePool(K.layers.Layer):
        """Softmax-over-time pooling with a Dense projection (built in build)."""

        def __init__(self, units: int = 3, temperature: float = 1.0, **kwargs: Any):
            super().__init__(**kwargs)
            if not isinstance(units, int) or isinstance(units, bool):
                raise TypeError(f"units must be an int, received {units!r}")
            self.units, self.temperature = units, float(temperature)
            self.proj = K.layers.Dense(units, name="proj")

        def build(self, input_shape: Any) -> None:
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal",
                                     name="w")
            self.proj.build((input_shape[0], input_shape[-1]))

        def call(self, x: Any) -> Any:
            s = ops.softmax(ops.sum(x * self.w, axis=-1) / self.temperature, axis=-1)
            return self.proj(ops.sum(x * ops.expand_dims(s, -1), axis=1))

        def compute_output_shape(self, input_shape: Any) -> Any:
            return (input_shape[0], self.units)

        def get_config(self) -> dict:
            return {**super().get_config(), "units": self.units,
                    "temperature": self.temperature}

    @wrap
    class Mix(K.layers.Layer):
        """Two positional tensors and a call keyword."""

        def call(self, a: Any, b: Any, scale: float = 1.0) -> Any:
            return ops.tanh(a) * scale + b

    return {"TimePool": TimePool, "Mix": Mix}


def build_model(K: Any, classes: dict) -> Any:
    inp = K.Input((5, 2), name="x")
    seq = K.layers.GRU(4, return_sequences=True, name="gru")(inp)
    pooled = classes["TimePool"](3, temperature=0.5, name="pool")(seq)
    other = K.layers.Dense(3, name="dense")(K.layers.Flatten(name="flat")(inp))
    out = classes["Mix"](name="mix")(pooled, other, scale=2.0)
    return K.Model(inp, out, name="model")


X = np.random.default_rng(0).normal(size=(4, 5, 2)).astype("float32")


def _layer_entries(path: Any) -> dict[str, dict]:
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    return {e["name"]: e for e in config["config"]["layers"]}


def _strip(value: Any) -> Any:
    """Keras's serialization artifacts that carry no meaning (shared object ids)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def test_keras_file_loads_with_registered_classes(K: Any, tmp_path: Any) -> None:
    km = build_model(K, define(K))
    km.save(tmp_path / "k.keras")
    define(rnnlens)
    rm = rnnlens.saving.load_model(tmp_path / "k.keras")
    np.testing.assert_allclose(rm.predict(X, verbose=0), km.predict(X, verbose=0), atol=1e-5)
    pool = rm.get_layer("pool")
    assert type(pool).__name__ == "TimePool" and pool.temperature == 0.5
    # the loaded custom layer trains (through the tape)
    rm.compile("sgd", "mse")
    before = rm.get_layer("pool").get_weights()
    rm.fit(X, np.ones((4, 3), "float32"), verbose=0)
    assert not np.allclose(before[0], rm.get_layer("pool").get_weights()[0])


def test_keras_file_loads_with_custom_objects(K: Any, tmp_path: Any) -> None:
    km = build_model(K, define(K, register=False))
    km.save(tmp_path / "plain.keras")
    entries = _layer_entries(tmp_path / "plain.keras")
    assert entries["pool"]["registered_name"] == "TimePool"    # Keras's name when unregistered
    classes = define(rnnlens, register=False)
    with pytest.raises(UnsafeModelError, match="'TimePool' is not one rnnlens knows"):
        rnnlens.saving.load_model(tmp_path / "plain.keras")
    rm = rnnlens.saving.load_model(tmp_path / "plain.keras", custom_objects=classes)
    np.testing.assert_allclose(rm.predict(X, verbose=0), km.predict(X, verbose=0), atol=1e-5)


def test_rnnlens_file_loads_in_keras_and_matches_keras_entries(K: Any,
                                                               tmp_path: Any) -> None:
    kclasses, rclasses = define(K), define(rnnlens)
    km, rm = build_model(K, kclasses), build_model(rnnlens, rclasses)
    rm.set_weights(km.get_weights())
    rm.save(tmp_path / "r.keras")
    km.save(tmp_path / "k.keras")
    ours, theirs = _layer_entries(tmp_path / "r.keras"), _layer_entries(tmp_path / "k.keras")
    for name in ("pool", "mix"):
        assert _strip(ours[name]) == _strip(theirs[name]), name
    assert ours["pool"]["registered_name"] == f"{PACKAGE}>TimePool"
    loaded = K.saving.load_model(tmp_path / "r.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), rm.predict(X, verbose=0),
                               atol=1e-5)


def test_unregistered_classes_are_refused_by_save(tmp_path: Any) -> None:
    model = build_model(rnnlens, define(rnnlens, register=False))
    with pytest.raises(ValueError, match="register_keras_serializable"):
        model.save(tmp_path / "m.keras")
    assert not os.path.exists(tmp_path / "m.keras")


def _rewrite(path: Any, out: Any, edit: Any) -> None:
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            dst.writestr(info.filename, data)


def _pool_entry(config: dict) -> dict:
    return next(e for e in config["config"]["layers"] if e["name"] == "pool")


def test_hostile_configs_of_known_classes_are_refused(tmp_path: Any) -> None:
    classes = define(rnnlens)
    model = build_model(rnnlens, classes)
    model.save(tmp_path / "m.keras")
    marker = tmp_path / "executed"

    def lambda_units(config: dict) -> None:
        _pool_entry(config)["config"]["units"] = {
            "class_name": "__lambda__", "config": {"value": f"open({str(marker)!r}, 'w')"}}

    _rewrite(tmp_path / "m.keras", tmp_path / "lambda.keras", lambda_units)
    with pytest.raises(UnsafeModelError, match="could not be built from its config"):
        rnnlens.saving.load_model(tmp_path / "lambda.keras")
    assert not marker.exists()

    def huge(config: dict) -> None:
        _pool_entry(config)["config"]["units"] = 10 ** 9

    _rewrite(tmp_path / "m.keras", tmp_path / "huge.keras", huge)
    with pytest.raises(UnsafeModelError, match="over the limit"):
        rnnlens.saving.load_model(tmp_path / "huge.keras")

    def other_module(config: dict) -> None:
        entry = _pool_entry(config)
        entry["registered_name"] = "os>system"
        entry["module"] = "os"

    _rewrite(tmp_path / "m.keras", tmp_path / "module.keras", other_module)
    with pytest.raises(UnsafeModelError, match="not one rnnlens knows"):
        rnnlens.saving.load_model(tmp_path / "module.keras")


def test_custom_objects_under_the_wrong_name_explain(tmp_path: Any) -> None:
    classes = define(rnnlens)
    build_model(rnnlens, classes).save(tmp_path / "m.keras")
    from rnnlens.saving import object_registration as reg

    saved = {k: reg.GLOBAL_CUSTOM_OBJECTS.pop(k) for k in list(reg.GLOBAL_CUSTOM_OBJECTS)
             if k.startswith(PACKAGE)}
    try:
        with pytest.raises(UnsafeModelError, match="registered_name"):
            rnnlens.saving.load_model(tmp_path / "m.keras", custom_objects=classes)
        model = rnnlens.saving.load_model(tmp_path / "m.keras", custom_objects={
            f"{PACKAGE}>{k}": v for k, v in classes.items()})
        assert model.get_layer("mix").__class__ is classes["Mix"]
    finally:
        reg.GLOBAL_CUSTOM_OBJECTS.update(saved)


def test_classes_without_get_config_use_keras_automatic_config(K: Any, tmp_path: Any) -> None:
    def make(lib: Any) -> tuple[type, type]:
        @lib.saving.register_keras_serializable(package=PACKAGE)
        class Shift(lib.layers.Layer):
            def call(self, x: Any) -> Any:
                return x + 1.0

        @lib.saving.register_keras_serializable(package=PACKAGE)
        class Gain(lib.layers.Layer):
            def __init__(self, gain: float = 2.0, axes: Any = (1, 2), **kwargs: Any):
                super().__init__(**kwargs)
                self.gain = gain

            def call(self, x: Any) -> Any:
                return x * self.gain

        return Shift, Gain

    (ks, kg), (rs, rg) = make(K), make(rnnlens)
    assert rs(name="s").get_config() == ks(name="s").get_config()
    assert rg(3.0, axes=[0], name="g").get_config() == _strip(
        kg(3.0, axes=[0], name="g").get_config())
    inp = rnnlens.Input((3,), name="x")
    model = rnnlens.Model(inp, rg(0.5, name="g")(rs(name="s")(inp)), name="m")
    model.save(tmp_path / "auto.keras")
    loaded = K.saving.load_model(tmp_path / "auto.keras")
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    back = rnnlens.saving.load_model(tmp_path / "auto.keras")
    assert back.get_layer("g").gain == 0.5


def _config_classes(lib: Any) -> list[type]:
    class NoName(lib.layers.Layer):           # neither name nor **kwargs: no "name" entry
        def __init__(self, k: int = 2, opts: Any = None):
            super().__init__()
            self.k = k

    class Holder(lib.layers.Layer):           # non-plain values: no automatic config
        def __init__(self, w: Any = None, **kwargs: Any):
            super().__init__(**kwargs)
            self.w = w

    class Doubled(lib.layers.Dense):          # a built-in's subclass keeps its config
        def __init__(self, units: int, extra: int = 1, **kwargs: Any):
            super().__init__(units, **kwargs)
            self.extra = extra

    class Star(lib.layers.Layer):             # *args: no automatic config when used
        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(**kwargs)

    return [NoName, Holder, Doubled, Star]


@pytest.mark.parametrize("index,args,kwargs", [
    (0, (), {}), (0, (3,), {"opts": {"a": [1, 2.5, None]}}), (1, (), {"w": 2.0}),
    (1, (), {"w": np.ones(2)}), (2, (3,), {"extra": 5, "name": "d"}), (3, (), {"name": "s"}),
    (3, (1,), {})])
def test_automatic_configs_follow_keras_rules(K: Any, index: int, args: tuple,
                                             kwargs: dict) -> None:
    def config(lib: Any) -> Any:
        try:
            return _strip(_config_classes(lib)[index](*args, **kwargs).get_config())
        except NotImplementedError:
            return NotImplementedError

    theirs, ours = config(K), config(rnnlens)
    assert ours == theirs


def test_sequential_nested_and_h5_files_load_with_custom_objects(K: Any, tmp_path: Any) -> None:
    """A custom layer in a Sequential model (.keras and legacy .h5) and inside a nested
    functional model, loaded with ``custom_objects`` (or a scope) and predicting as Keras."""
    kc, rc = define(K, register=False), define(rnnlens, register=False)
    seq = K.Sequential([K.Input((5, 2)), K.layers.LSTM(3, return_sequences=True),
                        kc["TimePool"](2, name="pool"), K.layers.Dense(1)])
    inner_in = K.Input((5, 2))
    inner = K.Model(inner_in, kc["TimePool"](2, name="pool")(inner_in), name="inner")
    outer_in = K.Input((5, 2))
    nested = K.Model(outer_in, K.layers.Dense(1)(inner(outer_in)))
    for model, name in ((seq, "seq.keras"), (seq, "seq.h5"), (nested, "nested.keras")):
        model.save(tmp_path / name)
        with rnnlens.saving.custom_object_scope(rc):
            loaded = rnnlens.saving.load_model(tmp_path / name)
        np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0),
                                   atol=1e-5, err_msg=name)
