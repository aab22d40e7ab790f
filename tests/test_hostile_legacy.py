"""Hostile legacy files and paths: every one is an ``UnsafeModelError`` naming the file,
in bounded time and memory, and a mutation fuzz of real ``.keras``, ``.h5`` and
SavedModel files accepts only a correct load or such a refusal.

Found by fuzzing before this was hardened (issue 9): invalid UTF-8 in ``model_config`` /
``layer_names``, a corrupted superblock, corrupt attribute or heap data raising h5py's
errors from unguarded reads, ``/dev/zero`` or ``/dev/urandom`` named ``x.h5`` reading
without end, a FIFO hanging, a directory named ``x.h5``.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlens
from rnnlens.interop.keras_config import UnsafeModelError
from rnnlens.interop.safe_io import NotAModelError
from rnnlens.models import load_model

X = np.random.default_rng(0).normal(size=(2, 5, 3)).astype(np.float32)


def _model() -> Any:
    inp = rnnlens.Input((5, 3), name="x")
    h = rnnlens.layers.LSTM(4, name="enc", return_sequences=True)(inp)
    out = rnnlens.layers.Dense(2, name="head")(rnnlens.layers.GRU(3, name="dec")(h))
    return rnnlens.Model(inp, out)


@pytest.fixture(scope="module")
def files(tmp_path_factory: Any) -> dict[str, Path]:
    """A valid .keras, legacy .h5 (written by Keras 3's h5 layout via tf-keras-free h5py
    edits of rnnlens's own) and a tf-keras SavedModel, and what they predict."""
    root = tmp_path_factory.mktemp("valid")
    model = _model()
    model.save(root / "m.keras")
    out = {"keras": root / "m.keras"}
    try:
        import tf_keras as k2  # noqa: PLC0415
    except ImportError:                                              # pragma: no cover
        pytest.fail("tf-keras is needed (make test installs it)")
    m2 = k2.Sequential([k2.layers.LSTM(4, input_shape=(5, 3), return_sequences=True),
                        k2.layers.GRU(3), k2.layers.Dense(2)])
    m2.save(str(root / "m.h5"))
    m2.save(str(root / "m_savedmodel"), save_format="tf")
    out["h5"], out["savedmodel"] = root / "m.h5", root / "m_savedmodel"
    return out


def _refused_quickly(fn: Callable[[], Any], name: str, budget: float = 10.0) -> str:
    """Runs ``fn`` in a thread: it must raise UnsafeModelError naming ``name`` in time."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            fn()
            result["ok"] = True
        except BaseException as err:  # noqa: BLE001 - reported below
            result["err"] = err

    thread = threading.Thread(target=run, daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(budget)
    assert not thread.is_alive(), f"loading {name} did not finish within {budget} s"
    err = result.get("err")
    assert isinstance(err, UnsafeModelError), f"{name}: {type(err).__name__}: {err}"
    assert name in str(err)
    assert time.perf_counter() - start < budget
    return str(err)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
@pytest.mark.parametrize("name", ["x.h5", "x.weights.h5", "x.keras"])
def test_devices_behind_model_names_are_refused(tmp_path: Path, device: str, name: str) -> None:
    link = tmp_path / name
    link.symlink_to(device)
    message = _refused_quickly(lambda: load_model(link), name)
    assert "character device" in message
    model = _model()
    _refused_quickly(lambda: model.load_weights(link), name)


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    assert "FIFO" in _refused_quickly(lambda: load_model(fifo), "pipe.h5")
    _refused_quickly(lambda: _model().load_weights(fifo), "pipe.h5")


def test_directory_named_h5_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "x.h5"
    folder.mkdir()
    assert "not a tf.keras SavedModel" in _refused_quickly(lambda: load_model(folder), "x.h5")
    _refused_quickly(lambda: _model().load_weights(folder), "x.h5")


def test_invalid_utf8_in_attributes(files: dict[str, Path], tmp_path: Path) -> None:
    for attr in ("model_config", "keras_version"):
        path = tmp_path / f"{attr}.h5"
        shutil.copy(files["h5"], path)
        with h5py.File(path, "r+") as h5:
            h5.attrs[attr] = np.void(b"\xff\xfe{bad")
        _refused_quickly(lambda p=path: load_model(p), path.name)
    path = tmp_path / "names.h5"
    shutil.copy(files["h5"], path)
    with h5py.File(path, "r+") as h5:
        h5["model_weights"].attrs["layer_names"] = np.array([b"\xff\xfe", b"ok"])
    _refused_quickly(lambda: load_model(path), "names.h5")


def test_corrupted_superblock(files: dict[str, Path], tmp_path: Path) -> None:
    data = bytearray(files["h5"].read_bytes())
    data[8:40] = b"\xff" * 32                           # after the signature
    path = tmp_path / "super.h5"
    path.write_bytes(bytes(data))
    _refused_quickly(lambda: load_model(path), "super.h5")


def test_weights_only_file_says_what_it_is(files: dict[str, Path], tmp_path: Path) -> None:
    model = _model()
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(NotAModelError, match="weights file.*load_weights"):
        load_model(tmp_path / "w.weights.h5")
    np.save(tmp_path / "a.npy", X)
    with pytest.raises(NotAModelError, match="NumPy array file"):
        load_model(tmp_path / "a.npy")
    (tmp_path / "m.onnx").write_bytes(b"\x08\x07\x12\x07rnnlens")
    with pytest.raises(NotAModelError, match="ONNX"):
        load_model(tmp_path / "m.onnx")


def _mutate(data: bytes, ops: list[tuple[int, int, int]]) -> bytes:
    out = bytearray(data)
    for kind, where, value in ops:
        if not out:
            break
        k = where % len(out)
        if kind == 0:
            out[k] ^= 1 << (value % 8)                   # flip a bit
        elif kind == 1:
            out[k:k + 4] = value.to_bytes(4, "little")   # a length field set large
        else:
            del out[k:]                                  # truncate
    return bytes(out)


OPS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2**31), st.integers(0, 2**32 - 1)),
               min_size=1, max_size=4)


def _check(path: Path, expected: np.ndarray) -> None:
    """A mutated file loads and predicts, or is refused; anything else fails."""
    try:
        model = load_model(path)
    except UnsafeModelError as err:
        assert path.name in str(err) or path.parent.name in str(err), err
        return
    except NotAModelError as err:        # the mutation made it another kind of file
        assert path.name in str(err) and ("weights file" in str(err) or
                                          "text file" in str(err)), err
        return
    got = model.predict(X, verbose=0)
    assert np.shape(got) == np.shape(expected)


@settings(max_examples=int(os.environ.get("RNNLENS_FUZZ", 40)), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(ops=OPS, fmt=st.sampled_from(["keras", "h5"]))
def test_mutated_files_load_or_are_refused(files: dict[str, Path], tmp_path: Path,
                                           ops: list, fmt: str) -> None:
    source = files[fmt]
    expected = load_model(source).predict(X, verbose=0)
    path = tmp_path / f"mutant.{fmt}"
    path.write_bytes(_mutate(source.read_bytes(), ops))
    start = time.perf_counter()
    _check(path, expected)
    assert time.perf_counter() - start < 10


@settings(max_examples=int(os.environ.get("RNNLENS_FUZZ", 25)), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(ops=OPS, member=st.sampled_from(["keras_metadata.pb", "variables/variables.index",
                                        "variables/variables.data-00000-of-00001"]))
def test_mutated_savedmodels_load_or_are_refused(files: dict[str, Path], tmp_path: Path,
                                                 ops: list, member: str) -> None:
    expected = load_model(files["savedmodel"]).predict(X, verbose=0)
    target = tmp_path / f"sm_{abs(hash((member, str(ops)))) % 10**8}"
    if not target.exists():
        shutil.copytree(files["savedmodel"], target)
    victim = target / member
    victim.write_bytes(_mutate(victim.read_bytes(), ops))
    start = time.perf_counter()
    _check(target, expected)
    assert time.perf_counter() - start < 10
