#!/usr/bin/env python
"""Where a recurrent layer's time goes (a developer tool), on both paths.

For each size: the whole ``layer(x)`` on both paths, the C forward loop alone
(``_kernels.forward``, input product included) and the C backward (reverse loop and
weight gradients) with 1 thread and with the automatic thread count (rows or units
split), the NumPy path's input projection, and the matrix products alone at numpy's
sgemm speed (the step's (B, u) @ (u, G) T times, and (T B, F) @ (F, G) once): what is
left above those is the gate arithmetic and overhead. Then a cProfile of many calls of the tutorial model (the fixed cost of
one call).

    python benchmarks/profile_forward.py [--sizes 1x200x64x256,256x200x64x256] [--cell gru]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402

from rnnlens import backend, layers, recurrence  # noqa: E402
from rnnlens.cells import _kernels  # noqa: E402

DEFAULT_SIZES = "1x50x8x32,1x200x64x256,32x50x16x64,64x100x32x128,256x120x7x32,256x200x64x256"
CLASSES = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}


def ms(fn, budget: float = 0.3) -> float:
    return C.measure(fn, budget)["median_ms"]


def profile_size(cell_name: str, b: int, t: int, f: int, u: int) -> dict:
    x = np.random.default_rng(1).standard_normal((b, t, f)).astype(np.float32)
    layer = getattr(layers, CLASSES[cell_name])(u)
    layer(x)
    cell = layer.cell
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))
    states = cell.get_initial_state(b)
    row = {}
    backend.set_kernel("c")
    row["layer(x) c"] = ms(lambda: layer(x))
    spec = cell.kernel_spec()
    width = spec["U"].shape[1]
    record = recurrence.run(cell, x, states, record=True).record
    d_last = np.ones((b, u), np.float32)
    for threads in (1, None):
        backend.set_kernel("c", threads=threads)
        n, split = _kernels.threads_for(b, u, width, spec["kind"] != 1 or spec["reset_after"])
        label = "1 thread" if threads else f"auto: {n} ({'units' if split else 'rows'})"
        row[f"C forward, {label}"] = ms(lambda: _kernels.forward(
            spec["kind"], spec, xs, states, None, None, False, None, None))
        row[f"C backward + weight grads, {label}"] = ms(lambda: _kernels.backward(
            spec["kind"], spec, record, xs, None, d_last, None, False))
    backend.set_kernel("numpy")
    row["layer(x) numpy"] = ms(lambda: layer(x))
    row["numpy: project"] = ms(lambda: cell.project(xs, None))
    backend.set_kernel("c")
    row["sgemm (B,u)@(u,G) x T"] = t * C.sgemm_ms(b, u, width)
    row["sgemm (T B,F)@(F,G)"] = C.sgemm_ms(t * b, f, width)
    return row


def cprofile_small(calls: int = 3000) -> None:
    x = np.array([0.1, 0.2, 0.3], np.float32).reshape(1, 3, 1)
    layer = layers.LSTM(1)
    layer(x)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        layer(x)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(15)
    print(f"\n== cProfile: {calls} calls of LSTM(1) on the tutorial input (by tottime)")
    print("\n".join(buf.getvalue().splitlines()[4:]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="BxTxFxU,... (default: the grid)")
    ap.add_argument("--cell", default="lstm", choices=sorted(CLASSES))
    ap.add_argument("--no-cprofile", action="store_true")
    C.add_blas_env_flag(ap)
    args = ap.parse_args()
    C.apply_blas_env(args.blas_env)
    C.header(f"rnnlens profile ({CLASSES[args.cell]})")
    for spec in args.sizes.split(","):
        b, t, f, u = (int(v) for v in spec.lower().split("x"))
        row = profile_size(args.cell, b, t, f, u)
        print(f"== B={b} T={t} F={f} u={u}   ms per call [us per step]")
        for name, value in row.items():
            print(f"  {name:<34}{value:10.3f}  [{value / t * 1e3:8.2f}]")
    if not args.no_cprofile:
        cprofile_small()
    return 0


if __name__ == "__main__":
    sys.exit(main())
