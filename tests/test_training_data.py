"""``fit`` / ``evaluate`` / ``predict`` on every data form, against live Keras 3.15.1.

The same model (Keras's random weights copied into rnnlens) trains on the same data with
``shuffle=False``; histories and final weights agree to a relative 1e-4 (the helpers of
``test_fit_parity``):

* Python generators (exhausted mid-fit: Keras's warning, then its replay of the first
  two batches; ``steps_per_epoch`` continuing the generator across epochs), as
  ``validation_data`` too, with ``validation_steps``;
* PyDataset-like objects (rnnlens: duck typing; Keras: a ``keras.utils.PyDataset``
  subclass with the same methods), ``on_epoch_end`` called as often as Keras calls it;
* ``sample_weight`` per sample and per step (sequence outputs), ``class_weight`` for
  sparse and one-hot targets, ``evaluate`` / ``train_on_batch`` / ``test_on_batch``
  with weights, ``predict_on_batch``;
* arrays with ``steps_per_epoch`` (the warning when it exceeds the data),
  ``validation_freq``, ``validation_batch_size``; an iterable with ``__iter__`` and
  ``__len__`` trains as the same batches given as arrays.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from oracle import keras_available
from test_fit_parity import EPOCHS, Pair, _seed, check_history, make_data, rel_close

pytestmark = pytest.mark.keras

RAN_OUT = "ran out of data"


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable")
    import keras  # noqa: PLC0415

    return keras


def _cut(a: Any, s: int, size: int) -> Any:
    return [v[s:s + size] for v in a] if isinstance(a, list) else a[s:s + size]


def batches(x: Any, y: Any, size: int, sw: Any = None) -> list[tuple]:
    n = len(y)
    out = []
    for s in range(0, n, size):
        item = (_cut(x, s, size), y[s:s + size])
        out.append(item if sw is None else item + (sw[s:s + size],))
    return out


def run_both(pair: Pair, keras_fn: Any, ours_fn: Any, where: str, opt: str = "Adam") -> tuple:
    """Runs both sides, recording warnings; compares histories and final weights."""
    with warnings.catch_warnings(record=True) as wk:
        warnings.simplefilter("always")
        theirs = keras_fn(pair.keras)
    with warnings.catch_warnings(record=True) as wo:
        warnings.simplefilter("always")
        ours = ours_fn(pair.ours)
    n_k = sum(RAN_OUT in str(w.message) for w in wk)
    n_o = sum(RAN_OUT in str(w.message) for w in wo)
    assert n_o == n_k, f"{where}: {n_o} 'ran out of data' warnings, Keras gave {n_k}"
    if hasattr(theirs, "history"):
        check_history(ours.history, theirs.history, where, opt)
        assert ours.epoch == theirs.epoch
    pair.check_weights(where, opt)
    return ours, theirs


def gen(items: list, seen: list | None = None):
    for k, item in enumerate(items):
        if seen is not None:
            seen.append(k)
        yield item


# ---------------------------------------------------------------------------- generators
@pytest.mark.parametrize("n_batches,epochs,spe", [(3, 3, None), (5, 3, 2), (5, 3, 3), (4, 3, 2)],
                         ids=["exhaust-replay", "spe-continues", "spe-exhaust", "spe-empty"])
def test_fit_on_a_generator_matches_keras(K, n_batches, epochs, spe):
    where = f"generator-{n_batches}-{epochs}-{spe}"
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile("Adam", ["mae"])
    x, y = make_data("lstm", "mse", _seed(where), n=6 * n_batches)
    items = batches(x, y, 6)
    kw = dict(epochs=epochs, steps_per_epoch=spe, verbose=0)
    run_both(pair, lambda m: m.fit(gen(items), **kw), lambda m: m.fit(gen(items), **kw), where)


def test_generator_with_sample_weights_and_validation_generator(K):
    where = "generator-sw-valgen"
    pair = Pair(K, "gru", "sparse_categorical_crossentropy", _seed(where))
    pair.compile("RMSprop", ["accuracy"])
    x, y = make_data("gru", "sparse_categorical_crossentropy", _seed(where), n=30)
    sw = np.random.default_rng(1).uniform(0.1, 2.0, 30).astype(np.float32)
    vx, vy = make_data("gru", "sparse_categorical_crossentropy", _seed(where) + 1, n=20)
    train, val = batches(x, y, 8, sw), batches(vx, vy, 5)
    for steps in (None, 2):
        kw = dict(epochs=3, verbose=0, validation_steps=steps)
        run_both(pair, lambda m, kw=kw: m.fit(gen(train), validation_data=gen(val), **kw),
                 lambda m, kw=kw: m.fit(gen(train), validation_data=gen(val), **kw),
                 f"{where}-vsteps{steps}", "RMSprop")


def test_evaluate_and_predict_on_generators(K):
    where = "generator-evaluate"
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile("SGD", ["mae"])
    x, y = make_data("lstm", "mse", _seed(where), n=20)
    items = batches(x, y, 6)
    for steps in (None, 2):
        theirs = pair.keras.evaluate(gen(items), steps=steps, verbose=0, return_dict=True)
        ours = pair.ours.evaluate(gen(items), steps=steps, verbose=0, return_dict=True)
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            rel_close(ours[key], theirs[key], f"{where} steps={steps} {key}")
    xs = [(x[s:s + 7],) for s in range(0, 20, 7)]
    rel_close(pair.ours.predict(gen(xs)), pair.keras.predict(gen(xs), verbose=0),
              f"{where} predict")
    with pytest.raises(ValueError, match="must return a tuple"):
        pair.ours.predict(gen([x[:3], x[3:6]]))


# ---------------------------------------------------------------------------- PyDataset
def dataset_class(base: type, x: Any, y: Any, size: int, counts: dict, sw: Any = None):
    class Batches(base):
        def __init__(self):
            if base is not object:
                super().__init__()

        def __len__(self):
            return -(-len(y) // size)

        def __getitem__(self, i):
            counts["get"] = counts.get("get", 0) + 1
            s = slice(i * size, (i + 1) * size)
            return (x[s], y[s]) if sw is None else (x[s], y[s], sw[s])

        def on_epoch_end(self):
            counts["end"] = counts.get("end", 0) + 1

    return Batches()


@pytest.mark.parametrize("weighted", [False, pytest.param(True, marks=pytest.mark.slow)],
                         ids=["xy", "xy-sw"])
def test_fit_on_a_pydataset_matches_keras(K, weighted):
    where = f"pydataset-{weighted}"
    pair = Pair(K, "bidi", "binary_crossentropy", _seed(where))
    pair.compile("Adam", ["accuracy"])
    x, y = make_data("bidi", "binary_crossentropy", _seed(where), n=26)
    sw = np.linspace(0.2, 1.5, 26).astype(np.float32) if weighted else None
    vx, vy = make_data("bidi", "binary_crossentropy", _seed(where) + 1, n=10)
    ck, co, vk, vo = {}, {}, {}, {}
    run_both(pair,
             lambda m: m.fit(dataset_class(K.utils.PyDataset, x, y, 8, ck, sw), epochs=3,
                             shuffle=False, verbose=0,
                             validation_data=dataset_class(K.utils.PyDataset, vx, vy, 4, vk)),
             lambda m: m.fit(dataset_class(object, x, y, 8, co, sw), epochs=3, shuffle=False,
                             verbose=0, validation_data=dataset_class(object, vx, vy, 4, vo)),
             where)
    assert co["end"] == ck["end"], f"on_epoch_end calls {co['end']} != Keras's {ck['end']}"
    assert vo["end"] == vk["end"]


def test_pydataset_with_class_weight_and_steps(K):
    where = "pydataset-class-weight"
    pair = Pair(K, "lstm", "sparse_categorical_crossentropy", _seed(where))
    pair.compile("SGD-momentum", ["accuracy"])
    x, y = make_data("lstm", "sparse_categorical_crossentropy", _seed(where), n=24)
    cw = {0: 0.5, 1: 2.0, 2: 1.25}
    run_both(pair,
             lambda m: m.fit(dataset_class(K.utils.PyDataset, x, y, 6, {}), class_weight=cw,
                             epochs=3, steps_per_epoch=3, shuffle=False, verbose=0),
             lambda m: m.fit(dataset_class(object, x, y, 6, {}), class_weight=cw, epochs=3,
                             steps_per_epoch=3, shuffle=False, verbose=0),
             where, "SGD-momentum")


# ---------------------------------------------------------------------------- weights
WEIGHT_CASES = [
    ("lstm", "mse", "sw-per-sample"),
    ("encdec", "categorical_crossentropy", "sw-per-step"),
    ("encdec", "sparse_categorical_crossentropy", "sw-per-sample-col"),
    ("gru", "sparse_categorical_crossentropy", "class-weight"),
    ("bidi", "categorical_crossentropy", "class-weight"),
    ("lstm", "binary_crossentropy", "class-weight"),
    ("encdec_masked", "sparse_categorical_crossentropy", "sw-per-step"),
]
SLOW_WEIGHTS = {"encdec-sparse_categorical_crossentropy-sw-per-sample-col",
                "bidi-categorical_crossentropy-class-weight",
                "encdec_masked-sparse_categorical_crossentropy-sw-per-step"}


def weights_for(kind: str, y: np.ndarray, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    n = len(y)
    if kind == "sw-per-sample":
        return {"sample_weight": rng.uniform(0, 2, n).astype(np.float32)}
    if kind == "sw-per-step":
        return {"sample_weight": rng.uniform(0, 2, y.shape[:2]).astype(np.float32)}
    if kind == "sw-per-sample-col":
        return {"sample_weight": rng.uniform(0, 2, (n, 1)).astype(np.float32)}
    return {"class_weight": {0: 0.3, 1: 1.7, 2: 1.1}}


@pytest.mark.parametrize("model_key,loss_key,kind", [
    pytest.param(*case, id="-".join(case),
                 marks=[pytest.mark.slow] if "-".join(case) in SLOW_WEIGHTS else [])
    for case in WEIGHT_CASES])
def test_fit_with_sample_and_class_weights_matches_keras(K, model_key, loss_key, kind):
    where = f"weights-{model_key}-{loss_key}-{kind}"
    pair = Pair(K, model_key, loss_key, _seed(where))
    pair.compile("Adam", ["accuracy"] if "entropy" in loss_key else ["mae"])
    x, y = make_data(model_key, loss_key, _seed(where))
    kw = dict(weights_for(kind, y, _seed(where)), batch_size=16, epochs=EPOCHS, shuffle=False,
              verbose=0, validation_split=0.25)
    run_both(pair, lambda m: m.fit(x, y, **kw), lambda m: m.fit(x, y, **kw), where)
    if "sample_weight" in kw:
        sw = kw["sample_weight"]
        theirs = pair.keras.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
        ours = pair.ours.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
        for key in theirs:
            rel_close(ours[key], theirs[key], f"{where} evaluate {key}")


def test_on_batch_methods_with_weights_match_keras(K):
    where = "on-batch-weights"
    pair = Pair(K, "gru", "categorical_crossentropy", _seed(where))
    pair.compile("RMSprop", ["accuracy"])
    x, y = make_data("gru", "categorical_crossentropy", _seed(where))
    sw = np.linspace(0.0, 2.0, len(y)).astype(np.float32)
    for kw in ({"sample_weight": sw}, {"class_weight": {0: 2.0, 2: 0.5}}, {}):
        theirs = pair.keras.train_on_batch(x, y, return_dict=True, **kw)
        ours = pair.ours.train_on_batch(x, y, return_dict=True, **kw)
        for key in theirs:
            rel_close(ours[key], theirs[key], f"{where} train_on_batch {list(kw)} {key}")
        pair.check_weights(f"{where} {list(kw)}", "RMSprop")
    for weight in (sw, None):
        theirs = pair.keras.test_on_batch(x, y, sample_weight=weight, return_dict=True)
        ours = pair.ours.test_on_batch(x, y, sample_weight=weight, return_dict=True)
        for key in theirs:
            rel_close(ours[key], theirs[key], f"{where} test_on_batch {key}")
    rel_close(pair.ours.test_on_batch(x, y), pair.keras.test_on_batch(x, y), "test list")
    rel_close(pair.ours.predict_on_batch(x), pair.keras.predict_on_batch(x), "predict_on_batch")


# ---------------------------------------------------------------------------- arrays
@pytest.mark.parametrize("kw", [
    {"batch_size": 8, "steps_per_epoch": 2},
    {"batch_size": 8, "steps_per_epoch": 7},
    {"steps_per_epoch": 3},
    {"batch_size": 8, "validation_freq": 2, "validation_batch_size": 5},
    {"batch_size": 8, "validation_freq": [1, 3]},
], ids=["spe-continues", "spe-too-many", "spe-sets-batch", "vfreq2", "vfreq-list"])
def test_arrays_with_steps_and_validation_freq_match_keras(K, kw):
    where = f"arrays-{sorted(kw.items())}"
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile("SGD", ["mae"])
    x, y = make_data("lstm", "mse", _seed(where), n=30)
    vx, vy = make_data("lstm", "mse", _seed(where) + 1, n=12)
    fit_kw = dict(kw, epochs=3, shuffle=False, verbose=0, validation_data=(vx, vy))
    run_both(pair, lambda m: m.fit(x, y, **fit_kw), lambda m: m.fit(x, y, **fit_kw), where, "SGD")


def test_an_iterable_trains_like_its_batches(K):
    """rnnlens's iterables (``__iter__`` + ``__len__``, iterated afresh each epoch): the
    same as the batches given as arrays with ``shuffle=False`` (Keras refuses them)."""
    where = "iterable"
    pair = Pair(K, "lstm", "mse", _seed(where))
    pair.compile("Adam", ["mae"])
    x, y = make_data("lstm", "mse", _seed(where), n=30)
    items = batches(x, y, 10)

    class Loader:
        def __len__(self):
            return len(items)

        def __iter__(self):
            return iter(items)

    run_both(pair, lambda m: m.fit(x, y, batch_size=10, epochs=3, shuffle=False, verbose=0),
             lambda m: m.fit(Loader(), epochs=3, shuffle=False, verbose=0), where)
