"""``rnnlens.backend`` and ``rnnlens.config`` against live Keras 3.15.1, and import purity.

* backend: ``standardize_dtype``, ``is_float_dtype``, ``is_int_dtype`` and
  ``result_type`` give Keras's names (or Keras's error types) over a grid of dtype-likes;
  ``epsilon``, ``image_data_format``, ``floatx`` defaults and setters as Keras; ``get_uid``
  shares the counter behind automatic layer names; ``is_keras_tensor`` for symbolic
  tensors; the public names equal ``dir(keras.backend)``.
* config: every public name of ``keras.config`` exists with Keras's defaults; the flags
  toggle as Keras's; ``dtype_policy`` is Keras's float32 ``DTypePolicy``; other policies
  are refused; ``KERAS_MAX_EPOCHS`` is read at import.
* ``import rnnlens.random, rnnlens.backend, rnnlens.config, rnnlens.saving`` (and using
  them) imports no keras / tensorflow / torch / jax / h5py, in a fresh interpreter.

Differences from Keras, by design: ``backend()`` is ``"numpy"``; ``set_floatx`` takes
float32 / float64 only; ``set_epsilon`` and the epoch caps check their values;
``result_type`` refuses bfloat16 (no NumPy dtype).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oracle import keras_available
from rnnlens import backend as B
from rnnlens import config as C


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


@pytest.fixture(autouse=True)
def restore_settings() -> Any:
    yield
    B.set_floatx("float32")
    B.set_epsilon(1e-7)
    B.set_image_data_format("channels_last")
    for fn in (C.set_max_epochs, C.set_max_steps_per_epoch):
        fn(None)
    C.enable_interactive_logging()
    C.enable_traceback_filtering()
    C.enable_flash_attention()
    C.set_dtype_policy("float32")


def outcome(fn: Any, *args: Any) -> Any:
    """``fn(*args)``, or the type of the exception it raised."""
    try:
        return fn(*args)
    except Exception as err:  # noqa: BLE001
        return type(err)


# ---------------------------------------------------------------------------- dtypes
def dtype_likes(K: Any) -> list:
    import tensorflow as tf  # noqa: PLC0415

    return [None, int, float, bool, str, complex, "int", "float", "float32", "float16",
            "bfloat16", "string", "uint16", "float8_e4m3fn", np.float32, np.int8, np.uint64,
            np.dtype("float64"), np.dtype("int64"), np.dtype("bool"), np.bool_, np.complex64,
            tf.float32, tf.int64, tf.bfloat16, "foo", 3, [1], "Float32", np.dtype("U3"),
            np.str_, object, ""]


def test_standardize_dtype_equals_keras(K: Any) -> None:
    for d in dtype_likes(K):
        for name in ("standardize_dtype", "is_float_dtype", "is_int_dtype"):
            ours, theirs = outcome(getattr(B, name), d), \
                outcome(getattr(K.backend, name), d)
            assert ours == theirs, f"{name}({d!r}): rnnlens {ours!r}, Keras {theirs!r}"


NAMES = ["bool", "uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64",
         "float16", "float32", "float64", "complex64", "complex128", int, float, None]


def test_result_type_equals_keras(K: Any) -> None:
    for a in NAMES:
        assert B.result_type(a) == K.backend.result_type(a), a
        for b in NAMES:
            ours = outcome(B.result_type, a, b)
            theirs = outcome(K.backend.result_type, a, b)
            assert ours == theirs, f"result_type({a}, {b}): {ours} vs Keras {theirs}"
    assert B.result_type() == K.backend.result_type() == "float32"
    assert B.result_type("int8", "uint8", int) == K.backend.result_type("int8", "uint8", int)
    assert B.result_type(np.float16, np.dtype("int32")) == "float16"
    assert outcome(lambda: B.result_type("float8_e5m2", "float32")) is ValueError
    assert outcome(lambda: K.backend.result_type("float8_e5m2", "float32")) is ValueError
    assert outcome(lambda: B.result_type("bfloat16", "float32")) is TypeError   # no NumPy
    B.set_floatx("float64")
    assert B.result_type(int, float) == "float64" and B.result_type() == "float64"


# ---------------------------------------------------------------------------- settings
def test_settings_defaults_and_setters_equal_keras(K: Any) -> None:
    assert B.epsilon() == K.backend.epsilon() == 1e-7
    assert B.floatx() == K.backend.floatx() == "float32"
    assert B.image_data_format() == K.backend.image_data_format() == "channels_last"
    for value in ("channels_first", "CHANNELS_LAST", "Channels_First"):
        B.set_image_data_format(value)
        K.backend.set_image_data_format(value)
        assert B.image_data_format() == K.backend.image_data_format()
    K.backend.set_image_data_format("channels_last")
    for bad in ("nhwc", None, 3, "channels"):
        assert outcome(B.set_image_data_format, bad) is ValueError
        assert outcome(K.backend.set_image_data_format, bad) is ValueError
    B.set_epsilon(1e-5)
    assert B.epsilon() == C.epsilon() == 1e-5
    B.set_floatx("float64")
    assert B.floatx() == C.floatx() == "float64" and B.FLOATX.dtype == np.float64
    assert B.backend() == C.backend() == "numpy"


@pytest.mark.parametrize("call,error", [
    (lambda: B.set_floatx("float16"), ValueError), (lambda: B.set_floatx("int32"), ValueError),
    (lambda: B.set_floatx(None), ValueError), (lambda: B.set_epsilon("a"), TypeError),
    (lambda: B.set_epsilon(-1.0), ValueError), (lambda: B.set_epsilon(float("nan")), ValueError),
    (lambda: B.set_epsilon(True), TypeError), (lambda: B.get_uid(3), TypeError),
])
def test_bad_settings_raise(call: Any, error: type) -> None:
    before = (B.floatx(), B.epsilon())
    with pytest.raises(error):
        call()
    assert (B.floatx(), B.epsilon()) == before


def test_get_uid_shares_the_layer_name_counter(K: Any) -> None:
    import rnnlens  # noqa: PLC0415

    for M in (K, rnnlens):
        M.backend.clear_session()
        assert [M.backend.get_uid("dense") for _ in range(3)] == [1, 2, 3]
        assert M.layers.Dense(2).name == "dense_3"
        assert M.backend.get_uid() == 1 and M.backend.get_uid("") == 2
        M.backend.clear_session()
        assert M.backend.get_uid("dense") == 1
        assert M.layers.Dense(2).name == "dense_1"
    B.clear_session(free_memory=False)
    assert rnnlens.layers.Dense(2).name == "dense"


def test_is_keras_tensor(K: Any) -> None:
    import rnnlens  # noqa: PLC0415

    for M in (K, rnnlens):
        x = M.Input((3,))
        y = M.layers.Dense(2)(x)
        assert M.backend.is_keras_tensor(x) and M.backend.is_keras_tensor(y)
        assert not M.backend.is_keras_tensor(np.ones(3))
        assert not M.backend.is_keras_tensor(M.layers.Dense(2))


def test_backend_names_equal_keras(K: Any) -> None:
    keras_names = {n for n in dir(K.backend) if not n.startswith("_")}
    assert keras_names <= set(B.__all__), sorted(keras_names - set(B.__all__))


# ---------------------------------------------------------------------------- config
def test_config_names_and_defaults_equal_keras(K: Any) -> None:
    keras_names = {n for n in dir(K.config) if not n.startswith("_")}
    assert keras_names <= set(C.__all__), sorted(keras_names - set(C.__all__))
    for name in ("epsilon", "floatx", "image_data_format", "is_interactive_logging_enabled",
                 "is_traceback_filtering_enabled", "is_flash_attention_enabled",
                 "is_nnx_enabled", "max_epochs", "max_steps_per_epoch"):
        assert getattr(C, name)() == getattr(K.config, name)(), name
    assert repr(C.dtype_policy()) == repr(K.config.dtype_policy()) == '<DTypePolicy "float32">'
    ours, theirs = C.dtype_policy(), K.config.dtype_policy()
    for attr in ("name", "compute_dtype", "variable_dtype", "quantization_mode"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.get_config() == theirs.get_config()


def test_config_flags_toggle_like_keras(K: Any) -> None:
    steps = ["disable_interactive_logging", "enable_interactive_logging",
             "disable_traceback_filtering", "enable_traceback_filtering",
             "disable_flash_attention", "enable_flash_attention"]
    reads = ["is_interactive_logging_enabled", "is_traceback_filtering_enabled",
             "is_flash_attention_enabled"]
    try:
        for step in steps:
            getattr(C, step)()
            getattr(K.config, step)()
            for read in reads:
                assert getattr(C, read)() == getattr(K.config, read)(), (step, read)
        C.set_max_epochs(3)
        K.config.set_max_epochs(3)
        C.set_max_steps_per_epoch(7)
        K.config.set_max_steps_per_epoch(7)
        assert (C.max_epochs(), C.max_steps_per_epoch()) == \
            (K.config.max_epochs(), K.config.max_steps_per_epoch()) == (3, 7)
    finally:
        K.config.set_max_epochs(None)
        K.config.set_max_steps_per_epoch(None)
        K.config.enable_interactive_logging()
        K.config.enable_traceback_filtering()
        K.config.enable_flash_attention()


def test_dtype_policy_accepts_only_float32(K: Any) -> None:
    C.set_dtype_policy("float32")
    C.set_dtype_policy(C.DTypePolicy("float32"))
    assert C.dtype_policy() == C.DTypePolicy("float32")
    for bad in ("mixed_float16", "float16", "bfloat16", "int8_from_float32", "foo"):
        with pytest.raises(ValueError, match="float32"):
            C.set_dtype_policy(bad)
    for bad in (5, None, {"name": "float32"}):                     # Keras: ValueError too
        assert outcome(C.set_dtype_policy, bad) is ValueError
        assert outcome(K.config.set_dtype_policy, bad) is ValueError
    assert C.dtype_policy().name == "float32"
    with pytest.raises(TypeError):
        C.DTypePolicy(3)


@pytest.mark.parametrize("call,error", [
    (lambda: C.set_max_epochs(0), ValueError), (lambda: C.set_max_epochs(2.5), TypeError),
    (lambda: C.set_max_epochs("3"), TypeError), (lambda: C.set_max_steps_per_epoch(-1),
                                                  ValueError),
    (lambda: C.set_max_steps_per_epoch(True), TypeError),
    (lambda: C.set_backend("jax"), ValueError),
])
def test_bad_config_values_raise(call: Any, error: type) -> None:
    with pytest.raises(error):
        call()
    assert C.max_epochs() is None and C.max_steps_per_epoch() is None


def test_harmless_functions() -> None:
    C.set_backend("numpy")
    assert C.is_nnx_enabled() is False
    C.set_max_epochs(np.int64(4))
    assert C.max_epochs() == 4 and type(C.max_epochs()) is int
    with pytest.warns(UserWarning, match="never deserializes code"):
        C.enable_unsafe_deserialization()
    from rnnlens.saving import deserialize_keras_object  # noqa: PLC0415

    with pytest.raises(ValueError, match="lambda"):
        deserialize_keras_object({"class_name": "__lambda__", "config": {"value": "x"}},
                                 safe_mode=False)


@settings(max_examples=150, deadline=None)
@given(value=st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(),
                       st.text(max_size=4), st.lists(st.integers(), max_size=2)))
def test_fuzz_setters_raise_only_clear_errors(value: Any) -> None:
    for setter in (B.set_epsilon, B.set_floatx, B.set_image_data_format, C.set_max_epochs,
                   C.set_max_steps_per_epoch, C.set_dtype_policy, B.standardize_dtype,
                   B.is_float_dtype):
        try:
            setter(value)
        except (ValueError, TypeError) as err:
            assert str(err)
    assert B.floatx() in ("float32", "float64")
    assert B.image_data_format() in ("channels_first", "channels_last")
    assert isinstance(B.epsilon(), (int, float)) and B.epsilon() >= 0
    B.set_floatx("float32")
    B.set_epsilon(1e-7)


# ---------------------------------------------------------------------------- purity
HEAVY = ("keras", "tensorflow", "torch", "jax", "h5py", "scipy", "tf_keras")
SCRIPT = f"""
import sys
import rnnlens.random, rnnlens.backend, rnnlens.config, rnnlens.saving
import numpy as np
rnnlens.random.normal((2,), seed=1)
rnnlens.random.dropout(np.ones(3, "float32"), 0.5)
rnnlens.backend.result_type("int8", float)
rnnlens.config.dtype_policy()
d = rnnlens.saving.serialize_keras_object(rnnlens.layers.Dense(2))
rnnlens.saving.deserialize_keras_object(d)
print(sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r}))
"""


def test_imports_stay_numpy_only() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_MAX")}
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]", out.stdout


def test_env_caps_are_read_at_import() -> None:
    code = ("import rnnlens.config as c; print(c.max_epochs(), c.max_steps_per_epoch())")
    env = {**os.environ, "KERAS_MAX_EPOCHS": "3", "KERAS_MAX_STEPS_PER_EPOCH": "5"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.stdout.split() == ["3", "5"], out.stderr
    env["KERAS_MAX_EPOCHS"] = "many"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode != 0 and "KERAS_MAX_EPOCHS" in out.stderr
