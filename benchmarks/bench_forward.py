#!/usr/bin/env python
"""Recurrent inference speed: rnnlens (C and NumPy loops) vs Keras 3 vs PyTorch, in one run.

Every case builds an rnnlens layer (LSTM, GRU, SimpleRNN or Bidirectional(LSTM)),
copies its weights into the Keras layer (``set_weights``) and the PyTorch module
(``torch.nn.LSTM / GRU / RNN``, gates reordered), checks that every timed path
returns the same numbers (max abs difference from rnnlens's call below ``--tol``),
and only then times them, side by side. All paths take a float32 NumPy array and
return one, so conversions count for every framework alike.

Timed paths:
    rn c       ``layer(x)``, the compiled time loop (``rnnlens.backend.kernel() == "c"``)
    rn numpy   ``layer(x)`` with ``set_kernel("numpy")`` (the fallback)
    rn predict ``model.predict(x, verbose=0)`` (C loop)
    keras      ``model.predict``, ``tf.function(layer)`` and with ``jit_compile=True``
               (XLA); "k best" is the fastest (``--keras-eager`` adds the eager call)
    torch      ``with torch.inference_mode(): module(x)``, ``torch.set_num_threads(cores)``

Ratios are other / rnnlens (``rn c``): > 1 means rnnlens is faster. ``limit`` is
what the matrix products alone take at numpy's sgemm speed for the same shapes
(FLOPs per call ``T (2 B u G + 2 B F G)``, G = 4u / 3u / u); ``lim%`` = limit /
rn c, how close the whole call comes to that.

Usage:
    python benchmarks/bench_forward.py                      # full grid, ~5 min on 2 cores
    python benchmarks/bench_forward.py --quick              # CI smoke test, < 60 s
    python benchmarks/bench_forward.py --blas-env unset     # OpenBLAS picks its own kernel
    python benchmarks/bench_forward.py --cells lstm --only rnnlens,torch --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402

from rnnlens import backend  # noqa: E402

FRAMEWORKS = ("rnnlens", "keras", "torch")
GATES = {"lstm": 4, "gru": 3, "simple_rnn": 1}
CLASSES = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}


@dataclass(frozen=True)
class Case:
    cell: str
    batch: int
    steps: int
    features: int
    units: int
    seq: bool = False
    tutorial: bool = False
    bidi: bool = False

    @property
    def name(self) -> str:
        size = "tutorial 1x3x1 u1" if self.tutorial else (
            f"{self.batch}x{self.steps}x{self.features} u{self.units}")
        kind = ("Bidi-" if self.bidi else "") + CLASSES[self.cell]
        return f"{kind} {size}" + (" seq" if self.seq else "")

    def data(self) -> np.ndarray:
        if self.tutorial:           # the seed tutorial's input, shaped (1, 3, 1)
            return np.array([0.1, 0.2, 0.3], dtype=np.float32).reshape(1, 3, 1)
        rng = np.random.default_rng(self.batch * 1_000_003 + self.steps * 101 + self.units)
        return rng.standard_normal((self.batch, self.steps, self.features)).astype(np.float32)


SHAPES = [(1, 50, 8, 32), (1, 200, 64, 256), (32, 50, 16, 64), (64, 100, 32, 128),
          (256, 200, 64, 256)]


def full_cases(cells: list[str]) -> list[Case]:
    cases = []
    for cell in cells:
        cases.append(Case(cell, 1, 3, 1, 1, tutorial=True))
        if cell == "lstm":
            cases.append(Case(cell, 1, 3, 1, 1, seq=True, tutorial=True))
        for b, t, f, u in SHAPES:
            cases.append(Case(cell, b, t, f, u))
            if cell == "lstm" and b in (32, 256):
                cases.append(Case(cell, b, t, f, u, seq=True))
    if "lstm" in cells:
        cases += [Case("lstm", 32, 50, 16, 64, bidi=True), Case("lstm", 64, 100, 32, 128, bidi=True)]
    return cases


def quick_cases(cells: list[str]) -> list[Case]:
    return [c for cell in cells for c in (Case(cell, 1, 3, 1, 1, tutorial=True),
                                          Case(cell, 1, 50, 8, 32),
                                          Case(cell, 32, 50, 16, 64, seq=True))]


# -- builders ------------------------------------------------------------------------

def build_rnnlens(case: Case, seed: int) -> tuple[Any, Any]:
    from rnnlens import layers
    from rnnlens.models import Model
    from rnnlens.utils import set_random_seed

    set_random_seed(seed)
    inp = layers.Input(shape=(case.steps, case.features))
    layer = getattr(layers, CLASSES[case.cell])(case.units, return_sequences=case.seq)
    if case.bidi:
        layer = layers.Bidirectional(layer)
    return layer, Model(inp, layer(inp))


def keras_paths(keras: Any, tf: Any, case: Case, weights: list, xla: bool,
                eager: bool) -> dict:
    inp = keras.Input(shape=(case.steps, case.features))
    layer = getattr(keras.layers, CLASSES[case.cell])(case.units, return_sequences=case.seq)
    if case.bidi:
        layer = keras.layers.Bidirectional(layer)
    model = keras.Model(inp, layer(inp))
    layer.set_weights(weights)
    sig = [tf.TensorSpec((case.batch, case.steps, case.features), tf.float32)]
    graph = tf.function(layer, input_signature=sig)
    paths = {"keras predict": lambda x: model.predict(x, verbose=0),
             "keras tf.function": lambda x: graph(x).numpy()}
    if xla:
        compiled = tf.function(layer, input_signature=sig, jit_compile=True)
        paths["keras xla"] = lambda x: compiled(x).numpy()
    if eager:
        paths["keras eager"] = lambda x: np.asarray(layer(x))
    return paths


def torch_weights(cell: str, kernel: np.ndarray, recurrent: np.ndarray, bias: np.ndarray,
                  u: int) -> list[np.ndarray]:
    """Keras (kernel, recurrent_kernel, bias) -> torch (w_ih, w_hh, b_ih, b_hh)."""
    if cell == "gru":                        # Keras z, r, h -> torch r, z, n
        order = np.r_[u:2 * u, 0:u, 2 * u:3 * u]
        return [kernel[:, order].T, recurrent[:, order].T, bias[0][order], bias[1][order]]
    return [kernel.T, recurrent.T, bias, np.zeros_like(bias)]     # LSTM i,f,c,o == i,f,g,o


def torch_path(torch: Any, case: Case, weights: list) -> dict:
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[case.cell]
    module = cls(case.features, case.units, batch_first=True, bidirectional=case.bidi)
    with torch.no_grad():
        for k, suffix in enumerate(["_l0", "_l0_reverse"][:2 if case.bidi else 1]):
            parts = torch_weights(case.cell, *weights[3 * k:3 * k + 3], case.units)
            for name, value in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), parts):
                getattr(module, name + suffix).copy_(torch.from_numpy(np.ascontiguousarray(value)))
    module.eval()
    lstm = case.cell == "lstm"

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            out, state = module(torch.from_numpy(x))
            if case.seq:
                return out.numpy()
            h = state[0] if lstm else state
            return (torch.cat([h[0], h[1]], dim=-1) if case.bidi else h[0]).numpy()

    return {"torch": run}


# -- one case --------------------------------------------------------------------------

def run_case(case: Case, fw: dict, args: Any) -> dict:
    x = case.data()
    layer, model = build_rnnlens(case, args.seed)
    weights = layer.get_weights()

    def on_numpy(a: np.ndarray) -> Any:
        before, threads = backend.kernel(), backend.kernel_info()["threads"]
        backend.set_kernel("numpy")
        try:
            return layer(a)
        finally:
            if before == "c":           # back to C with the same threads (--single-thread: 1)
                backend.set_kernel("c", threads=None if threads == "auto" else threads)

    paths: dict[str, Callable] = {"rnnlens c": layer, "rnnlens numpy": on_numpy,
                                  "rnnlens predict": lambda a: model.predict(a, verbose=0)}
    if "keras" in fw:
        paths.update(keras_paths(*fw["keras"], case, weights, not args.no_xla, args.keras_eager))
    if "torch" in fw:
        paths.update(torch_path(fw["torch"], case, weights))
    reference = np.asarray(layer(x))
    result: dict[str, Any] = {"case": case.name, "cell": case.cell, "bidirectional": case.bidi,
                              "shape": [case.batch, case.steps, case.features, case.units],
                              "return_sequences": case.seq, "paths": {}, "max_abs_diff": {},
                              "ok": True}
    for name, fn in list(paths.items()):                 # same numbers everywhere, first
        out = np.asarray(fn(x))
        diff = float("inf") if out.shape != reference.shape else float(
            np.max(np.abs(out.astype(np.float64) - reference)))
        result["max_abs_diff"][name] = diff
        if not diff < args.tol:
            result["ok"] = False
            print(f"  MISMATCH {case.name}: {name} differs from rnnlens by {diff:.3g}; "
                  "not timed", flush=True)
    for name, fn in paths.items():
        if result["max_abs_diff"][name] < args.tol:
            result["paths"][name] = C.measure_quiet(lambda: fn(x), args.budget, args.retries)
    gates = GATES[case.cell] * (2 if case.bidi else 1)
    result["limit"] = C.recurrent_limit_ms(case.batch, case.steps, case.features, case.units,
                                           gates)
    return result


# -- report ----------------------------------------------------------------------------

def keras_best(paths: dict) -> dict | None:
    ks = [s for n, s in paths.items() if n.startswith("keras")]
    return min(ks, key=lambda s: s["median_ms"]) if ks else None


def report(results: list[dict], fw: dict) -> str:
    header = ["case (BxTxF units)", "rn c", "rn numpy", "rn predict"]
    header += ["k predict", "k best"] if "keras" in fw else []
    header += ["torch"] if "torch" in fw else []
    header += ["torch/rn", "k best/rn", "k pred/rn pred"][0 if "torch" in fw else 1:
                                                           3 if "keras" in fw else 1]
    header += ["limit", "lim%", "GF/s", "max|diff|", "load"]
    rows = []
    for r in results:
        p = r["paths"]
        ms = {k: (v["median_ms"] if v else None) for k, v in p.items()}
        rn = ms.get("rnnlens c")
        row = [r["case"], C.fmt_ms(rn), C.fmt_ms(ms.get("rnnlens numpy")),
               C.fmt_ms(ms.get("rnnlens predict"))]
        best = keras_best(p)
        if "keras" in fw:
            row += [C.fmt_ms(ms.get("keras predict")), C.fmt_ms(best and best["median_ms"])]
        if "torch" in fw:
            row += [C.fmt_ms(ms.get("torch")), C.fmt_ratio(ms.get("torch"), rn)]
        if "keras" in fw:
            row += [C.fmt_ratio(best and best["median_ms"], rn),
                    C.fmt_ratio(ms.get("keras predict"), ms.get("rnnlens predict"))]
        lim = r["limit"]
        row += [C.fmt_ms(lim["limit_ms"]), f"{100 * lim['limit_ms'] / rn:.0f}%" if rn else "-",
                f"{lim['flops'] / rn / 1e6:.1f}" if rn else "-"]
        others = [d for n, d in r["max_abs_diff"].items() if n != "rnnlens c"]
        row += [f"{max(others):.1e}" + ("" if r["ok"] else " !") if others else "-"]
        loads = [s["foreign_load"] for s in p.values() if s.get("foreign_load") is not None]
        row += [f"{max(loads):.2f}" + ("*" if max(loads) >= 0.3 else "") if loads else "-"]
        rows.append(row)
    notes = ["times: median ms per call (float32 NumPy in -> NumPy out); ratios other / rn c, "
             "> 1 means rnnlens is faster; k pred/rn pred compares the two predict calls",
             "limit: the matrix products alone at numpy's sgemm speed for these shapes; "
             "lim% = limit / rn c; GF/s = FLOPs / rn c",
             "load: most CPU (cores) other processes used while a path was timed; * = >= 0.3, "
             "disturbed"]
    return C.table(rows, header) + "\n" + "\n".join(notes)


def load_frameworks(only: list[str]) -> dict:
    fw: dict[str, Any] = {}
    if "keras" in only:
        try:
            import keras
            import tensorflow as tf
            fw["keras"] = (keras, tf)
        except ImportError:
            print("  keras: not installed")
    if "torch" in only:
        try:
            import torch
            torch.set_num_threads(C.cpu_count())
            fw["torch"] = torch
        except ImportError:
            print("  torch: not installed")
    return fw


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few small cases (CI, < 60 s)")
    ap.add_argument("--cells", default="lstm,gru,simple_rnn")
    ap.add_argument("--only", default=",".join(FRAMEWORKS), help="frameworks to run")
    ap.add_argument("--json", metavar="PATH", help="also save the results as JSON")
    ap.add_argument("--budget", type=float, default=None, help="seconds per path (0.6)")
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--retries", type=int, default=None, help="re-times under load (2)")
    ap.add_argument("--no-xla", action="store_true")
    ap.add_argument("--keras-eager", action="store_true", help="also time Keras's eager call")
    ap.add_argument("--blas-threads", type=int, default=None)
    ap.add_argument("--single-thread", action="store_true",
                    help="one thread in every framework, timed in CPU time (robust to load)")
    ap.add_argument("--seed", type=int, default=1)
    C.add_blas_env_flag(ap)
    args = ap.parse_args(argv)
    C.apply_blas_env(args.blas_env)
    args.budget = args.budget if args.budget is not None else (0.1 if args.quick else 0.6)
    # re-timing under load is pointless in CPU time (--single-thread): other processes
    # hardly move it, and a busy machine would only stretch the run
    args.retries = args.retries if args.retries is not None else (
        0 if args.quick or args.single_thread else 2)
    if args.blas_threads is not None:
        C.set_blas_threads(args.blas_threads)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    fw = load_frameworks([s.strip() for s in args.only.split(",")])
    if args.single_thread:
        C.single_thread(fw)
        C.use_cpu_clock()
    C.header("rnnlens inference benchmark" + (" (quick)" if args.quick else "")
             + (" -- one thread each, CPU time" if args.single_thread else ""))
    start = time.perf_counter()
    results = []
    for case in (quick_cases(cells) if args.quick else full_cases(cells)):
        t0 = time.perf_counter()
        results.append(run_case(case, fw, args))
        print(f"  done {case.name:<34} ({time.perf_counter() - t0:5.1f} s, load average "
              f"{C.load_average()})", flush=True)
    print()
    print(report(results, fw))
    ok = all(r["ok"] for r in results)
    print(f"\ntotal {time.perf_counter() - start:.0f} s; outputs agree within {args.tol:g}: "
          f"{'yes' if ok else 'NO (see MISMATCH lines)'}")
    if args.json:
        payload = {"blas": C.blas_summary(), "blas_env": C.blas_env_label(),
                   "kernel": backend.kernel_info(), "cases": results}
        Path(args.json).write_text(json.dumps(payload, indent=2, default=str))
        print(f"saved {args.json}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
