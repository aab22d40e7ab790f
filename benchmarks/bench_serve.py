#!/usr/bin/env python
"""Load benchmark of ``rnnlens serve``: 1, 100 and 1,000 concurrent sequences of LSTM(64).

The server runs as its own process (``python -m rnnlens serve MODEL``, localhost
only); this process is the load: N sequences, each a loop that sends one time step
over a WebSocket, waits for its output and sends the next (closed loop, so the
offered load grows with N). The sequences share ``min(N, 50)`` connections (as
gateways multiplex them). Each level runs ``--seconds`` after a short warm-up and is
bounded in time and count. Measured per level:

* ``steps/s``: answered steps per second;
* ``p50 / p99 ms``: the client's round trip per step (send to answer);
* ``server p50 / p99 ms``: the server's step latency (queued to computed), from
  ``/metrics``'s histogram;
* ``mean batch``: sequences per model step the batcher formed (``/metrics``);
* ``server CPU µs/step``: the server process's CPU time per answered step (Linux
  ``/proc``), the cost that does not depend on how busy the machine is;
* ``exact``: the first sequence's outputs against offline ``model.predict`` of its
  steps (max |diff|).

Usage:
    python benchmarks/bench_serve.py                       # levels 1, 100, 1000; 8 s each
    python benchmarks/bench_serve.py --levels 1 100 --seconds 3 --batch-delay-ms 0
    python benchmarks/bench_serve.py --json serve.json

The model: ``Input((None, 16)) -> LSTM(64, return_sequences=True) -> Dense(4)``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import rnnlens  # noqa: E402
from rnnlens import layers as L  # noqa: E402

FEATURES, UNITS = 16, 64


def build_model(path: str) -> None:
    rnnlens.utils.set_random_seed(0)
    model = rnnlens.Sequential([rnnlens.Input((None, FEATURES)),
                                L.LSTM(UNITS, return_sequences=True), L.Dense(4)])
    model.save(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(model_path: str, port: int, delay_ms: float) -> subprocess.Popen:
    import httpx

    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnlens", "serve", model_path, "--port", str(port),
         "--log-level", "warning", "--batch-delay-ms", str(delay_ms),
         "--max-sequences", "5000", "--idle-timeout", "600"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the server did not start")


def scrape(port: int) -> dict:
    """Batch-size sum/count and the step-latency histogram from /metrics."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    out: dict = {"latency": {}}
    for line in text.splitlines():
        if line.startswith("rnnlens_serve_batch_size_sum"):
            out["batch_sum"] = float(line.split()[-1])
        elif line.startswith("rnnlens_serve_batch_size_count"):
            out["batch_count"] = float(line.split()[-1])
        elif line.startswith("rnnlens_serve_step_latency_seconds_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            out["latency"][bound] = float(line.split()[-1])
    return out


def quantile_from(before: dict, after: dict, q: float) -> float:
    """Prometheus-style quantile of the histogram difference (seconds)."""
    bounds = [b for b in after if b != "+Inf"]
    cum = [after[b] - before.get(b, 0.0) for b in bounds]
    total = after["+Inf"] - before.get("+Inf", 0.0)
    if total <= 0:
        return float("nan")
    rank, lower, prev = q * total, 0.0, 0.0
    for bound, c in zip(bounds, cum):
        if c >= rank:
            upper = float(bound)
            return lower + (upper - lower) * (rank - prev) / max(c - prev, 1e-12)
        lower, prev = float(bound), c
    return float(bounds[-1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; NaN elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


async def run_level(port: int, n: int, seconds: float, warmup: float, pid: int) -> dict:
    from rnnlens.serve.client import Client

    conns = [Client(f"ws://127.0.0.1:{port}/ws") for _ in range(min(n, 50))]
    for c in conns:
        await c.connect()
    rng = np.random.default_rng(n)
    latencies: list[float] = []
    record: dict = {"x": [], "y": []}
    state = {"measuring": False, "stop": False, "steps": 0}

    async def sequence(k: int) -> None:
        client, seq_id = conns[k % len(conns)], f"bench-{n}-{k}"
        first = True
        while not state["stop"]:
            x = rng.normal(size=(1, FEATURES)).astype(np.float32)
            t0 = time.perf_counter()
            answer = await client.step(seq_id, x.tolist(), start=first)
            dt = time.perf_counter() - t0
            first = False
            if k == 0:
                record["x"].append(x[0])
                record["y"].append(answer["y"][0])
            if state["measuring"]:
                latencies.append(dt)
                state["steps"] += 1

    tasks = [asyncio.create_task(sequence(k)) for k in range(n)]
    await asyncio.sleep(warmup)
    before = await asyncio.to_thread(scrape, port)
    state["measuring"], t0, cpu0 = True, time.perf_counter(), cpu_seconds(pid)
    await asyncio.sleep(seconds)
    state["measuring"] = False
    elapsed, cpu = time.perf_counter() - t0, cpu_seconds(pid) - cpu0
    after = await asyncio.to_thread(scrape, port)
    state["stop"] = True
    await asyncio.gather(*tasks)
    for k in range(n):
        await conns[k % len(conns)].end(f"bench-{n}-{k}")
    for c in conns:
        await c.close()
    lat = np.asarray(latencies) * 1e3
    batches = after["batch_count"] - before["batch_count"]
    return {
        "sequences": n, "connections": len(conns), "seconds": round(elapsed, 2),
        "steps": state["steps"], "steps_per_s": round(state["steps"] / elapsed, 1),
        "p50_ms": round(float(np.percentile(lat, 50)), 3),
        "p99_ms": round(float(np.percentile(lat, 99)), 3),
        "server_p50_ms": round(quantile_from(before["latency"], after["latency"], 0.5) * 1e3, 3),
        "server_p99_ms": round(quantile_from(before["latency"], after["latency"], 0.99) * 1e3, 3),
        "mean_batch": round((after["batch_sum"] - before["batch_sum"]) / max(batches, 1), 1),
        "server_cpu_us_per_step": round(cpu / max(state["steps"], 1) * 1e6, 1),
        "record": record,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 100, 1000])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup", type=float, default=1.5)
    parser.add_argument("--batch-delay-ms", type=float, default=2.0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    if max(args.levels) > 2000 or args.seconds > 60:
        parser.error("bounded: at most 2000 sequences and 60 s per level")
    from rnnlens.models import load_model

    folder = tempfile.mkdtemp(prefix="rnnlens-bench-")
    model_path = os.path.join(folder, "lstm64.keras")
    build_model(model_path)
    model = load_model(model_path)
    port = free_port()
    proc = start_server(model_path, port, args.batch_delay_ms)
    rows = []
    try:
        for n in args.levels:
            row = asyncio.run(run_level(port, n, args.seconds, args.warmup, proc.pid))
            rec = row.pop("record")
            want = model.predict(np.asarray(rec["x"])[None], verbose=0)[0]
            row["exact_max_diff"] = float(np.abs(np.asarray(rec["y"], np.float32) - want).max())
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"\nLSTM({UNITS}) on {FEATURES} features, batch delay {args.batch_delay_ms} ms, "
          f"{os.cpu_count()} cores (server and load on the same machine)\n")
    print("| sequences | steps/s | p50 ms | p99 ms | server p50 ms | server p99 ms | "
          "mean batch | server CPU µs/step | max diff |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['sequences']} | {r['steps_per_s']:.0f} | {r['p50_ms']:.2f} | "
              f"{r['p99_ms']:.2f} | {r['server_p50_ms']:.2f} | {r['server_p99_ms']:.2f} | "
              f"{r['mean_batch']:.1f} | {r['server_cpu_us_per_step']:.0f} | "
              f"{r['exact_max_diff']:.1e} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0 if all(r["exact_max_diff"] <= 1e-6 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
