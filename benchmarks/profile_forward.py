#!/usr/bin/env python
"""Where rnnlens's LSTM forward pass spends its time (a developer tool).

For each size it times, with numpy's OpenBLAS at 1 and at 2 threads:

* ``layer(x)``: the whole eager call;
* ``recurrence.run``: the loop without the layer's checks;
* ``project``: the input half, one (T*B, F) @ (F, 4u) multiply;
* ``loop``: the T calls of the cell's step function;
* each NumPy operation of one step, run T times alone ("op sum" is their total;
  "loop - op sum" is what Python costs per call: closures, views, dispatch).

Then a cProfile of many calls of the smallest case, which shows the fixed cost
of one layer call. This reads rnnlens internals (``cell.packed``, ``stepper``,
``recurrence.run``), so it follows src/rnnlens/cells/lstm.py as of writing.

    python benchmarks/profile_forward.py [--sizes 1x200x64x256,256x200x64x256]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_forward import set_blas_threads  # noqa: E402

from rnnlens import recurrence  # noqa: E402
from rnnlens.layers import LSTM  # noqa: E402

DEFAULT_SIZES = "1x3x1x1,1x50x8x32,1x200x64x256,32x50x16x64,64x100x32x128,256x200x64x256"


def median_of(fn, budget: float = 0.3, min_runs: int = 3) -> float:
    """Median seconds of ``fn`` (enough runs to fill ``budget``)."""
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < budget and len(times) < 200):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def step_ops(b: int, u: int, uu: np.ndarray, seq: bool) -> dict:
    """The operations of one fused LSTM step, each as a closure on fresh buffers."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((b, u)).astype(np.float32) * 0.1
    c = h.copy()
    z = np.empty((b, 4 * u), np.float32)
    xp = rng.standard_normal((b, 4 * u)).astype(np.float32)
    ig, hn, cn = (np.empty((b, u), np.float32) for _ in range(3))
    out = np.empty((b, 5, u), np.float32)
    ops = {
        "h@U matmul": lambda: np.matmul(h, uu, out=z),
        "z += xp": lambda: z.__iadd__(xp),
        "tanh(z) 4u": lambda: np.tanh(z, out=z),
        "sig *=.5 +=.5": lambda: (z[:, :3 * u].__imul__(0.5), z[:, :3 * u].__iadd__(0.5)),
        "f*c": lambda: np.multiply(z[:, u:2 * u], c, out=cn),
        "i*g": lambda: np.multiply(z[:, :u], z[:, 3 * u:], out=ig),
        "c += ig": lambda: cn.__iadd__(ig),
        "tanh(c)": lambda: np.tanh(cn, out=hn),
        "h *= o": lambda: hn.__imul__(z[:, 2 * u:3 * u]),
    }
    if seq:
        ops["seq[:, t] = h"] = lambda: out.__setitem__((slice(None), 2), hn)
    return ops


def profile_size(b: int, t: int, f: int, u: int, threads: int) -> dict:
    set_blas_threads(threads)
    x = np.random.default_rng(1).standard_normal((b, t, f)).astype(np.float32)
    layer = LSTM(u)
    layer(x)
    cell = layer.cell
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))
    states0 = cell.get_initial_state(b)
    _, uu, _ = cell.packed()
    row = {"layer(x)": median_of(lambda: layer(x)),
           "run": median_of(lambda: recurrence.run(cell, x, states0)),
           "project": median_of(lambda: cell.project(xs, None))}
    xp = cell.project(xs, None)
    step = cell.stepper(b, None)
    bufs = [[np.empty((b, u), np.float32) for _ in range(2)] for _ in range(2)]
    z = np.empty((b, 4 * u), np.float32)

    def loop():
        prev = states0
        for k in range(t):
            cur = bufs[k % 2]
            step(xp[k], prev, cur, z)
            prev = cur

    row["loop"] = median_of(loop)
    ops = {}
    for name, op in step_ops(b, u, uu, seq=False).items():
        ops[name] = median_of(lambda: [op() for _ in range(t)], budget=0.15)
    row["ops"] = ops
    row["op sum"] = sum(ops.values())
    return row


def report(size: str, rows: dict) -> None:
    b, t, f, u = size
    print(f"\n== B={b} T={t} F={f} u={u}  (ms per call; per step in brackets)")
    keys = ["layer(x)", "run", "project", "loop", "op sum"]
    print(f"  {'':<16}" + "".join(f"{f'{n} thr':>22}" for n in rows))
    for k in keys:
        print(f"  {k:<16}" + "".join(
            f"{r[k] * 1e3:>12.3f} [{r[k] / t * 1e6:6.1f}us]" for r in rows.values()))
    first = next(iter(rows.values()))
    print(f"  {'loop - op sum':<16}" + "".join(
        f"{(r['loop'] - r['op sum']) * 1e3:>12.3f} [{(r['loop'] - r['op sum']) / t * 1e6:6.1f}us]"
        for r in rows.values()))
    for op in first["ops"]:
        print(f"    {op:<14}" + "".join(
            f"{r['ops'][op] * 1e3:>12.3f} [{r['ops'][op] / t * 1e6:6.1f}us]"
            for r in rows.values()))


def cprofile_small(calls: int = 3000) -> None:
    x = np.array([0.1, 0.2, 0.3], np.float32).reshape(1, 3, 1)
    layer = LSTM(1)
    layer(x)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        layer(x)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(18)
    print(f"\n== cProfile: {calls} calls of LSTM(1) on the tutorial input (sorted by tottime)")
    print("\n".join(buf.getvalue().splitlines()[4:]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="BxTxFxU,... (default: the grid)")
    ap.add_argument("--threads", default="1,2", help="OpenBLAS thread counts to compare")
    ap.add_argument("--no-cprofile", action="store_true")
    args = ap.parse_args()
    threads = [int(n) for n in args.threads.split(",")]
    for spec in args.sizes.split(","):
        size = tuple(int(v) for v in spec.lower().split("x"))
        report(size, {n: profile_size(*size, threads=n) for n in threads})
    set_blas_threads(max(threads))
    if not args.no_cprofile:
        cprofile_small()
    return 0


if __name__ == "__main__":
    sys.exit(main())
