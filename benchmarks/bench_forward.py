#!/usr/bin/env python
"""LSTM inference speed: rnnlens vs Keras 3 (TensorFlow backend) vs PyTorch, in one run.

Every case builds an rnnlens ``LSTM``, copies its weights into a Keras
``LSTM`` (``set_weights``) and a ``torch.nn.LSTM(batch_first=True)``, checks
that every timed path returns the same numbers (max abs difference against
rnnlens's eager call, must be below ``--tol``), and only then times them.
All paths take a float32 NumPy array and return a NumPy array, so
conversion costs are included for every framework alike.

Timed paths:
    rnnlens  ``layer(x)`` (eager) and ``model.predict(x, verbose=0)``
    keras    ``layer(x)`` (eager, op by op), ``model.predict(x, verbose=0)``,
             ``tf.function(layer)`` (graph) and the same with ``jit_compile=True``
             (XLA); "best" is the fastest of these four
    torch    ``with torch.inference_mode(): lstm(x)``

Ratios are other / rnnlens, so a ratio > 1 means rnnlens is faster.
``keras best/rn`` compares Keras's fastest path with rnnlens's eager call;
``predict`` compares the two ``model.predict`` calls (default batch_size 32 in
both, so a batch of 256 runs as 8 chunks in both).

Usage:
    python benchmarks/bench_forward.py             # full grid, a few minutes on 2 cores
    python benchmarks/bench_forward.py --quick     # CI smoke test, < 60 s
    python benchmarks/bench_forward.py --json out.json --only rnnlens,torch
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")       # silence TensorFlow's C++ logging
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np

REPO = Path(__file__).resolve().parent.parent
try:
    import rnnlens  # noqa: F401
except ImportError:                                       # running from a bare checkout
    sys.path.insert(0, str(REPO / "src"))
    import rnnlens  # noqa: F401

FRAMEWORKS = ("rnnlens", "keras", "torch")


# -- cases -------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    batch: int
    steps: int
    features: int
    units: int
    return_sequences: bool = False
    tutorial: bool = False

    @property
    def name(self) -> str:
        base = "tutorial 1x3x1 u1" if self.tutorial else (
            f"{self.batch}x{self.steps}x{self.features} u{self.units}")
        return base + (" seq" if self.return_sequences else "")

    def data(self) -> np.ndarray:
        if self.tutorial:           # the seed tutorial's input, shaped (1, 3, 1)
            return np.array([0.1, 0.2, 0.3], dtype=np.float32).reshape(1, 3, 1)
        rng = np.random.default_rng(self.batch * 1_000_003 + self.steps * 101 + self.units)
        shape = (self.batch, self.steps, self.features)
        return rng.standard_normal(shape).astype(np.float32)


FULL_CASES = [
    Case(1, 3, 1, 1, tutorial=True),
    Case(1, 3, 1, 1, return_sequences=True, tutorial=True),
    Case(1, 50, 8, 32),
    Case(1, 200, 64, 256),
    Case(32, 50, 16, 64),
    Case(32, 50, 16, 64, return_sequences=True),
    Case(64, 100, 32, 128),
    Case(256, 200, 64, 256),
    Case(256, 200, 64, 256, return_sequences=True),
]

QUICK_CASES = [
    Case(1, 3, 1, 1, tutorial=True),
    Case(1, 50, 8, 32),
    Case(32, 50, 16, 64, return_sequences=True),
]


# -- timing ------------------------------------------------------------------

def _cpu_busy_s() -> float | None:
    """Seconds of CPU time all processes on the machine used so far (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields[:8]]           # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def measure(fn: Callable[[], Any], budget: float, min_repeats: int = 3,
            max_repeats: int = 25, min_repeat_time: float = 0.01) -> dict:
    """timeit-style: per-call seconds over repeats of ``number`` calls each.

    One untimed warm-up call, then doubling probes to size ``number`` (calls
    per repeat, so a repeat lasts about ``min_repeat_time``) and the repeat
    count (as many as fit in ``budget``, clamped to [min_repeats, max_repeats]).
    The garbage collector is off while timing, as in ``timeit``.

    ``foreign_load`` is the CPU other processes used meanwhile, in cores
    (/proc/stat minus this process); on a shared 2-core machine anything
    above ~0.3 means the numbers are disturbed.
    """
    fn()
    gc.collect()
    number = 1
    while True:                                    # autorange, as timeit does
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= min_repeat_time or number >= 1 << 20:
            break
        number *= 2
    probe = max(elapsed / number, 1e-9)
    number = max(1, int(round(min_repeat_time / probe)))
    repeats = int(budget / (probe * number))
    repeats = max(min_repeats, min(max_repeats, repeats))
    per_call = []
    gc_was_on = gc.isenabled()
    gc.disable()
    busy0, own0, wall0 = _cpu_busy_s(), _own_cpu_s(), time.perf_counter()
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            per_call.append((time.perf_counter() - t0) / number)
    finally:
        if gc_was_on:
            gc.enable()
    wall = time.perf_counter() - wall0
    busy1, own1 = _cpu_busy_s(), _own_cpu_s()
    foreign = None
    if busy0 is not None and busy1 is not None and wall >= 0.05:
        foreign = max(0.0, ((busy1 - busy0) - (own1 - own0)) / wall)
    q = statistics.quantiles(per_call, n=4) if len(per_call) > 1 else per_call * 3
    return {"median_ms": statistics.median(per_call) * 1e3, "min_ms": min(per_call) * 1e3,
            "q1_ms": q[0] * 1e3, "q3_ms": q[2] * 1e3, "repeats": repeats, "number": number,
            "foreign_load": foreign}


def wait_until_quiet(max_wait: float, threshold: float = 0.15, window: float = 1.0) -> float:
    """Waits (up to ``max_wait`` s) until other processes use < ``threshold`` cores.

    Returns the seconds waited. For shared machines, where other people's jobs
    make a 2-core box's timings swing by 10x (see ``foreign_load``).
    """
    start = time.perf_counter()
    while time.perf_counter() - start < max_wait:
        busy0, own0 = _cpu_busy_s(), _own_cpu_s()
        if busy0 is None:
            break
        time.sleep(window)
        if (_cpu_busy_s() - busy0) - (_own_cpu_s() - own0) < threshold * window:
            break
    return time.perf_counter() - start


def measure_quiet(fn: Callable[[], Any], budget: float, retries: int = 2,
                  threshold: float = 0.3) -> dict:
    """``measure``, repeated (up to ``retries`` times) while other processes load the CPU.

    Keeps the attempt with the least foreign load; ``attempts`` says how many ran.
    """
    best = None
    for attempt in range(1 + retries):
        stats = measure(fn, budget)
        stats["attempts"] = attempt + 1
        load = stats["foreign_load"]
        if best is None or (load or 0.0) < (best["foreign_load"] or 0.0):
            best = stats
        if load is None or load < threshold:
            break
        time.sleep(0.5)
    best["attempts"] = stats["attempts"]
    return best


# -- environment -------------------------------------------------------------

def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _openblas_lib() -> ctypes.CDLL | None:
    """The OpenBLAS that numpy loaded (found through /proc/self/maps), or None."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()
                     and line.split()[-1].startswith("/")}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _openblas_fn(name: str) -> Callable | None:
    lib = _openblas_lib()
    if lib is None:
        return None
    for prefix, suffix in (("scipy_openblas_", "64_"), ("openblas_", "64_"),
                           ("openblas_", ""), ("scipy_openblas_", "")):
        fn = getattr(lib, f"{prefix}{name}{suffix}", None)
        if fn is not None:
            return fn
    return None


def set_blas_threads(n: int) -> bool:
    """Sets numpy's OpenBLAS thread count without threadpoolctl (False if not OpenBLAS)."""
    fn = _openblas_fn("set_num_threads")
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int]
    fn(int(n))
    return True


def blas_info() -> dict:
    """numpy's BLAS: the build's name and, for OpenBLAS, the kernel it runs and threads."""
    info: dict[str, Any] = {}
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        info["name"], info["version"] = blas.get("name"), blas.get("version")
    except (AttributeError, KeyError, TypeError):
        info["name"] = "unknown"
    np.ones((4, 4), np.float32) @ np.ones((4, 4), np.float32)          # make sure it is loaded
    corename = _openblas_fn("get_corename")
    if corename is not None:
        corename.restype = ctypes.c_char_p
        info["openblas_core"] = corename().decode()
        threads = _openblas_fn("get_num_threads")
        if threads is not None:
            threads.restype = ctypes.c_int
            info["threads"] = threads()
    try:                                                  # optional, never required
        import threadpoolctl
        info["threadpoolctl"] = [
            {k: p.get(k) for k in ("internal_api", "num_threads", "architecture", "filepath")}
            for p in threadpoolctl.threadpool_info()]
    except ImportError:
        pass
    return info


def environment(fw: dict) -> dict:
    env = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": cpu_count(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "env": {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "unset"),
                **{k: os.environ[k] for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                              "MKL_NUM_THREADS") if k in os.environ}},
        "rnnlens": getattr(rnnlens, "__version__", "?"),
    }
    if "keras" in fw:
        keras, tf = fw["keras"]
        env["keras"] = f"{keras.__version__} (backend {keras.backend.backend()}, "\
                       f"tensorflow {tf.__version__})"
    if "torch" in fw:
        torch = fw["torch"]
        env["torch"] = f"{torch.__version__} (threads {torch.get_num_threads()})"
    return env


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def import_times(modules: list[str], runs: int) -> dict[str, float | None]:
    """Median seconds of ``import <module>`` in a fresh interpreter (None: not installed).

    The interpreter start-up is not counted; a first untimed run warms the
    file cache when ``runs`` > 1.
    """
    code = ("import time, sys; t = time.perf_counter(); import {m}; "
            "print(time.perf_counter() - t)")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])))
    out: dict[str, float | None] = {}
    for m in modules:
        samples = []
        for k in range(runs + (1 if runs > 1 else 0)):
            proc = subprocess.run([sys.executable, "-c", code.format(m=m)], env=env,
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                samples = []
                break
            if runs > 1 and k == 0:
                continue
            samples.append(float(proc.stdout.strip().splitlines()[-1]))
        out[m] = statistics.median(samples) if samples else None
    return out


# -- frameworks --------------------------------------------------------------

def load_frameworks(only: list[str]) -> tuple[dict, dict]:
    """Imports the frameworks; returns (loaded, {name: why skipped})."""
    loaded: dict[str, Any] = {"rnnlens": rnnlens}
    skipped: dict[str, str] = {}
    if "keras" in only:
        try:
            import keras
            import tensorflow as tf
            loaded["keras"] = (keras, tf)
        except ImportError:
            skipped["keras"] = "not installed"
        except Exception as err:                   # installed but broken
            skipped["keras"] = f"failed to import ({type(err).__name__}: {err})"
    if "torch" in only:
        try:
            import torch
            torch.set_num_threads(cpu_count())
            loaded["torch"] = torch
        except ImportError:
            skipped["torch"] = "not installed"
        except Exception as err:
            skipped["torch"] = f"failed to import ({type(err).__name__}: {err})"
    for name in FRAMEWORKS:
        if name not in only and name != "rnnlens":
            skipped[name] = "not selected"
    return loaded, skipped


def build_rnnlens(case: Case, seed: int):
    from rnnlens.layers import LSTM, Input
    from rnnlens.models import Model
    from rnnlens.utils import set_random_seed

    set_random_seed(seed)
    inp = Input(shape=(case.steps, case.features))
    layer = LSTM(case.units, return_sequences=case.return_sequences)
    model = Model(inp, layer(inp))
    return layer, model


def keras_paths(keras, tf, case: Case, weights: list[np.ndarray], xla: bool) -> dict:
    inp = keras.Input(shape=(case.steps, case.features))
    layer = keras.layers.LSTM(case.units, return_sequences=case.return_sequences)
    model = keras.Model(inp, layer(inp))
    layer.set_weights(weights)
    sig = [tf.TensorSpec((case.batch, case.steps, case.features), tf.float32)]
    graph = tf.function(layer, input_signature=sig)
    paths = {
        "keras eager": lambda x: np.asarray(layer(x)),
        "keras predict": lambda x: model.predict(x, verbose=0),
        "keras tf.function": lambda x: graph(x).numpy(),
    }
    if xla:
        compiled = tf.function(layer, input_signature=sig, jit_compile=True)
        paths["keras xla"] = lambda x: compiled(x).numpy()
    return paths


def torch_path(torch, case: Case, weights: list[np.ndarray]) -> dict:
    kernel, recurrent, bias = weights
    lstm = torch.nn.LSTM(case.features, case.units, batch_first=True)
    with torch.no_grad():         # Keras (F, 4u) i,f,c,o == torch (4u, F) i,f,g,o transposed
        lstm.weight_ih_l0.copy_(torch.from_numpy(np.ascontiguousarray(kernel.T)))
        lstm.weight_hh_l0.copy_(torch.from_numpy(np.ascontiguousarray(recurrent.T)))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
    lstm.eval()
    seq = case.return_sequences

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out, (h, _) = lstm(torch.from_numpy(x))
            return (out if seq else h[0]).numpy()

    return {"torch": run}


# -- one case ----------------------------------------------------------------

def run_case(case: Case, fw: dict, budget: float, tol: float, xla: bool, seed: int,
             retries: int = 2) -> dict:
    x = case.data()
    layer, model = build_rnnlens(case, seed)
    weights = layer.get_weights()
    paths: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "rnnlens eager": layer,
        "rnnlens predict": lambda a: model.predict(a, verbose=0),
    }
    if "keras" in fw:
        paths.update(keras_paths(*fw["keras"], case, weights, xla))
    if "torch" in fw:
        paths.update(torch_path(fw["torch"], case, weights))

    reference = np.asarray(layer(x))
    result: dict[str, Any] = {"case": case.name, "shape": [case.batch, case.steps,
                              case.features, case.units],
                              "return_sequences": case.return_sequences,
                              "paths": {}, "max_abs_diff": {}, "ok": True}
    for name, fn in list(paths.items()):           # verify first: same numbers everywhere
        try:
            out = np.asarray(fn(x))
        except Exception as err:                   # e.g. XLA missing: report, keep going
            print(f"  ERROR {case.name}: {name} failed: {type(err).__name__}: {err}",
                  flush=True)
            result.setdefault("errors", {})[name] = f"{type(err).__name__}: {err}"
            del paths[name]
            continue
        if out.shape != reference.shape:
            diff = float("inf")
        else:
            diff = float(np.max(np.abs(out.astype(np.float64) - reference)))
        result["max_abs_diff"][name] = diff
        if not diff < tol:
            result["ok"] = False
            print(f"  MISMATCH {case.name}: {name} differs from rnnlens by {diff:.3g} "
                  f"(shape {out.shape} vs {reference.shape}); not timed", flush=True)
    for name, fn in paths.items():
        if result["max_abs_diff"][name] < tol:
            result["paths"][name] = measure_quiet(lambda: fn(x), budget, retries)
    best = keras_best(result["paths"])
    result["keras_best"] = best[0] if best else None
    return result


# -- report ------------------------------------------------------------------

def _ms(stats: dict | None) -> str:
    if stats is None:
        return "-"
    v = stats["median_ms"]
    return f"{v:.4f}" if v < 0.1 else f"{v:.3f}" if v < 10 else f"{v:.1f}"


def _ratio(num: dict | None, den: dict | None) -> str:
    if num is None or den is None:
        return "-"
    return f"{num['median_ms'] / den['median_ms']:.2f}"


def keras_best(paths: dict) -> tuple[str, dict] | None:
    ks = [(n, s) for n, s in paths.items() if n.startswith("keras")]
    return min(ks, key=lambda p: p[1]["median_ms"]) if ks else None


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)   # noqa: E731
                              for i, (c, w) in enumerate(zip(r, widths)))
    line = "-" * len(fmt(header))
    return "\n".join([fmt(header), line] + [fmt(r) for r in rows])


def report(results: list[dict], fw: dict, skipped: dict) -> str:
    have_k, have_t = "keras" in fw, "torch" in fw
    header = ["case (BxTxF units)", "rn eager", "rn predict"]
    if have_k:
        header += ["k eager", "k predict", "k tf.fn", "k xla"]
    if have_t:
        header += ["torch"]
    if have_k:
        header += ["k best/rn", "k pred/rn pred"]
    if have_t:
        header += ["torch/rn"]
    header += ["max|diff|", "load"]
    rows = []
    for r in results:
        p = r["paths"]
        row = [r["case"], _ms(p.get("rnnlens eager")), _ms(p.get("rnnlens predict"))]
        if have_k:
            row += [_ms(p.get(k)) for k in ("keras eager", "keras predict",
                                             "keras tf.function", "keras xla")]
        if have_t:
            row += [_ms(p.get("torch"))]
        if have_k:
            best = keras_best(p)
            row += [_ratio(best[1] if best else None, p.get("rnnlens eager")),
                    _ratio(p.get("keras predict"), p.get("rnnlens predict"))]
        if have_t:
            row += [_ratio(p.get("torch"), p.get("rnnlens eager"))]
        others = [d for n, d in r["max_abs_diff"].items() if n != "rnnlens eager"]
        row += [f"{max(others):.1e}" + ("" if r["ok"] else " !") if others else "-"]
        loads = [s["foreign_load"] for s in p.values() if s.get("foreign_load") is not None]
        row += [f"{max(loads):.2f}" + ("*" if max(loads) >= 0.3 else "") if loads else "-"]
        rows.append(row)
    notes = ["times: median ms per call (float32 NumPy in -> NumPy out); "
             "ratios: other / rnnlens, > 1 means rnnlens is faster",
             "k best = fastest of keras eager / predict / tf.function / xla; "
             "max|diff| = largest abs difference of any path from rnnlens eager",
             "load = most CPU (in cores) other processes used while a path of the case was "
             "timed; * = >= 0.3 even after retries, those times are disturbed"]
    notes += [f"{name}: {why}" for name, why in skipped.items()]
    notes += [f"ERROR {r['case']}: {name}: {why}" for r in results
              for name, why in r.get("errors", {}).items()]
    return table(rows, header) + "\n" + "\n".join(notes)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="a small subset with short timings (CI smoke test, < 60 s)")
    ap.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    ap.add_argument("--only", default=",".join(FRAMEWORKS),
                    help="comma-separated frameworks to run (rnnlens always runs)")
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of timing per path and case (default 0.6; --quick 0.1)")
    ap.add_argument("--tol", type=float, default=1e-5,
                    help="largest allowed abs difference from rnnlens (default 1e-5)")
    ap.add_argument("--no-xla", action="store_true", help="skip the Keras XLA path")
    ap.add_argument("--no-import-times", action="store_true",
                    help="skip timing the imports in subprocesses")
    ap.add_argument("--blas-threads", type=int, default=None,
                    help="set numpy's OpenBLAS thread count (via ctypes) for the run")
    ap.add_argument("--retries", type=int, default=None,
                    help="re-time a path up to N times while other processes load the CPU "
                         "(default 2; --quick 0)")
    ap.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                    help="before each case, wait up to SECONDS for other processes to "
                         "leave the CPU idle (default 0: don't wait)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the rnnlens weights")
    args = ap.parse_args(argv)

    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(FRAMEWORKS)
    if unknown:
        ap.error(f"unknown frameworks {sorted(unknown)}; choose from {FRAMEWORKS}")
    budget = args.budget if args.budget is not None else (0.1 if args.quick else 0.6)
    cases = QUICK_CASES if args.quick else FULL_CASES
    retries = args.retries if args.retries is not None else (0 if args.quick else 2)
    start = time.perf_counter()

    if args.blas_threads is not None and not set_blas_threads(args.blas_threads):
        print("--blas-threads: numpy's BLAS is not OpenBLAS; ignored", file=sys.stderr)
    fw, skipped = load_frameworks(only)
    env = environment(fw)
    print("rnnlens forward benchmark" + (" (quick)" if args.quick else ""))
    for k, v in env.items():
        if v not in ({}, None):
            print(f"  {k}: {v}")
    for name, why in skipped.items():
        print(f"  {name}: {why}")

    imports = None
    if not args.no_import_times:
        mods = ["numpy", "rnnlens"] + [m for m in ("keras", "torch") if m in only]
        imports = import_times(mods, runs=1 if args.quick else 3)
        print("\nimport time (fresh interpreter, median s): " + ", ".join(
            f"{m} {'not installed' if t is None else f'{t:.3f}'}" for m, t in imports.items()))
    print(flush=True)

    results = []
    for case in cases:
        waited = wait_until_quiet(args.wait_quiet) if args.wait_quiet > 0 else 0.0
        t0 = time.perf_counter()
        results.append(run_case(case, fw, budget, args.tol, not args.no_xla, args.seed,
                                retries))
        note = f", waited {waited:.0f} s for a quiet CPU" if waited >= 2 else ""
        print(f"  done {case.name:<26} ({time.perf_counter() - t0:5.1f} s{note})", flush=True)

    print()
    print(report(results, fw, skipped))
    elapsed = time.perf_counter() - start
    ok = all(r["ok"] for r in results)
    print(f"\ntotal {elapsed:.1f} s; outputs agree within {args.tol:g}: "
          f"{'yes' if ok else 'NO (see MISMATCH lines)'}")
    if args.json:
        payload = {"environment": env, "skipped": skipped, "import_time_s": imports,
                   "quick": args.quick, "budget_s": budget, "retries": retries, "tol": args.tol,
                   "elapsed_s": elapsed, "cases": results}
        Path(args.json).write_text(json.dumps(payload, indent=2))
        print(f"saved {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
