#!/usr/bin/env python
"""Fixed costs: cold start, streaming latency, and the tutorial's ``predict``.

* cold start: a fresh interpreter imports rnnlens, builds ``LSTM(64)`` and predicts one
  batch; its wall and CPU time (interpreter start-up not counted) and peak memory (VmHWM),
  median of ``--runs`` processes, then the slowest imports (``python -X importtime``);
* streaming: ``layer.step`` of an ``LSTM(64)`` at batch 1 (32 features), median wall
  and CPU microseconds per step on the C and NumPy paths, and
  ``torch.nn.LSTMCell`` beside it;
* the seed tutorial (``LSTM(1)`` on ``[0.1, 0.2, 0.3]``): rnnlens ``predict`` vs Keras
  ``predict``, in wall time and in CPU time (all threads of the process).

``--single-thread`` runs the streaming and tutorial figures with one thread in every
framework (OpenBLAS, rnnlens's C loops, torch, TensorFlow), as the other benchmarks'
flag does, and adds a cold start with ``OPENBLAS_NUM_THREADS=1`` beside the as-is one.

    .venv/bin/python benchmarks/bench_startup.py [--runs 7] [--blas-env unset]
                                                 [--single-thread]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402

from rnnlens import backend  # noqa: E402

#: Peak memory is this process's VmHWM: ru_maxrss would count the parent's memory too
#: (Linux keeps the larger of the two across the fork and exec of a subprocess).
PEAK = """
def peak_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
"""

COLD = PEAK + """
import json, time
t0, c0 = time.perf_counter(), time.process_time()
import numpy as np
t1 = time.perf_counter()
import rnnlens as keras
t2 = time.perf_counter()
inputs = keras.Input((10, 8))
model = keras.Model(inputs, keras.layers.LSTM(64)(inputs))
model.predict(np.zeros((4, 10, 8), np.float32), verbose=0)
t3, c3 = time.perf_counter(), time.process_time()
print(json.dumps({"numpy": t1 - t0, "rnnlens": t2 - t1, "build+predict": t3 - t2,
                  "total": t3 - t0, "total_cpu": c3 - c0, "kernel": keras.backend.kernel(),
                  "max_rss_mb": peak_mb()}))
"""


def env(**extra: str) -> dict:
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(C.REPO / "src"), os.environ.get("PYTHONPATH")])), **extra)


def cold_start(runs: int, **extra: str) -> dict:
    """Median figures of ``runs`` fresh processes (``extra``: environment variables)."""
    samples = []
    for k in range(runs + 1):                      # the first run warms the file cache
        out = subprocess.run([sys.executable, "-c", COLD], env=env(**extra),
                             capture_output=True, text=True, check=True).stdout
        if k:
            samples.append(json.loads(out.strip().splitlines()[-1]))
    keys = ("numpy", "rnnlens", "build+predict", "total", "total_cpu", "max_rss_mb")
    result = {k: statistics.median(s[k] for s in samples) for k in keys}
    result["kernel"] = samples[-1]["kernel"]
    baseline = subprocess.run([sys.executable, "-c", PEAK + "print(peak_mb())"],
                              capture_output=True, text=True)
    result["python_rss_mb"] = float(baseline.stdout.strip())
    return result


def slowest_imports(n: int = 12) -> list[tuple[float, float, str]]:
    """(self ms, cumulative ms, module) of the slowest imports under ``import rnnlens``."""
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", "import rnnlens"],
                         env=env(), capture_output=True, text=True).stderr
    rows = []
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            rows.append((int(m.group(1)) / 1e3, int(m.group(2)) / 1e3, m.group(3)))
    return sorted(rows, reverse=True)[:n]


def step_latency(kernel: str, steps: int = 2000, threads: int | None = None
                 ) -> tuple[float, float]:
    """(median wall us per step, CPU us per step: the median over blocks of 50 steps,
    which other processes move less on a busy machine)."""
    from rnnlens.layers import LSTM

    backend.set_kernel(kernel, threads=threads if kernel == "c" else None)
    layer = LSTM(64)
    layer.build((None, None, 32))
    xs = np.random.default_rng(0).uniform(-1, 1, (steps + 200, 1, 32)).astype(np.float32)
    states, times, blocks, cpu0 = None, [], [], 0.0
    for t in range(len(xs)):
        if t % 50 == 0:
            if t > 200:
                blocks.append((time.process_time() - cpu0) / 50)
            cpu0 = time.process_time()
        t0 = time.perf_counter()
        _, states = layer.step(xs[t], states)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[200:]) * 1e6, statistics.median(blocks) * 1e6


def torch_step_latency(steps: int = 2000) -> tuple[float, float] | None:
    try:
        import torch
    except ImportError:
        return None
    cell = torch.nn.LSTMCell(32, 64)
    xs = torch.from_numpy(np.random.default_rng(0).uniform(-1, 1, (steps + 200, 1, 32))
                          .astype(np.float32))
    state, times = None, []
    with torch.inference_mode():
        blocks, cpu0 = [], 0.0
        for t in range(len(xs)):
            if t % 50 == 0:
                if t > 200:
                    blocks.append((time.process_time() - cpu0) / 50)
                cpu0 = time.process_time()
            t0 = time.perf_counter()
            state = cell(xs[t], state)
            state[0].numpy()
            times.append(time.perf_counter() - t0)
    return statistics.median(times[200:]) * 1e6, statistics.median(blocks) * 1e6


def tutorial_predict(budget: float, keras: bool = True) -> dict:
    import rnnlens as rn

    x = np.array([0.1, 0.2, 0.3], np.float32).reshape(1, 3, 1)
    inputs = rn.Input((3, 1))
    model = rn.Model(inputs, rn.layers.LSTM(1)(inputs))
    out = {"rnnlens_ms": C.measure(lambda: model.predict(x, verbose=0), budget)["median_ms"]}
    if not keras:
        return out
    try:
        import keras as k
    except ImportError:
        return out
    k_in = k.Input((3, 1))
    k_model = k.Model(k_in, k.layers.LSTM(1)(k_in))
    k_model.set_weights(model.get_weights())
    out["keras_ms"] = C.measure(lambda: k_model.predict(x, verbose=0), budget * 3)["median_ms"]
    return out


def _print_cold(cold: dict, runs: int, label: str) -> None:
    print(f"cold start{label} (fresh process, median of {runs}): import numpy "
          f"{cold['numpy']:.3f} s + import rnnlens {cold['rnnlens']:.3f} s + build LSTM(64) "
          f"and predict one batch {cold['build+predict']:.3f} s = {cold['total']:.3f} s "
          f"({cold['total_cpu']:.3f} s of CPU); "
          f"peak memory {cold['max_rss_mb']:.1f} MB (a bare interpreter: "
          f"{cold['python_rss_mb']:.1f} MB); kernel {cold['kernel']}")


def _one_thread_everywhere(with_keras: bool) -> None:
    """``--single-thread``: TensorFlow's pools are fixed when it starts, so it is imported
    (and set) here, before any measurement."""
    fw: dict = {}
    try:
        import torch

        fw["torch"] = torch
    except ImportError:
        pass
    if with_keras:
        try:
            import keras
            import tensorflow as tf

            fw["keras"] = (keras, tf)
        except ImportError:
            pass
    C.single_thread(fw)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7, help="fresh processes for the cold start")
    ap.add_argument("--no-keras", action="store_true")
    ap.add_argument("--single-thread", action="store_true",
                    help="one thread in every framework (streaming, tutorial); also a "
                         "cold start with OPENBLAS_NUM_THREADS=1")
    ap.add_argument("--json", metavar="PATH")
    C.add_blas_env_flag(ap)
    args = ap.parse_args(argv)
    C.apply_blas_env(args.blas_env)
    C.header("rnnlens fixed costs" + (" -- one thread each" if args.single_thread else ""))
    cold = {"as_is": cold_start(args.runs)}
    _print_cold(cold["as_is"], args.runs, "")
    if args.single_thread:
        cold["openblas_1"] = cold_start(args.runs, OPENBLAS_NUM_THREADS="1")
        _print_cold(cold["openblas_1"], args.runs, " with OPENBLAS_NUM_THREADS=1")
    print("slowest imports under `import rnnlens` (self ms, cumulative ms):")
    for own, cum, name in slowest_imports():
        print(f"  {own:7.2f} {cum:8.2f}  {name}")
    if args.single_thread:
        _one_thread_everywhere(not args.no_keras)
    kernels = ["c", "numpy"] if backend.kernel() == "c" else ["numpy"]
    steps = {k: step_latency(k, threads=1 if args.single_thread else None) for k in kernels}
    torch_us = torch_step_latency()
    print("streaming LSTM(64).step at batch 1 (median wall us/step; CPU us/step in "
          "brackets): " + ", ".join(f"rnnlens {k} {v[0]:.1f} ({v[1]:.1f})"
                                    for k, v in steps.items())
          + (f", torch.nn.LSTMCell {torch_us[0]:.1f} ({torch_us[1]:.1f})"
             if torch_us is not None else ""))
    backend.set_kernel(kernels[0], threads=1 if args.single_thread and kernels[0] == "c"
                       else None)
    tut = tutorial_predict(0.5, keras=not args.no_keras)
    C.use_cpu_clock()                  # the same in CPU time (robust on a busy machine)
    tut_cpu = tutorial_predict(0.5, keras=not args.no_keras)
    for label, got in (("wall time", tut), ("CPU time", tut_cpu)):
        ratio = got["keras_ms"] / got["rnnlens_ms"] if "keras_ms" in got else None
        print(f"tutorial predict ({label}): rnnlens {got['rnnlens_ms'] * 1e3:.1f} us" + (
            f", Keras {got['keras_ms']:.1f} ms: {ratio:.0f}x" if ratio else ""))
    print(f"load average: {C.load_average()}")
    tut = {"wall": tut, "cpu": tut_cpu}
    if args.json:
        Path(args.json).write_text(json.dumps({"cold": cold, "step_us": steps,
                                               "torch_step_us": torch_us, "tutorial": tut,
                                               "single_thread": args.single_thread},
                                              indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
