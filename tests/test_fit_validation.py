"""Bad arguments and bad data in the training API: Keras's behaviour or a clear error.

Every case found by fuzzing the old trainer is pinned here (``epochs=0`` returns an
empty History as in Keras; ``batch_size=0`` / ``-2`` / ``1.5``, ``epochs=1.5``, ``x`` and
``y`` of different lengths, ``fit(x, None)``, a scalar ``x``, ...: a ``ValueError`` /
``TypeError`` naming the argument). Where Keras raises its own ``ValueError`` (data
cardinality, generators with ``y``, ``class_weight`` with ``sample_weight``, ...)
rnnlens raises the same message. A hypothesis test then calls ``fit`` / ``evaluate`` /
``predict`` / ``*_on_batch`` with random bad arguments and inputs and accepts only a
result or a ``ValueError`` / ``TypeError`` raised from rnnlens's own code.
"""

from __future__ import annotations

import math
import traceback
import warnings
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens.layers as layers
from oracle import keras_available
from rnnlens import callbacks as C
from rnnlens import optimizers as O
from rnnlens.models import Model, Sequential

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 3)).astype(np.float32)
Y = RNG.normal(size=(10, 2)).astype(np.float32)


def small(outputs: int = 1, seq: bool = False) -> Model:
    inp = layers.Input((4, 3) if seq else (3,))
    h = layers.SimpleRNN(3, return_sequences=True)(inp) if seq else layers.Dense(4)(inp)
    heads = [layers.Dense(2, name=f"out{k}")(h) for k in range(outputs)]
    model = Model(inp, heads if outputs > 1 else heads[0])
    model.compile(O.SGD(0.01), "mse")
    return model


def gen(n: int = 3, with_y: bool = True):
    for k in range(n):
        yield (X[k * 3:k * 3 + 3], Y[k * 3:k * 3 + 3]) if with_y else (X[k * 3:k * 3 + 3],)


# ---------------------------------------------------------------------------- Keras's results
def test_epochs_zero_and_initial_epoch_past_epochs_return_an_empty_history():
    model = small()
    before = [w.copy() for w in model.get_weights()]
    for kw in ({"epochs": 0}, {"epochs": 2, "initial_epoch": 2}):
        history = model.fit(X, Y, verbose=0, **kw)
        assert history.history == {} and history.epoch == []
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


@pytest.mark.skipif(not keras_available(), reason="needs the Keras oracle")
def test_errors_keras_raises_read_the_same():
    import keras  # noqa: PLC0415

    k_model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    k_model.compile("sgd", "mse")
    ours = small()
    cases = [
        lambda m: m.fit(X, Y[:7], verbose=0),
        lambda m: m.fit(X, Y, sample_weight=np.ones(7), verbose=0),
        lambda m: m.fit(gen(), Y, verbose=0),
        lambda m: m.fit(gen(), sample_weight=np.ones(3), verbose=0),
        lambda m: m.fit(gen(), validation_split=0.2, verbose=0),
        lambda m: m.fit(gen(0), verbose=0),
        lambda m: m.fit(gen(), class_weight={0: 1.0}, verbose=0),
        lambda m: m.fit(X, Y, class_weight={0: 2.0}, sample_weight=np.ones(10), verbose=0),
        lambda m: m.fit(X[:1], Y[:1], validation_split=0.5, verbose=0),
        lambda m: m.fit((x for x in [X, X]), verbose=0),
        lambda m: m.fit(X, Y, validation_freq="often", validation_data=(X, Y), verbose=0),
    ]
    for k, case in enumerate(cases):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match="") as theirs:  # noqa: PT011
                case(k_model)
            with pytest.raises(ValueError) as mine:
                case(ours)
        expected = str(theirs.value).split("Received:")[0].split("Received ")[0]
        assert str(mine.value).startswith(expected[:60]), (
            f"case {k}: rnnlens says {mine.value!s:.200}\nKeras says {theirs.value!s:.200}")


# ---------------------------------------------------------------------------- clear errors
BAD_ARGS = [
    ("batch_size", dict(batch_size=0)), ("batch_size", dict(batch_size=-2)),
    ("batch_size", dict(batch_size=1.5)), ("batch_size", dict(batch_size="4")),
    ("epochs", dict(epochs=1.5)), ("epochs", dict(epochs=-1)), ("epochs", dict(epochs=None)),
    ("initial_epoch", dict(initial_epoch=-1)), ("steps_per_epoch", dict(steps_per_epoch=0)),
    ("validation_steps", dict(validation_steps=2.5)),
    ("validation_split", dict(validation_split=1.5)),
    ("validation_split", dict(validation_split="0.2")),
    ("validation_freq", dict(validation_freq=0)), ("shuffle", dict(shuffle="yes")),
    ("validation_batch_size", dict(validation_batch_size=0)),
]


@pytest.mark.parametrize("name,kw", BAD_ARGS, ids=[f"{n}={list(k.values())[0]!r}"
                                                  for n, k in BAD_ARGS])
def test_bad_fit_arguments_name_the_argument(name, kw):
    with pytest.raises((ValueError, TypeError), match=name):
        small().fit(X, Y, verbose=0, **kw)


@pytest.mark.parametrize("method", ["evaluate", "predict"])
@pytest.mark.parametrize("arg,value", [("batch_size", 0), ("batch_size", 2.5), ("steps", 0),
                                       ("steps", -1)])
def test_bad_evaluate_and_predict_arguments(method, arg, value):
    model = small()
    args = (X, Y) if method == "evaluate" else (X,)
    with pytest.raises(ValueError, match=arg):
        getattr(model, method)(*args, verbose=0, **{arg: value})


BAD_DATA = [
    ("x=None", lambda m: m.fit(None, Y, verbose=0), "x=None"),
    ("y=None", lambda m: m.fit(X, None, verbose=0), "no targets"),
    ("evaluate y=None", lambda m: m.evaluate(X, verbose=0), "no targets"),
    ("scalar x", lambda m: m.fit(3.0, Y, verbose=0), "scalar"),
    ("empty", lambda m: m.fit(X[:0], Y[:0], verbose=0), "0 samples|empty"),
    ("wrong feature size", lambda m: m.fit(X[:, :2], Y, verbose=0), "shape"),
    ("ragged x", lambda m: m.fit([[1.0, 2.0, 3.0], [1.0]], Y[:2], verbose=0), "."),
    ("string y", lambda m: m.fit(X, np.array(["a"] * 10), verbose=0), "dtype"),
    ("scalar y", lambda m: m.fit(X, 1.0, verbose=0), "scalar"),
    ("class_weight 3-D targets", lambda m: None, ""),
    ("class_weight not a dict", lambda m: m.fit(X, Y, class_weight=[1, 2], verbose=0),
     "class_weight"),
    ("generator batch not a tuple", lambda m: m.fit((x for x in [X]), verbose=0), "tuple"),
    ("pydataset bad batch", lambda m: m.fit(BadDataset(), verbose=0), "tuple or a dict"),
    ("pydataset length 0", lambda m: m.fit(BadDataset(0), verbose=0), "length 0"),
    ("train_on_batch generator", lambda m: m.train_on_batch(gen()), "arrays"),
    ("predict_on_batch None", lambda m: m.predict_on_batch(None), "x=None"),
    ("tob class and sample weight",
     lambda m: m.train_on_batch(X, Y, sample_weight=np.ones(10), class_weight={0: 1.0}),
     "cannot be specified"),
    ("test_on_batch mismatch", lambda m: m.test_on_batch(X, Y[:4]), "cardinality"),
    ("uncompiled", lambda m: Model(m.inputs, m.outputs).fit(X, Y), "not compiled"),
]


class BadDataset:
    def __init__(self, n: int = 2):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return "not a batch"


@pytest.mark.parametrize("name,call,match", BAD_DATA, ids=[c[0] for c in BAD_DATA])
def test_bad_data_gets_a_clear_error(name, call, match):
    model = small()
    if name == "class_weight 3-D targets":
        seq = small(seq=True)
        with pytest.raises(ValueError, match="one class per sample"):
            seq.fit(np.zeros((4, 4, 3), np.float32), np.eye(2)[np.zeros((4, 4), int)],
                    class_weight={0: 1.0}, verbose=0)
        return
    with pytest.raises((ValueError, TypeError), match=match) as err:
        call(model)
    assert raised_by_rnnlens(err.value), f"{name}: raised from outside rnnlens:\n" + \
        "".join(traceback.format_exception(err.value))


def test_several_outputs_structure_errors():
    model = small(outputs=2)
    with pytest.raises(ValueError, match="2 outputs"):
        model.fit(X, Y, verbose=0)
    with pytest.raises(ValueError, match="one `sample_weight` array per output"):
        model.fit(X, [Y, Y], sample_weight=[np.ones(10)] * 3, verbose=0)
    with pytest.raises(ValueError, match="one scalar score per sample"):
        model.fit(X, [Y, Y], sample_weight=np.ones((10, 2)), verbose=0)
    with pytest.raises(ValueError, match="only supported for Models with a single output"):
        model.fit(X, [Y, Y], class_weight={0: 1.0}, verbose=0)
    with pytest.raises(ValueError, match="unknown outputs"):
        model.fit(X, {"out0": Y, "nope": Y}, verbose=0)
    with pytest.raises(ValueError, match="expects 1 input"):
        model.fit([X, X], [Y, Y], verbose=0)
    history = model.fit(X, {"out0": Y, "out1": Y}, sample_weight={"out0": np.ones(10)},
                        verbose=0)
    assert sorted(history.history) == ["loss", "out0_loss", "out1_loss"]


def test_nan_data_gives_a_nan_history_not_an_error():
    history = small().fit(np.full_like(X, np.nan), Y, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and math.isnan(history.history["loss"][-1])


def test_a_sequential_without_input_builds_from_a_generator():
    model = Sequential([layers.Dense(2)])
    model.compile(O.SGD(0.01), "mse")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        history = model.fit(gen(), epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


# ---------------------------------------------------------------------------- fuzz
def raised_by_rnnlens(exc: BaseException) -> bool:
    """The exception was raised by a ``raise`` in rnnlens's own source."""
    frames = traceback.extract_tb(exc.__traceback__)
    return bool(frames) and "/rnnlens/" in frames[-1].filename.replace("\\", "/") \
        and "/tests/" not in frames[-1].filename


def _array(draw: Any, n: int, width: int) -> Any:
    kind = draw(st.sampled_from(["ok"] * 6 + ["nan", "empty", "scalar", "none", "list", "int",
                                              "wide", "str"]))
    if kind == "ok":
        return RNG.normal(size=(n, width)).astype(np.float32)
    if kind == "nan":
        return np.full((n, width), np.nan, np.float32)
    if kind == "empty":
        return np.zeros((0, width), np.float32)
    if kind == "scalar":
        return 1.5
    if kind == "none":
        return None
    if kind == "list":
        return RNG.normal(size=(n, width)).tolist()
    if kind == "int":
        return np.ones((n, width), np.int64)
    if kind == "wide":
        return np.ones((n, width + 1), np.float32)
    return np.array([["a"] * width] * n)


BAD_VALUES = st.sampled_from([None, 0, -1, 1, 2, 3, 1.5, "2", True, [1], np.int64(2),
                              float("nan")])


@st.composite
def calls(draw: Any) -> tuple:
    n_out = draw(st.sampled_from([1, 2]))
    nx = draw(st.integers(0, 7))
    ny = nx if draw(st.integers(0, 3)) else draw(st.integers(0, 7))
    x, y = _array(draw, nx, 3), _array(draw, ny, 2)
    if n_out == 2 and draw(st.booleans()):
        y = draw(st.sampled_from([[y, y], [y], {"out0": y}, {"out0": y, "bad": y}, (y, y, y)]))
    sw = draw(st.sampled_from([None, None, None, "ok", "short", "2d", "list"]))
    sample_weight = {"ok": np.ones(nx), "short": np.ones(max(nx - 1, 0)),
                     "2d": np.ones((nx, 3)), "list": [np.ones(nx)] * 3}.get(sw)
    method = draw(st.sampled_from(["fit", "fit", "fit-gen", "evaluate", "predict",
                                   "train_on_batch", "test_on_batch", "predict_on_batch"]))
    kw = {k: draw(BAD_VALUES) for k in draw(st.sets(st.sampled_from(
        ["batch_size", "epochs", "steps_per_epoch", "validation_split", "initial_epoch",
         "validation_steps", "validation_freq", "class_weight", "shuffle"]), max_size=2))}
    if "class_weight" in kw and draw(st.booleans()):
        kw["class_weight"] = {0: 2.0, 1: 0.5}
    return n_out, x, y, sample_weight, method, kw


def _invoke(model: Model, x: Any, y: Any, sw: Any, method: str, kw: dict) -> Any:
    if method == "fit":
        return model.fit(x, y, sample_weight=sw, verbose=0, **kw)
    if method == "fit-gen":
        kw.pop("validation_split", None)
        return model.fit(((x, y) for _ in range(2)), verbose=0, **kw)
    if method == "evaluate":
        extra = {k: v for k, v in kw.items() if k == "batch_size"}
        return model.evaluate(x, y, sample_weight=sw, verbose=0, **extra)
    if method == "predict":
        return model.predict(x, **{k: v for k, v in kw.items() if k == "batch_size"})
    if method == "train_on_batch":
        return model.train_on_batch(x, y, sample_weight=sw,
                                    class_weight=kw.get("class_weight"))
    if method == "test_on_batch":
        return model.test_on_batch(x, y, sample_weight=sw)
    return model.predict_on_batch(x)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(call=calls())
def test_fuzz_training_api_gives_a_result_or_a_clear_error(call):
    n_out, x, y, sw, method, kw = call
    model = small(outputs=n_out)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _invoke(model, x, y, sw, method, dict(kw))
    except (ValueError, TypeError) as e:
        assert raised_by_rnnlens(e), (
            f"{type(e).__name__} not raised by rnnlens:\n" + "".join(
                traceback.format_exception(e)))
    except KeyboardInterrupt:
        raise
    except Exception as e:  # noqa: BLE001  (anything else is a bug)
        pytest.fail(f"{method} with {kw} raised {type(e).__name__}: {e}\n" + "".join(
            traceback.format_exception(e)))


def test_callbacks_argument_forms():
    model = small()
    history = C.History()
    got = model.fit(X, Y, epochs=2, verbose=0, callbacks=history)
    assert got is history and history.epoch == [0, 1]
    with pytest.raises(TypeError, match="callback"):
        model.fit(X, Y, verbose=0, callbacks=[object()])
