"""frugally-deep's test models, built by live Keras 3.15.1, loaded whole by rnnlens.

frugally-deep (Dobiasd/frugally-deep, MIT) runs Keras models in C++ without TensorFlow;
its generator of test models (vendored in ``tests/peer/frugally_deep_models.py``) covers
nearly every Keras layer and many argument combinations in six models: ``exhaustive``
(411 outputs), ``embedding``, ``variable``, ``autoencoder``, ``sequential`` and
``recurrent``. Two stateful models from an earlier version of the same generator
(``gru_stateful``, ``lstm_stateful``) are added so that stateful layers are checked too.

For each model, ``tests/peer/build_cache.py`` builds and fits it with Keras exactly as the
generator does (NumPy and Keras seeded with 0), saves the ``.keras`` file, draws the
peer's random test inputs (``gen_test_data``: batch of one, ``None`` dimensions = 32) and
records the predictions of the model Keras loads back from the file. These land in
``tests/.cache/peer/`` (git-ignored), keyed by a hash of the generator, the builder, the
Keras / TensorFlow versions and the seed, so they are rebuilt only when one changes; the
first build takes several minutes (the exhaustive model's ``fit`` is traced by
TensorFlow), later runs take seconds. Missing entries are built in parallel processes.

Then ``rnnlens.saving.load_model`` loads each file whole and predicts the same inputs;
every output must match Keras's to ``1e-5 * max(1, |keras output|)`` elementwise. A
model with a stateful layer is predicted twice in a row (Keras's states carry over from
the first call to the second) and both calls are compared. The tests are parametrised
per model (it loads, has Keras's number of outputs, and all match) and per output (the
failure names the output, its Keras layer and the worst difference). Each model rnnlens
loaded is also saved by rnnlens and loaded back by Keras, whose predictions must match
the same way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from oracle import keras_available

pytestmark = [pytest.mark.keras, pytest.mark.slow]

TESTS = Path(__file__).resolve().parent
CACHE = TESTS / ".cache" / "peer"
SEED = 0
RTOL = 1e-5                       # |rnnlens - keras| <= RTOL * max(1, |keras|)
BUILD_TIMEOUT_S = 1800

#: Model -> number of outputs (the per-model test checks the built model agrees), in
#: build order: longest first, so the parallel builds finish together.
MODELS = {"exhaustive": 411, "recurrent": 34, "gru_stateful": 8, "lstm_stateful": 16,
          "variable": 12, "embedding": 3, "sequential": 1, "autoencoder": 1}
STATEFUL = {"gru_stateful", "lstm_stateful"}

# ---------------------------------------------------------------------------- helpers
def relative_diff(actual: Any, expected: Any) -> float:
    """``max |a - e| / max(1, |e|)`` (inf on a shape mismatch, nan when a value is nan)."""
    a = np.asarray(actual, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if a.shape != e.shape:
        return float("inf")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - e) / np.maximum(1.0, np.abs(e))))


def mismatch(actual: Any, expected: Any, label: str) -> str | None:
    """None when ``actual`` matches ``expected`` to RTOL; otherwise what differs."""
    a, e = np.asarray(actual), np.asarray(expected)
    if a.shape != e.shape:
        return f"{label}: shape {a.shape}, Keras {e.shape}"
    diff = relative_diff(a, e)
    if diff <= RTOL:
        return None
    rel = np.abs(a.astype(np.float64) - e) / np.maximum(1.0, np.abs(e.astype(np.float64)))
    where = np.unravel_index(int(np.nanargmax(np.where(np.isnan(rel), np.inf, rel))), a.shape)
    return (f"{label}: worst relative diff {diff:.3e} at {tuple(int(i) for i in where)} "
            f"(rnnlens {a[where]!r}, Keras {e[where]!r})")


def cache_key(keras: Any) -> str:
    import tensorflow as tf

    digest = hashlib.sha256()
    for path in (TESTS / "peer" / "frugally_deep_models.py", TESTS / "peer" / "build_cache.py"):
        digest.update(path.read_bytes())
    digest.update(f"keras {keras.__version__} tf {tf.__version__} seed {SEED}".encode())
    return digest.hexdigest()[:16]


def _is_current(name: str, key: str) -> bool:
    manifest = CACHE / f"{name}.json"
    try:
        return json.loads(manifest.read_text()).get("key") == key and \
            (CACHE / f"{name}.keras").exists() and (CACHE / f"{name}.npz").exists()
    except (OSError, ValueError):
        return False


def _build(names: list[str], key: str) -> None:
    """Build the missing entries, at most ``os.cpu_count()`` processes at a time."""
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3",
               PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    pending, running = list(names), {}
    deadline = time.monotonic() + BUILD_TIMEOUT_S
    while pending or running:
        while pending and len(running) < max(1, os.cpu_count() or 1):
            name = pending.pop(0)
            log = open(CACHE / f"{name}.log", "w")     # noqa: SIM115 (closed below)
            cmd = [sys.executable, "-m", "peer.build_cache", name, str(CACHE), str(SEED), key]
            running[name] = (subprocess.Popen(cmd, cwd=TESTS, env=env, stdout=log,
                                              stderr=subprocess.STDOUT), log)
        for name, (proc, log) in list(running.items()):
            if proc.poll() is None and time.monotonic() < deadline:
                continue
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            log.close()
            del running[name]
            if proc.returncode != 0:
                for other, _ in running.values():
                    other.kill()
                tail = (CACHE / f"{name}.log").read_text()[-3000:]
                pytest.fail(f"building the peer model {name!r} with Keras failed "
                            f"(exit {proc.returncode}):\n{tail}")
        time.sleep(0.5)


# ---------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def K() -> Any:
    """The keras module (TensorFlow backend), or skip."""
    if not keras_available():
        pytest.skip("Keras 3.15.1 on the TensorFlow backend is not importable "
                    "(pip install keras==3.15.1 tensorflow-cpu); peer tests skipped")
    import keras  # noqa: PLC0415  (lazy on purpose)

    return keras


@pytest.fixture(scope="module")
def peer_cache(K: Any) -> Path:
    """``tests/.cache/peer`` with a current entry for every model (built if missing)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# generated test fixtures (tests/test_peer_frugally_deep.py)\n*\n")
    key = cache_key(K)
    missing = [name for name in MODELS if not _is_current(name, key)]
    if missing:
        _build(missing, key)
    return CACHE


@pytest.fixture(scope="module")
def run(peer_cache: Path) -> Callable[[str], dict]:
    """``run(name)``: the cached Keras results and rnnlens's predictions (once per model).

    Returns ``{"manifest", "keras": [call][output], "rnnlens": [call][output]}``; a load
    error is raised again on every call for that model.
    """
    from rnnlens.saving import load_model

    @functools.cache
    def compute(name: str) -> dict:
        manifest = json.loads((peer_cache / f"{name}.json").read_text())
        data = np.load(peer_cache / f"{name}.npz")
        inputs = [data[f"x{i}"] for i in range(manifest["inputs"])]
        keras_calls = [[data[f"c{c}_y{i}"] for i in range(manifest["outputs"])]
                       for c in range(manifest["calls"])]
        try:
            model = load_model(peer_cache / f"{name}.keras")
        except Exception as err:  # noqa: BLE001  (re-raised per test)
            return {"manifest": manifest, "error": err}
        calls = []
        for _ in keras_calls:
            out = model.predict(inputs[0] if len(inputs) == 1 else inputs, verbose=0)
            calls.append(list(out) if isinstance(out, (list, tuple)) else [out])
        return {"manifest": manifest, "keras": keras_calls, "rnnlens": calls}

    def get(name: str) -> dict:
        result = compute(name)
        if "error" in result:
            raise result["error"]
        return result

    return get


def _param(name: str, index: int | None = None) -> Any:
    label = name if index is None else f"{name}-{index:03d}"
    values = name if index is None else (name, index)
    return pytest.param(*([values] if index is None else values), id=label)


# ---------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", [_param(n) for n in MODELS])
def test_model_loads_whole_and_matches_every_output(name: str, run: Callable) -> None:
    result = run(name)
    manifest = result["manifest"]
    assert manifest["outputs"] == MODELS[name], \
        f"the peer's {name} model now has {manifest['outputs']} outputs; update MODELS"
    assert manifest["stateful"] == (name in STATEFUL)
    assert len(result["rnnlens"][0]) == manifest["outputs"], "rnnlens's output count differs"
    failures = [msg for c, (ours, theirs) in enumerate(zip(result["rnnlens"], result["keras"]))
                for i, (a, e) in enumerate(zip(ours, theirs))
                if (msg := mismatch(a, e, f"call {c + 1} output {i} "
                                          f"({manifest['output_names'][i]})"))]
    assert not failures, (f"{len(failures)} of {manifest['outputs'] * manifest['calls']} "
                          f"outputs differ from Keras:\n" + "\n".join(failures))


@pytest.mark.parametrize("name,index", [_param(n, i) for n, k in MODELS.items()
                                        for i in range(k)])
def test_output_matches_keras(name: str, index: int, run: Callable) -> None:
    result = run(name)
    label = f"{name} output {index} ({result['manifest']['output_names'][index]})"
    for c, (ours, theirs) in enumerate(zip(result["rnnlens"], result["keras"])):
        msg = mismatch(ours[index], theirs[index], f"{label}, call {c + 1}")
        assert msg is None, msg


@pytest.mark.parametrize("name", [_param(n) for n in MODELS])
def test_rnnlens_file_loads_in_keras(name: str, peer_cache: Path, K: Any,
                                     tmp_path: Path) -> None:
    """rnnlens saves the model it loaded; Keras loads that file and predicts as before."""
    from rnnlens.saving import load_model

    manifest = json.loads((peer_cache / f"{name}.json").read_text())
    data = np.load(peer_cache / f"{name}.npz")
    inputs = [data[f"x{i}"] for i in range(manifest["inputs"])]
    load_model(peer_cache / f"{name}.keras").save(tmp_path / f"{name}.keras")
    K.backend.clear_session()
    model = K.models.load_model(tmp_path / f"{name}.keras")
    for c in range(manifest["calls"]):
        out = model.predict(inputs[0] if len(inputs) == 1 else inputs, verbose=0)
        out = list(out) if isinstance(out, (list, tuple)) else [out]
        assert len(out) == manifest["outputs"]
        failures = [msg for i, y in enumerate(out)
                    if (msg := mismatch(y, data[f"c{c}_y{i}"], f"call {c + 1} output {i} "
                                        f"({manifest['output_names'][i]})"))]
        assert not failures, "Keras on rnnlens's file differs:\n" + "\n".join(failures)


@pytest.mark.parametrize("name", sorted(STATEFUL))
def test_stateful_models_change_between_calls(name: str, run: Callable) -> None:
    """The second call of a stateful model is a real check: Keras's outputs move."""
    keras_calls = run(name)["keras"]
    assert len(keras_calls) == 2
    moved = max(relative_diff(a, b) for a, b in zip(*keras_calls))
    assert moved > 1e-3, f"{name}: Keras's second call equals its first ({moved:.2e})"


# ---------------------------------------------------------------------------- the check itself
def test_mismatch_flags_what_exceeds_the_tolerance() -> None:
    e = np.array([[0.5, -3.0], [200.0, 1e-7]], dtype=np.float32)
    assert mismatch(e.copy(), e, "x") is None
    near = e.astype(np.float64) + 0.9e-5 * np.maximum(1.0, np.abs(e))
    assert mismatch(near, e, "x") is None
    for bad in (e + np.array([[2e-5, 0], [0, 0]]), e * np.array([[1, 1], [1 + 2e-5, 1]]),
                np.where(e == 0.5, np.nan, e)):
        msg = mismatch(bad, e, "x")
        assert msg is not None and "worst relative diff" in msg
    assert "shape" in mismatch(e[:1], e, "x")
    assert relative_diff(np.zeros((0, 3)), np.zeros((0, 3))) == 0.0
