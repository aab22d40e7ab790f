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
import zipfile
import zlib
from typing import Any, Iterator

import numpy as np

from rnnlens.interop.keras_config import Limits, UnsafeModelError, read_model_config
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


def _open_archive(path: Any, limits: Limits) -> dict[str, bytes]:
    """The allowed members of a ``.keras`` zip, after the safety checks."""
    try:
        size = os.path.getsize(path)
    except OSError as err:
        raise ValueError(f"Cannot read {os.fspath(path)}: {err.strerror}.") from None
    if size > limits.max_archive_bytes:
        raise _refuse(path, f"the file is {size} bytes, over {limits.max_archive_bytes}.")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        raise _refuse(path, f"it is not a valid .keras (zip) file ({err}).") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_members:
            raise _refuse(path, f"{len(infos)} zip entries, over {limits.max_members}.")
        members = {}
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") \
                    or ":" in name:
                raise _refuse(path, f"zip entry {name!r} has an absolute or parent path.")
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


def _parse_json(data: bytes, path: Any, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise _refuse(path, f"{what} is not valid JSON ({err}).") from None


def load_model(path: Any, limits: Limits | None = None) -> Any:
    """An rnnlens model from a Keras 3 ``.keras`` file or a legacy ``.h5`` model.

    Raises:
        UnsafeModelError: (a ValueError) naming the file and why it was refused.
    """
    limits = limits or Limits()
    if str(path).endswith(".h5") and not str(path).endswith(".weights.h5"):
        return _load_legacy_h5(path, limits)
    members = _open_archive(path, limits)
    config = _parse_json(members["config.json"], path, "config.json")
    model = read_model_config(config, os.fspath(path), limits)
    _load_weights_bytes(model, members["model.weights.h5"], path, limits)
    return model


def load_weights(model: Any, path: Any, limits: Limits | None = None) -> None:
    """Reads ``.weights.h5`` (or the weights of a ``.keras`` / legacy ``.h5`` file)."""
    limits = limits or Limits()
    text = str(path)
    if text.endswith(".keras"):
        _load_weights_bytes(model, _open_archive(path, limits)["model.weights.h5"], path,
                            limits)
        return
    size = _file_size(path)
    if size > limits.max_member_bytes:
        raise _refuse(path, f"the file is {size} bytes, over {limits.max_member_bytes}.")
    with open(path, "rb") as fh:
        data = fh.read()
    if text.endswith(".h5") and not text.endswith(".weights.h5"):
        with _h5_file(data, path) as h5:
            if "model_weights" in h5:
                _load_legacy_weights(model, h5["model_weights"], path)
                return
    _load_weights_bytes(model, data, path, limits)


def _file_size(path: Any) -> int:
    try:
        return os.path.getsize(path)
    except OSError as err:
        raise ValueError(f"Cannot read {os.fspath(path)}: {err.strerror}.") from None


def _h5_file(data: bytes, path: Any) -> Any:
    h5py = _h5py()
    try:
        return h5py.File(io.BytesIO(data), "r")
    except (OSError, ValueError) as err:
        raise _refuse(path, f"the weights are not a valid HDF5 file ({err}).") from None


def _load_weights_bytes(model: Any, data: bytes, path: Any, limits: Limits) -> None:
    with _h5_file(data, path) as h5:
        arrays = [_read_dataset(h5, h5_path, shape, path)
                  for h5_path, shape in weight_entries(model)]
    model.set_weights(arrays)


def _read_dataset(h5: Any, h5_path: str, shape: tuple, path: Any) -> np.ndarray:
    """One weight, after checking links, storage, shape and dtype from the metadata."""
    h5py = _h5py()
    node, parent = None, h5
    try:
        for part in h5_path.split("/"):
            link = parent.get(part, getlink=True)
            if link is None:
                raise _refuse(path, f"weight {h5_path!r} is missing from the weights file.")
            if not isinstance(link, h5py.HardLink):
                raise _refuse(path, f"weight {h5_path!r} goes through a {type(link).__name__}"
                                    "; only plain groups and datasets are read.")
            node = parent = parent[part]
        if not isinstance(node, h5py.Dataset):
            raise _refuse(path, f"weight {h5_path!r} is not a dataset.")
        if node.external or node.is_virtual:
            raise _refuse(path, f"weight {h5_path!r} points at storage outside the file "
                                "(external or virtual dataset).")
        if tuple(node.shape) != tuple(shape):
            raise _refuse(path, f"weight {h5_path!r} has shape {tuple(node.shape)}, but "
                                f"the config implies {tuple(shape)}.")
        if node.dtype.kind != "f":
            raise _refuse(path, f"weight {h5_path!r} has dtype {node.dtype}, expected floats.")
        return np.asarray(node[()], dtype=np.float32)
    except UnsafeModelError:
        raise
    except (OSError, RuntimeError, KeyError, ValueError, TypeError) as err:
        raise _refuse(path, f"weight {h5_path!r} cannot be read ({err}).") from None


# -- the h5 layout ----------------------------------------------------------------


def _names(items: list[Any]) -> Iterator[tuple[str, Any]]:
    """Keras's list naming: snake_case class name, ``_1``, ``_2`` for repeats."""
    seen: dict[str, int] = {}
    for item in items:
        base = snake_case(type(item).__name__)
        if base == "functional" and type(item).__name__ == "Functional":
            base = "functional"
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
    """Every weight's h5 path and shape, aligned with ``model.get_weights()``."""
    entries = []
    for name, layer in _names(model.layers):
        for path, owner in _walk(layer, f"{prefix}layers/{name}", set()):
            entries += [(f"{path}/vars/{k}", w.value.shape)
                        for k, w in enumerate(_records_of(owner))]
    return entries


# -- legacy .h5 ------------------------------------------------------------------


def _load_legacy_h5(path: Any, limits: Limits) -> Any:
    size = _file_size(path)
    if size > limits.max_archive_bytes:
        raise _refuse(path, f"the file is {size} bytes, over {limits.max_archive_bytes}.")
    with open(path, "rb") as fh:
        data = fh.read()
    with _h5_file(data, path) as h5:
        raw = h5.attrs.get("model_config")
        if raw is None:
            raise _refuse(path, "it has no model_config (a weights-only file? use "
                                "model.load_weights).")
        raw = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        if len(raw) > limits.max_config_bytes:
            raise _refuse(path, f"model_config is over {limits.max_config_bytes} bytes.")
        model = read_model_config(_parse_json(raw.encode(), path, "model_config"),
                                  os.fspath(path), limits)
        _load_legacy_weights(model, h5["model_weights"] if "model_weights" in h5 else h5, path)
    return model


def _load_legacy_weights(model: Any, group: Any, path: Any) -> None:
    """Legacy layout, matched by position as Keras does: the file's ``layer_names``
    that hold weights, against the model's layers that have weights."""
    names = [n.decode() if isinstance(n, bytes) else str(n)
             for n in group.attrs.get("layer_names", [])]
    file_layers = []
    for name in names:
        sub = group.get(name)
        weight_names = [] if sub is None else [
            w.decode() if isinstance(w, bytes) else str(w)
            for w in sub.attrs.get("weight_names", [])]
        if weight_names:
            file_layers.append((name, weight_names))
    layers = [layer for layer in model.layers if layer.weights]
    if len(file_layers) != len(layers):
        listing = ", ".join(f"'{layer.name}'" for layer in layers)
        raise _refuse(path, f"the file has weights for {len(file_layers)} layers, the model "
                            f"has {len(layers)} layers with weights ({listing}).")
    arrays = []
    for layer, (name, weight_names) in zip(layers, file_layers):
        shapes = [w.shape for w in layer.weights]
        if len(weight_names) != len(shapes):
            raise _refuse(path, f"layer '{layer.name}' needs {len(shapes)} weights, the file's "
                                f"'{name}' has {len(weight_names)}.")
        arrays += [_read_dataset(group, f"{name}/{w}", shape, path)
                   for w, shape in zip(weight_names, shapes)]
    model.set_weights(arrays)


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
        h5.create_group("vars").attrs["name"] = model.name
    return buf.getvalue()


def _write_groups(h5: Any, model: Any, prefix: str) -> None:
    """The ``vars`` groups Keras writes for every layer (with the layer's name)."""
    for name, layer in _names(model.layers):
        for path, owner in _walk(layer, f"{prefix}layers/{name}", set()):
            h5.require_group(f"{path}/vars").attrs["name"] = str(getattr(owner, "name", ""))


def save_model(model: Any, path: Any) -> None:
    """Writes a ``.keras`` file that Keras 3.15.1's ``load_model`` opens."""
    from rnnlens.interop.keras_writer import model_config

    if not str(path).endswith(".keras"):
        raise ValueError(f"Received path {os.fspath(path)!r}; use a name ending in .keras "
                         "(or save_weights for .weights.h5).")
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    config = model_config(model)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata))
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", _weights_bytes(model))


__all__ = ["Limits", "UnsafeModelError", "load_model", "load_weights", "save_model",
           "save_weights", "weight_entries"]
