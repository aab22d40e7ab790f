"""TensorBoard event files written without TensorFlow: ``EventFileWriter``.

An event file is a sequence of TFRecords, each holding one serialized ``Event``
protocol buffer (tensorflow/core/util/event.proto)::

    record  = uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)
    masked  = ((crc >> 15) | (crc << 17)) + 0xA282EAD8   (mod 2**32)
    Event   = { 1: wall_time (double), 2: step (int64), 3: file_version (string),
                5: summary (Summary) }
    Summary = { 1: repeated Value }
    Value   = { 1: tag, 9: metadata (SummaryMetadata), 8: tensor (TensorProto) }

Summaries are written as TensorFlow 2's ``tf.summary`` writes them (TensorBoard's
"scalars", "histograms", "images" and "text" plugins), so TensorBoard and its readers
show them exactly as they show Keras's. Only the standard library and NumPy are used.
"""

from __future__ import annotations

import os
import socket
import struct
import time
from typing import Any

import numpy as np

# ------------------------------------------------------------------ crc32c (Castagnoli)
_POLY = 0x82F63B78
_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (the checksum TFRecords use)."""
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord framing ``data``."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", masked_crc(length)) + data +
            struct.pack("<I", masked_crc(data)))


# ------------------------------------------------------------------ protobuf encoding
def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1                      # negative int64 as two's complement
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + payload


def f_varint(number: int, value: int) -> bytes:
    return _field(number, 0, _varint(int(value)))


def f_double(number: int, value: float) -> bytes:
    return _field(number, 1, struct.pack("<d", float(value)))


def f_bytes(number: int, value: bytes | str) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return _field(number, 2, _varint(len(data)) + data)


DT_FLOAT, DT_DOUBLE, DT_STRING = 1, 2, 7
DATA_CLASS_SCALAR, DATA_CLASS_TENSOR, DATA_CLASS_BLOB_SEQUENCE = 1, 2, 3


def tensor_proto(value: Any, dtype: int) -> bytes:
    """A TensorProto: numbers as little-endian ``tensor_content``, strings as ``string_val``."""
    if dtype == DT_STRING:
        items = [v if isinstance(v, bytes) else str(v).encode("utf-8")
                 for v in (value if isinstance(value, list) else [value])]
        shape = b"" if not isinstance(value, list) else f_bytes(2, f_varint(1, len(items)))
        return (f_varint(1, DT_STRING) + f_bytes(2, shape) +
                b"".join(f_bytes(8, item) for item in items))
    arr = np.asarray(value, dtype="<f4" if dtype == DT_FLOAT else "<f8")
    dims = b"".join(f_bytes(2, f_varint(1, d)) for d in arr.shape)
    return f_varint(1, dtype) + f_bytes(2, dims) + f_bytes(4, arr.tobytes())


def summary_value(tag: str, plugin: str, tensor: bytes, data_class: int,
                  content: bytes = b"", description: str = "") -> bytes:
    """A ``Summary.Value`` with its plugin metadata, as ``tf.summary.write`` makes it."""
    plugin_data = f_bytes(1, plugin) + (f_bytes(2, content) if content else b"")
    metadata = (f_bytes(1, plugin_data) + (f_bytes(3, description) if description else b"")
                + (f_varint(4, data_class) if data_class else b""))
    return f_bytes(1, tag) + f_bytes(9, metadata) + f_bytes(8, tensor)


# ------------------------------------------------------------------ histograms, images
def histogram_buckets(data: Any, bucket_count: int = 30) -> np.ndarray:
    """(k, 3) float64 ``[left, right, count]`` rows, as TensorBoard's ``tf.summary.histogram``.

    ``bucket_count`` equal-width buckets from min to max (the last one closed); a
    single distinct value gives buckets with both edges at it and every count in the
    last; empty data gives ``bucket_count`` rows of zeros.
    """
    values = np.asarray(data, np.float64).reshape(-1)
    n = max(int(bucket_count), 0)
    if values.size == 0 or n == 0:
        return np.zeros((n, 3))
    lo, hi = float(values.min()), float(values.max())
    if lo == hi:
        counts = np.zeros(n)
        counts[-1] = values.size
        return np.stack([np.full(n, hi), np.full(n, hi), counts], axis=1)
    width = (hi - lo) / n
    index = np.minimum(np.floor((values - lo) / width).astype(np.int64), n - 1)
    counts = np.bincount(index, minlength=n).astype(np.float64)
    edges = np.linspace(lo, hi, n + 1)
    edges[-1] = hi
    return np.stack([edges[:-1], edges[1:], counts], axis=1)


def png(image: np.ndarray) -> bytes:
    """A PNG of a (H, W, C) uint8 image, C in 1 (grey), 3 (RGB) or 4 (RGBA)."""
    import zlib

    h, w, c = image.shape
    color = {1: 0, 3: 2, 4: 6}[c]
    raw = b"".join(b"\x00" + image[row].tobytes() for row in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", w, h, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] (or any integers) to uint8 images, as ``tf.summary.image``
    (``tf.image.convert_image_dtype(..., saturate=True)``: x * 255.5, truncated)."""
    arr = np.asarray(images)
    if arr.dtype == np.uint8:
        return arr
    if np.issubdtype(arr.dtype, np.floating):
        return np.clip(arr.astype(np.float64) * 255.5, 0, 255).astype(np.uint8)
    return np.clip(arr, 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ the writer
class EventFileWriter:
    """Writes one ``events.out.tfevents.*`` file in ``logdir`` (created if needed).

    Example::

        writer = EventFileWriter("logs/train")
        writer.scalar("epoch_loss", 0.25, step=0)
        writer.histogram("dense/kernel/histogram", kernel, step=0)
        writer.close()
    """

    _count = 0

    def __init__(self, logdir: str | os.PathLike):
        os.makedirs(logdir, exist_ok=True)
        EventFileWriter._count += 1
        name = (f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}."
                f"{os.getpid()}.{EventFileWriter._count}.v2")
        self.path = os.path.join(os.fspath(logdir), name)
        self._file = open(self.path, "wb")
        self._write_event(f_bytes(3, "brain.Event:2"), step=0)
        self.flush()

    def _write_event(self, what: bytes, step: int) -> None:
        if self._file is None:
            raise ValueError(f"The event file {self.path} is closed.")
        event = f_double(1, time.time()) + (f_varint(2, step) if step else b"") + what
        self._file.write(record(event))

    def _summary(self, value: bytes, step: int) -> None:
        self._write_event(f_bytes(5, f_bytes(1, value)), int(step))

    def scalar(self, tag: str, value: Any, step: int) -> None:
        """A float32 scalar (the "scalars" plugin), as ``tf.summary.scalar``."""
        tensor = tensor_proto(np.float32(float(value)), DT_FLOAT)
        self._summary(summary_value(tag, "scalars", tensor, DATA_CLASS_SCALAR), step)

    def histogram(self, tag: str, data: Any, step: int, buckets: int = 30) -> None:
        """A histogram of ``data`` (the "histograms" plugin), as ``tf.summary.histogram``."""
        tensor = tensor_proto(histogram_buckets(data, buckets), DT_DOUBLE)
        self._summary(summary_value(tag, "histograms", tensor, DATA_CLASS_TENSOR), step)

    def image(self, tag: str, images: Any, step: int, max_outputs: int = 3) -> None:
        """(N, H, W, C) images (the "images" plugin), as ``tf.summary.image``."""
        arr = to_uint8(images)
        if arr.ndim != 4 or arr.shape[-1] not in (1, 3, 4):
            raise ValueError(f"image expects (N, H, W, C) with C in 1, 3, 4; received "
                             f"shape {arr.shape}.")
        items = [str(arr.shape[2]).encode(), str(arr.shape[1]).encode()]
        items += [png(img) for img in arr[:max_outputs]]
        tensor = tensor_proto(items, DT_STRING)
        self._summary(summary_value(tag, "images", tensor, DATA_CLASS_BLOB_SEQUENCE), step)

    def text(self, tag: str, text: str, step: int) -> None:
        """A string (the "text" plugin), as ``tf.summary.text``."""
        self._summary(summary_value(tag, "text", tensor_proto(text, DT_STRING),
                                    DATA_CLASS_TENSOR), step)

    def raw_tensor(self, tag: str, plugin: str, content: bytes, text: str, step: int) -> None:
        """A (1,) string tensor for ``plugin`` (Keras's model JSON, "graph_keras_model")."""
        self._summary(summary_value(tag, plugin, tensor_proto([text], DT_STRING),
                                    DATA_CLASS_BLOB_SEQUENCE, content), step)

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> "EventFileWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


__all__ = ["EventFileWriter", "histogram_buckets", "crc32c", "record"]
