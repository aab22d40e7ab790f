"""What the benchmarks share: timing, machine load, the BLAS NumPy runs, the
OpenBLAS environment switch, the machine's matrix-multiply limit, and tables.

Not a benchmark itself; ``bench_forward.py``, ``bench_train.py``,
``bench_startup.py`` and ``profile_forward.py`` import it.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import io
import os
import platform
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")       # silence TensorFlow's C++ logging
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
try:
    import rnnlens  # noqa: F401
except ImportError:                                       # running from a bare checkout
    sys.path.insert(0, str(REPO / "src"))
    import rnnlens  # noqa: F401

#: The variables some machines set that change OpenBLAS's kernel choice and blocking.
OPENBLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# -- the OpenBLAS environment --------------------------------------------------------

def add_blas_env_flag(ap: Any) -> None:
    ap.add_argument("--blas-env", choices=("as-is", "unset"), default="as-is",
                    help="'unset' re-runs this benchmark with OPENBLAS_CORETYPE and "
                         "OPENBLAS_L2_SIZE removed from its own environment (OpenBLAS then "
                         "picks its kernel for the real CPU, as on most users' machines)")


def apply_blas_env(choice: str) -> None:
    """``--blas-env unset``: re-executes the script without the OpenBLAS variables
    (they are read when OpenBLAS loads, so only a fresh process can drop them)."""
    if choice != "unset" or not any(v in os.environ for v in OPENBLAS_VARS):
        return
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_VARS}
    env["RNNLENS_BENCH_BLAS_ENV"] = "unset"
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def blas_env_label() -> str:
    set_vars = {v: os.environ[v] for v in OPENBLAS_VARS if v in os.environ}
    if set_vars:
        return "as the machine is: " + ", ".join(f"{k}={v}" for k, v in set_vars.items())
    how = " (--blas-env unset)" if os.environ.get("RNNLENS_BENCH_BLAS_ENV") else ""
    return f"OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset{how}"


# -- numpy's BLAS ----------------------------------------------------------------------

def _openblas_fn(name: str) -> Callable | None:
    """A function of the OpenBLAS numpy loaded (found in /proc/self/maps), or None."""
    np.ones((4, 4), np.float32) @ np.ones((4, 4), np.float32)
    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps if "openblas" in line.lower()
                            and line.split()[-1].startswith("/")})
    except OSError:
        return None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas_", "64_"), ("openblas_", "64_"),
                               ("openblas_", ""), ("scipy_openblas_", "")):
            fn = getattr(lib, f"{prefix}{name}{suffix}", None)
            if fn is not None:
                return fn
    return None


def set_blas_threads(n: int) -> bool:
    """Sets numpy's OpenBLAS thread count (ctypes; False if it is not OpenBLAS)."""
    fn = _openblas_fn("set_num_threads")
    if fn is None:
        return False
    fn.argtypes = [ctypes.c_int]
    fn(int(n))
    return True


def blas_summary() -> str:
    """numpy's BLAS in one line: name, version, the kernel OpenBLAS runs, threads."""
    parts = []
    try:
        blas = np.__config__.CONFIG["Build Dependencies"]["blas"]
        parts.append(f"{blas.get('name')} {blas.get('version')}")
    except (AttributeError, KeyError, TypeError):
        parts.append("unknown BLAS")
    core = _openblas_fn("get_corename")
    if core is not None:
        core.restype = ctypes.c_char_p
        parts.append(f"kernel {core().decode()}")
    threads = _openblas_fn("get_num_threads")
    if threads is not None:
        threads.restype = ctypes.c_int
        parts.append(f"{threads()} threads")
    return ", ".join(parts)


def show_runtime() -> str:
    """``numpy.show_runtime()``'s text (its threadpoolctl hint silenced)."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.show_runtime()
    return buf.getvalue().rstrip()


def header(title: str) -> None:
    """The machine, Python, numpy, its BLAS, the OpenBLAS environment, the kernel."""
    from rnnlens import backend

    print(title)
    print(f"  machine: {platform.machine()} {cpu_model()}, {cpu_count()} CPUs; "
          f"Python {platform.python_version()}; numpy {np.__version__}")
    print(f"  numpy's BLAS: {blas_summary()}")
    print(f"  OpenBLAS environment: {blas_env_label()}")
    info = backend.kernel_info()
    print(f"  rnnlens kernel: {info['kernel']}" + (f" ({info['reason']})" if info["reason"]
                                                  else f", threads {info['threads']}, "
                                                  f"AVX-512 kernels {info['avx512']}"))
    own, blas = product_gflops(256, 256, 1024)
    print(f"  one core, float32 (256, 256) @ (256, 1024): numpy's sgemm {blas:.0f} GF/s"
          + (f", rnnlens's AVX-512 product {own:.0f} GF/s" if own else ""))
    print("  numpy.show_runtime():")
    for line in show_runtime().splitlines():
        print("    " + line)
    print(flush=True)


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


# -- timing ----------------------------------------------------------------------------

def _cpu_busy_s() -> float | None:
    """Seconds of CPU time all processes on the machine used so far (/proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    ticks = [int(v) for v in fields[:8]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


#: The clock ``measure`` reads: wall time, or (``use_cpu_clock``) this process's CPU time.
CLOCK: list[Callable[[], float]] = [time.perf_counter]


def use_cpu_clock() -> None:
    """Times with this process's CPU time: with every framework on one thread, other
    processes' load then hardly moves the figures (a descheduled thread is not charged)."""
    CLOCK[0] = time.process_time


def single_thread(fw: dict) -> None:
    """One thread everywhere: numpy's OpenBLAS, rnnlens's C loops, torch, TensorFlow."""
    from rnnlens import backend

    set_blas_threads(1)
    if backend.kernel() == "c":
        backend.set_kernel("c", threads=1)
    if "torch" in fw:
        fw["torch"].set_num_threads(1)
    if "keras" in fw:
        tf = fw["keras"][1]
        with contextlib.suppress(RuntimeError):       # (already set when TF started)
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)


def measure(fn: Callable[[], Any], budget: float, min_repeats: int = 3,
            max_repeats: int = 25, min_repeat_time: float = 0.01) -> dict:
    """timeit-style: per-call seconds over repeats of ``number`` calls each.

    A warm-up call, doubling probes to size ``number`` (a repeat lasts about
    ``min_repeat_time``), as many repeats as fit in ``budget`` (clamped), GC off.
    ``foreign_load``: CPU (in cores) other processes used meanwhile.
    """
    clock = CLOCK[0]
    fn()
    gc.collect()
    number = 1
    while True:
        t0 = clock()
        for _ in range(number):
            fn()
        elapsed = clock() - t0
        if elapsed >= min_repeat_time or number >= 1 << 20:
            break
        number *= 2
    probe = max(elapsed / number, 1e-9)
    number = max(1, int(round(min_repeat_time / probe)))
    repeats = max(min_repeats, min(max_repeats, int(budget / (probe * number))))
    per_call = []
    gc_was_on = gc.isenabled()
    gc.disable()
    busy0, own0, wall0 = _cpu_busy_s(), _own_cpu_s(), time.perf_counter()
    try:
        for _ in range(repeats):
            t0 = clock()
            for _ in range(number):
                fn()
            per_call.append((clock() - t0) / number)
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


def measure_quiet(fn: Callable[[], Any], budget: float, retries: int = 2,
                  threshold: float = 0.3) -> dict:
    """``measure``, re-run (up to ``retries`` times) while other processes load the CPU;
    keeps the attempt with the least foreign load."""
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


def load_average() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


# -- the machine's limit ------------------------------------------------------------------

def sgemm_ms(m: int, k: int, n: int, budget: float = 0.15) -> float:
    """Median ms of one float32 (m, k) @ (k, n) product into a kept output (numpy)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.empty((m, n), np.float32)
    return measure(lambda: np.matmul(a, b, out=c), budget)["median_ms"]


def product_gflops(m: int, k: int, n: int) -> tuple[float | None, float]:
    """GF/s of rnnlens's AVX-512 panel product (None when off) and of numpy's sgemm
    (one BLAS thread) for one (m, k) @ (k, n) float32 product."""
    from rnnlens.cells import _kernels

    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(np.float32)
    b = rng.standard_normal((k, n)).astype(np.float32)
    c = np.empty((m, n), np.float32)
    flops = 2 * m * k * n
    get = _openblas_fn("get_num_threads")
    before = get() if get is not None else None
    set_blas_threads(1)
    blas = flops / measure(lambda: np.matmul(a, b, out=c), 0.3)["median_ms"] / 1e6
    if before is not None:
        set_blas_threads(before)
    own = None
    if _kernels.active() and _kernels._State.avx512:
        lib = _kernels._State.lib
        args = (m, n, k, a.ctypes.data, b.ctypes.data, c.ctypes.data)
        own = flops / measure(lambda: lib.rnn_panel_matmul_f32(*args), 0.3)["median_ms"] / 1e6
    return own, blas


def recurrent_limit_ms(batch: int, steps: int, features: int, units: int, gates: int) -> dict:
    """What the products alone take at numpy's sgemm speed for these shapes.

    FLOPs of one call: ``steps * (2 B u G + 2 B F G)`` (G = gates * u): T products
    (B, u) @ (u, G) one after the other, and the input projection, one
    (T B, F) @ (F, G) product. Returns the FLOPs and the time those products take
    when numpy runs them (the gate arithmetic comes on top).
    """
    width = gates * units
    flops = steps * (2 * batch * units * width + 2 * batch * features * width)
    step_ms = sgemm_ms(batch, units, width)
    proj_ms = sgemm_ms(steps * batch, features, width)
    return {"flops": flops, "limit_ms": steps * step_ms + proj_ms,
            "sgemm_gflops": 2 * batch * units * width / step_ms / 1e6}


# -- tables -------------------------------------------------------------------------------

def fmt_ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.4f}" if v < 0.1 else f"{v:.3f}" if v < 10 else f"{v:.1f}"


def fmt_ratio(num: float | None, den: float | None) -> str:
    return "-" if num is None or den is None or den == 0 else f"{num / den:.2f}"


def table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]

    def fmt(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths)))

    return "\n".join([fmt(header), "-" * len(fmt(header))] + [fmt(r) for r in rows])
