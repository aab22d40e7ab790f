"""``callbacks.TensorBoard`` without TensorFlow: event files TensorBoard reads, as Keras's.

The same model, weights and data are trained in Keras 3 (its TensorBoard callback writes
through TensorFlow) and in rnnlens; both runs are read back with the ``tensorboard``
package's own reader and compared: the same directories, tags, plugins, data classes
and steps; scalar values equal to training precision; histogram buckets equal; weight
images equal pixel for pixel (up to one grey level). The rnnlens-only gate statistics
are checked against a direct computation from ``rnnlens.trace``.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import rnnlens
from oracle import keras_available
from rnnlens.callbacks.event_file import EventFileWriter, crc32c, histogram_buckets

tb = pytest.importorskip("tensorboard", reason="the tensorboard package reads event files")


def read_run(path: Path) -> dict[str, dict[str, list]]:
    """``{tag: {"plugin", "data_class", "events": [(step, ndarray)]}}`` of one directory."""
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.util import tensor_util

    out: dict[str, Any] = {}
    files = sorted(p for p in path.iterdir() if p.name.startswith("events.out.tfevents"))
    assert len(files) == 1, files
    for event in event_file_loader.EventFileLoader(str(files[0])).Load():
        for value in event.summary.value:
            entry = out.setdefault(value.tag, {"events": []})
            if value.metadata.plugin_data.plugin_name:
                entry["plugin"] = value.metadata.plugin_data.plugin_name
                entry["data_class"] = value.metadata.data_class
            entry["events"].append((event.step, tensor_util.make_ndarray(value.tensor)))
    return out


def decode_png(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit grey, non-interlaced PNG (all five row filters)."""
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(data):
        (length,), kind = struct.unpack(">I", data[pos:pos + 4]), data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(width)
    for r in range(height):
        line = raw[r * (width + 1):(r + 1) * (width + 1)]
        kind, row = line[0], bytearray(line[1:])
        for i in range(width):
            a, b = (row[i - 1] if i else 0), prev[i]
            c = prev[i - 1] if i else 0
            p = a + b - c
            paeth = min((abs(p - a), 0, a), (abs(p - b), 1, b), (abs(p - c), 2, c))[2]
            row[i] = (row[i] + [0, a, b, (a + b) // 2, paeth][kind]) & 0xFF
        rows.append(bytes(row))
        prev = row
    return np.frombuffer(b"".join(rows), np.uint8).reshape(height, width)


def build(lib: Any, weights: list | None = None) -> Any:
    model = lib.Sequential([lib.Input((7, 3)), lib.layers.LSTM(5, name="lstm"),
                            lib.layers.Dense(1, name="dense")], name="seq")
    if weights is not None:
        model.set_weights(weights)
    model.compile(optimizer=lib.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return (rng.normal(size=(64, 7, 3)).astype(np.float32),
            rng.normal(size=(64, 1)).astype(np.float32))


def train(lib: Any, log_dir: Path, weights: list, update_freq: Any) -> None:
    x, y = data()
    model = build(lib, weights)
    cb = lib.callbacks.TensorBoard(log_dir, histogram_freq=1, write_images=True,
                                   update_freq=update_freq, write_steps_per_second=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(x, y, epochs=3, batch_size=16, validation_split=0.25, shuffle=False,
                  callbacks=[cb], verbose=0)


@pytest.fixture(scope="module", params=["epoch", 2])
def runs(request: Any, tmp_path_factory: Any) -> dict[str, Any]:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    import keras  # noqa: PLC0415

    weights = build(rnnlens).get_weights()
    root = tmp_path_factory.mktemp("tb")
    train(keras, root / "keras", weights, request.param)
    train(rnnlens, root / "rnnlens", weights, request.param)
    return {"keras": root / "keras", "rnnlens": root / "rnnlens", "freq": request.param}


def same_steps(runs: dict, tag: str, mine: list, theirs: list) -> bool:
    """Whether Keras's steps for ``tag`` are what rnnlens writes.

    With an integer ``update_freq`` Keras leaves its batch-level ``record_if`` in force
    outside the batches, so an epoch-level summary (and an ``evaluation_*`` one) appears
    only when the current train (test) batch count divides by ``update_freq``; here
    that drops epochs 0 and 2. rnnlens writes every epoch, as the argument is
    documented; Keras's steps must then be a subset of rnnlens's.
    """
    if runs["freq"] == "epoch" or tag.startswith("batch_") or tag == "keras":
        return mine == theirs
    return set(theirs) <= set(mine) and len(theirs) >= 1


@pytest.mark.parametrize("sub", ["train", "validation"])
def test_same_tags_plugins_and_steps_as_keras(runs: dict, sub: str) -> None:
    ours, theirs = read_run(runs["rnnlens"] / sub), read_run(runs["keras"] / sub)
    assert sorted(ours) == sorted(theirs)
    for tag in theirs:
        assert ours[tag]["plugin"] == theirs[tag]["plugin"], tag
        assert ours[tag]["data_class"] == theirs[tag]["data_class"], tag
        mine, steps = [s for s, _ in ours[tag]["events"]], [s for s, _ in theirs[tag]["events"]]
        assert same_steps(runs, tag, mine, steps), (tag, mine, steps)


@pytest.mark.parametrize("sub", ["train", "validation"])
def test_scalars_histograms_and_images_equal_keras(runs: dict, sub: str) -> None:
    ours, theirs = read_run(runs["rnnlens"] / sub), read_run(runs["keras"] / sub)
    checked = 0
    for tag, entry in theirs.items():
        mine = dict(ours[tag]["events"])
        for step, want in entry["events"]:
            got = mine[step]
            plugin = entry["plugin"]
            if plugin == "scalars" and "steps_per_second" not in tag:
                assert got.dtype == want.dtype == np.float32
                np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=tag)
            elif plugin == "histograms":
                assert got.shape == want.shape == (30, 3) and got.dtype == np.float64
                np.testing.assert_allclose(got[:, :2], want[:, :2], atol=1e-5, err_msg=tag)
                assert np.abs(got[:, 2] - want[:, 2]).sum() <= 2, tag    # edge values
                assert got[:, 2].sum() == want[:, 2].sum(), tag
            elif plugin == "images":
                assert list(got[:2]) == list(want[:2]), tag                # width, height
                diff = decode_png(got[2]).astype(int) - decode_png(want[2]).astype(int)
                assert np.abs(diff).max() <= 1, tag
            elif plugin == "graph_keras_model":
                assert b'"class_name": "Sequential"' in got[0] and b'"LSTM"' in got[0]
            else:
                continue
            checked += 1
    assert checked >= (15 if sub == "train" else 4), checked


def test_histogram_buckets_equal_tensorboards(tmp_path: Path) -> None:
    """Our buckets against TensorBoard's ``tf.summary.histogram`` on the same data."""
    pytest.importorskip("tensorflow")
    import tensorflow as tf  # noqa: PLC0415

    rng = np.random.default_rng(3)
    cases = {"normal": rng.normal(size=1000), "ints": rng.integers(-3, 4, size=50),
             "single": np.full(7, 2.5), "empty": np.zeros(0), "two": np.array([0.0, 1.0]),
             "wide": rng.normal(size=(20, 30)) * 1e4}
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        for tag, values in cases.items():
            tf.summary.histogram(tag, values, step=0)
            tf.summary.histogram(tag + "_7", values, step=0, buckets=7)
    writer.close()
    theirs = read_run(tmp_path)
    for tag, values in cases.items():
        for suffix, buckets in (("", 30), ("_7", 7)):
            want = theirs[tag + suffix]["events"][0][1]
            got = histogram_buckets(values, buckets)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=tag + suffix)


def test_crc32c_and_records_read_back(tmp_path: Path) -> None:
    assert crc32c(b"123456789") == 0xE3069283            # the standard check value
    assert crc32c(b"") == 0
    with EventFileWriter(tmp_path) as writer:
        for step in range(5):
            writer.scalar("x", step * 0.5, step)
        writer.text("note", "héllo", 7)
    run = read_run(tmp_path)
    assert [(s, float(v)) for s, v in run["x"]["events"]] == [(k, k * 0.5) for k in range(5)]
    assert run["note"]["events"][0][1].item().decode() == "héllo"
    assert run["note"]["plugin"] == "text"


def test_trace_statistics_are_logged_and_exact(tmp_path: Path) -> None:
    x, y = data()
    model = build(rnnlens)
    cb = rnnlens.callbacks.TensorBoard(tmp_path, trace_freq=1, trace_data=x[:20],
                                       write_graph=False)
    model.fit(x, y, epochs=2, batch_size=16, callbacks=[cb], verbose=0)
    run = read_run(tmp_path / "train")
    tr = rnnlens.trace(model, x[:20])["lstm"]
    for gate in "ifo":
        got = run[f"trace/lstm/{gate}_saturated"]["events"][-1][1]
        g = tr.gates[gate]
        expected = np.mean(np.mean((g < 0.05) | (g > 0.95), axis=(0, 1)))
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=gate)
        assert run[f"trace/lstm/{gate}_saturated/histogram"]["plugin"] == "histograms"
    memory = run["trace/lstm/memory_length"]["events"]
    assert [s for s, _ in memory] == [0, 1] and 1 <= float(memory[-1][1]) <= 7


def test_embeddings_for_the_projector(tmp_path: Path) -> None:
    model = rnnlens.Sequential([rnnlens.Input((4,), dtype="int32"),
                                rnnlens.layers.Embedding(10, 3, name="emb"),
                                rnnlens.layers.LSTM(2)])
    model.compile("sgd", "mse")
    cb = rnnlens.callbacks.TensorBoard(tmp_path, embeddings_freq=1,
                                       embeddings_metadata={"emb": "words.tsv"})
    x = np.random.default_rng(0).integers(0, 10, size=(8, 4))
    model.fit(x, np.zeros((8, 2), np.float32), epochs=2, verbose=0, callbacks=[cb])
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "train/emb_embeddings.tsv"' in config
    assert 'metadata_path: "words.tsv"' in config
    table = np.loadtxt(tmp_path / "train" / "emb_embeddings.tsv", delimiter="\t")
    np.testing.assert_allclose(table, model.get_layer("emb").get_weights()[0], rtol=1e-6)
    assert (tmp_path / "train" / "keras_embedding.ckpt-1.weights.h5").exists()


@pytest.mark.parametrize("kwargs, match", [
    ({"profile_batch": 2}, "profile_batch"),
    ({"trace_freq": 1}, "trace_data"),
    ({"update_freq": "step"}, "update_freq"),
    ({"histogram_freq": -1}, "histogram_freq"),
    ({"histogram_freq": 1.5}, "histogram_freq"),
])
def test_bad_arguments_are_named(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        rnnlens.callbacks.TensorBoard(os.devnull, **kwargs)


def test_unknown_embeddings_metadata_layer_is_named(tmp_path: Path) -> None:
    model = rnnlens.Sequential([rnnlens.Input((4,)), rnnlens.layers.Embedding(10, 3)])
    cb = rnnlens.callbacks.TensorBoard(tmp_path, embeddings_freq=1,
                                       embeddings_metadata={"nope": "m.tsv"})
    with pytest.raises(ValueError, match="nope"):
        cb.set_model(model)
