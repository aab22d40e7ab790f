#!/usr/bin/env python
"""Dask throughput of ``rnnlens.distributed.predict``: 1 vs 2 worker processes.

The data: ``--samples`` sequences of 50 steps x 16 features in a Zarr store on disk,
chunked along samples (``--chunk`` samples per chunk, so many chunks), scored by
``Input((None, 16)) -> LSTM(64, return_sequences=True) -> Dense(4)`` and written back
to Zarr. Measured, after one warm-up run per cluster (worker start-up and the model's
first load are reported apart):

* ``single process``: ``model.predict`` on the whole array in memory (the baseline),
  with every core and with one thread;
* ``Dask, W workers``: ``predict(model, x.zarr) -> to_zarr`` on a ``LocalCluster`` of W
  processes, each pinned to one thread (the C time loop and OpenBLAS; ``--unpinned``
  lets each use every core); samples/s and the speed-up over 1 worker;
* ``CPU ms / 1000 samples``: CPU time spent (this process, or every worker's process,
  Zarr reads and writes included) per 1,000 samples: the cost that does not depend on
  how busy the machine is (wall-clock speed-ups need as many idle cores as workers);
* ``exact``: the Zarr output against the single-process result with the same thread
  settings (bitwise: chunks are multiples of the batch size; the C loop's thread
  split itself moves results by ~1e-7).

Usage:
    python benchmarks/bench_dask.py                       # 40,000 samples, chunks of 2,000
    python benchmarks/bench_dask.py --samples 8000 --chunk 1000 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import rnnlens  # noqa: E402
from rnnlens import layers as L  # noqa: E402

STEPS, FEATURES, UNITS, BATCH = 50, 16, 64, 250


def pin_one_core() -> str:
    """One core's worth of threads in this process: the C time loop and OpenBLAS."""
    from rnnlens import backend
    from rnnlens.serve.server import set_blas_threads

    try:
        backend.set_kernel(backend.kernel(), threads=1)
    except ValueError:
        pass
    set_blas_threads(1)
    return backend.kernel()


def cpu_seconds() -> float:
    """This process's user + system CPU seconds (all its threads)."""
    return time.process_time()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40000)
    parser.add_argument("--chunk", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--unpinned", action="store_true",
                        help="let each process use every core (default: one thread each)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if args.samples > 400000 or max(args.workers) > 8:
        parser.error("bounded: at most 400,000 samples and 8 workers")
    import dask.array as da
    import zarr
    from distributed import Client, LocalCluster

    import rnnlens.distributed as rd

    folder = tempfile.mkdtemp(prefix="rnnlens-dask-")
    try:
        rnnlens.utils.set_random_seed(0)
        model = rnnlens.Sequential([rnnlens.Input((None, FEATURES)),
                                    L.LSTM(UNITS, return_sequences=True), L.Dense(4)])
        x = np.random.default_rng(0).normal(size=(args.samples, STEPS, FEATURES)
                                            ).astype(np.float32)
        store = os.path.join(folder, "x.zarr")
        z = zarr.open_array(store, mode="w", shape=x.shape, chunks=(args.chunk, STEPS, FEATURES),
                            dtype="float32")
        z[:] = x
        t0, c0 = time.perf_counter(), cpu_seconds()
        want = model.predict(x, batch_size=BATCH, verbose=0)
        single, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        rows = [{"config": "single process, every core (in memory)",
                 "seconds": round(single, 2), "samples_per_s": round(args.samples / single),
                 "cpu_ms_per_1000": round(cpu / args.samples * 1e6, 1)}]
        print(json.dumps(rows[-1]), flush=True)
        if not args.unpinned:
            pin_one_core()
            t0, c0 = time.perf_counter(), cpu_seconds()
            again = model.predict(x, batch_size=BATCH, verbose=0)
            single, cpu = time.perf_counter() - t0, cpu_seconds() - c0
            assert np.allclose(again, want, atol=1e-6)
            want = again                     # the same thread settings as the workers
            rows.append({"config": "single process, one thread (in memory)",
                         "seconds": round(single, 2),
                         "samples_per_s": round(args.samples / single),
                         "cpu_ms_per_1000": round(cpu / args.samples * 1e6, 1)})
            print(json.dumps(rows[-1]), flush=True)
        for workers in args.workers:
            t0 = time.perf_counter()
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
            if not args.unpinned:
                client.run(pin_one_core)
            startup = time.perf_counter() - t0
            times = []
            for run in range(2):                                 # warm-up, then measured
                out = os.path.join(folder, f"y{workers}-{run}.zarr")
                c0 = sum(client.run(cpu_seconds).values())
                t0 = time.perf_counter()
                y = rd.predict(model, store, batch_size=BATCH)
                rd.write_zarr(y, out, ["y"], compute=True)
                times.append(time.perf_counter() - t0)
                cpu = sum(client.run(cpu_seconds).values()) - c0     # every worker's
            got = zarr.open_group(out, mode="r")["y"][:]
            client.close()
            cluster.close()
            row = {"config": f"Dask, {workers} worker process(es)",
                   "chunks": int(da.from_zarr(store).numblocks[0]),
                   "startup_s": round(startup, 2), "first_run_s": round(times[0], 2),
                   "seconds": round(times[1], 2),
                   "samples_per_s": round(args.samples / times[1]),
                   "cpu_ms_per_1000": round(cpu / args.samples * 1e6, 1),
                   "bitwise_equal": bool(np.array_equal(got, want)),
                   "max_diff": float(np.abs(got - want).max())}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    base = next((r for r in rows if r["config"].startswith("Dask, 1 ")), None)
    print(f"\n{args.samples} samples x {STEPS} steps x {FEATURES} features "
          f"({x.nbytes / 2**20:.0f} MiB), chunks of {args.chunk}, LSTM({UNITS}), batch "
          f"{BATCH}, {os.cpu_count()} cores\n")
    print("| configuration | seconds | samples/s | speed-up vs 1 worker | CPU ms / 1000 "
          "samples | exact |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        speed = f"{base['seconds'] / r['seconds']:.2f}x" if base and "chunks" in r else "-"
        exact = ("bitwise" if r.get("bitwise_equal") else f"{r.get('max_diff', 0):.1e}") \
            if "chunks" in r else "-"
        print(f"| {r['config']} | {r['seconds']} | {r['samples_per_s']} | {speed} | "
              f"{r['cpu_ms_per_1000']} | {exact} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r.get("bitwise_equal", True) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
