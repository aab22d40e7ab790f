"""Hostile SavedModel directories and the decoders under ``rnnlens.interop.tf_bundle``.

* Crafted bundles: a LevelDB table / TensorBundle writer below (TF's own reader reads
  what it writes) makes one bad file per case; each must be refused with an
  ``UnsafeModelError`` naming the file and the reason: big-endian, shard counts, offsets
  and sizes, ranks, dims, limits, checksums, versions, compression, magic, key order,
  object graphs that point nowhere, symlinks out of the directory, FIFOs, JSON bombs.
* ``protobuf_wire`` against google.protobuf on random messages (hypothesis) and on
  edge cases; CRC-32C against RFC 3720 and a table-driven reference.
* Fuzz: a real tf_keras SavedModel's ``variables.index``, data file and
  ``keras_metadata.pb`` with bits flipped, bytes set, truncation and length fields made
  huge: only a correct read (the original values; for the metadata, what google.protobuf
  parses) or an ``UnsafeModelError``, each in well under a second.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnlens.interop.keras_config import Limits, UnsafeModelError
from rnnlens.interop.protobuf_wire import Field, WireError, decode_message
from rnnlens.interop.tf_bundle import (_ENTRY, _GRAPH, NUMERIC_DTYPES,
                                       TensorBundle, _json_object, model_config,
                                       read_keras_metadata, variable_keys, variables_by_path)
from rnnlens.interop.tf_table import TABLE_MAGIC, crc32c, mask_crc, masked_crc32c

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
DT = {np.dtype("float32"): 1, np.dtype("float64"): 2, np.dtype("int32"): 3,
      np.dtype("int64"): 9, np.dtype("bool"): 10, np.dtype("float16"): 19}


@pytest.fixture(scope="module")
def pb() -> Any:
    pytest.importorskip("tensorflow")
    from tensorflow.core.protobuf import tensor_bundle_pb2, trackable_object_graph_pb2
    from tf_keras.protobuf import saved_metadata_pb2

    class PB:
        bundle, graph, meta = tensor_bundle_pb2, trackable_object_graph_pb2, saved_metadata_pb2
    return PB


# ---------------------------------------------------------------------------- the writer
def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _block(rows: list, restart_every: int) -> bytes:
    buf, restarts, prev = bytearray(), [], b""
    for i, (key, value) in enumerate(rows):
        shared = 0 if i % restart_every == 0 else len(os.path.commonprefix([prev, key]))
        if shared == 0:
            restarts.append(len(buf))
        buf += varint(shared) + varint(len(key) - shared) + varint(len(value))
        buf += key[shared:] + value
        prev = key
    restarts = restarts or [0]
    return bytes(buf) + b"".join(r.to_bytes(4, "little") for r in restarts) \
        + len(restarts).to_bytes(4, "little")


def build_table(rows: list, block_bytes: int = 200, compression: int = 0) -> bytes:
    """A LevelDB-format table of ``rows`` (kept in the given order)."""
    out = bytearray()

    def emit(contents: bytes, kind: int = 0) -> bytes:
        offset = len(out)
        out.extend(contents + bytes([kind])
                   + masked_crc32c(contents + bytes([kind])).to_bytes(4, "little"))
        return varint(offset) + varint(len(contents))

    index, chunk = [], []
    for row in rows:
        chunk.append(row)
        if sum(len(k) + len(v) for k, v in chunk) >= block_bytes or row is rows[-1]:
            index.append((chunk[-1][0], emit(_block(chunk, 3), compression)))
            chunk = []
    meta = emit(_block([], 1))
    footer = (meta + emit(_block(index, 1))).ljust(40, b"\0") + TABLE_MAGIC.to_bytes(8, "little")
    return bytes(out + footer)


def string_tensor(text: bytes) -> tuple[bytes, int]:
    """A scalar DT_STRING's bytes in a bundle and its entry crc (TF's layout)."""
    length_crc = crc32c(len(text).to_bytes(4, "little"))
    body = mask_crc(length_crc).to_bytes(4, "little") + text
    return varint(len(text)) + body, mask_crc(crc32c(body, length_crc))


def write_bundle(pb: Any, root: Path, tensors: dict, *, header: dict | None = None,
                 edit: Callable | None = None, compression: int = 0, prefix: str = "ck",
                 graph: Any = None, raw_rows: list | None = None) -> Path:
    """``root/prefix.index`` + one data file; ``edit(key, entry)`` alters entries."""
    root.mkdir(parents=True, exist_ok=True)
    fields = {"num_shards": 1, **(header or {})}
    producer, min_consumer, bad = fields.pop("version", (1, 0, []))
    head = pb.bundle.BundleHeaderProto(**fields)
    head.version.producer, head.version.min_consumer = producer, min_consumer
    head.version.bad_consumers.extend(bad)
    data, rows = bytearray(), [(b"", head.SerializeToString())]
    items = dict(tensors)
    if graph is not None:
        items["_CHECKPOINTABLE_OBJECT_GRAPH"] = graph.SerializeToString()
    for key in sorted(items):
        value = items[key]
        entry = pb.bundle.BundleEntryProto(offset=len(data))
        if isinstance(value, bytes):
            raw, crc = string_tensor(value)
            entry.dtype = 7
        else:
            value = np.asarray(value)
            raw, entry.dtype = value.astype(value.dtype.newbyteorder("<")).tobytes(), \
                DT[value.dtype]
            crc = masked_crc32c(raw)
            for d in value.shape:
                entry.shape.dim.add(size=d)
        entry.size, entry.crc32c = len(raw), crc
        data += raw
        if edit:
            edit(key, entry)
        rows.append((key.encode(), entry.SerializeToString()))
    (root / f"{prefix}.index").write_bytes(build_table(raw_rows or rows, compression=compression))
    (root / f"{prefix}.data-00000-of-{head.num_shards:05d}").write_bytes(bytes(data))
    return root


def graph_of(pb: Any, nodes: list) -> Any:
    """A TrackableObjectGraph from ``[(children [(id, name)], attributes [key])]``."""
    graph = pb.graph.TrackableObjectGraph()
    for children, keys in nodes:
        node = graph.nodes.add()
        for node_id, name in children:
            node.children.add(node_id=node_id, local_name=name)
        for key in keys:
            node.attributes.add(name="VARIABLE_VALUE", full_name="x", checkpoint_key=key)
    return graph


TENSORS = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, -2], "i8")}


def test_writer_is_read_by_tensorflow(pb: Any, tmp_path: Path) -> None:
    import tensorflow as tf

    tensors = {f"k{i:03d}": np.full((i % 4, 2), i, np.float32) for i in range(40)}
    write_bundle(pb, tmp_path, {**tensors, **TENSORS})
    reader = tf.train.load_checkpoint(str(tmp_path / "ck"))
    bundle = TensorBundle(tmp_path, prefix="ck")
    for key, value in {**tensors, **TENSORS}.items():
        np.testing.assert_array_equal(reader.get_tensor(key), value)
        np.testing.assert_array_equal(bundle.read(key), value)


def _set(**fields: Any) -> Callable:
    def edit(key: str, entry: Any) -> None:
        if key == "a":
            for name, value in fields.items():
                if name == "dims":
                    del entry.shape.dim[:]
                    for d in value:
                        entry.shape.dim.add(size=d)
                elif name == "slice":
                    entry.slices.add().extent.add(start=0, length=1)
                else:
                    setattr(entry, name, value)
    return edit


CASES = {  # name: (write_bundle keywords, Limits keywords, what is read, refusal pattern)
    "big_endian": ({"header": {"endianness": 1}}, {}, "open", "big-endian"),
    "no_shards": ({"header": {"num_shards": 0}}, {}, "open", r"num_shards=0"),
    "many_shards": ({"header": {"num_shards": 1 << 30}}, {}, "open", "max_members"),
    "missing_shard": ({"header": {"num_shards": 3}}, {}, "open",
                      r"data-00001-of-00003.*cannot be read"),
    "shard_id": ({"edit": _set(shard_id=4)}, {}, "open", "in shard 4"),
    "offset": ({"edit": _set(offset=10 ** 6)}, {}, "open", r"claims bytes \[1000000"),
    "negative_size": ({"edit": _set(size=-4)}, {}, "open", "claims bytes"),
    "size": ({"edit": _set(size=20)}, {}, "open", "needs 24 bytes"),
    "rank": ({"edit": _set(dims=[1] * 9)}, {}, "open", "rank over 8"),
    "unknown_dim": ({"edit": _set(dims=[-1, 6])}, {}, "open", "every dimension"),
    "max_dim": ({}, {"max_dim": 2}, "open", "Limits.max_dim"),
    "max_params": ({}, {"max_params": 5}, "open", "Limits.max_params"),
    "max_member": ({}, {"max_member_bytes": 8}, "open", "max_member_bytes"),
    "max_config": ({}, {"max_config_bytes": 40}, "open", "max_config_bytes"),
    "max_archive": ({}, {"max_archive_bytes": 10}, "open", "max_archive_bytes"),
    "crc": ({"edit": _set(crc32c=12345)}, {}, "a", "crc32c"),
    "sliced": ({"edit": _set(slice=True)}, {}, "a", "sliced"),
    "bfloat16": ({"edit": _set(dtype=14)}, {}, "a", "DT_BFLOAT16"),
    "resource": ({"edit": _set(dtype=20)}, {}, "a", "DT_RESOURCE"),
    "min_consumer": ({"header": {"version": (1, 2, [])}}, {}, "open", "newer"),
    "bad_consumer": ({"header": {"version": (1, 0, [1])}}, {}, "open", "newer"),
    "snappy": ({"compression": 1}, {}, "open", "snappy"),
    "compression": ({"compression": 9}, {}, "open", "compression type 9"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_crafted_bundle_refused(pb: Any, tmp_path: Path, case: str) -> None:
    kwargs, limits, what, pattern = CASES[case]
    write_bundle(pb, tmp_path, TENSORS, **kwargs)
    with pytest.raises(UnsafeModelError, match=pattern) as err:
        bundle = TensorBundle(tmp_path, Limits(**limits), prefix="ck")
        bundle.read(what) if what != "open" else None
    assert str(tmp_path / "ck.") in str(err.value)
    if what != "open":                   # the other tensor still reads
        np.testing.assert_array_equal(TensorBundle(tmp_path, prefix="ck").read("b"), TENSORS["b"])


def test_malformed_tables_refused(pb: Any, tmp_path: Path) -> None:
    write_bundle(pb, tmp_path, TENSORS)
    index = tmp_path / "ck.index"
    good = index.read_bytes()
    head = pb.bundle.BundleHeaderProto(num_shards=1).SerializeToString()
    entry = pb.bundle.BundleEntryProto(dtype=1, size=0).SerializeToString()
    bad = {"magic": good[:-1] + b"\0", "short": good[:20], "empty": b"",
           "no_header": build_table([(b"a", entry)]),
           "order": build_table([(b"", head), (b"b", entry), (b"a", entry)]),
           "duplicate": build_table([(b"", head), (b"a", entry), (b"a", entry)]),
           "entry": build_table([(b"", head), (b"a", b"\xff")]),
           "utf8": build_table([(b"", head), (b"\xc3(", entry)]),
           "block_crc": good[:5] + bytes([good[5] ^ 1]) + good[6:]}
    patterns = {"magic": "magic", "short": "footer", "empty": "footer", "no_header": "header",
                "order": "increasing", "duplicate": "increasing", "entry": "not a valid protobuf",
                "utf8": "not UTF-8", "block_crc": "crc32c"}
    for name, data in bad.items():
        index.write_bytes(data)
        with pytest.raises(UnsafeModelError, match=patterns[name]):
            TensorBundle(tmp_path, prefix="ck")


# ---------------------------------------------------------------------------- object graphs
def test_object_graph_paths_and_refusals(pb: Any, tmp_path: Path) -> None:
    key = "variables/0/.ATTRIBUTES/VARIABLE_VALUE"
    nodes = [([(1, "variables"), (2, "layer-0"), (2, "layer_with_weights-0"), (0, "self")], []),
             ([(3, "0")], []), ([(3, "kernel"), (4, "keras_api")], []), ([], [key]), ([], [])]
    write_bundle(pb, tmp_path / "ok", {key: TENSORS["a"]}, graph=graph_of(pb, nodes))
    bundle = TensorBundle(tmp_path / "ok", prefix="ck")
    assert variable_keys(bundle) == {"layer_with_weights-0/kernel": key}
    np.testing.assert_array_equal(variables_by_path(bundle)["layer_with_weights-0/kernel"],
                                  TENSORS["a"])
    chain = [([(i + 1, "sub")], []) for i in range(70)] + [([], [key])]
    bad = {"node id": ([([(9, "layer_with_weights-0")], [])], "refers to node 9"),
           "missing key": ([([(1, "x")], []), ([], ["nope"])], "does not hold"),
           "slash": ([([(1, "a/b")], []), ([], [key])], "edge 'a/b'"),
           "deep": (chain, "at depth 65"), "empty": ([], "no nodes")}
    for name, (graph_nodes, pattern) in bad.items():
        write_bundle(pb, tmp_path / name, {key: TENSORS["a"]}, graph=graph_of(pb, graph_nodes))
        with pytest.raises(UnsafeModelError, match=pattern):
            variables_by_path(TensorBundle(tmp_path / name, prefix="ck"))
    write_bundle(pb, tmp_path / "none", TENSORS)
    with pytest.raises(UnsafeModelError, match="no _CHECKPOINTABLE_OBJECT_GRAPH"):
        variables_by_path(TensorBundle(tmp_path / "none", prefix="ck"))
    write_bundle(pb, tmp_path / "str", {}, graph=graph_of(pb, nodes[:1]))
    data = tmp_path / "str" / "ck.data-00000-of-00001"
    good = data.read_bytes()
    for offset, pattern in ((0, "claims"), (len(good) - 1, "crc32c")):
        raw = bytearray(good)
        raw[offset] ^= 1                             # the varint length / the last byte
        data.write_bytes(bytes(raw))
        with pytest.raises(UnsafeModelError, match=pattern):
            TensorBundle(tmp_path / "str", prefix="ck").object_graph()


# ---------------------------------------------------------------------------- the filesystem
def test_files_must_be_regular_and_inside(pb: Any, tmp_path: Path) -> None:
    model = tmp_path / "model"
    write_bundle(pb, model / "variables", TENSORS, prefix="variables")
    outside = tmp_path / "outside"
    outside.mkdir()
    data = model / "variables" / "variables.data-00000-of-00001"
    (model / "variables" / "real.bin").write_bytes(data.read_bytes())
    data.unlink()
    data.symlink_to("real.bin")                                 # a symlink inside: fine
    np.testing.assert_array_equal(TensorBundle(model).read("a"), TENSORS["a"])
    data.unlink()
    (outside / "data").write_bytes((model / "variables" / "real.bin").read_bytes())
    data.symlink_to(outside / "data")
    with pytest.raises(UnsafeModelError, match="outside the directory"):
        TensorBundle(model)
    data.unlink()
    os.mkfifo(data)                                             # would block a plain open()
    start = time.perf_counter()
    with pytest.raises(UnsafeModelError, match="not a regular file"):
        TensorBundle(model)
    assert time.perf_counter() - start < 1
    data.unlink()
    os.mkfifo(model / "keras_metadata.pb")
    with pytest.raises(UnsafeModelError, match="not a regular file"):
        read_keras_metadata(model)
    os.rename(model / "variables", outside / "variables")
    (model / "variables").symlink_to(outside / "variables")     # the whole folder escapes
    with pytest.raises(UnsafeModelError, match="outside the directory"):
        TensorBundle(model)
    with pytest.raises(ValueError, match="not a directory"):
        TensorBundle(tmp_path / "missing")
    with pytest.raises(UnsafeModelError, match=r"keras_metadata.pb.*cannot be read"):
        read_keras_metadata(outside)


# ---------------------------------------------------------------------------- keras_metadata.pb
def _metadata(pb: Any, metas: list) -> bytes:
    msg = pb.meta.SavedMetadata()
    for i, (path, meta) in enumerate(metas):
        node = msg.nodes.add(node_id=i, node_path=path, identifier="_tf_keras_layer",
                             metadata=meta)
        node.version.producer, node.version.min_consumer = 2, 1
    return msg.SerializeToString()


def test_metadata_refusals(pb: Any, tmp_path: Path) -> None:
    meta = tmp_path / "keras_metadata.pb"
    root = json.dumps({"class_name": "Sequential", "shared_object_id": 3, "config": {
        "name": "s", "layers": [{"class_name": "InputLayer", "config": {
            "batch_input_shape": {"class_name": "__tuple__", "items": [None, 5, 3]}},
            "shared_object_id": 1}]}, "keras_version": "2.21.0", "backend": "tensorflow",
        "build_input_shape": {"class_name": "TensorShape", "items": [None, 5, 3]}})
    meta.write_bytes(_metadata(pb, [("root", root)]))
    nodes = read_keras_metadata(tmp_path)
    assert nodes[0]["metadata"]["build_input_shape"] == (None, 5, 3)
    assert nodes[0]["version"] == {"producer": 2, "min_consumer": 1, "bad_consumers": []}
    assert model_config(nodes)["config"] == {"name": "s", "layers": [{
        "class_name": "InputLayer", "config": {"batch_input_shape": (None, 5, 3)}}]}
    with pytest.raises(UnsafeModelError, match="max_config_bytes"):
        read_keras_metadata(tmp_path, Limits(max_config_bytes=20))
    bad = {"invalid JSON": _metadata(pb, [("root", "{nope")]),
           "RecursionError": _metadata(pb, [("root", "[" * 100_000 + "]" * 100_000)]),
           "no nodes": b"", "not a valid SavedMetadata": b"\x0a\x05\x1a\x03ab",
           "UTF-8": b"\x0a\x03\x1a\x01\xff"}
    for pattern, data in bad.items():
        meta.write_bytes(data)
        with pytest.raises(UnsafeModelError, match=pattern):
            read_keras_metadata(meta)
    meta.write_bytes(_metadata(pb, [("root.layer-0", "{}")]))
    with pytest.raises(UnsafeModelError, match="root node"):
        model_config(read_keras_metadata(meta))


def test_message_count_is_bounded(tmp_path: Path) -> None:
    (tmp_path / "keras_metadata.pb").write_bytes(b"\x0a\x00" * 300_000)   # empty nodes
    start = time.perf_counter()
    with pytest.raises(UnsafeModelError, match="more than 100000 protobuf messages"):
        read_keras_metadata(tmp_path, Limits(max_layers=10))
    assert time.perf_counter() - start < 2


# ---------------------------------------------------------------------------- protobuf wire
def _entry_fields(msg: Any) -> dict:
    return {"dtype": msg.dtype, "shard_id": msg.shard_id, "offset": msg.offset,
            "size": msg.size, "crc32c": msg.crc32c,
            "shape": {"dim": [{"size": d.size, "name": d.name} for d in msg.shape.dim],
                      "unknown_rank": msg.shape.unknown_rank} if msg.HasField("shape") else None,
            "slices": [{"extent": [{"start": e.start, "length": e.length} for e in s.extent]}
                       for s in msg.slices]}


I32, I64 = st.integers(-(2 ** 31), 2 ** 31 - 1), st.integers(-(2 ** 63), 2 ** 63 - 1)


@settings(max_examples=150, deadline=None)
@given(dtype=I32, dims=st.lists(st.tuples(I64, st.text(max_size=4)), max_size=4),
       rank=st.booleans(), has_shape=st.booleans(), shard=I32, offset=I64, size=I64,
       crc=st.integers(0, 2 ** 32 - 1), slices=st.lists(st.lists(st.tuples(I64, I64),
                                                                  max_size=3), max_size=2))
def test_entry_decodes_as_google_protobuf(pb: Any, dtype: int, dims: list, rank: bool,
                                          has_shape: bool, shard: int, offset: int, size: int,
                                          crc: int, slices: list) -> None:
    msg = pb.bundle.BundleEntryProto(dtype=dtype, shard_id=shard, offset=offset, size=size,
                                     crc32c=crc)
    if has_shape:
        msg.shape.unknown_rank = rank
        for d, name in dims:
            msg.shape.dim.add(size=d, name=name)
    for extents in slices:
        piece = msg.slices.add()
        for start, length in extents:
            piece.extent.add(start=start, length=length)
    assert decode_message(msg.SerializeToString(), _ENTRY) == _entry_fields(msg)


@settings(max_examples=60, deadline=None)
@given(nodes=st.lists(st.tuples(st.lists(st.tuples(I32, st.text(max_size=6)), max_size=4),
                                st.lists(st.text(max_size=6), max_size=2)), max_size=5))
def test_object_graph_decodes_as_google_protobuf(pb: Any, nodes: list) -> None:
    msg = graph_of(pb, nodes)
    got = decode_message(msg.SerializeToString(), _GRAPH)["nodes"]
    assert [[(c["node_id"], c["local_name"]) for c in n["children"]] for n in got] == \
        [list(children) for children, _ in nodes]
    assert [[a["checkpoint_key"] for a in n["attributes"]] for n in got] == \
        [list(keys) for _, keys in nodes]


def test_wire_edge_cases(pb: Any) -> None:
    schema = {1: Field("a", "int32"), 2: Field("b", "uint64"), 3: Field("c", "int32", True),
              4: Field("m", "message", message={1: Field("x", "int32"),
                                                2: Field("y", "int32")})}
    assert decode_message(b"\x08" + b"\xff" * 9 + b"\x01", schema)["a"] == -1
    assert decode_message(b"\x10" + b"\xff" * 9 + b"\x01", schema)["b"] == 2 ** 64 - 1
    assert decode_message(b"\x1a\x03\x01\x02\x03\x18\x04", schema)["c"] == [1, 2, 3, 4]
    skipped = b"\x29" + b"\0" * 8 + b"\x35" + b"\0" * 4 + b"\x3a\x02hi\x40\x05"   # unknown
    assert decode_message(skipped + b"\x08\x07", schema)["a"] == 7
    merged = b"\x22\x02\x08\x05" + b"\x22\x02\x10\x06"        # a singular message, twice
    assert decode_message(merged, schema)["m"] == {"x": 5, "y": 6}
    version = pb.bundle.BundleHeaderProto.FromString(b"\x1a\x02\x08\x05\x1a\x02\x10\x06")
    assert (version.version.producer, version.version.min_consumer) == (5, 6)
    bad = {b"\x08" + b"\xff" * 10 + b"\x01": "longer than 10", b"\x08" + b"\xff" * 9 + b"\x02":
           "overflows", b"\x08": "truncated", b"\x0a\x05ab": "claims 5 bytes",
           b"\x0b\x0c": "wire type 3", b"\x11\x00": "truncated fixed64", b"\x00\x00": "field",
           b"\x0a\x01x": "wire type 2, expected 0"}
    for data, pattern in bad.items():
        with pytest.raises(WireError, match=pattern):
            decode_message(data, schema)
    nest: dict = {}
    nest[1] = Field("n", "message", message=nest)
    deep = b""
    for _ in range(40):
        deep = b"\x0a" + varint(len(deep)) + deep
    with pytest.raises(WireError, match="nested more than 32"):
        decode_message(deep, nest)


# ---------------------------------------------------------------------------- CRC-32C
def _reference_crc(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_vectors_and_speed() -> None:
    assert crc32c(b"123456789") == 0xE3069283                     # RFC 3720 B.4
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(bytes(range(31, -1, -1))) == 0x113FDB5C
    data = np.random.default_rng(0).integers(0, 256, 16 << 20, dtype=np.uint8).tobytes()
    start = time.perf_counter()
    whole = crc32c(data)
    assert time.perf_counter() - start < 2
    assert crc32c(data[5_000_001:], crc32c(data[:5_000_001])) == whole


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=12_000), cut=st.integers(0, 12_000))
def test_crc32c_matches_the_bitwise_definition(data: bytes, cut: int) -> None:
    assert crc32c(data) == _reference_crc(data)
    assert crc32c(data[cut:], crc32c(data[:cut])) == crc32c(data)


# ---------------------------------------------------------------------------- fuzz
@pytest.fixture(scope="module")
def real(pb: Any, tmp_path_factory: Any) -> dict:
    """A tf_keras SavedModel's three files, what rnnlens reads from them, and a work dir."""
    tfk = pytest.importorskip("tf_keras")
    L = tfk.layers
    model = tfk.Sequential([L.Input((4, 3)), L.LSTM(3, return_sequences=True),
                            L.Bidirectional(L.GRU(2)), L.BatchNormalization(), L.Dense(2)])
    source = tmp_path_factory.mktemp("real")
    model.save(source / "model")
    files = {"index": "variables/variables.index", "meta": "keras_metadata.pb",
             "data": "variables/variables.data-00000-of-00001"}
    work = tmp_path_factory.mktemp("fuzz")
    (work / "variables").mkdir()
    base = {name: (source / "model" / rel).read_bytes() for name, rel in files.items()}
    bundle = TensorBundle(source / "model")
    return {"files": files, "base": base, "work": work, "values": variables_by_path(bundle),
            "all": {k: bundle.read(k) for k in bundle.keys()
                    if bundle.entry(k).dtype in NUMERIC_DTYPES}}


HUGE = b"\xff" * 9 + b"\x01"
MUTATION = st.tuples(st.sampled_from(["flip", "set", "truncate", "huge", "huge_length"]),
                     st.integers(0, 1 << 20), st.integers(0, 255))


def mutate(data: bytes, op: str, where: int, value: int) -> bytes:
    if not data:
        return data
    pos = where % len(data)
    if op == "flip":
        return data[:pos] + bytes([data[pos] ^ (1 << (value % 8))]) + data[pos + 1:]
    if op == "set":
        return data[:pos] + bytes([value]) + data[pos + 1:]
    if op == "truncate":
        return data[:pos]
    if op == "huge_length":                 # the varint after a length-delimited tag
        tags = [i + 1 for i in range(len(data) - 1) if data[i] & 7 == 2]
        pos = tags[where % len(tags)] if tags else pos
    return data[:pos] + HUGE + data[pos + len(HUGE) // 2:]


def _google_nodes(pb: Any, data: bytes) -> list | None:
    try:
        msg = pb.meta.SavedMetadata.FromString(data)
    except Exception:  # noqa: BLE001  (google.protobuf's DecodeError types vary)
        return None
    return [(n.node_id, n.node_path, n.identifier, n.metadata) for n in msg.nodes]


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(target=st.sampled_from(["index", "data", "meta"]),
       ops=st.lists(MUTATION, min_size=1, max_size=3))
def test_fuzzed_savedmodel_reads_correctly_or_is_refused(pb: Any, real: dict, target: str,
                                                         ops: list) -> None:
    data = real["base"][target]
    for op in ops:
        data = mutate(data, *op)
    for name, rel in real["files"].items():
        (real["work"] / rel).write_bytes(data if name == target else real["base"][name])
    start = time.perf_counter()
    try:
        bundle = TensorBundle(real["work"])
        values = variables_by_path(bundle)
        every = {k: bundle.read(k) for k in bundle.keys()
                 if bundle.entry(k).dtype in NUMERIC_DTYPES}
    except UnsafeModelError as err:
        assert "Refusing to load" in str(err)
    else:                                  # a correct read: exactly the original tensors
        for got, want in ((values, real["values"]), (every, real["all"])):
            assert list(got) == list(want)
            for key in want:
                assert got[key].dtype == want[key].dtype, key
                np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    try:                                   # without checksums the parsers see every mutation
        unchecked = TensorBundle(real["work"], verify_crc=False)
        variables_by_path(unchecked)
        for key in unchecked.keys():
            if unchecked.entry(key).dtype in NUMERIC_DTYPES:
                assert unchecked.read(key).shape == unchecked.entry(key).shape
    except UnsafeModelError as err:
        assert "Refusing to load" in str(err)
    try:
        nodes = read_keras_metadata(real["work"])
        model_config(nodes)
    except UnsafeModelError as err:
        assert "Refusing to load" in str(err)
    else:                                  # what google.protobuf reads from the same bytes
        google = _google_nodes(pb, real["base"]["meta"] if target != "meta" else data)
        assert google is not None
        assert [(n["node_id"], n["node_path"], n["identifier"]) for n in nodes] == \
            [g[:3] for g in google]
        assert [n["metadata"] for n in nodes] == \
            [json.loads(g[3], object_hook=_json_object) for g in google]
    assert time.perf_counter() - start < 1.0
