"""Reading weights out of untrusted HDF5 files (``.weights.h5``, legacy ``.h5``).

Every dataset is checked before its bytes are read: only hard links (no soft or
external links out of the file), no external or virtual storage, a float dtype,
the shape the model expects (or, when a layer converts its file weights, a size
within the parameter limit). Group names written with Windows separators
(``layers\\lstm\\cell\\vars`` by tf.keras 2.15 on Windows) are found too.
Any error the HDF5 library raises on a corrupt file becomes an ``UnsafeModelError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens.interop.safe_io import guarded, refuse


def _h5py() -> Any:
    import h5py

    return h5py


def _node(h5: Any, h5_path: str, path: Any) -> Any:
    """The object at ``h5_path`` through hard links only (``/`` or ``\\`` separated)."""
    h5py = _h5py()
    node, parent = None, h5
    parts = h5_path.split("/")
    k = 0
    while k < len(parts):
        # A Windows-written name holds several parts joined by backslashes.
        for j in range(len(parts), k, -1):
            name = "\\".join(parts[k:j])
            link = parent.get(name, getlink=True) if name else None
            if link is not None:
                break
        else:
            raise refuse(path, f"weight {h5_path!r} is missing from the weights file.")
        if not isinstance(link, h5py.HardLink):
            raise refuse(path, f"weight {h5_path!r} goes through a {type(link).__name__}; "
                               "only plain groups and datasets are read.")
        node = parent = parent[name]
        k = j
    return node


def read_dataset(h5: Any, h5_path: str, shape: tuple | None, path: Any,
                 max_values: int, integer: bool = False) -> np.ndarray:
    """One weight as float32, after checking its link, storage, shape and dtype
    (``integer``: an int dataset is accepted too, as Keras's int64 counters)."""
    h5py = _h5py()
    with guarded(path, f"weight {h5_path!r}"):
        node = _node(h5, h5_path, path)
        if not isinstance(node, h5py.Dataset):
            raise refuse(path, f"weight {h5_path!r} is not a dataset.")
        if node.external or node.is_virtual:
            raise refuse(path, f"weight {h5_path!r} points at storage outside the file "
                               "(external or virtual dataset).")
        found = tuple(int(d) for d in node.shape)
        if shape is not None and found != tuple(shape):
            raise refuse(path, f"weight {h5_path!r} has shape {found}, but the config "
                               f"implies {tuple(shape)}.")
        if int(np.prod(found, dtype=object)) > max_values:
            raise refuse(path, f"weight {h5_path!r} of shape {found} is over the parameter "
                               f"limit of {max_values}.")
        if node.dtype.kind != "f" and not (integer and node.dtype.kind in "iu"):
            raise refuse(path, f"weight {h5_path!r} has dtype {node.dtype}, expected floats.")
        return np.asarray(node[()], dtype=np.float32)


def attr_strings(obj: Any, key: str, path: Any, limit: int = 100_000) -> list[str]:
    """A string-list attribute (``layer_names``, ``weight_names``), checked."""
    with guarded(path, f"attribute {key!r}"):
        raw = obj.attrs.get(key, [])
        if isinstance(raw, (bytes, str)):
            raw = [raw]
        values = list(raw)
        if len(values) > limit:
            raise refuse(path, f"attribute {key!r} lists {len(values)} names, over {limit}.")
        out = []
        for v in values:
            text = v.decode("utf-8") if isinstance(v, bytes) else str(v)
            if len(text) > 4096:
                raise refuse(path, f"attribute {key!r} holds an over-long name.")
            out.append(text)
        return out


def attr_text(obj: Any, key: str, path: Any, limit: int) -> str | None:
    """A text attribute (``model_config``, ``keras_version``) as str, size-checked."""
    with guarded(path, f"attribute {key!r}"):
        raw = obj.attrs.get(key)
        if raw is None:
            return None
        if isinstance(raw, np.ndarray) and raw.shape == ():
            raw = raw[()]
        if isinstance(raw, np.void):
            raw = bytes(raw)
        if isinstance(raw, bytes):
            if len(raw) > limit:
                raise refuse(path, f"attribute {key!r} is over {limit} bytes.")
            return raw.decode("utf-8")
        if not isinstance(raw, str):
            raise refuse(path, f"attribute {key!r} is not text ({type(raw).__name__}).")
        if len(raw) > limit:
            raise refuse(path, f"attribute {key!r} is over {limit} bytes.")
        return raw


__all__ = ["read_dataset", "attr_strings", "attr_text"]
