"""``rnnlens.distributed`` on a ``distributed.LocalCluster`` of 2 worker processes.

Properties: ``predict`` over chunks equals single-process ``model.predict`` bitwise
when chunks are multiples of ``batch_size`` (and within 1e-7 otherwise), for several
inputs and outputs, masks, Zarr / .npy / dask inputs; the model is loaded once per
worker; ``trace_stats`` merged as a tree equals one pass over the data exactly (counts
add; per-unit activation ranges merged in any order equal one pass's min / max). The ``rnnlens predict`` command writes the same numbers to Zarr, on a local
cluster or on a given scheduler. Bad inputs get a ValueError / TypeError, and a
missing extra an ImportError naming it.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnnlens
from rnnlens import layers as L

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")

import rnnlens.distributed as rd  # noqa: E402
from rnnlens.distributed import _worker  # noqa: E402

F = 3


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture(scope="module")
def masked():
    rnnlens.utils.set_random_seed(3)
    # Explicit names: automatic ones ("lstm_25") depend on which tests ran before.
    return rnnlens.Sequential([rnnlens.Input((None, F)), L.Masking(0.0, name="masking"),
                               L.LSTM(12, return_sequences=True, name="lstm"),
                               L.GRU(6, name="gru"), L.Dense(2, name="dense")])


@pytest.fixture(scope="module")
def data():
    x = np.random.default_rng(0).normal(size=(600, 9, F)).astype(np.float32)
    x[::5, 6:] = 0.0                                   # padded ends
    x[1::7, :2] = 0.0                                  # padded starts
    return x


def test_predict_is_bitwise_single_process(client, masked, data) -> None:
    want = masked.predict(data, batch_size=25, verbose=0)
    got = rd.predict(masked, da.from_array(data, chunks=100), batch_size=25)
    assert isinstance(got, da.Array) and got.numblocks == (6, 1)
    np.testing.assert_array_equal(got.compute(), want)
    digest = _worker.ModelBlob(masked).digest
    loaded = client.run(lambda: sum(k[0] == digest for k in _worker._CACHE))
    assert sorted(loaded.values()) == [1, 1]             # once on each worker
    again = rd.predict(masked, da.from_array(data, chunks=150), batch_size=25).compute()
    np.testing.assert_array_equal(again, want)
    assert client.run(lambda: sum(k[0] == digest for k in _worker._CACHE)) == loaded


def test_unaligned_chunks_within_1e7(client, masked, data) -> None:
    want = masked.predict(data, batch_size=32, verbose=0)
    got = rd.predict(masked, data, batch_size=32, chunk_size=70).compute()
    np.testing.assert_allclose(got, want, atol=1e-7, rtol=0)


def test_several_inputs_and_outputs_with_masks(client) -> None:
    rnnlens.utils.set_random_seed(5)
    tokens = rnnlens.Input((None,), dtype="int32", name="tokens")
    extra = rnnlens.Input((None, 2), name="extra")
    h = L.Concatenate()([L.Embedding(20, 4, mask_zero=True)(tokens), extra])
    seq = L.LSTM(8, return_sequences=True)(h)
    model = rnnlens.Model({"tokens": tokens, "extra": extra},
                          {"per_step": L.Dense(3, name="per_step")(seq),
                           "last": L.Dense(1, name="last")(L.GRU(4)(seq))})
    rng = np.random.default_rng(1)
    t = rng.integers(1, 20, size=(200, 7))
    t[::3, 5:] = 0
    e = rng.normal(size=(200, 7, 2)).astype(np.float32)
    want = model.predict({"tokens": t, "extra": e}, batch_size=20, verbose=0)
    got = rd.predict(model, {"tokens": da.from_array(t, chunks=40), "extra": e},
                     batch_size=20)
    assert isinstance(got, dict) and list(got) == ["per_step", "last"]
    computed = da.compute(got)[0]
    for name in want:
        np.testing.assert_array_equal(computed[name], want[name])


def test_zarr_and_npy_paths(client, masked, data, tmp_path) -> None:
    want = masked.predict(data, batch_size=32, verbose=0)
    store = tmp_path / "x.zarr"
    z = zarr.open_array(str(store), mode="w", shape=data.shape, chunks=(128, 9, F),
                        dtype="float32")
    z[:] = data
    np.testing.assert_array_equal(rd.predict(masked, str(store), batch_size=32).compute(),
                                  want)
    np.save(tmp_path / "x.npy", data)
    got = rd.predict(masked, str(tmp_path / "x.npy"), batch_size=32, chunk_size=256)
    assert got.chunks[0] == (256, 256, 88)
    out = tmp_path / "y.zarr"
    rd.write_zarr(got, str(out), ["y"], compute=True)
    np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["y"][:], want)


def test_npy_chunks_are_read_by_the_workers(tmp_path) -> None:
    """A .npy input puts its path in the graph, not its data (no large-graph warning),
    and reads back exactly; changing the file changes the task keys."""
    import pickle

    big = np.random.default_rng(2).normal(size=(4000, 40, F)).astype(np.float32)  # 1.9 MB
    path = tmp_path / "big.npy"
    np.save(path, big)
    arr = rd.open_input(str(path), chunk_size=1500)
    assert arr.chunks[0] == (1500, 1500, 1000)
    assert len(pickle.dumps(dict(arr.__dask_graph__()))) < 20_000
    np.testing.assert_array_equal(arr.compute(scheduler="sync"), big)
    np.save(path, big[1000:])
    again = rd.open_input(str(path), chunk_size=1500)
    assert again.chunks[0] == (1500, 1500) and again.name != arr.name
    np.testing.assert_array_equal(again.compute(scheduler="sync"), big[1000:])
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="Cannot memory-map"):
        rd.open_input(str(tmp_path / "objects.npy"))


def test_model_file_is_shipped_as_its_bytes(client, masked, data, tmp_path) -> None:
    path = tmp_path / "m.keras"
    masked.save(path)
    got = rd.predict(str(path), data[:100], batch_size=50, chunk_size=50).compute()
    np.testing.assert_array_equal(got, masked.predict(data[:100], batch_size=50, verbose=0))


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    return a == b


def test_trace_stats_tree_equals_one_pass(client, masked, data) -> None:
    from rnnlens import trace_stats

    want = trace_stats.compute(masked, data, batch_size=600)
    got = rd.trace_stats(masked, da.from_array(data, chunks=50), batch_size=16,
                         split_every=3)
    assert set(got) == {"lstm", "gru"} and "memory_length" in got["lstm"]
    ranges = {key: got[key].pop("ranges") for key in got}
    assert _same(got, want)
    assert _same(ranges, _one_pass_ranges(masked, data, [50] * 12, 16))
    assert set(ranges["lstm"]) == {"h", "c", "i", "f", "g", "o"}
    lazy = rd.trace_stats(masked, data, chunk_size=300, compute=False).compute()
    assert _same(lazy.pop("gru")["ranges"],
                 _one_pass_ranges(masked, data, [300, 300], 256)["gru"])


def _one_pass_ranges(model, x, chunks: list, batch_size: int) -> dict:
    """Per-unit min / max of h, c and every gate over the real steps of all of ``x``,
    traced in the batches the chunks make (a batch's size moves values by an ulp)."""
    edges = np.cumsum([0, *chunks])
    batches = [x[i:min(i + batch_size, b)] for a, b in zip(edges[:-1], edges[1:])
               for i in range(a, b, batch_size)]
    traces = [rnnlens.trace(model, batch) for batch in batches]
    out = {}
    for key, tr in traces[0].items():
        every = [t[key] for t in traces]
        real = np.concatenate([t.mask for t in every]).astype(bool)           # (N, T)
        names = ["h", *(["c"] if tr.c is not None else []), *tr.gates]
        out[key] = {}
        for name in names:
            v = np.concatenate([getattr(t, name) if name in ("h", "c") else t.gates[name]
                                for t in every])                             # (N, T, u)
            out[key][name] = {"min": v[real].min(0), "max": v[real].max(0)}
    return out


@given(draw=st.data())
@settings(max_examples=25, deadline=None)
def test_ranges_merge_in_any_order_as_one_pass(masked, data, draw) -> None:
    """Chunks of any sizes merged in any order give the one-pass ranges exactly;
    all-padding chunks (no real step) leave them unchanged and alone give NaN."""
    from rnnlens.distributed._worker import merge_stats, stats_chunk, stats_result

    n = draw.draw(st.integers(2, 60))
    x = data[:n].copy()
    cuts = sorted(draw.draw(st.sets(st.integers(1, n - 1), max_size=5)))
    chunks = np.split(x, cuts)
    parts = [stats_chunk(_Blob(masked), 7, c) for c in chunks]
    parts.append(stats_chunk(_Blob(masked), 7, np.zeros((3, 9, F), np.float32)))
    order = draw.draw(st.permutations(range(len(parts))))
    merged = parts[order[0]]
    for k in order[1:]:
        merged = merge_stats(merged, parts[k]) if draw.draw(st.booleans()) else \
            merge_stats(parts[k], merged)
    got = {key: value["ranges"] for key, value in stats_result(merged).items()}
    assert _same(got, _one_pass_ranges(masked, x, [len(c) for c in chunks], 7))
    alone = stats_result(parts[-1])["gru"]["ranges"]["h"]
    assert np.isnan(alone["min"]).all() and np.isnan(alone["max"]).all()


class _Blob:
    """Stands in for a ModelBlob: the worker functions call ``model_of(blob)``."""

    def __init__(self, model):
        self.digest, self.model = f"test-{id(model)}", model

    def load(self):
        return self.model


@pytest.mark.parametrize("call, error", [
    (lambda m, x: rd.predict(m, [x, x]), ValueError),
    (lambda m, x: rd.predict(m, da.zeros((0, 9, F), chunks=1)), ValueError),
    (lambda m, x: rd.predict(m, x, batch_size=0), ValueError),
    (lambda m, x: rd.predict(m, x, chunk_size=-1), ValueError),
    (lambda m, x: rd.predict(m, "/nonexistent/x.zarr"), ValueError),
    (lambda m, x: rd.predict(m, 3.5), TypeError),
    (lambda m, x: rd.predict("not a model", x), ValueError),
    (lambda m, x: rd.predict(object(), x), TypeError),
    (lambda m, x: rd.trace_stats(m, x, split_every=1), ValueError),
])
def test_bad_arguments_are_clear_errors(masked, data, call, error) -> None:
    with pytest.raises(error):
        call(masked, data[:10])


def test_missing_extra_names_it() -> None:
    with pytest.raises(ImportError, match=r"rnnlens\[dask\]"):
        rd._require("no_such_package_for_rnnlens")


def test_import_rnnlens_stays_numpy_only() -> None:
    code = ("import sys, rnnlens, rnnlens.distributed, rnnlens.serve; "
            "import rnnlens.commands.predict, rnnlens.commands.serve; "
            "bad = [m for m in ('dask', 'distributed', 'zarr', 'starlette', 'uvicorn', "
            "'websockets') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rnnlens", "predict", *args],
                          capture_output=True, text=True, timeout=300)


def test_cli_predict_zarr_on_the_scheduler(client, masked, data, tmp_path) -> None:
    model = tmp_path / "m.keras"
    masked.save(model)
    store = tmp_path / "x.zarr"
    z = zarr.open_array(str(store), mode="w", shape=data.shape, chunks=(200, 9, F),
                        dtype="float32")
    z[:] = data
    out = tmp_path / "y.zarr"
    done = _cli(str(model), str(store), "-o", str(out), "--scheduler",
                client.scheduler.address)
    assert done.returncode == 0, done.stderr
    assert "100% Completed" in done.stdout and "wrote 1 output(s)" in done.stdout
    group = zarr.open_group(str(out), mode="r")                # chunks of 200: not batch-
    np.testing.assert_allclose(group["output_0_dense_0"][:],     # aligned, so within 1e-7
                               masked.predict(data, batch_size=32, verbose=0), atol=1e-7,
                               rtol=0)
    missing = _cli(str(model), str(store))
    assert missing.returncode == 1 and "-o OUT.zarr" in missing.stderr


@pytest.mark.slow
def test_cli_predict_npy_on_a_local_cluster(masked, data, tmp_path) -> None:
    model = tmp_path / "m.keras"
    masked.save(model)
    np.save(tmp_path / "x.npy", data)
    out = tmp_path / "y.zarr"
    done = _cli(str(model), str(tmp_path / "x.npy"), "-o", str(out), "--workers", "2",
                "--chunk-size", "160", "--batch-size", "16", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "local Dask cluster of 2 worker" in done.stderr
    np.testing.assert_array_equal(zarr.open_group(str(out), mode="r")["output_0_dense_0"][:],
                                  masked.predict(data, batch_size=16, verbose=0))
