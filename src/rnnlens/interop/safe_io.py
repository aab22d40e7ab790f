"""Reading untrusted model files: regular files only, bounded bytes, known kinds.

Every loader reads through :func:`read_file`: the path is opened without
blocking and checked with ``fstat`` on the open descriptor (so a FIFO, a device
such as ``/dev/zero``, a socket or a directory is refused before a byte is
read, and a file swapped after a check cannot slip through), then at most
``limit + 1`` bytes are read, counting what actually arrives (a size that
lies, or a file that grows while read, cannot go past the limit).

:func:`sniff` names what the bytes are from their magic numbers, not their file
name, so a file of another kind (a weights file, a NumPy array, an ONNX model,
text) gets a message that says what it is and what reads it, while anything
unknown stays a refusal.

:func:`guarded` turns every error the HDF5 library can raise on a corrupt file
(OSError, RuntimeError, KeyError, ValueError, UnicodeError, OverflowError, ...)
into an ``UnsafeModelError`` naming the file.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
from typing import Any, Iterator

from rnnlens.interop.keras_config import UnsafeModelError

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class NotAModelError(ValueError):
    """A file that is simply not a Keras model (a weights file, an array, text, ONNX):
    the message says what it is and what reads it. Not a security refusal."""


def refuse(path: Any, reason: str) -> UnsafeModelError:
    return UnsafeModelError(f"Refusing to load {os.fspath(path)}: {reason}")


def path_kind(path: Any) -> str:
    """``"file"``, ``"directory"`` or ``"missing"``; anything else is refused."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ValueError(f"Cannot read {os.fspath(path)}: no such file or directory.") from None
    except OSError as err:
        raise ValueError(f"Cannot read {os.fspath(path)}: {err.strerror}.") from None
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if stat.S_ISREG(st.st_mode):
        return "file"
    raise refuse(path, f"it is not a regular file ({_mode_name(st.st_mode)}); model files "
                       "are read only from regular files.")


def _mode_name(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO / named pipe"), (stat.S_ISCHR, "a character "
                       "device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a "
                       "socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "a special file"


def read_file(path: Any, limit: int, what: str = "the file") -> bytes:
    """At most ``limit`` bytes of the regular file ``path`` (refused beyond)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) |
                     getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise ValueError(f"Cannot read {os.fspath(path)}: no such file.") from None
    except IsADirectoryError:
        raise refuse(path, f"{what} is a directory, not a file.") from None
    except OSError as err:
        raise ValueError(f"Cannot read {os.fspath(path)}: {err.strerror}.") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise refuse(path, f"{what} is not a regular file ({_mode_name(st.st_mode)}).")
    with os.fdopen(fd, "rb", buffering=0) as fh:
        if st.st_size > limit:
            raise refuse(path, f"{what} is {st.st_size} bytes, over the limit of {limit}.")
        chunks, total = [], 0
        while total <= limit:
            chunk = fh.read(min(1 << 24, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    if total > limit:
        raise refuse(path, f"{what} grew past the limit of {limit} bytes while being read.")
    return b"".join(chunks)


def sniff(data: bytes) -> str:
    """``"zip"``, ``"hdf5"``, ``"npy"``, ``"text"`` or ``"unknown"`` from the first bytes."""
    if data.startswith(_ZIP_MAGIC):
        return "zip"
    if any(data[k:k + 8] == _HDF5_MAGIC for k in (0, 512, 1024, 2048)):
        return "hdf5"
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    head = data[:4096]
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text"
        except UnicodeDecodeError:
            pass
    return "unknown"


def not_a_model(path: Any, kind: str, data: bytes) -> ValueError:
    """A clear error for a file that is simply not a Keras model (not a refusal)."""
    name = os.fspath(path)
    if kind == "npy":
        return NotAModelError(f"{name} is a NumPy array file (.npy), not a Keras model. Load "
                          "it with numpy.load and pass it to predict.")
    if str(name).lower().endswith(".onnx"):
        return NotAModelError(f"{name} looks like an ONNX model. rnnlens exports ONNX "
                          "(rnnlens.interop.onnx.to_onnx) but loads Keras files: .keras, "
                          ".h5, or a TensorFlow SavedModel directory.")
    if kind == "text":
        return NotAModelError(f"{name} is a text file, not a Keras model (.keras zip, .h5 HDF5 "
                          "file, or SavedModel directory). A JSON model config alone "
                          "has no weights: use rnnlens.models.model_from_json if you have "
                          "one.")
    lower = str(name).lower()
    expected = ("a valid HDF5 file" if lower.endswith((".h5", ".hdf5")) else
                "a valid .keras (zip) file" if lower.endswith(".keras") else
                "a valid Keras model file")
    what = "the file is empty" if not data else \
        "neither a .keras zip nor an HDF5 file (nor a SavedModel directory)"
    return refuse(path, f"it is not {expected}: {what}.")


@contextlib.contextmanager
def guarded(path: Any, what: str) -> Iterator[None]:
    """Any error inside becomes an ``UnsafeModelError`` naming the file and ``what``."""
    try:
        yield
    except (UnsafeModelError, NotAModelError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as err:        # noqa: BLE001 - corrupt HDF5 raises every kind of error
        raise refuse(path, f"{what} is corrupt ({type(err).__name__}: "
                           f"{str(err)[:200]}).") from None


def open_h5(data: bytes, path: Any, what: str) -> Any:
    """An h5py File over ``data`` (already read and bounded)."""
    try:
        import h5py
    except ImportError:
        raise ImportError("Reading Keras .h5 / .keras files needs h5py: pip install h5py "
                          "(or pip install 'rnnlens[h5]').") from None
    if sniff(data) != "hdf5":
        raise refuse(path, f"{what} is not a valid HDF5 file (no HDF5 signature).")
    try:
        return h5py.File(io.BytesIO(data), "r")
    except Exception as err:        # noqa: BLE001 - corrupt HDF5 raises every kind of error
        raise refuse(path, f"{what} is not a valid HDF5 file ({type(err).__name__}: "
                           f"{str(err)[:200]}).") from None


__all__ = ["NotAModelError", "read_file", "sniff", "guarded", "open_h5", "path_kind", "refuse",
           "not_a_model"]
