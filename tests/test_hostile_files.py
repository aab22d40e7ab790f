"""Hostile model files: every one is refused cleanly, and nothing is written or executed.

The guarantee under test (``rnnlens.interop.keras_format``): loading a ``.keras`` archive, a
legacy ``.h5`` model or a ``.weights.h5`` never unpickles, imports or executes anything from
the file, checks every size against ``Limits`` before reading or allocating, and refuses a
bad file with an ``UnsafeModelError`` (a ``ValueError``) whose message names the file and
the reason. Every refusal here also checks that

* no other exception type leaks (``AttributeError``, ``RecursionError``, ``TypeError``, a
  bare ``ValueError`` without the file name, ... all fail the test, saying which);
* nothing was written: the test's tmp dir and the current working directory (a fresh
  folder inside it) are snapshotted before and after, file names, sizes and mtimes;
* no pickle planted in the file ran (its payload would create ``PWNED``).

The files are crafted with zipfile / json / h5py from a small model built natively in
rnnlens, so nothing here needs Keras.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

import h5py
import numpy as np
import pytest

import rnnlens
from rnnlens.interop.keras_config import Limits, UnsafeModelError
from rnnlens.interop.keras_format import load_weights
from rnnlens.models import load_model

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- the base file
@pytest.fixture(scope="module")
def base(tmp_path_factory: Any) -> dict[str, bytes]:
    """The members of a valid .keras: Input(5, 3) -> LSTM(4) 'enc' -> Dense(2) 'head'."""
    x = rnnlens.Input((5, 3), name="x")
    h = rnnlens.layers.LSTM(4, name="enc")(x)
    model = rnnlens.Model(x, rnnlens.layers.Dense(2, name="head")(h), name="base")
    path = tmp_path_factory.mktemp("base") / "base.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    assert set(members) == {"metadata.json", "config.json", "model.weights.h5"}
    return members


def layers_of(config: dict) -> list[dict]:
    return config["config"]["layers"]


class Box:
    """A tmp folder for crafted files, the cwd moved into it, and the refusal check."""

    def __init__(self, root: Path, base: dict[str, bytes]):
        self.root, self.base = root, base
        self.files = root / "files"
        self.files.mkdir()
        self.cwd = root / "cwd"
        self.cwd.mkdir()
        self.marker = root / "PWNED"

    # -- crafting ----------------------------------------------------------------
    def config(self) -> dict:
        return json.loads(self.base["config.json"])

    def raw(self, name: str, data: bytes) -> Path:
        path = self.files / name
        path.write_bytes(data)
        return path

    def archive(self, name: str, members: dict[str, Any] | None = None, **overrides: Any
                ) -> Path:
        """A zip with the base members, ``overrides`` (config= dict or bytes, weights=
        bytes), and ``members`` added in order (duplicates allowed)."""
        entries = dict(self.base)
        if "config" in overrides:
            cfg = overrides["config"]
            entries["config.json"] = cfg if isinstance(cfg, bytes) else json.dumps(cfg).encode()
        if "weights" in overrides:
            entries["model.weights.h5"] = overrides["weights"]
        for drop in overrides.get("drop", ()):
            entries.pop(drop)
        path = self.files / name
        with zipfile.ZipFile(path, "w", overrides.get("compression", zipfile.ZIP_STORED)) as zf:
            for n, d in entries.items():
                zf.writestr(n, d)
            for n, d in (members or {}).items():
                zf.writestr(n, d)
        return path

    def variant(self, name: str, mutate: Callable[[dict], Any]) -> Path:
        cfg = self.config()
        mutate(cfg)
        return self.archive(name, config=cfg)

    def weights(self, edit: Callable[[Any], Any]) -> bytes:
        """The base weights file, copied and edited with h5py."""
        buf = io.BytesIO()
        with h5py.File(io.BytesIO(self.base["model.weights.h5"]), "r") as src, \
                h5py.File(buf, "w") as dst:
            for key in src:
                src.copy(key, dst)
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            edit(dst)
        return buf.getvalue()

    def pickle_payload(self) -> bytes:
        """Bytes that, if ever unpickled, create ``PWNED``."""
        return pickle.dumps(_Planted(str(self.marker)))

    # -- checking ----------------------------------------------------------------
    def snapshot(self) -> dict[str, tuple]:
        out = {}
        for folder in (self.root, Path.cwd()):
            for p in folder.rglob("*"):
                st = p.lstat()
                out[str(p)] = (st.st_size, st.st_mtime_ns)
        return out

    def refused(self, path: Path, *reasons: str, limits: Limits | None = None,
                load: Callable[..., Any] | None = None) -> str:
        """Loads ``path`` and checks the clean refusal; returns the message."""
        __tracebackhide__ = True
        before = self.snapshot()
        try:
            result = (load or load_model)(path, limits)
        except UnsafeModelError as err:
            message, error = str(err), err
        except BaseException as err:  # noqa: BLE001  (reported precisely below)
            pytest.fail(f"loading {path.name} leaked {type(err).__name__} instead of "
                        f"UnsafeModelError: {str(err)[:300]}")
        else:
            pytest.fail(f"{path.name} was loaded, not refused (got {type(result).__name__})")
        assert isinstance(error, ValueError)
        assert os.fspath(path) in message, f"the message does not name the file: {message}"
        for reason in reasons:
            assert reason.lower() in message.lower(), \
                f"expected {reason!r} in the message: {message}"
        assert self.snapshot() == before, "loading wrote or changed files"
        assert not self.marker.exists(), "a pickle from the file was executed"
        return message


class _Planted:
    """Unpickling this calls ``open(marker, "w")``: proof that something unpickled."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (open, (self.marker, "w"))


@pytest.fixture
def box(tmp_path: Path, base: dict[str, bytes], monkeypatch: Any) -> Box:
    b = Box(tmp_path, base)
    monkeypatch.chdir(b.cwd)
    return b


def test_the_base_file_loads(box: Box) -> None:
    """Sanity: the untouched base archive loads (so every refusal below is the edit's)."""
    path = box.archive("ok.keras")
    before = box.snapshot()
    model = load_model(path)
    assert [layer.name for layer in model.layers] == ["x", "enc", "head"]
    assert model.predict(np.zeros((2, 5, 3), np.float32)).shape == (2, 2)
    assert box.snapshot() == before


# ---------------------------------------------------------------------------- the zip itself
def test_corrupt_zip_bytes(box: Box) -> None:
    rng = np.random.default_rng(0)
    data = b"PK\x03\x04" + rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    box.refused(box.raw("corrupt.keras", data), "zip")


def test_corrupt_member_bytes(box: Box) -> None:
    """A valid zip directory whose compressed member data is garbage."""
    path = box.archive("bad_member.keras", compression=zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    start = raw.find(b"config.json") + len("config.json")
    raw[start + 10:start + 400] = bytes(390)                      # zero the deflate stream
    path.write_bytes(bytes(raw))
    box.refused(path, "corrupt")


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_zip(box: Box, keep: float) -> None:
    whole = box.archive("whole.keras").read_bytes()
    box.refused(box.raw("truncated.keras", whole[:int(len(whole) * keep)]), "zip")


def test_not_a_zip(box: Box) -> None:
    """A text file is not refused as unsafe: the error says what it is."""
    from rnnlens.interop.safe_io import NotAModelError

    path = box.raw("text.keras", b'{"class_name": "Functional", "config": {}}\n')
    with pytest.raises(NotAModelError, match="text.keras is a text file, not a Keras model"):
        load_model(path)


def test_empty_file(box: Box) -> None:
    box.refused(box.raw("empty.keras", b""), "not a valid")


def test_missing_file_is_a_clean_value_error(box: Box) -> None:
    with pytest.raises(ValueError, match="nothere.keras"):
        load_model(box.files / "nothere.keras")


@pytest.mark.parametrize("entry", ["../evil.txt", "/abs.txt", "a/../../b", "..\\evil.txt",
                                   "C:/evil.txt", "assets/../../evil.txt"])
def test_traversal_entries(box: Box, entry: str) -> None:
    path = box.archive("traversal.keras", {entry: b"owned"})
    box.refused(path, "absolute or parent path")
    assert not (box.root / "evil.txt").exists() and not Path("/abs.txt").exists()


def test_too_many_members(box: Box) -> None:
    path = box.archive("many.keras", {f"assets/a{k}.txt": b"" for k in range(70)})
    box.refused(path, "zip entries", "64")
    box.refused(box.archive("few.keras"), "zip entries", limits=Limits(max_members=2))


@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_missing_member(box: Box, member: str) -> None:
    box.refused(box.archive("missing.keras", drop=[member]), f"no {member}")


def test_oversized_config(box: Box) -> None:
    cfg = box.config()
    cfg["config"]["name"] = "x" * 200                 # still a valid config, only bigger
    path = box.archive("bigconfig.keras", config=cfg)
    box.refused(path, "config.json", "over the limit", limits=Limits(max_config_bytes=1024))


def test_oversized_member(box: Box) -> None:
    path = box.archive("bigmember.keras")
    box.refused(path, "model.weights.h5", "over the limit",
                limits=Limits(max_member_bytes=1024))


def test_oversized_archive(box: Box) -> None:
    path = box.archive("bigarchive.keras")
    box.refused(path, "bytes, over", limits=Limits(max_archive_bytes=1000))


@pytest.mark.parametrize("compression", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_50mb_member_is_refused_quickly_without_reading_it(box: Box, monkeypatch: Any,
                                                           compression: int) -> None:
    path = box.archive("bomb.keras", weights=bytes(50 << 20), compression=compression)
    read = []
    original = zipfile.ZipExtFile.read

    def counting_read(self: Any, n: int = -1) -> bytes:
        data = original(self, n)
        read.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    start = time.perf_counter()
    box.refused(path, "model.weights.h5", "over the limit",
                limits=Limits(max_member_bytes=1 << 20))
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert sum(read) <= (1 << 20) + 1, f"read {sum(read)} bytes of the 50 MB member"


def test_member_whose_header_understates_its_size(box: Box) -> None:
    """The zip directory says 1000 bytes; the member really inflates to 50 MB."""
    path = box.archive("liar.keras", weights=bytes(50 << 20), compression=zipfile.ZIP_DEFLATED)
    raw = bytearray(path.read_bytes())
    name = b"model.weights.h5"
    for sig, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        at = 0
        while (at := raw.find(sig, at)) >= 0:
            if raw[at + name_at:at + name_at + len(name)] == name:
                raw[at + size_at:at + size_at + 4] = (1000).to_bytes(4, "little")
            at += 4
    path.write_bytes(bytes(raw))
    start = time.perf_counter()
    box.refused(path, "model.weights.h5", limits=Limits(max_member_bytes=1 << 20))
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------------------- code in the config
def test_lambda_layer(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[2].update({
            "module": "keras.layers", "class_name": "Lambda", "registered_name": None,
            "config": {"name": "head", "function": {
                "class_name": "__lambda__",
                "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMEAAAAfABTAKkBTqkAKQHaAXhyAgAA",
                           "defaults": None, "closure": None}}}})
    box.refused(box.variant("lambda.keras", mutate), "'Lambda'", "not")


def test_unknown_class_name(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[2]["class_name"] = "FancyAttention"
    box.refused(box.variant("unknown.keras", mutate), "'FancyAttention'")


@pytest.mark.parametrize("module, cls", [("os", "system"), ("subprocess", "system"),
                                         ("subprocess", "Popen"), ("builtins", "eval")])
def test_module_pointing_at_code(box: Box, module: str, cls: str) -> None:
    command = f"touch {box.marker}"

    def as_layer(cfg: dict) -> None:
        layers_of(cfg)[2].update({"module": module, "class_name": cls,
                                  "registered_name": f"{module}>{cls}",
                                  "config": {"name": "head", "command": command,
                                             "args": [command]}})

    def as_model(cfg: dict) -> None:
        cfg.update({"module": module, "class_name": cls, "registered_name": cls})

    box.refused(box.variant("layer.keras", as_layer), f"'{cls}'")
    box.refused(box.variant("model.keras", as_model), f"'{cls}'")


def test_registered_custom_object(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[2].update({"module": None, "class_name": "MyDense",
                                  "registered_name": "Custom>MyDense"})
    box.refused(box.variant("custom.keras", mutate), "'MyDense'")


def test_custom_activation_object(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[2]["config"]["activation"] = {
            "module": "builtins", "class_name": "function", "config": "eval",
            "registered_name": "function"}
    box.refused(box.variant("act.keras", mutate), "activation")


def test_unknown_activation_name(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[1]["config"]["activation"] = "os.system"
    box.refused(box.variant("act_name.keras", mutate), "os.system")


def test_custom_rnn_cell(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        enc = layers_of(cfg)[1]
        enc["class_name"] = "RNN"
        enc["config"]["cell"] = {"module": "__main__", "class_name": "MinimalRNNCell",
                                 "config": {"units": 4}, "registered_name": "MinimalRNNCell"}
    box.refused(box.variant("cell.keras", mutate), "'MinimalRNNCell'")


def test_subclassed_model(box: Box) -> None:
    def top(cfg: dict) -> None:
        cfg.update({"module": "__main__", "class_name": "MyModel",
                    "registered_name": "MyModel"})

    def nested(cfg: dict) -> None:
        layers_of(cfg)[2].update({"module": "__main__", "class_name": "MyModel",
                                  "registered_name": "MyModel"})

    box.refused(box.variant("sub.keras", top), "'MyModel'", "subclassed")
    box.refused(box.variant("sub_nested.keras", nested), "'MyModel'")


def test_dtype_policy_is_refused(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[1]["config"]["dtype"] = {
            "module": "keras", "class_name": "DTypePolicy",
            "config": {"name": "mixed_float16"}, "registered_name": None}
    box.refused(box.variant("dtype.keras", mutate), "mixed_float16")


# ---------------------------------------------------------------------------- sizes and values
@pytest.mark.parametrize("units, shown", [(10 ** 12, "1000000000000"), (-4, "-4"),
                                          (0, "=0"), ("12", "'12'"), (4.5, "4.5"),
                                          (True, "True"), (None, "None"), ([4], "[4]")])
def test_bad_units(box: Box, units: Any, shown: str) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[1]["config"]["units"] = units
    box.refused(box.variant("units.keras", mutate), "units", shown)


@pytest.mark.parametrize("shape, shown", [([None, 10 ** 9, 3], "1000000000"),
                                          ([10 ** 9, 5, 3], "1000000000"),
                                          ([None, -5, 3], "-5"),
                                          ([None, 5, "3"], "'3'"),
                                          ("abc", "abc"),
                                          ([None] + [2] * 20, "invalid shape")])
def test_absurd_input_shapes(box: Box, shape: Any, shown: str) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[0]["config"]["batch_shape"] = shape
    box.refused(box.variant("shape.keras", mutate), shown)


def test_parameter_count_over_the_limit(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[1]["config"]["units"] = 60000
    box.refused(box.variant("params.keras", mutate), "parameter count",
                limits=Limits(max_params=1_000_000))


def test_embedding_over_the_default_limit(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[0]["config"].update({"batch_shape": [None, 5], "dtype": "int32"})
        layers_of(cfg)[1].update({"class_name": "Embedding", "config": {
            "name": "enc", "input_dim": 1_000_000, "output_dim": 60000, "mask_zero": True}})
    box.refused(box.variant("embedding.keras", mutate), "parameter count")


# The parameter count must hold whatever the optional build_config says: the real weight
# shapes come from the graph (Input shapes), and these files would otherwise allocate
# 4-16 MB for a limit of 100 000 parameters (and, scaled up, terabytes).
SMALL = Limits(max_params=100_000)


def test_params_when_build_config_understates_features(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[0]["config"]["batch_shape"] = [None, 5, 20000]
        layers_of(cfg)[1]["config"]["units"] = 50
        layers_of(cfg)[1]["build_config"] = {"input_shape": [None, 5, 1]}   # a lie
        layers_of(cfg)[2]["build_config"] = {"input_shape": [None, 50]}
    box.refused(box.variant("lying_build.keras", mutate), "parameter count", limits=SMALL)


def test_params_of_dense_without_build_config(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        entries = layers_of(cfg)
        entries[0]["config"]["batch_shape"] = [None, 20000]
        head = entries[2]
        head["config"]["units"] = 200
        head.pop("build_config")
        head["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = ["x", 0, 0]
        del entries[1]
    box.refused(box.variant("dense_nobuild.keras", mutate), "parameter count", limits=SMALL)


def test_params_of_rnn_cell(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[0]["config"]["batch_shape"] = [None, 5, 20000]
        enc = layers_of(cfg)[1]
        enc.update({"class_name": "RNN", "build_config": {"input_shape": [None, 5, 20000]},
                    "config": {"name": "enc", "cell": {
                        "module": "keras.layers", "class_name": "LSTMCell",
                        "config": {"units": 50}, "registered_name": None}}})
        layers_of(cfg)[2]["build_config"] = {"input_shape": [None, 50]}
    box.refused(box.variant("rnn_cell.keras", mutate), "parameter count", limits=SMALL)


def test_params_of_time_distributed_dense(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[0]["config"]["batch_shape"] = [None, 5, 20000]
        head = layers_of(cfg)[2]
        layers_of(cfg)[2] = {
            "module": "keras.layers", "class_name": "TimeDistributed", "name": "head",
            "config": {"name": "head", "layer": {"module": "keras.layers",
                                                 "class_name": "Dense",
                                                 "config": {"name": "d", "units": 200}}},
            "inbound_nodes": head["inbound_nodes"]}
        layers_of(cfg)[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = \
            ["x", 0, 0]
        del layers_of(cfg)[1]
    box.refused(box.variant("td.keras", mutate), "parameter count", limits=SMALL)


def test_params_of_bidirectional_count_both_directions(box: Box) -> None:
    """LSTM(50) on 3 features is 11 000 parameters; Bidirectional doubles it to 22 000."""
    def mutate(cfg: dict) -> None:
        enc = layers_of(cfg)[1]
        inner = {"module": "keras.layers", "class_name": "LSTM",
                 "config": dict(enc["config"], name="fw", units=50),
                 "build_config": {"input_shape": [None, 5, 3]}}
        enc.update({"class_name": "Bidirectional",
                    "config": {"name": "enc", "merge_mode": "concat", "layer": inner}})
        layers_of(cfg)[2]["build_config"] = {"input_shape": [None, 100]}
    box.refused(box.variant("bidir.keras", mutate), "parameter count",
                limits=Limits(max_params=15_000))


def test_too_many_layers(box: Box) -> None:
    box.refused(box.archive("layers.keras"), "layers", limits=Limits(max_layers=2))


def test_configs_nested_too_deeply(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        item = copy.deepcopy(layers_of(cfg)[1])
        for _ in range(40):
            item = {"class_name": "TimeDistributed", "config": {"name": "td", "layer": item}}
        layers_of(cfg)[1].update(class_name=item["class_name"], config=item["config"])
    box.refused(box.variant("deep.keras", mutate), "nested too deeply")


# ---------------------------------------------------------------------------- broken JSON / graphs
def test_config_not_json(box: Box) -> None:
    box.refused(box.archive("notjson.keras", config=b"class_name: Functional\n"),
                "not valid JSON")
    box.refused(box.archive("notutf8.keras", config=b"\xff\xfe{}"), "not valid JSON")


@pytest.mark.parametrize("text", [b"[1, 2]", b'"Functional"', b"null", b"{}",
                                  b'{"class_name": "Functional", "config": []}'])
def test_config_json_of_the_wrong_shape(box: Box, text: bytes) -> None:
    box.refused(box.archive("wrong.keras", config=text), "config")


def test_json_nesting_bomb(box: Box) -> None:
    depth = 200_000
    box.refused(box.archive("bomb.keras", config=b"[" * depth + b"]" * depth),
                "not valid JSON")
    box.refused(box.archive("bomb2.keras", config=b'{"a":' * depth + b"1" + b"}" * depth),
                "not valid JSON")


@pytest.mark.parametrize("where", ["args", "output_layers", "input_layers", "layer_config"])
def test_json_nested_just_below_the_parser_limit(box: Box, where: str) -> None:
    """600 levels parse as JSON; walking them must not blow Python's recursion limit."""
    def deep(leaf: Any, n: int = 600) -> Any:
        for _ in range(n):
            leaf = [leaf]
        return leaf

    def mutate(cfg: dict) -> None:
        if where == "args":
            node = layers_of(cfg)[1]["inbound_nodes"][0]
            node["args"] = [deep(node["args"][0])]
        elif where == "output_layers":
            cfg["config"]["output_layers"] = deep(["head", 0, 0])
        elif where == "input_layers":
            cfg["config"]["input_layers"] = deep(["x", 0, 0])
        else:
            layers_of(cfg)[1]["config"]["units"] = deep(4)

    box.refused(box.variant(f"deep_{where}.keras", mutate))


def test_inbound_node_references_a_nonexistent_layer(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        args = layers_of(cfg)[2]["inbound_nodes"][0]["args"]
        args[0]["config"]["keras_history"] = ["ghost", 0, 0]
    box.refused(box.variant("ghost.keras", mutate), "'ghost'")


def test_output_references_a_nonexistent_layer(box: Box) -> None:
    def mutate(cfg: dict) -> None:
        cfg["config"]["output_layers"] = ["ghost", 0, 0]
    box.refused(box.variant("ghost_out.keras", mutate), "'ghost'")


@pytest.mark.parametrize("history", [["enc", 3, 0], ["enc", 0, 7], ["enc", 0, -1],
                                     ["enc", 0], "enc", ["enc", [0], 0], ["enc", 0, "0"],
                                     [["enc"], 0, 0]])
def test_malformed_tensor_references(box: Box, history: Any) -> None:
    def mutate(cfg: dict) -> None:
        layers_of(cfg)[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"] = history
    box.refused(box.variant("ref.keras", mutate), "'head'")


# Type confusion: every field the reader walks, given the wrong JSON type.
def _set(path: list, value: Any) -> Callable[[dict], None]:
    def mutate(cfg: dict) -> None:
        target = cfg
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _noname_str(cfg: dict) -> None:
    layers_of(cfg)[1].pop("name")
    layers_of(cfg)[1]["config"] = "enc"


def _rnn_cell_config(cfg: dict) -> None:
    layers_of(cfg)[1]["class_name"] = "RNN"
    layers_of(cfg)[1]["config"]["cell"] = {"class_name": "LSTMCell", "config": [4]}


def _empty_stack(cfg: dict) -> None:
    layers_of(cfg)[1]["class_name"] = "RNN"
    layers_of(cfg)[1]["config"]["cell"] = {"class_name": "StackedRNNCells",
                                           "config": {"cells": []}}


def _bidir_merge(cfg: dict) -> None:
    enc = layers_of(cfg)[1]
    inner = {"class_name": "LSTM", "config": dict(enc["config"], name="fw")}
    enc.update({"class_name": "Bidirectional",
                "config": {"name": "enc", "merge_mode": "bogus", "layer": inner}})


def _input_not_input(cfg: dict) -> None:
    cfg["config"]["input_layers"] = [["x", 0, 0], ["enc", 0, 0]]


CONFUSION = {
    "input_config_list": _set(["config", "layers", 0, "config"], [1, 2]),
    "layer_config_str_no_name": _noname_str,
    "layer_name_list": _set(["config", "layers", 1, "name"], ["enc"]),
    "inbound_nodes_dict": _set(["config", "layers", 1, "inbound_nodes"], {"args": []}),
    "node_kwargs_list": _set(["config", "layers", 1, "inbound_nodes", 0, "kwargs"], [1]),
    "node_args_str": _set(["config", "layers", 1, "inbound_nodes", 0, "args"], "x"),
    "layers_not_list": _set(["config", "layers"], {"x": 1}),
    "layer_entry_int": _set(["config", "layers", 2], 7),
    "rnn_cell_config_list": _rnn_cell_config,
    "rnn_empty_stacked_cells": _empty_stack,
    "bidirectional_bad_merge_mode": _bidir_merge,
    "model_input_not_an_input": _input_not_input,
    "dropout_str": _set(["config", "layers", 1, "config", "dropout"], "0.5"),
    "units_dict": _set(["config", "layers", 1, "config", "units"], {"a": 1}),
}


@pytest.mark.parametrize("name", list(CONFUSION))
def test_type_confusion(box: Box, name: str) -> None:
    box.refused(box.variant(f"{name}.keras", CONFUSION[name]))


# ---------------------------------------------------------------------------- the weights
def test_weight_shape_disagrees_with_config(box: Box) -> None:
    def edit(h5: Any) -> None:
        del h5["layers/lstm/cell/vars/0"]
        h5["layers/lstm/cell/vars/0"] = np.zeros((3, 17), np.float32)
    path = box.archive("shape.keras", weights=box.weights(edit))
    box.refused(path, "layers/lstm/cell/vars/0", "shape", "(3, 17)")


def test_missing_weights_dataset(box: Box) -> None:
    path = box.archive("missing.keras",
                       weights=box.weights(lambda h5: h5.__delitem__("layers/dense/vars/1")))
    box.refused(path, "layers/dense/vars/1", "missing")


def test_group_where_a_weight_should_be(box: Box) -> None:
    def edit(h5: Any) -> None:
        del h5["layers/dense/vars/0"]
        h5.create_group("layers/dense/vars/0")
    box.refused(box.archive("group.keras", weights=box.weights(edit)), "layers/dense/vars/0")


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "S4", "bool"])
def test_weights_of_the_wrong_dtype(box: Box, dtype: str) -> None:
    def edit(h5: Any) -> None:
        del h5["layers/lstm/cell/vars/1"]
        h5["layers/lstm/cell/vars/1"] = np.ones((4, 16)).astype(dtype)
    path = box.archive("dtype.keras", weights=box.weights(edit))
    box.refused(path, "layers/lstm/cell/vars/1", "dtype")


def test_weights_member_is_not_hdf5(box: Box) -> None:
    box.refused(box.archive("noth5.keras", weights=b"\x89HDF\r\n\x1a\n" + bytes(100)),
                "not a valid HDF5")


def test_weights_with_external_storage_are_refused(box: Box) -> None:
    """A dataset stored in an outside file would copy that file into the weights (and
    from there into predictions): the data must live inside the model file."""
    secret = box.root / "secret.bin"
    np.arange(48, dtype=np.float32).tofile(secret)

    def edit(h5: Any) -> None:
        del h5["layers/lstm/cell/vars/0"]
        h5.create_dataset("layers/lstm/cell/vars/0", shape=(3, 16), dtype="f4",
                          external=[(str(secret), 0, 48 * 4)])
    box.refused(box.archive("external.keras", weights=box.weights(edit)),
                "layers/lstm/cell/vars/0")


def test_weights_as_external_link_are_refused(box: Box) -> None:
    other = box.root / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["k"] = np.full((3, 16), 7.0, np.float32)

    def edit(h5: Any) -> None:
        del h5["layers/lstm/cell/vars/0"]
        h5["layers/lstm/cell/vars/0"] = h5py.ExternalLink(str(other), "k")
    box.refused(box.archive("extlink.keras", weights=box.weights(edit)),
                "layers/lstm/cell/vars/0")


def test_weights_as_virtual_dataset_are_refused(box: Box) -> None:
    other = box.root / "other_vds.h5"
    with h5py.File(other, "w") as h5:
        h5["k"] = np.full((3, 16), 9.0, np.float32)

    def edit(h5: Any) -> None:
        del h5["layers/lstm/cell/vars/0"]
        layout = h5py.VirtualLayout(shape=(3, 16), dtype="f4")
        layout[:] = h5py.VirtualSource(str(other), "k", shape=(3, 16))
        h5.create_virtual_dataset("layers/lstm/cell/vars/0", layout, fillvalue=0)
    box.refused(box.archive("vds.keras", weights=box.weights(edit)),
                "layers/lstm/cell/vars/0")


def test_weights_soft_link_loop(box: Box) -> None:
    def edit(h5: Any) -> None:
        del h5["layers/lstm/cell/vars/0"]
        h5["layers/lstm/cell/vars/0"] = h5py.SoftLink("/layers/lstm/cell/vars/0")
    box.refused(box.archive("loop.keras", weights=box.weights(edit)),
                "layers/lstm/cell/vars/0")


# ---------------------------------------------------------------------------- pickles
@pytest.mark.parametrize("member", ["config.json", "model.weights.h5"])
def test_pickle_payload_in_a_read_member(box: Box, member: str) -> None:
    override, reason = {"config.json": ("config", "config.json is not valid JSON"),
                        "model.weights.h5": ("weights", "not a valid HDF5")}[member]
    path = box.archive("pickle.keras", **{override: box.pickle_payload()})
    box.refused(path, reason)


@pytest.mark.parametrize("member", ["metadata.json", "assets/model.pkl", "model.weights.npz",
                                    "variables.pkl"])
def test_pickle_payload_in_another_member_is_never_unpickled(box: Box, member: str) -> None:
    """Members rnnlens does not need are never read; the model still loads."""
    entries = {member: box.pickle_payload()}
    path = box.archive("pickle_other.keras", entries) if member != "metadata.json" \
        else box.archive("pickle_meta.keras", drop=["metadata.json"], members=entries)
    before = box.snapshot()
    try:
        load_model(path)
    except UnsafeModelError as err:                       # refusing is fine too
        assert os.fspath(path) in str(err)
    assert box.snapshot() == before
    assert not box.marker.exists()


def test_pickled_weights_dataset(box: Box) -> None:
    """Pickle bytes stored as an opaque HDF5 dataset are neither float nor unpickled."""
    def edit(h5: Any) -> None:
        del h5["layers/dense/vars/1"]
        h5["layers/dense/vars/1"] = np.void(box.pickle_payload())
    box.refused(box.archive("opaque.keras", weights=box.weights(edit)), "layers/dense/vars/1")


# ---------------------------------------------------------------------------- legacy .h5
def legacy_file(path: Path, config: Any, weights: Callable[[Any], Any] | None = None) -> Path:
    with h5py.File(path, "w") as h5:
        if config is not None:
            h5.attrs["model_config"] = config
        group = h5.create_group("model_weights")
        if weights is not None:
            weights(group)
    return path


def legacy_weights(kind: str = "f4", replace: dict | None = None) -> Callable[[Any], Any]:
    """Keras's legacy layout for the base model, with some datasets replaced."""
    shapes = {"enc": [(3, 16), (4, 16), (16,)], "head": [(4, 2), (2,)]}

    def write(group: Any) -> None:
        group.attrs["layer_names"] = [b"x", b"enc", b"head"]
        for layer, layer_shapes in shapes.items():
            sub = group.create_group(layer)
            names = [f"{layer}/{layer}/w{k}" for k in range(len(layer_shapes))]
            sub.attrs["weight_names"] = [n.encode() for n in names]
            for name, shape in zip(names, layer_shapes):
                if replace and name in replace:
                    replace[name](sub, name)
                else:
                    sub[name] = np.ones(shape).astype(kind)
    return write


def test_legacy_base_file_loads(box: Box) -> None:
    path = legacy_file(box.files / "ok.h5", box.base["config.json"].decode(), legacy_weights())
    model = load_model(path)
    np.testing.assert_array_equal(model.get_weights()[0], np.ones((3, 16), np.float32))


def test_legacy_without_model_config(box: Box) -> None:
    path = legacy_file(box.files / "noconfig.h5", None, legacy_weights())
    box.refused(path, "no model_config")


def test_legacy_model_config_with_lambda(box: Box) -> None:
    cfg = box.config()
    layers_of(cfg)[2].update({"class_name": "Lambda", "module": "keras.layers",
                              "config": {"name": "head", "function": "eval"}})
    path = legacy_file(box.files / "lambda.h5", json.dumps(cfg), legacy_weights())
    box.refused(path, "'Lambda'")


@pytest.mark.parametrize("config", [b"\x80\x04pickle", "not json", "[" * 100_000])
def test_legacy_model_config_not_json(box: Box, config: Any) -> None:
    value = np.void(config) if isinstance(config, bytes) else config
    box.refused(legacy_file(box.files / "nj.h5", value, legacy_weights()), "model_config")


def test_legacy_oversized_model_config(box: Box) -> None:
    path = legacy_file(box.files / "big.h5", box.base["config.json"].decode(),
                       legacy_weights())
    box.refused(path, "model_config", limits=Limits(max_config_bytes=500))


def test_legacy_not_hdf5_and_empty(box: Box) -> None:
    box.refused(box.raw("pickle.h5", box.pickle_payload()), "not a valid HDF5")
    box.refused(box.raw("empty.h5", b""), "not a valid HDF5")


def test_legacy_missing_weights(box: Box) -> None:
    path = legacy_file(box.files / "noweights.h5", box.base["config.json"].decode())
    box.refused(path, "'enc'")


def test_legacy_weights_of_the_wrong_dtype(box: Box) -> None:
    path = legacy_file(box.files / "int.h5", box.base["config.json"].decode(),
                       legacy_weights(kind="i4"))
    box.refused(path, "dtype")


def test_legacy_weights_of_strings(box: Box) -> None:
    path = legacy_file(box.files / "str.h5", box.base["config.json"].decode(),
                       legacy_weights(replace={"enc/enc/w0": lambda g, n: g.__setitem__(
                           n, np.full((3, 16), b"abc"))}))
    box.refused(path, "enc/enc/w0")


def test_legacy_group_where_a_weight_should_be(box: Box) -> None:
    path = legacy_file(box.files / "grp.h5", box.base["config.json"].decode(),
                       legacy_weights(replace={"enc/enc/w0": lambda g, n: g.create_group(n)}))
    box.refused(path, "enc/enc/w0")


# ---------------------------------------------------------------------------- load_weights
def test_load_weights_refusals(box: Box) -> None:
    model = load_model(box.archive("ok.keras"))
    before = model.get_weights()

    def into(path: Path, limits: Limits | None) -> Any:
        return load_weights(model, path, limits)

    missing = box.weights(lambda h5: h5.__delitem__("layers/lstm/cell/vars/2"))
    # Not a security refusal: a file of another architecture, named layer by layer.
    with pytest.raises(ValueError, match=r"'enc' \(LSTM, group 'lstm'\) has 3 weights in "
                                         r"the model, 2 in the file") as err:
        into(box.raw("m.weights.h5", missing), None)
    assert not isinstance(err.value, UnsafeModelError)
    box.refused(box.raw("p.weights.h5", box.pickle_payload()), "not a valid HDF5", load=into)
    box.refused(box.archive("t.keras", {"../evil": b""}), "parent path", load=into)
    box.refused(box.raw("big.weights.h5", box.base["model.weights.h5"]), "over",
                limits=Limits(max_member_bytes=100), load=into)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)                    # untouched by the refusals


# ---------------------------------------------------------------------------- the CLI
def cli(*args: Any, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "rnnlens", *map(str, args)], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_cli_predict_never_unpickles_the_input(box: Box, suffix: str) -> None:
    model = box.archive("ok.keras")
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = _Planted(str(box.marker)), 1
    path = box.files / f"evil{suffix}"
    if suffix == ".npy":
        np.save(path, arr, allow_pickle=True)
    else:
        np.savez(path, x=arr)
    before = box.snapshot()
    result = cli("predict", model, path, "-o", box.files / "out.npz", cwd=box.cwd)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "pickle" in result.stderr.lower() or "object" in result.stderr.lower(), \
        result.stderr
    assert not box.marker.exists(), "the input's pickle was executed"
    assert box.snapshot() == before, "predict wrote something"


@pytest.mark.parametrize("command", ["inspect", "predict"])
def test_cli_refuses_a_hostile_file_cleanly(box: Box, command: str) -> None:
    cfg = box.config()
    layers_of(cfg)[2]["class_name"] = "Lambda"
    path = box.archive("lambda.keras", config=cfg)
    np.save(box.files / "x.npy", np.zeros((2, 5, 3), np.float32))
    before = box.snapshot()
    args = [path] if command == "inspect" else [path, box.files / "x.npy", "-o",
                                                 box.files / "out.npz"]
    result = cli(command, *args, cwd=box.cwd)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert str(path) in result.stderr and "Lambda" in result.stderr, result.stderr
    assert box.snapshot() == before
