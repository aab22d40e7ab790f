"""The compiled time loops (``_fused.c``): loading, the switch, and the calls.

``make install`` builds ``_fused.so`` beside this file (``gcc -O3``; no Python
headers). It is loaded with ctypes on the first recurrent call, not at import,
and handed the ``cblas_sgemm`` / ``cblas_dgemm`` of the BLAS NumPy itself
loaded (found in ``/proc/self/maps``; a self-test compares one product with
NumPy's). When the library is missing, fails to load, or no BLAS is found,
rnnlens runs the NumPy loop in ``rnnlens.recurrence`` with the same numbers
(to ~1e-7: only ``tanh`` is computed differently).

Which path runs: ``rnnlens.backend.kernel()`` says, ``set_kernel("numpy" |
"c")`` or the environment variable ``RNNLENS_KERNEL=numpy|c`` chooses. The C
path takes the built-in cells with their default activations (tanh, sigmoid)
and no recurrent dropout, in float32 or float64; anything else (user cells,
stacks, other activations, recurrent dropout) runs in NumPy.

AVX-512: where the CPU has AVX-512F, float32 calls of more than one step run each
step's products by the same weights (h_tm1 @ U, x_t @ W, and their transposes
backwards) through the C code's own kernel on weight panels packed once per call
(twice the speed of an OpenBLAS held to its AVX2 kernels by
``OPENBLAS_CORETYPE=Haswell``), the weight gradients' products on the same tiles,
and the LSTM gates 16 lanes at a time (σ and tanh). Otherwise, in float64 and for
one-step calls, the products go through NumPy's BLAS and the gates through the
portable loops. ``set_avx512`` or ``RNNLENS_AVX512=0|1``
chooses; ``rnnlens.backend.kernel_info()["avx512"]`` says.

Threads: rows of a batch are independent, so the C loop splits a large batch
into one chunk per core, each run by its own thread with its own time loop
(BLAS runs single-threaded meanwhile); the GIL is released during the call.
"""

from __future__ import annotations

import contextlib
import os
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np

from rnnlens.cells import workspace

LIBRARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_fused.so")
KINDS = {"lstm": 0, "gru": 1, "simple_rnn": 2}
_MIN_ROWS = 16                 # rows per thread below which one thread is faster
_MIN_WORK = 1 << 17            # rows * u * G per step below which one thread is faster
_MIN_SLICE = 32                # units per thread below which the units are not split
_BLAS_THREADS_FROM = 1 << 18   # m n k above which OpenBLAS multiplies with its threads
_PAIR_MIN_WORK = 1 << 20       # T * B * u * G below which two calls run one after the other
_LOCAL = threading.local()     # .share: cores this thread may use (inside ``concurrently``)


class _State:
    lib: Any = None            # the loaded CDLL, once tried
    tried = False
    reason = ""                # why the C path is unavailable
    blas = ""                  # which BLAS it calls
    want: str | None = None    # "c" / "numpy" / None (the environment's choice)
    avx512 = False             # the AVX-512 kernels run now (set_avx512)
    threads: int | None = None  # forced thread count, or None (automatic)
    cores = 0


def _c_ptr(arr: np.ndarray | None) -> int | None:
    return None if arr is None else arr.ctypes.data


def _load() -> None:
    """Loads the library and connects it to NumPy's BLAS (once)."""
    _State.tried = True
    if not os.path.exists(LIBRARY):
        _State.reason = ("_fused.so is not built (run `make install`, which needs gcc); "
                         "using the NumPy loop")
        return
    import ctypes

    try:
        lib = ctypes.CDLL(LIBRARY)
    except OSError as err:
        _State.reason = f"{LIBRARY} could not be loaded ({err}); using the NumPy loop"
        return
    found = _find_blas()
    if found is None:
        _State.reason = ("no cblas_sgemm found in the BLAS NumPy loaded; using the NumPy loop")
        return
    *functions, ilp64, get_threads, set_threads, where = found
    p = ctypes.c_void_p
    lib.rnn_set_blas.argtypes = [p, p, p, p, ctypes.c_int, p, p]
    lib.rnn_set_blas(*functions, ilp64, get_threads, set_threads)
    _declare(lib)
    if not _self_test(lib):
        _State.reason = f"the BLAS in {where} failed the self-test; using the NumPy loop"
        return
    _State.lib, _State.blas = lib, where
    env = os.environ.get("RNNLENS_AVX512", "").strip()
    if env not in ("", "0", "1"):
        warnings.warn(f"RNNLENS_AVX512={env!r} is not '0' or '1'; ignored.",
                      RuntimeWarning, stacklevel=3)
    set_avx512(env != "0")


def _declare(lib: Any) -> None:
    import ctypes

    i, p = ctypes.c_int, ctypes.c_void_p
    for suffix in ("f32", "f64"):
        fwd = getattr(lib, f"rnn_forward_{suffix}")
        fwd.argtypes = [i] * 6 + [p] * 9 + [i] + [p] * 7 + [i, i]
        bwd = getattr(lib, f"rnn_backward_{suffix}")
        bwd.argtypes = [i] * 6 + [p] * 10 + [i] + [p] * 13 + [i]
        getattr(lib, f"rnn_matmul_{suffix}").argtypes = [i] * 4 + [p] * 3
    lib.rnn_set_avx512.argtypes = [i]
    lib.rnn_activation_f32.argtypes = [i, i, p, p]
    lib.rnn_panel_matmul_f32.argtypes = [i] * 3 + [p] * 3


def set_avx512(on: bool) -> bool:
    """``True`` runs the AVX-512 kernels (per-step products, LSTM gates) where the CPU
    has AVX-512F; ``False`` NumPy's BLAS and the portable loops. Returns whether they
    run now."""
    if not isinstance(on, bool):
        raise TypeError(f"Received on={on!r}, expected True or False.")
    if not available():
        return False
    _State.avx512 = bool(_State.lib.rnn_set_avx512(int(on))) and _panels_pass(_State.lib)
    if not _State.avx512:
        _State.lib.rnn_set_avx512(0)
    return _State.avx512


def _panels_pass(lib: Any) -> bool:
    """The AVX-512 products' self-test: tails of rows and columns, one row."""
    rng = np.random.default_rng(1)
    for m, n, k in ((11, 37, 5), (1, 150, 9), (8, 32, 1)):
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        c = np.full((m, n), np.nan, np.float32)
        if (lib.rnn_panel_matmul_f32(m, n, k, _c_ptr(a), _c_ptr(b), _c_ptr(c)) != 0
                or not np.allclose(c, a @ b, rtol=1e-5, atol=1e-5)):
            return False
    return True


def _find_blas() -> tuple | None:
    """``cblas_?gemm``, ``cblas_?gemv`` (and OpenBLAS's thread getter / setter) of
    NumPy's BLAS, or None."""
    import ctypes

    try:
        with open("/proc/self/maps") as maps:
            paths = sorted({line.split()[-1] for line in maps
                            if line.rstrip().endswith(".so") or ".so." in line}
                           - {LIBRARY})
    except OSError:
        return None
    paths = [p for p in paths if any(k in p.lower() for k in ("blas", "mkl", "numpy"))]
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix, ilp64 in (("scipy_", "64_", 1), ("", "64_", 1), ("scipy_", "", 0),
                                      ("", "", 0)):
            names = [f"{prefix}cblas_{n}{suffix}" for n in ("sgemm", "dgemm", "sgemv", "dgemv")]
            functions = [getattr(lib, n, None) for n in names]
            if any(f is None for f in functions):
                continue
            get = getattr(lib, f"{prefix}openblas_get_num_threads{suffix}", None)
            put = getattr(lib, f"{prefix}openblas_set_num_threads{suffix}", None)
            return (*map(_addr, functions), ilp64, _addr(get), _addr(put), path)
    return None


def _addr(fn: Any) -> int | None:
    import ctypes

    return None if fn is None else ctypes.cast(fn, ctypes.c_void_p).value


def _self_test(lib: Any) -> bool:
    """One product per precision, layout and path (gemm, gemv) against NumPy's."""
    rng = np.random.default_rng(0)
    for dtype, fn in ((np.float32, lib.rnn_matmul_f32), (np.float64, lib.rnn_matmul_f64)):
        for m, trans_b in ((3, 0), (3, 1), (1, 0), (1, 1)):
            a = rng.standard_normal((m, 5)).astype(dtype)
            b = rng.standard_normal((4, 5) if trans_b else (5, 4)).astype(dtype)
            c = np.full((m, 4), np.nan, dtype)
            fn(trans_b, m, 4, 5, _c_ptr(a), _c_ptr(b), _c_ptr(c))
            if not np.allclose(c, a @ (b.T if trans_b else b), rtol=1e-5, atol=1e-6):
                return False
    return True


# -- the switch (rnnlens.backend.kernel / set_kernel) ------------------------------

def _wanted() -> str:
    if _State.want is None:
        env = os.environ.get("RNNLENS_KERNEL", "").strip().lower()
        if env not in ("", "c", "numpy"):
            warnings.warn(f"RNNLENS_KERNEL={env!r} is not 'c' or 'numpy'; ignored.",
                          RuntimeWarning, stacklevel=3)
            env = ""
        _State.want = env or "auto"
        if env == "c" and not available():
            warnings.warn(f"RNNLENS_KERNEL=c, but {_State.reason}.", RuntimeWarning,
                          stacklevel=3)
    return _State.want


def available() -> bool:
    """True when the compiled loops are built, loaded and connected to a BLAS."""
    if not _State.tried:
        _load()
    return _State.lib is not None


def active() -> bool:
    """True when recurrent layers run their time loops in C now."""
    return _wanted() != "numpy" and available()


def select(name: str, threads: int | None = None) -> None:
    """``set_kernel``: "c" (an error naming the reason if unavailable) or "numpy"."""
    if name not in ("c", "numpy"):
        raise ValueError(f"Received kernel={name!r}, expected 'c' (the compiled loops) or "
                         "'numpy'.")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int)
                                or threads < 1):
        raise ValueError(f"Received threads={threads!r}, expected None (one per core for "
                         "large batches) or an int >= 1.")
    if name == "c" and not available():
        raise ValueError(f"The C kernel is unavailable: {_State.reason}.")
    _State.want, _State.threads = name, threads


def info() -> dict[str, Any]:
    """What runs: kernel, library, BLAS, threads, and why C is off (if it is)."""
    on = active()
    return {"kernel": "c" if on else "numpy", "library": LIBRARY,
            "blas": _State.blas or None, "threads": _State.threads or "auto",
            "avx512": on and _State.avx512,
            "cores": _cores(), "reason": None if on else (_State.reason or "set to numpy")}


def _cores() -> int:
    if not _State.cores:
        try:
            _State.cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            _State.cores = os.cpu_count() or 1
    return _State.cores


def threads_for(batch: int, units: int, width: int, split_ok: bool = False,
                largest: int = 0) -> tuple[int, int]:
    """``(threads, split_units)`` for one call: one thread per core when each gets
    enough rows and work; for a small batch with many units (forward only), the
    threads take slices of the units instead, meeting after every step.

    The thread count is negative when the C side must keep BLAS single-threaded
    even for one thread: inside ``concurrently`` (the other call uses the other
    cores), and when a product (``largest`` = m n k) is big enough for OpenBLAS to
    start its own threads, which on a busy machine wait for each other far longer
    than they compute.
    """
    share = getattr(_LOCAL, "share", None)
    cores = share or _cores()
    work = batch * units * width
    if _State.threads is not None:
        n = _State.threads
        split = split_ok and 1 < n <= units and batch < n * _MIN_ROWS
    else:
        n = min(cores, batch // _MIN_ROWS)
        split = (split_ok and n < 2 and cores > 1 and units >= 2 * _MIN_SLICE
                 and work >= _MIN_WORK * 2)
        n = min(cores, units // _MIN_SLICE) if split else n
        n = n if n > 1 and (split or work >= _MIN_WORK * n) else 1
    return (-n if share or largest > _BLAS_THREADS_FROM else n), int(split)


class _Pool:
    executor: Any = None


def concurrently(first: Any, second: Any, work: int) -> tuple[Any, Any]:
    """``(first(), second())``, the two at once when the C loops run and ``work``
    (about T * B * u * G) pays for a thread: ``second`` runs on a worker thread
    (the GIL is released inside the C loops and BLAS), each on half the cores.
    Otherwise, or on one core, one after the other. Exceptions propagate."""
    if not active() or work < _PAIR_MIN_WORK or _cores() < 2:
        return first(), second()
    if _Pool.executor is None:
        from concurrent.futures import ThreadPoolExecutor  # noqa: PLC0415  (lazy)

        _Pool.executor = ThreadPoolExecutor(1, thread_name_prefix="rnnlens-pair")
    import contextvars  # noqa: PLC0415

    share = max(1, _cores() // 2)
    future = _Pool.executor.submit(contextvars.copy_context().run, _shared, second, share)
    return _shared(first, share), future.result()


def _shared(fn: Any, share: int) -> Any:
    _LOCAL.share = share
    try:
        return fn()
    finally:
        _LOCAL.share = None


# -- the calls ---------------------------------------------------------------------

def usable(cell: Any, dtype: np.dtype, recurrent_masks: Any) -> Any:
    """The cell's kernel spec when the C loop can run it now, else None."""
    spec = getattr(cell, "kernel_spec", None)
    if spec is None or recurrent_masks is not None or dtype not in _DTYPES or not active():
        return None
    return spec()


_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _fn(name: str, dtype: np.dtype) -> Any:
    return getattr(_State.lib, f"{name}_{'f32' if dtype == np.float32 else 'f64'}")


def _as(arr: Any, dtype: np.dtype) -> np.ndarray | None:
    return None if arr is None else np.ascontiguousarray(arr, dtype=dtype)


def cached_spec(cell: Any, make: Any) -> dict:
    """The cell's spec (``make()``: kind, U, U_back, b_h, reset_after), kept until its
    weights change, with the weights' addresses (contiguous copies are kept in it)."""
    cached = cell.__dict__.get("_kernel_spec")
    if cached is None or cached[0] != cell._version:
        spec = make()
        for key in ("W", "b", "U", "b_h", "W_back", "U_back", "b_h_back"):
            if spec.get(key) is not None:
                spec[key] = np.ascontiguousarray(spec[key])
                spec[key + "_addr"] = spec[key].ctypes.data
        cached = cell.__dict__["_kernel_spec"] = (cell._version, spec)
    return cached[1]


def _weight(spec: dict, key: str, dtype: np.dtype, keep: list) -> int | None:
    """The address of ``spec[key]`` in ``dtype`` (a converted copy goes into ``keep``)."""
    arr = spec.get(key)
    if arr is None:
        return None
    if arr.dtype == dtype:
        return spec[key + "_addr"]
    keep.append(arr.astype(dtype))
    return keep[-1].ctypes.data


def forward(kind: int, spec: dict, xs: np.ndarray, states: list[np.ndarray],
            keep: np.ndarray | None, y0: np.ndarray | None, zero_output: bool,
            seq: np.ndarray | None, record: Any) -> tuple[np.ndarray, list[np.ndarray]]:
    """Runs the loop of ``recurrence.run`` (with the input projection of each step);
    returns (last output, final states).

    Args:
        kind: ``KINDS[...]``. spec: the cell's ``kernel_spec()`` ("W", "b", "U", "b_h",
            "reset_after"). xs: (T, B, F) contiguous inputs, dropout applied.
            states: (B, u) each. keep: (T, B, 1) bool or None. y0: what masked steps
            repeat first, or None. seq: (B, T, u) to fill, or None. record: a
            ``Record`` to fill, or None.
    """
    steps, batch, features = xs.shape
    dt = xs.dtype
    units = states[0].shape[1]
    width = spec["U"].shape[1]
    lstm = kind == 0
    reset_after = int(spec.get("reset_after", 0))
    alive: list = []
    h0, c0 = _as(states[0], dt), _as(states[1], dt) if lstm else None
    keep8 = None if keep is None else np.ascontiguousarray(keep[:, :, 0]).view(np.uint8)
    y_init = _as(y0, dt)
    out = np.empty((3, batch, units), dt)                             # h, c, y
    base, size = out.ctypes.data, batch * units * dt.itemsize
    hs = cs = gates = None
    if record is not None:
        gates, hs = record.gates, record.states[0]
        cs = record.states[1] if lstm else None
    rc = _fn("rnn_forward", dt)(
        kind, steps, batch, features, units, reset_after, _c_ptr(xs),
        _weight(spec, "W", dt, alive), _weight(spec, "b", dt, alive),
        _weight(spec, "U", dt, alive), _weight(spec, "b_h", dt, alive), _c_ptr(h0),
        _c_ptr(c0), _c_ptr(y_init), _c_ptr(keep8), int(zero_output), _c_ptr(seq),
        _c_ptr(gates), _c_ptr(hs), _c_ptr(cs), base, base + size if lstm else None,
        base + 2 * size, *threads_for(batch, units, width, kind != 1 or reset_after,
                                      batch * width * max(units, features)))
    _check(rc)
    return out[2], [out[0], out[1]] if lstm else [out[0]]


def backward(kind: int, spec: dict, record: Any, x: np.ndarray, d_seq: np.ndarray | None,
             d_last: np.ndarray | None, d_states: list | None, zero_output: bool
             ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray | None]]:
    """Runs ``recurrence.backward``: the reverse loop, then the weight gradients.

    Args:
        x: (T, B, F) the inputs the forward pass multiplied (dropout applied).
        spec: the cell's spec; "W_back", "U_back" (and "b_h_back") are the unscaled
            weights in the gates' column order.
    Returns:
        ``(d_x (T, B, F), d_initial_states, [dW, dU, db or None])``, the weight
        gradients in the gates' column order (GRU with reset_after: db is (2, G)).
    """
    gates = record.gates
    steps, batch, width = gates.shape
    dt = gates.dtype
    units, features = record.states[0].shape[2], x.shape[2]
    lstm, gru = kind == 0, kind == 1
    alive: list = []
    reset_after = int(spec.get("reset_after", 0))
    d_states = list(d_states or [None] * (2 if lstm else 1))
    d_h, d_c = _as(d_states[0], dt), _as(d_states[1], dt) if lstm else None
    keep8 = None if record.mask is None else np.ascontiguousarray(record.mask).view(np.uint8)
    dxp = workspace.take(gates.shape, dt)
    drec = workspace.take(gates.shape, dt) if gru and reset_after else None
    rh = workspace.take((steps, batch, units), dt) if gru and not reset_after else None
    d_x = workspace.take((steps, batch, features), dt)
    d_w, d_u = np.empty((features, width), dt), np.empty((units, width), dt)
    d_b = None if spec.get("b") is None else np.empty(
        (2, width) if gru and reset_after else (width,), dt)
    d_init = np.empty((2, batch, units), dt)
    h0 = _as(record.initial_states[0], dt)
    c0 = _as(record.initial_states[1], dt) if lstm else None
    x, d_seq, d_last = _as(x, dt), _as(d_seq, dt), _as(d_last, dt)
    rc = _fn("rnn_backward", dt)(
        kind, steps, batch, features, units, reset_after, _c_ptr(x),
        _weight(spec, "W_back", dt, alive), _weight(spec, "U_back", dt, alive),
        _weight(spec, "b_h_back", dt, alive), _c_ptr(gates), _c_ptr(record.states[0]),
        _c_ptr(record.states[1] if lstm else None), _c_ptr(h0), _c_ptr(c0), _c_ptr(keep8),
        int(zero_output), _c_ptr(d_seq), _c_ptr(d_last), _c_ptr(d_h), _c_ptr(d_c),
        _c_ptr(dxp), _c_ptr(drec), _c_ptr(rh), _c_ptr(d_x), _c_ptr(d_w), _c_ptr(d_u),
        _c_ptr(d_b), _c_ptr(d_init[0]), _c_ptr(d_init[1] if lstm else None),
        threads_for(batch, units, width, largest=steps * batch * units * width)[0])
    _check(rc)
    return d_x, [d_init[0], d_init[1]] if lstm else [d_init[0]], [d_w, d_u, d_b]


def input_of(xs: np.ndarray, record: Any) -> np.ndarray:
    """What the input product saw: ``xs`` times the (single) input dropout mask."""
    masks = record.input_masks
    return xs if masks is None else xs * masks[0]


def _check(rc: int) -> None:
    if rc != 0:
        raise MemoryError("rnnlens's C kernel could not allocate its work buffers; "
                          "use a smaller batch, or rnnlens.backend.set_kernel('numpy').")


class _BlasThreads:
    """OpenBLAS's ``openblas_get_num_threads`` / ``openblas_set_num_threads`` of NumPy's
    BLAS as ctypes functions (looked up once, on first use), or None where absent."""

    tried = False
    get: Any = None
    put: Any = None


def _blas_thread_fns() -> tuple[Any, Any] | None:
    if not _BlasThreads.tried:
        _BlasThreads.tried = True
        found = _find_blas()
        if found is not None and found[-3] and found[-2]:
            import ctypes

            _BlasThreads.get = ctypes.CFUNCTYPE(ctypes.c_int)(found[-3])
            _BlasThreads.put = ctypes.CFUNCTYPE(None, ctypes.c_int)(found[-2])
    return None if _BlasThreads.get is None else (_BlasThreads.get, _BlasThreads.put)


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Runs the block with OpenBLAS on one thread, then restores its thread count.

    For small LAPACK calls (``np.linalg.qr`` of an initializer): OpenBLAS's helper
    threads would otherwise spin after the call and cost far more CPU than the call
    itself. Without OpenBLAS's setter (another BLAS) the block runs unchanged.
    """
    fns = _blas_thread_fns()
    previous = fns[0]() if fns is not None else 1
    if previous <= 1:
        yield
        return
    fns[1](1)
    try:
        yield
    finally:
        fns[1](previous)
