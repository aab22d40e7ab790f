"""Keras files: ``.keras`` archives, ``.weights.h5``, and legacy ``.h5`` models.

Safe by construction: loading never unpickles, imports or executes anything
from the file; only allow-listed layer classes are built
(``keras_config``); zip entries with absolute or ``..`` paths are refused;
every size is checked against :class:`Limits` before it is read or
allocated (member sizes from the zip directory, weight shapes from the HDF5
metadata, parameter counts from the configs); nothing is written while
loading. Every refusal is an :class:`UnsafeModelError` (a ``ValueError``)
naming the file and the reason.

Weight layout (``model.weights.h5``, spec section 8): groups follow the
attribute path, list items are named by the snake_case class name with
``_1``, ``_2`` for repeats; variables are datasets ``"0"``, ``"1"``, ...
"""

from __future__ import annotations

import datetime
import io
import json
import os
import warnings
import zipfile
import zlib
from typing import Any, Iterator

import numpy as np

from rnnlens.interop import keras_compile
from rnnlens.interop.keras_config import Limits, UnsafeModelError, read_model_config
from rnnlens.interop.keras_h5 import read_dataset
from rnnlens.interop.safe_io import (guarded, not_a_model, open_h5, path_kind, read_file,
                                     sniff)
from rnnlens.interop.semantics import detect, named
from rnnlens.layers.base import snake_case

KERAS_VERSION = "3.15.1"
_ALLOWED_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


def _h5py() -> Any:
    try:
        import h5py
    except ImportError:
        raise ImportError("Reading and writing Keras files needs h5py: pip install h5py "
                          "(or pip install 'rnnlens[h5]').") from None
    return h5py


def _refuse(path: Any, reason: str) -> UnsafeModelError:
    return UnsafeModelError(f"Refusing to load {os.fspath(path)}: {reason}")


# -- reading --------------------------------------------------------------------


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int,
                 path: Any) -> bytes:
    """A member's bytes, reading at most ``limit`` (the size header may lie)."""
    if info.file_size > limit:
        raise _refuse(path, f"member {info.filename!r} is {info.file_size} bytes "
                            f"uncompressed, over the limit of {limit}.")
    with archive.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise _refuse(path, f"member {info.filename!r} expands past {limit} bytes.")
    return data


def _archive_members(data: bytes, path: Any, limits: Limits) -> dict[str, bytes]:
    """The allowed members of a ``.keras`` zip (already read, bounded), checked."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise _refuse(path, f"it is not a valid .keras (zip) file ({err}).") from None
    with archive, guarded(path, "the zip archive"):
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise _refuse(path, f"{len(infos)} zip entries, over {limits.max_members}.")
        members = {}
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") \
                    or ":" in name:
                raise _refuse(path, f"zip entry {name!r} has an absolute or parent path.")
            name = name.replace("\\", "/")                # tf.keras on Windows
            if name not in _ALLOWED_MEMBERS:
                continue                                    # assets/ etc.: ignored, unread
            limit = limits.max_config_bytes if name.endswith(".json") else \
                limits.max_member_bytes
            try:
                members[name] = _read_member(archive, info, limit, path)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, zlib.error) as err:
                raise _refuse(path, f"member {name!r} is corrupt ({err}).") from None
    for needed in ("config.json", "model.weights.h5"):
        if needed not in members:
            raise _refuse(path, f"the archive has no {needed}.")
    return members


def _open_archive(path: Any, limits: Limits) -> dict[str, bytes]:
    return _archive_members(read_file(path, limits.max_archive_bytes), path, limits)


def _parse_json(data: bytes, path: Any, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise _refuse(path, f"{what} is not valid JSON ({err}).") from None


def load_model(path: Any, limits: Limits | None = None, semantics: Any = None,
               compile: bool = True) -> Any:
    """An rnnlens model from a Keras file: ``.keras`` (Keras 3, tf.keras 2.13+), legacy
    ``.h5`` (Keras 1 - 3), or a tf.keras SavedModel directory.

    The kind is read from the file's bytes, not its name. ``semantics`` overrides the
    Keras version whose definitions the model computes with (``rnnlens.interop.semantics``).
    ``compile`` (default True, as Keras) compiles the model from the file's
    ``compile_config`` / ``training_config`` and restores the optimizer's variables
    (:mod:`rnnlens.interop.keras_compile`); a config rnnlens cannot build leaves the
    model uncompiled, with a warning.

    Raises:
        UnsafeModelError: (a ValueError) naming the file and why it was refused.
        ValueError: for a file that is simply of another kind (weights only, NumPy,
            ONNX, text), saying what reads it.
    """
    limits = limits or Limits()
    if path_kind(path) == "directory":
        from rnnlens.interop.savedmodel import load_savedmodel

        return load_savedmodel(path, limits, semantics)
    data = read_file(path, limits.max_archive_bytes)
    kind = sniff(data)
    if kind == "hdf5":
        from rnnlens.interop.keras_legacy import load_legacy_model

        return load_legacy_model(data, path, limits, semantics, compile=compile)
    if kind != "zip":
        raise not_a_model(path, kind, data)
    members = _archive_members(data, path, limits)
    meta = _parse_json(members["metadata.json"], path, "metadata.json") \
        if "metadata.json" in members else {}
    version = meta.get("keras_version") if isinstance(meta, dict) else None
    chosen = named(semantics) if semantics is not None else detect(version, ".keras "
                                                                   "metadata.json")
    config = _parse_json(members["config.json"], path, "config.json")
    model = read_model_config(config, os.fspath(path), limits, chosen)
    _load_weights_bytes(model, members["model.weights.h5"], path, limits)
    _load_assets(model, data, path, limits)
    if compile and isinstance(config, dict) and config.get("compile_config"):
        if keras_compile.compile_from_config(model, config["compile_config"],
                                             os.fspath(path)):
            _load_optimizer(model, members["model.weights.h5"], path, limits)
    return model


def _load_optimizer(model: Any, data: bytes, path: Any, limits: Limits) -> None:
    """The compiled optimizer's variables from ``optimizer/vars`` of the weights."""
    h5 = open_h5(data, path, "model.weights.h5")
    with h5:
        keras_compile.read_optimizer(h5, model, path, limits)


def load_weights(model: Any, path: Any, limits: Limits | None = None, by_name: bool = False,
                 skip_mismatch: bool = False) -> None:
    """Reads ``.weights.h5`` (Keras 3), a Keras 2 weights file, or the weights of a
    ``.keras`` / legacy ``.h5`` model into ``model``. ``by_name`` / ``skip_mismatch``
    apply to the legacy layout, as in Keras 2."""
    from rnnlens.interop.keras_legacy import load_legacy_weights

    limits = limits or Limits()
    data = read_file(path, limits.max_member_bytes)
    kind = sniff(data)
    if kind == "zip":
        if by_name:
            raise ValueError("by_name=True applies to legacy .h5 weight files; a .keras "
                             "file's weights follow the model's structure.")
        _load_weights_bytes(model, _archive_members(data, path, limits)["model.weights.h5"],
                            path, limits, fit_check=True, skip_mismatch=skip_mismatch)
        return
    if kind != "hdf5":
        raise not_a_model(path, kind, data)
    h5 = open_h5(data, path, "the weights file")
    with h5:
        with guarded(path, "the weights file"):
            legacy = "layer_names" in h5.attrs or "model_weights" in h5
            group = (h5["model_weights"] if "model_weights" in h5 else h5) if legacy else None
        if legacy:
            load_legacy_weights(model, group, path, limits, by_name, skip_mismatch)
            return
    if by_name:
        raise ValueError("by_name=True applies to legacy .h5 weight files; this is a "
                         "Keras 3 .weights.h5 file.")
    _load_weights_bytes(model, data, path, limits, fit_check=True,
                        skip_mismatch=skip_mismatch)


def _load_weights_bytes(model: Any, data: bytes, path: Any, limits: Limits,
                        fit_check: bool = False, skip_mismatch: bool = False) -> None:
    """Reads the Keras 3 weights layout into ``model``.

    ``fit_check`` (``load_weights``): a file from another architecture raises a
    ValueError naming the layers that differ (or, with ``skip_mismatch``, those
    layers keep their weights, with a warning), before any weight is set. Without
    it (``load_model``), weights that do not fit the file's own config are a refusal.
    """
    h5 = open_h5(data, path, "model.weights.h5")
    entries = weight_entries(model)
    skipped: set[str] = set()
    with h5:
        if fit_check:
            with guarded(path, "model.weights.h5"):
                problems, message = _fit_report(model, h5, entries, path)
            if problems and not skip_mismatch:
                raise ValueError(message + "\nLoad the file into a model built like the one "
                                 "that saved it, or pass skip_mismatch=True to load only the "
                                 "layers that fit.")
            if problems:
                warnings.warn(message + "\nThose layers keep their weights "
                              "(skip_mismatch=True).", stacklevel=4)
                skipped = set(problems)
        with guarded(path, "model.weights.h5"):
            ints = _integer_weights(model)
            arrays = [None if _layer_key(p) in skipped else
                      read_dataset(h5, p, shape, path, limits.max_params, p in ints)
                      for p, shape in entries]
            extras = [(owner, {k: read_dataset(h5, f"{h5_path}/vars/{k}", None, path,
                                               limits.max_params) for k in keys})
                      for h5_path, owner, keys in _stateful(model, "extra_variables_to_load")]
    if skipped:
        arrays = [cur if new is None else new for new, cur in zip(arrays, model.get_weights())]
    model.set_weights(arrays)
    for owner, values in extras:
        _apply_state(owner, "load_extra_variables", values, path)
    if fit_check:                   # load_weights: Keras restores a compiled optimizer too
        _load_optimizer(model, data, path, limits)


# -- layer state outside the weights: Keras's save_own_variables / save_assets ---------
#
# A layer (preprocessing) may keep state that is not a weight: variables under its own
# names (``vars/idf_weights``) and text files under ``assets/<layer path>/``. It declares
# them with ``extra_variables_to_load()`` / ``assets_to_load()`` (names), reads them with
# ``load_extra_variables(dict)`` / ``load_assets(dict of str)`` and writes them from
# ``save_extra_variables()`` / ``save_assets()``. Only the declared members are read, with
# the same size limits; asset files are UTF-8 text and nothing in them is executed.


def _stateful(model: Any, hook: str) -> list[tuple[str, Any, Any]]:
    """``(path, owner, hook result)`` for every layer of ``model`` that has ``hook``."""
    found = []
    for name, layer in _names(model.layers):
        for path, owner in _walk(layer, f"layers/{name}", set()):
            method = getattr(owner, hook, None)
            if callable(method):
                result = method()
                if result:
                    found.append((path, owner, result))
    return found


def _integer_weights(model: Any) -> set[str]:
    """The h5 paths of weights Keras stores as integers (a layer's ``integer_weights``
    names, e.g. Normalization's int64 ``count``): read as floats."""
    found = set()
    for name, layer in _names(model.layers):
        for path, owner in _walk(layer, f"layers/{name}", set()):
            names = getattr(owner, "integer_weights", ())
            for k, record in enumerate(_records_of(owner) if names else ()):
                if record.name in names:
                    found.add(f"{path}/vars/{k}")
    return found


def _apply_state(owner: Any, hook: str, values: dict, path: Any) -> None:
    try:
        getattr(owner, hook)(values)
    except (ValueError, TypeError, KeyError) as err:
        raise _refuse(path, f"layer '{getattr(owner, 'name', '?')}' cannot use its saved "
                            f"state: {err}") from None


def _load_assets(model: Any, data: bytes, path: Any, limits: Limits) -> None:
    """Reads the declared ``assets/<layer path>/<name>`` members (UTF-8 text)."""
    wanted = _stateful(model, "assets_to_load")
    if not wanted:
        return
    archive = zipfile.ZipFile(io.BytesIO(data))
    with archive, guarded(path, "the zip archive"):
        infos = {info.filename.replace("\\", "/"): info for info in archive.infolist()}
        for layer_path, owner, names in wanted:
            files = {}
            for name in names:
                info = infos.get(f"assets/{layer_path}/{name}")
                if info is None:
                    continue
                raw = _read_member(archive, info, limits.max_member_bytes, path)
                try:
                    files[name] = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise _refuse(path, f"asset {info.filename!r} is not UTF-8 text.") from None
            _apply_state(owner, "load_assets", files, path)


def _layer_key(h5_path: str) -> str:
    """``layers/lstm/cell/vars/0`` -> ``layers/lstm`` (the top-level layer's group)."""
    return "/".join(h5_path.split("/")[:2])


def _file_weights(h5: Any, limit: int = 100_000) -> dict[str, tuple]:
    """Every ``.../vars/k`` dataset in the file and its shape (Windows names unified)."""
    h5py = _h5py()
    found: dict[str, tuple] = {}

    def visit(name: str, obj: Any) -> None:
        if len(found) > limit:
            raise ValueError(f"the file holds over {limit} weights")
        if isinstance(obj, h5py.Dataset) and "/vars/" in "/" + name.replace("\\", "/"):
            found[name.replace("\\", "/")] = tuple(int(d) for d in obj.shape)

    h5.visititems(visit)
    return found


def _fit_report(model: Any, h5: Any, entries: list, path: Any) -> tuple[dict, str]:
    """``({layer group: problem}, message)`` for the layers whose weights do not fit."""
    in_file = _file_weights(h5)
    layers: dict[str, list] = {}
    for h5_path, shape in entries:
        layers.setdefault(_layer_key(h5_path), []).append((h5_path, tuple(shape)))
    by_group = {f"layers/{name}": layer for name, layer in _names(model.layers)}
    problems: dict[str, str] = {}
    for key, wanted in layers.items():
        group = {p: s for p, s in in_file.items() if _layer_key(p) == key}
        layer = by_group.get(key)
        name = (f"layer '{layer.name}' ({type(layer).__name__}, group '{key.split('/')[1]}')"
                if layer is not None else f"group '{key}'")
        if not group:
            problems[key] = f"{name} has no weights in the file"
        elif len(group) != len(wanted):
            problems[key] = (f"{name} has {len(wanted)} weights in the model, "
                             f"{len(group)} in the file")
        else:
            for p, s in wanted:
                if group.get(p) != s:
                    problems[key] = (f"{name}: weight {p.split('/', 2)[2]} has shape {s} in "
                                     f"the model, {group.get(p, 'none')} in the file")
                    break
    if not problems:
        return {}, ""
    unused = sorted({_layer_key(p).split("/")[1] for p in in_file if p.startswith("layers/")}
                    - {k.split("/")[1] for k in layers})
    lines = "\n".join(f"  - {text}" for text in problems.values())
    held = (f"\nThe file holds layers the model does not have: {', '.join(unused)}."
            if unused else "")
    return problems, (f"The weights in {os.fspath(path)} do not fit model '{model.name}' "
                      f"(Keras names each layer's group after its class, in order: lstm, "
                      f"lstm_1, dense, ...):\n{lines}{held}")


def _names(items: list[Any]) -> Iterator[tuple[str, Any]]:
    """Keras's list naming: snake_case class name, ``_1``, ``_2`` for repeats."""
    seen: dict[str, int] = {}
    for item in items:
        base = snake_case(getattr(item, "saved_as", type(item)).__name__)
        n = seen.get(base, 0)
        seen[base] = n + 1
        yield (base if n == 0 else f"{base}_{n}"), item


def _own_records(owner: Any) -> list:
    own = owner.__dict__.get("_own_weights", [])
    return [w for w in own if w.created_trainable] + [w for w in own if not w.created_trainable]


def _walk(owner: Any, prefix: str, seen: set) -> Iterator[tuple[str, Any]]:
    """``(path, owner)`` for ``owner`` and every layer inside it, as Keras saves them.

    A layer's own variables live in ``<path>/vars``; each tracked sublayer under
    its attribute name (``cell``, ``forward_layer``, ``layer``); a list of layers
    under the attribute name and Keras's list naming (``cells/lstm_cell``).
    """
    from rnnlens.cells.generic import CellAdapter
    from rnnlens.models import Model

    if id(owner) in seen:
        return
    seen.add(id(owner))
    if isinstance(owner, CellAdapter) and hasattr(owner.cell, "_tracked"):
        yield from _walk(owner.cell, prefix, seen)         # the adapter is not a level
        return
    yield prefix, owner
    if isinstance(owner, Model):
        for name, layer in _names(owner.layers):
            yield from _walk(layer, f"{prefix}/layers/{name}", seen)
        return
    for attr, value in owner.__dict__.get("_tracked", {}).items():
        if isinstance(value, (list, tuple)):
            for name, item in _names(value):
                yield from _walk(item, f"{prefix}/{attr}/{name}", seen)
        else:
            yield from _walk(value, f"{prefix}/{attr}", seen)


def _records_of(owner: Any) -> list:
    from rnnlens.cells.generic import CellAdapter

    if isinstance(owner, CellAdapter):
        return owner.weight_records()                    # a plain user cell's weights
    return _own_records(owner)


def weight_entries(model: Any, prefix: str = "") -> list[tuple[str, tuple]]:
    """Every weight's h5 path and shape, aligned with ``model.get_weights()``.

    A weight that two layers hold (SpectralNormalization's kernel is the wrapper's and
    the wrapped layer's, as in Keras) is read from its first path only.
    """
    return [(path, record.value.shape) for path, record, first in _weight_paths(model, prefix)
            if first]


def _weight_paths(model: Any, prefix: str = "") -> list[tuple[str, Any, bool]]:
    """``(h5 path, weight record, first time this record is seen)`` for every path."""
    out, seen = [], set()
    for name, layer in _names(model.layers):
        for path, owner in _walk(layer, f"{prefix}layers/{name}", set()):
            for k, w in enumerate(_records_of(owner)):
                out.append((f"{path}/vars/{k}", w, id(w) not in seen))
                seen.add(id(w))
    return out


# -- writing ----------------------------------------------------------------------


def save_weights(model: Any, path: Any) -> None:
    """Writes ``.weights.h5`` in Keras 3's layout (Keras's ``load_weights`` reads it)."""
    if not str(path).endswith(".weights.h5"):
        raise ValueError(f"Received path {os.fspath(path)!r}; the weights file name must end "
                         "with .weights.h5 (as Keras 3 requires).")
    with open(path, "wb") as fh:
        fh.write(_weights_bytes(model))


def _weights_bytes(model: Any) -> bytes:
    h5py = _h5py()
    buf = io.BytesIO()
    with h5py.File(buf, "w") as h5:
        _write_groups(h5, model, "")
        for (h5_path, _), value in zip(weight_entries(model), model.get_weights()):
            h5.create_dataset(h5_path, data=np.asarray(value, dtype=np.float32))
        for h5_path, record, first in _weight_paths(model):
            if not first:                                   # a shared weight's other paths
                h5.create_dataset(h5_path, data=np.asarray(record.value, dtype=np.float32))
        for h5_path, _, values in _stateful(model, "save_extra_variables"):
            for key, value in values.items():
                h5.create_dataset(f"{h5_path}/vars/{key}", data=np.asarray(value))
        keras_compile.write_optimizer(h5, model)
        h5.create_group("vars").attrs["name"] = model.name
    return buf.getvalue()


def _write_groups(h5: Any, model: Any, prefix: str) -> None:
    """The ``vars`` groups Keras writes for every layer (with the layer's name)."""
    for name, layer in _names(model.layers):
        for path, owner in _walk(layer, f"{prefix}layers/{name}", set()):
            h5.require_group(f"{path}/vars").attrs["name"] = str(getattr(owner, "name", ""))


def save_model(model: Any, path: Any, include_optimizer: bool = True) -> None:
    """Writes a ``.keras`` file (or, for a name ending in ``.h5`` / ``.hdf5``, a legacy
    HDF5 model) that Keras 3.15.1's ``load_model`` opens. A compiled model's file holds
    its ``compile_config`` and its optimizer's variables, so training can resume."""
    from rnnlens.interop.keras_writer import model_config

    if str(path).endswith((".h5", ".hdf5")):
        from rnnlens.interop.keras_legacy import save_legacy_model

        save_legacy_model(model, path, include_optimizer)
        return
    if not str(path).endswith(".keras"):
        raise ValueError(f"Received path {os.fspath(path)!r}; use a name ending in .keras "
                         "or .h5 (or save_weights for .weights.h5).")
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    assets = _stateful(model, "save_assets")               # refuses unsavable layers first
    config = model_config(model)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", _weights_bytes(model))
        for layer_path, _, files in assets:
            for name, text in files.items():
                archive.writestr(f"assets/{layer_path}/{name}", text.encode("utf-8"))


__all__ = ["Limits", "UnsafeModelError", "load_model", "load_weights", "save_model",
           "save_weights", "weight_entries"]
