"""TensorFlow SavedModel directories written by tf.keras 2.x, read with NumPy only.

``model.save("dir")`` in tf.keras 2.x writes::

    dir/saved_model.pb                      the TF graph (never read here)
    dir/keras_metadata.pb                   SavedMetadata: every layer's Keras config
    dir/variables/variables.index           TensorBundle index (a LevelDB-format table)
    dir/variables/variables.data-00000-of-00001   the raw tensor bytes

API:

* :func:`read_keras_metadata` ``(path) -> list[dict]``: one dict per ``SavedObject``
  (``node_id``, ``node_path`` such as ``"root.layer_with_weights-0.cell"``,
  ``identifier`` such as ``"_tf_keras_rnn_layer"``, ``metadata`` (the parsed JSON, with
  tf.keras's ``{"class_name": "__tuple__" | "TensorShape", "items": [...]}`` turned into
  tuples, as tf.keras's own ``json_utils.decode`` does) and ``version``).
* :func:`model_config` ``(nodes) -> dict``: the root's ``class_name``, ``config`` (equal
  to tf.keras's ``model.get_config()``: the ``shared_object_id`` annotations that saving
  adds are removed), ``keras_version`` and ``backend``.
* :class:`TensorBundle` ``(directory)``: ``keys()``, ``entry(key)``, ``read(key) ->
  np.ndarray`` (float32/64/16, int32/64, bool), ``object_graph()``.
* :func:`variable_keys` / :func:`variables_by_path` ``(bundle)``: the model's variables
  keyed by their attribute path.

**Path rules** (found with tf_keras 2.21 on Sequential and Functional models, LSTM, GRU,
SimpleRNN, stacked cells, Bidirectional, TimeDistributed, Embedding, BatchNormalization,
nested models and encoder-decoders). The bundle keys cannot be used as names: TF names
each variable by the *first* path a breadth-first walk of the object graph meets, so
most recurrent weights are stored as ``variables/3/.ATTRIBUTES/VARIABLE_VALUE`` (the
model's flat ``variables`` list) while others are ``layer_with_weights-2/kernel/...``.
The paths are therefore recomputed from the ``_CHECKPOINTABLE_OBJECT_GRAPH`` entry (a
``TrackableObjectGraph``): a breadth-first walk from the root that skips the alias edges
(``variables``, ``trainable_variables``, ``non_trainable_variables``, ``keras_api``,
``layers``, ``metrics``, ``optimizer``, ``signatures``, functions (``__call__``,
``call_and_return_*``) and ``layer-N``, which repeats ``layer_with_weights-M``). What is
left is Keras's attribute structure:

* ``layer_with_weights-k`` is the k-th layer of the model (``model.layers`` order) that
  has weights; layers without weights are skipped in the count. Nested models repeat the
  rule: ``layer_with_weights-1/layer_with_weights-0/...``.
* Inside a layer, sublayers and weights keep their attribute names: ``cell`` (RNN
  layers), ``cells/0``, ``cells/1`` (stacked cells inside ``cell``), ``forward_layer`` /
  ``backward_layer`` (Bidirectional), ``layer`` (TimeDistributed and other wrappers), and
  ``kernel``, ``recurrent_kernel``, ``bias``, ``embeddings``, ``gamma``, ``beta``,
  ``moving_mean``, ``moving_variance``. So ``layer_with_weights-0/cell/kernel``,
  ``layer_with_weights-1/forward_layer/cell/bias``, ``layer_with_weights-2/layer/kernel``.
* The optimizer's variables and slots, and metric variables, are not model variables:
  they are left out. ``keras_metadata.pb``'s ``node_path`` uses the same names joined by
  dots from ``root``: the layer that owns ``layer_with_weights-1/cell/cells/0/kernel`` is
  the metadata node ``root.layer_with_weights-1.cell.cells.0`` (an ``LSTMCell``, with
  its config).

**Safety** (the directory is untrusted; every refusal is an ``UnsafeModelError`` naming
the file and the reason): files must be regular files inside the directory (symlinks that
escape it are refused); ``keras_metadata.pb``, ``variables.index`` and the object graph
may hold at most ``Limits.max_config_bytes``, one tensor ``max_member_bytes`` and a data
file ``max_archive_bytes``; at most ``max_members`` shards, each present; shapes of rank
<= 8, dims <= ``max_dim``, elements <= ``max_params`` (also summed over
``variables_by_path``); at most ``max(100_000, 100 * max_layers)`` protobuf messages per
file and nesting <= 32 (memory stays linear in the capped input); every entry's offset and
size within its shard; a tensor's size equal to its dtype size times its elements;
big-endian bundles, sliced (partitioned) variables, snappy-compressed tables and
string/resource tensors refused. Only the bytes an
entry references are read, after the checks. Checksums: every table block's crc32c and
every tensor's masked crc32c are verified (``verify_crc=True``; a NumPy CRC-32C, about
50 ms for 16 MB), so a flipped bit in the data files is refused, not returned.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections import deque
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from rnnlens.interop.keras_config import Limits, UnsafeModelError
from rnnlens.interop.protobuf_wire import Field, WireError, decode_message, read_varint
from rnnlens.interop.tf_table import crc32c, mask_crc, masked_crc32c, read_table

#: TF ``DataType`` enum values rnnlens reads, and their little-endian NumPy dtypes.
NUMERIC_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 9: "<i8", 10: "|b1", 19: "<f2"}
_DTYPE_NAMES = {0: "DT_INVALID", 1: "DT_FLOAT", 2: "DT_DOUBLE", 3: "DT_INT32",
                4: "DT_UINT8", 5: "DT_INT16", 6: "DT_INT8", 7: "DT_STRING",
                8: "DT_COMPLEX64", 9: "DT_INT64", 10: "DT_BOOL", 14: "DT_BFLOAT16",
                17: "DT_UINT16", 18: "DT_COMPLEX128", 19: "DT_HALF", 20: "DT_RESOURCE",
                21: "DT_VARIANT", 22: "DT_UINT32", 23: "DT_UINT64"}
DT_STRING = 7
OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH"
_BUNDLE_VERSION = 1                       # kTensorBundleVersion (the consumer we are)

# -- schemas (tensorflow/core/protobuf/tensor_bundle.proto, trackable_object_graph.proto,
#    tf_keras/protobuf/saved_metadata.proto) --------------------------------------------
_VERSION = {1: Field("producer", "int32"), 2: Field("min_consumer", "int32"),
            3: Field("bad_consumers", "int32", True)}
_HEADER = {1: Field("num_shards", "int32"), 2: Field("endianness", "enum"),
           3: Field("version", "message", message=_VERSION)}
_DIM = {1: Field("size", "int64"), 2: Field("name", "string")}
_SHAPE = {2: Field("dim", "message", True, _DIM), 3: Field("unknown_rank", "bool")}
_EXTENT = {1: Field("start", "int64"), 2: Field("length", "int64")}
_SLICE = {1: Field("extent", "message", True, _EXTENT)}
_ENTRY = {1: Field("dtype", "enum"), 2: Field("shape", "message", message=_SHAPE),
          3: Field("shard_id", "int32"), 4: Field("offset", "int64"),
          5: Field("size", "int64"), 6: Field("crc32c", "fixed32"),
          7: Field("slices", "message", True, _SLICE)}
_REF = {1: Field("node_id", "int32"), 2: Field("local_name", "string")}
_TENSOR = {1: Field("name", "string"), 2: Field("full_name", "string"),
           3: Field("checkpoint_key", "string")}
_SLOT = {1: Field("original_variable_node_id", "int32"), 2: Field("slot_name", "string"),
         3: Field("slot_variable_node_id", "int32")}
_NODE = {1: Field("children", "message", True, _REF),
         2: Field("attributes", "message", True, _TENSOR),
         3: Field("slot_variables", "message", True, _SLOT)}
_GRAPH = {1: Field("nodes", "message", True, _NODE)}
_SAVED_OBJECT = {2: Field("node_id", "int32"), 3: Field("node_path", "string"),
                 4: Field("identifier", "string"), 5: Field("metadata", "string"),
                 6: Field("version", "message", message=_VERSION)}
_SAVED_METADATA = {1: Field("nodes", "message", True, _SAVED_OBJECT)}


def _refuse(path: str, reason: str) -> UnsafeModelError:
    return UnsafeModelError(f"Refusing to load {path}: {reason}")


def _max_messages(limits: Limits) -> int:
    return max(100_000, 100 * limits.max_layers)


# -- files inside the directory ------------------------------------------------------


def _root(directory: Any) -> str:
    path = os.fspath(directory)
    real = os.path.realpath(path)
    if not os.path.isdir(real):
        raise ValueError(f"Cannot read {path}: it is not a directory (a SavedModel is the "
                         "folder that model.save(...) wrote, with variables/ inside).")
    return real


def _open_inside(root: str, rel: str) -> tuple[BinaryIO, int, str]:
    """An open regular file ``root/rel`` that resolves inside ``root``, and its size."""
    shown = os.path.join(root, rel)
    real = os.path.realpath(shown)
    if os.path.commonpath([root, real]) != root:
        raise _refuse(shown, f"it resolves to {real}, outside the directory {root}.")
    try:
        mode = os.stat(real).st_mode
    except OSError as err:
        raise _refuse(shown, f"the file cannot be read ({err.strerror}).") from None
    if not stat.S_ISREG(mode):
        raise _refuse(shown, "it is not a regular file.")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        handle = os.fdopen(os.open(real, flags), "rb")
    except OSError as err:
        raise _refuse(shown, f"the file cannot be opened ({err.strerror}).") from None
    info = os.fstat(handle.fileno())
    if not stat.S_ISREG(info.st_mode):
        handle.close()
        raise _refuse(shown, "it is not a regular file.")
    return handle, info.st_size, shown


def _read_small(root: str, rel: str, limit: int) -> tuple[bytes, str]:
    """A whole file of at most ``limit`` bytes (checked before and while reading)."""
    handle, size, shown = _open_inside(root, rel)
    with handle:
        if size > limit:
            raise _refuse(shown, f"the file is {size} bytes, over the limit of {limit} "
                                 "(Limits.max_config_bytes).")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _refuse(shown, f"the file grew past {limit} bytes while being read.")
    return data, shown


def _read_exact(root: str, rel: str, offset: int, size: int) -> tuple[bytearray, str]:
    handle, total, shown = _open_inside(root, rel)
    with handle:
        if offset + size > total:
            raise _refuse(shown, f"bytes [{offset}, {offset + size}) are past the end of "
                                 f"the {total}-byte file.")
        handle.seek(offset)
        buf = bytearray(size)
        view, got = memoryview(buf), 0
        while got < size:
            n = handle.readinto(view[got:])
            if not n:
                raise _refuse(shown, f"the file ended {size - got} bytes early.")
            got += n
    return buf, shown


# -- the bundle ------------------------------------------------------------------------


class BundleEntry(NamedTuple):
    """One ``BundleEntryProto``: where a tensor's bytes are and what they hold."""

    key: str
    dtype: int              # TF DataType enum
    shape: tuple
    shard_id: int
    offset: int
    size: int
    crc32c: int             # masked crc32c of the ``size`` bytes
    sliced: bool

    @property
    def dtype_name(self) -> str:
        return _DTYPE_NAMES.get(self.dtype, f"DataType {self.dtype}")


class TensorBundle:
    """A TensorFlow TensorBundle (``<prefix>.index`` + ``<prefix>.data-i-of-n``).

    Args:
        directory: the SavedModel directory (or any folder holding a bundle).
        limits: size limits (:class:`rnnlens.interop.keras_config.Limits`).
        prefix: the bundle prefix, relative to ``directory``; ``"variables/variables"`` in
            a SavedModel (``"ckpt"`` for a ``tf.train.Checkpoint`` written to ``dir/ckpt``).
        verify_crc: check the tables' and tensors' crc32c.

    Raises:
        UnsafeModelError: a file is missing, escapes the directory, is too big, or is not a
            well-formed bundle (the message names the file and the reason).
    """

    def __init__(self, directory: Any, limits: Limits | None = None, *,
                 prefix: str = "variables/variables", verify_crc: bool = True):
        self.limits = limits or Limits()
        self.root, self.prefix, self.verify_crc = _root(directory), prefix, verify_crc
        data, self.index_path = _read_small(self.root, prefix + ".index",
                                            self.limits.max_config_bytes)
        rows = read_table(data, lambda reason: _refuse(self.index_path, reason), verify_crc)
        if not rows or rows[0][0] != b"":
            raise self._refuse("the bundle header (the entry under the empty key) is "
                               "missing.")
        self.header = self._header(rows[0][1])
        self.shard_sizes = [self._shard_size(i) for i in range(self.header["num_shards"])]
        self._entries = {}
        for raw_key, value in rows[1:]:
            if raw_key.startswith(b"\x00"):
                continue                  # one slice of a partitioned variable (never read)
            entry = self._entry(raw_key, value)
            self._entries[entry.key] = entry

    def _refuse(self, reason: str) -> UnsafeModelError:
        return _refuse(self.index_path, reason)

    def _decode(self, data: bytes, schema: dict, what: str) -> dict:
        try:
            return decode_message(data, schema, max_messages=_max_messages(self.limits))
        except WireError as err:
            raise self._refuse(f"{what} is not a valid protobuf ({err})") from None

    def _header(self, value: bytes) -> dict:
        header = self._decode(value, _HEADER, "the bundle header")
        if header["endianness"] != 0:
            raise self._refuse("the bundle was written big-endian; rnnlens reads only "
                               "little-endian bundles.")
        version = header["version"] or {"producer": 0, "min_consumer": 0,
                                        "bad_consumers": []}
        if version["producer"] < 0 or version["min_consumer"] > _BUNDLE_VERSION \
                or _BUNDLE_VERSION in version["bad_consumers"]:
            raise self._refuse(f"bundle version {version} is newer than version "
                               f"{_BUNDLE_VERSION}, the one rnnlens reads.")
        shards = header["num_shards"]
        if not 1 <= shards <= self.limits.max_members:
            raise self._refuse(f"num_shards={shards} is outside [1, "
                               f"{self.limits.max_members}] (Limits.max_members).")
        return header

    def shard_name(self, shard_id: int) -> str:
        return f"{self.prefix}.data-{shard_id:05d}-of-{self.header['num_shards']:05d}"

    def _shard_size(self, shard_id: int) -> int:
        handle, size, shown = _open_inside(self.root, self.shard_name(shard_id))
        handle.close()
        if size > self.limits.max_archive_bytes:
            raise _refuse(shown, f"the file is {size} bytes, over the limit of "
                                 f"{self.limits.max_archive_bytes} (Limits.max_archive_bytes).")
        return size

    def _shape(self, proto: dict | None, key: str) -> tuple:
        if proto is None:
            return ()
        if proto["unknown_rank"] or len(proto["dim"]) > 8:
            raise self._refuse(f"tensor {key!r} has an unknown rank or a rank over 8.")
        shape = tuple(dim["size"] for dim in proto["dim"])
        if any(not 0 <= d <= self.limits.max_dim for d in shape):
            raise self._refuse(f"tensor {key!r} has shape {shape}; every dimension must be "
                               f"in [0, {self.limits.max_dim}] (Limits.max_dim).")
        if int(np.prod(shape, dtype=object)) > self.limits.max_params:
            raise self._refuse(f"tensor {key!r} has shape {shape}, more elements than "
                               f"Limits.max_params={self.limits.max_params}.")
        return shape

    def _entry(self, raw_key: bytes, value: bytes) -> BundleEntry:
        try:
            key = raw_key.decode("utf-8")
        except UnicodeDecodeError:
            raise self._refuse(f"the key {raw_key[:80]!r} is not UTF-8.") from None
        proto = self._decode(value, _ENTRY, f"the entry of {key!r}")
        entry = BundleEntry(key, proto["dtype"], self._shape(proto["shape"], key),
                            proto["shard_id"], proto["offset"], proto["size"],
                            proto["crc32c"], bool(proto["slices"]))
        if not 0 <= entry.shard_id < len(self.shard_sizes):
            raise self._refuse(f"tensor {key!r} is in shard {entry.shard_id}, but the bundle "
                               f"has {len(self.shard_sizes)}.")
        if entry.offset < 0 or entry.size < 0 \
                or entry.offset + entry.size > self.shard_sizes[entry.shard_id]:
            raise self._refuse(f"tensor {key!r} claims bytes [{entry.offset}, "
                               f"{entry.offset + entry.size}) of "
                               f"{self.shard_name(entry.shard_id)}, which has "
                               f"{self.shard_sizes[entry.shard_id]}.")
        if entry.size > self.limits.max_member_bytes:
            raise self._refuse(f"tensor {key!r} is {entry.size} bytes, over "
                               f"Limits.max_member_bytes={self.limits.max_member_bytes}.")
        dtype = NUMERIC_DTYPES.get(entry.dtype)
        expected = np.dtype(dtype).itemsize * int(np.prod(entry.shape, dtype=object)) \
            if dtype else None
        if expected is not None and not entry.sliced and entry.size != expected:
            raise self._refuse(f"tensor {key!r} ({entry.dtype_name}, shape {entry.shape}) "
                               f"needs {expected} bytes but its entry says {entry.size}.")
        return entry

    # -- public ---------------------------------------------------------------------

    def keys(self) -> list[str]:
        """Every tensor key, in the table's (byte) order; the header is not a key."""
        return list(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, key: str) -> BundleEntry:
        """The :class:`BundleEntry` of ``key`` (dtype, shape, shard, offset, size, crc)."""
        if key not in self._entries:
            raise KeyError(f"{key!r} is not in the bundle {self.index_path} "
                           f"({len(self._entries)} keys, e.g. {self.keys()[:3]}).")
        return self._entries[key]

    def _bytes(self, entry: BundleEntry, check: bool = True) -> bytearray:
        if entry.sliced:
            raise self._refuse(f"tensor {entry.key!r} is a sliced (partitioned) variable; "
                               "rnnlens reads only whole tensors.")
        buf, shown = _read_exact(self.root, self.shard_name(entry.shard_id), entry.offset,
                                 entry.size)
        if check and self.verify_crc and masked_crc32c(buf) != entry.crc32c:
            raise _refuse(shown, f"tensor {entry.key!r} fails its crc32c check (the data "
                                 "file is corrupt or does not belong to this index).")
        return buf

    def read(self, key: str) -> np.ndarray:
        """The tensor under ``key`` as a new NumPy array (native byte order).

        Raises:
            KeyError: ``key`` is not in the bundle.
            UnsafeModelError: a string / resource / unsupported dtype, a sliced variable,
                a data file that is missing, short or fails its checksum.
        """
        entry = self.entry(key)
        dtype = NUMERIC_DTYPES.get(entry.dtype)
        if dtype is None:
            raise self._refuse(f"tensor {key!r} holds {entry.dtype_name} values; rnnlens "
                               "reads only float16/32/64, int32/64 and bool tensors.")
        buf = self._bytes(entry)
        if dtype == "|b1":
            return (np.frombuffer(buf, dtype=np.uint8) != 0).reshape(entry.shape)
        array = np.frombuffer(buf, dtype=dtype).reshape(entry.shape)
        return array.astype(array.dtype.newbyteorder("="), copy=False)

    def read_string(self, key: str) -> bytes:
        """A scalar ``DT_STRING`` tensor's bytes (at most ``Limits.max_config_bytes``).

        TF lays a string tensor out as ``varint64 length``, ``fixed32`` masked crc32c of
        the length (as a little-endian uint32), then the string bytes; the entry's crc
        covers the uint32 length, the length checksum and the string bytes.
        """
        entry = self.entry(key)
        if entry.dtype != DT_STRING or entry.shape != ():
            raise self._refuse(f"tensor {key!r} is not a scalar string.")
        if entry.size > self.limits.max_config_bytes:
            raise self._refuse(f"string {key!r} is {entry.size} bytes, over "
                               f"Limits.max_config_bytes={self.limits.max_config_bytes}.")
        buf = bytes(self._bytes(entry, check=False))
        try:
            length, pos = read_varint(buf, 0, len(buf))
        except WireError as err:
            raise self._refuse(f"string {key!r} has a bad length ({err}).") from None
        if pos + 4 + length != len(buf):
            raise self._refuse(f"string {key!r} claims {length} bytes in a {len(buf)}-byte "
                               "entry.")
        if self.verify_crc:
            length_crc = crc32c(length.to_bytes(4 if length < 1 << 32 else 8, "little"))
            if mask_crc(length_crc) != int.from_bytes(buf[pos:pos + 4], "little") \
                    or mask_crc(crc32c(buf[pos:], length_crc)) != entry.crc32c:
                raise self._refuse(f"string {key!r} fails its crc32c check.")
        return buf[pos + 4:]

    def object_graph(self) -> list[dict]:
        """The ``TrackableObjectGraph`` nodes: ``children`` (``node_id``,
        ``local_name``), ``attributes`` (``name``, ``full_name``, ``checkpoint_key``) and
        ``slot_variables``."""
        if OBJECT_GRAPH_KEY not in self._entries:
            raise self._refuse(f"the bundle has no {OBJECT_GRAPH_KEY} entry (not an "
                               "object-based TF2 checkpoint).")
        data = self.read_string(OBJECT_GRAPH_KEY)
        return self._decode(data, _GRAPH, "the object graph")["nodes"]


# -- variables by attribute path -----------------------------------------------------

_ALIAS_EDGES = frozenset({
    "variables", "trainable_variables", "non_trainable_variables", "weights",
    "trainable_weights", "non_trainable_weights", "keras_api", "layers", "metrics",
    "layer_metrics", "regularization_losses", "layer_regularization_losses", "optimizer",
    "signatures", "_default_save_signature", "save_counter"})
_LAYER_N = re.compile(r"layer-\d+")
_MAX_PATH_DEPTH = 64


def _is_alias(name: str) -> bool:
    return name in _ALIAS_EDGES or name.startswith(("__", "call_and_return")) \
        or _LAYER_N.fullmatch(name) is not None


def variable_keys(bundle: TensorBundle) -> dict[str, str]:
    """``{attribute path: bundle key}`` for every model variable (module docstring).

    Breadth-first from the root over the non-alias edges; a node reached twice keeps its
    first (shortest, then earliest) path. The result is in depth-first order of the
    stored children: layer by layer, each layer's weights in ``layer.weights`` order.
    """
    nodes = bundle.object_graph()
    if not nodes:
        raise bundle._refuse("the object graph has no nodes.")
    # node id -> (parent id, local name, child index, depth)
    parent: dict[int, tuple[int, str, int, int]] = {0: (-1, "", 0, 0)}
    found: dict[int, str] = {}
    queue = deque([0])
    while queue:
        node_id = queue.popleft()
        node = nodes[node_id]
        for attribute in node["attributes"]:
            if attribute["name"] == "VARIABLE_VALUE" and node_id and node_id not in found:
                found[node_id] = attribute["checkpoint_key"]
        depth = parent[node_id][3] + 1
        for index, child in enumerate(node["children"]):
            child_id, name = child["node_id"], child["local_name"]
            if not 0 <= child_id < len(nodes):
                raise bundle._refuse(f"the object graph refers to node {child_id} of "
                                     f"{len(nodes)}.")
            if child_id in parent or _is_alias(name):
                continue
            if not name or "/" in name or depth > _MAX_PATH_DEPTH:
                raise bundle._refuse(f"the object graph has an edge {name[:80]!r} at depth "
                                     f"{depth}, which no Keras model has.")
            parent[child_id] = (node_id, name, index, depth)
            queue.append(child_id)
    rows = []
    for node_id, key in found.items():
        if key not in bundle:
            raise bundle._refuse(f"the object graph names the key {key[:120]!r}, which the "
                                 "bundle does not hold.")
        names, order = [], []
        while node_id > 0:
            node_id, name, index, _ = parent[node_id]
            names.append(name)
            order.append(index)
        rows.append((order[::-1], "/".join(reversed(names)), key))
    return {path: key for _, path, key in sorted(rows)}


#: Entries that are not numbers (lookup tables, resources): skipped by variables_by_path.
_NOT_NUMBERS = (DT_STRING, 20, 21)


def variables_by_path(bundle: TensorBundle) -> dict[str, np.ndarray]:
    """``{attribute path: array}`` for every numeric model variable, e.g.
    ``{"layer_with_weights-0/cell/kernel": array(...), ...}`` (module docstring).

    String, resource and variant variables are skipped; any other dtype rnnlens cannot
    read (bfloat16, int8, ...) is refused.
    """
    keys = {path: key for path, key in variable_keys(bundle).items()
            if bundle.entry(key).dtype not in _NOT_NUMBERS}
    total = sum(int(np.prod(bundle.entry(k).shape, dtype=object)) for k in keys.values())
    if total > bundle.limits.max_params:
        raise bundle._refuse(f"the model's variables hold {total} values, over "
                             f"Limits.max_params={bundle.limits.max_params}.")
    return {path: bundle.read(key) for path, key in keys.items()}


# -- keras_metadata.pb -----------------------------------------------------------------


def _json_object(obj: dict) -> Any:
    """tf.keras's JSON encodings of tuples and TensorShapes back to tuples."""
    if obj.get("class_name") in ("__tuple__", "TensorShape") and len(obj) == 2 \
            and isinstance(obj.get("items"), list):
        return tuple(obj["items"])
    return obj


def read_keras_metadata(path: Any, limits: Limits | None = None) -> list[dict]:
    """The ``SavedObject`` nodes of ``keras_metadata.pb`` (module docstring).

    Args:
        path: the SavedModel directory, or its ``keras_metadata.pb``.
        limits: ``max_config_bytes`` bounds the file.

    Returns:
        ``[{"node_id", "node_path", "identifier", "metadata", "version"}, ...]`` in file
        order; ``metadata`` is the parsed JSON.
    """
    limits = limits or Limits()
    text = os.fspath(path)
    if os.path.isdir(text):
        root, rel = _root(text), "keras_metadata.pb"
    else:
        root, rel = _root(os.path.dirname(text) or "."), os.path.basename(text)
    data, shown = _read_small(root, rel, limits.max_config_bytes)
    try:
        nodes = decode_message(data, _SAVED_METADATA,
                               max_messages=_max_messages(limits))["nodes"]
    except WireError as err:
        raise _refuse(shown, f"it is not a valid SavedMetadata protobuf ({err})") from None
    if not nodes:
        raise _refuse(shown, "it holds no nodes (not written by tf.keras model.save).")
    for node in nodes:
        try:
            node["metadata"] = json.loads(node["metadata"], object_hook=_json_object)
        except (ValueError, RecursionError) as err:
            raise _refuse(shown, f"node {node['node_path'][:80]!r} has invalid JSON "
                                 f"metadata ({type(err).__name__}: {str(err)[:80]})") from None
    return nodes


def _strip_shared_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_shared_ids(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, (list, tuple)):
        return type(value)(_strip_shared_ids(v) for v in value)
    return value


def model_config(nodes: list[dict], source: str = "keras_metadata.pb") -> dict:
    """The root model's ``{"class_name", "config", "keras_version", "backend"}`` from
    :func:`read_keras_metadata`'s nodes; ``config`` equals tf.keras's
    ``model.get_config()`` (saving's ``shared_object_id`` annotations removed).
    ``source`` names the file in refusals."""
    root = next((n for n in nodes if n["node_path"] == "root"), None)
    meta = root["metadata"] if root else None
    if not isinstance(meta, dict) or not isinstance(meta.get("class_name"), str) \
            or not isinstance(meta.get("config"), dict):
        raise _refuse(source, "its root node has no model class_name and config.")
    try:
        config = _strip_shared_ids(meta["config"])
    except RecursionError:
        raise _refuse(source, "its config is nested too deeply.") from None
    return {"class_name": meta["class_name"], "config": config,
            "keras_version": meta.get("keras_version"), "backend": meta.get("backend")}


__all__ = ["TensorBundle", "BundleEntry", "read_keras_metadata", "model_config",
           "variable_keys", "variables_by_path", "NUMERIC_DTYPES", "OBJECT_GRAPH_KEY"]
