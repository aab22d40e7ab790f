#!/usr/bin/env python
"""Training speed: milliseconds per training step, rnnlens vs Keras 3 vs PyTorch, side by side.

Each case trains the same model (``Input -> LSTM / GRU / SimpleRNN(u) -> Dense(1)``,
same initial weights, same data, Adam(0.001), MSE, no shuffling) with ``fit`` for a
few epochs of ``--steps`` batches in every framework that is installed, and reports
the median milliseconds per step over the epochs after the first (the first
includes Keras's graph tracing). rnnlens runs twice: with its compiled time loop
("rn c") and with the NumPy one ("rn numpy"). The first epoch's loss is printed per
framework as a check that they train the same thing (rnnlens and Keras agree to
the printed digits; torch's Adam adds epsilon after the bias correction, so its
loss can differ in the last digits).

Cases: the keras.io weather model (``timeseries_weather_forecasting``: LSTM(32),
batch 256, 120 steps of 7 features) and B x T x F u grids for the three cells.

    .venv/bin/python benchmarks/bench_train.py                   # full grid, ~5 min
    .venv/bin/python benchmarks/bench_train.py --quick           # one small case per cell
    .venv/bin/python benchmarks/bench_train.py --blas-env unset  # OpenBLAS picks its kernel
    .venv/bin/python benchmarks/bench_train.py --single-thread   # 1 thread each, CPU time

``limit`` is what the step's matrix products alone take at numpy's sgemm speed (the
forward's products times three: the backward multiplies by U^T and W^T and forms
dU and dW, the same shapes transposed); ``lim%`` = limit / rn c.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402
import numpy as np  # noqa: E402

from rnnlens import backend  # noqa: E402

CLASSES = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "SimpleRNN"}
#: (name, batch, timesteps, features, units)
SHAPES = [("weather", 256, 120, 7, 32), ("", 32, 20, 8, 32), ("", 64, 50, 16, 64),
          ("", 128, 100, 32, 128)]
QUICK = [("", 32, 20, 8, 32)]


def case_name(cell: str, name: str, b: int, t: int, f: int, u: int) -> str:
    return f"{CLASSES[cell]} {name + ' ' if name else ''}{b}x{t}x{f} u{u}"


def data(n: int, t: int, f: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, f)).astype(np.float32)
    y = np.tanh(x.sum(axis=(1, 2)) / np.sqrt(t * f))[:, None].astype(np.float32)
    return x, y


def time_epochs(fit_one_epoch: Any, epochs: int, steps: int) -> dict:
    """ms per step: the median over the epochs after the first; the first epoch's loss."""
    times, first_loss, clock = [], None, C.CLOCK[0]
    for e in range(epochs):
        start = clock()
        loss = fit_one_epoch()
        times.append((clock() - start) / steps * 1e3)
        first_loss = loss if e == 0 else first_loss
    rest = times[1:] or times
    return {"ms_per_step": statistics.median(rest), "min_ms": min(rest), "first_ms": times[0],
            "first_loss": float(first_loss)}


def rnnlens_model(cell: str, t: int, f: int, u: int) -> Any:
    from rnnlens import layers
    from rnnlens.models import Model

    i = layers.Input((t, f))
    return Model(i, layers.Dense(1)(getattr(layers, CLASSES[cell])(u)(i)))


def bench_rnnlens(kernel: str, cell: str, x: np.ndarray, y: np.ndarray, weights: list,
                  u: int, batch: int, args: Any) -> dict:
    from rnnlens import optimizers

    backend.set_kernel(kernel, threads=1 if args.single_thread and kernel == "c" else None)
    model = rnnlens_model(cell, x.shape[1], x.shape[2], u)
    model.set_weights(weights)
    model.compile(optimizer=optimizers.Adam(0.001), loss="mse")
    return time_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=False,
                                         verbose=0).history["loss"][0],
                       args.epochs, len(x) // batch)


def bench_keras(cell: str, x: np.ndarray, y: np.ndarray, weights: list, u: int, batch: int,
                args: Any) -> dict:
    import keras
    import tensorflow as tf

    if args.single_thread:
        C.single_thread({"keras": (keras, tf)})
    i = keras.Input((x.shape[1], x.shape[2]))
    model = keras.Model(i, keras.layers.Dense(1)(getattr(keras.layers, CLASSES[cell])(u)(i)))
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse")
    return time_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=False,
                                         verbose=0).history["loss"][0],
                       args.epochs, len(x) // batch)


def bench_torch(cell: str, x: np.ndarray, y: np.ndarray, weights: list, u: int, batch: int,
                args: Any) -> dict:
    import torch
    from bench_forward import torch_weights

    torch.set_num_threads(1 if args.single_thread else C.cpu_count())
    cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "simple_rnn": torch.nn.RNN}[cell]
    rnn = cls(x.shape[2], u, batch_first=True)
    head = torch.nn.Linear(u, 1)
    with torch.no_grad():
        parts = torch_weights(cell, *weights[:3], u)
        for name, value in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
                               parts):
            getattr(rnn, name).copy_(torch.from_numpy(np.ascontiguousarray(value)))
        head.weight.copy_(torch.from_numpy(weights[3].T.copy()))
        head.bias.copy_(torch.from_numpy(weights[4]))
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=0.001,
                           eps=1e-7)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch() -> float:
        total = 0.0
        for s in range(0, len(x), batch):
            opt.zero_grad()
            _, state = rnn(xt[s:s + batch])
            h = state[0] if cell == "lstm" else state
            loss = torch.mean((head(h[-1]) - yt[s:s + batch]) ** 2)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * batch
        return total / len(x)

    return time_epochs(epoch, args.epochs, len(x) // batch)


def run_case(cell: str, shape: tuple, args: Any) -> dict:
    name, b, t, f, u = shape
    x, y = data(b * args.steps, t, f)
    from rnnlens.utils import set_random_seed

    set_random_seed(0)
    weights = rnnlens_model(cell, t, f, u).get_weights()
    got: dict[str, Any] = {}
    runners = {"rn c": lambda: bench_rnnlens("c", cell, x, y, weights, u, b, args),
               "rn numpy": lambda: bench_rnnlens("numpy", cell, x, y, weights, u, b, args),
               "keras": lambda: bench_keras(cell, x, y, weights, u, b, args),
               "torch": lambda: bench_torch(cell, x, y, weights, u, b, args)}
    for fw, fn in runners.items():
        if ("rnnlens" if fw.startswith("rn") else fw) not in args.only:
            continue
        try:
            got[fw] = fn()
        except (ImportError, ValueError) as err:       # not installed / no C kernel
            got[fw] = None
            print(f"  {fw}: {err}", flush=True)
    gates = {"lstm": 4, "gru": 3, "simple_rnn": 1}[cell]
    forward = C.recurrent_limit_ms(b, t, f, u, gates)
    # backward: dh_{t-1} = dz U^T, dx = dz W^T, dU = h^T dz, dW = x^T dz -- twice the
    # forward's products, of the same shapes transposed; so about 3x the forward's
    limit = {"flops": 3 * forward["flops"], "limit_ms": 3 * forward["limit_ms"]}
    return {"case": case_name(cell, name, b, t, f, u), "results": got, "limit": limit}


def report(rows: list[dict]) -> str:
    fws = ["rn c", "rn numpy", "keras", "torch"]
    header = ["case (batch x T x F units)"] + [f"{fw} ms" for fw in fws] + [
        "keras/rn", "torch/rn", "limit", "lim%", "first-epoch loss (rn c / keras / torch)"]
    out = []
    for row in rows:
        got = row["results"]
        ms = {fw: got[fw]["ms_per_step"] if got.get(fw) else None for fw in fws}
        losses = " / ".join("n/a" if not got.get(fw) else f"{got[fw]['first_loss']:.5f}"
                            for fw in ("rn c", "keras", "torch"))
        lim, rn = row["limit"]["limit_ms"], ms["rn c"]
        out.append([row["case"]] + [C.fmt_ms(ms[fw]) for fw in fws] + [
            C.fmt_ratio(ms["keras"], rn), C.fmt_ratio(ms["torch"], rn), C.fmt_ms(lim),
            f"{100 * lim / rn:.0f}%" if rn else "-", losses])
    return C.table(out, header) + (
        "\nms: median milliseconds per training step (fit, after the first epoch); ratios "
        "other / rn c, > 1 means rnnlens is faster\nlimit: the step's matrix products alone "
        "(forward ones x 3) at numpy's sgemm speed for these shapes; lim% = limit / rn c")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one small case per cell")
    ap.add_argument("--cells", default="lstm,gru,simple_rnn")
    ap.add_argument("--only", default="rnnlens,keras,torch")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--steps", type=int, default=12, help="batches per epoch")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--single-thread", action="store_true",
                    help="one thread in every framework, timed in CPU time (robust to load)")
    C.add_blas_env_flag(ap)
    args = ap.parse_args(argv)
    C.apply_blas_env(args.blas_env)
    if args.single_thread:
        C.single_thread({})
        C.use_cpu_clock()
    C.header("rnnlens training benchmark" + (" (quick)" if args.quick else "")
             + (" -- one thread each, CPU time" if args.single_thread else ""))
    rows = []
    for cell in [c.strip() for c in args.cells.split(",") if c.strip()]:
        for shape in QUICK if args.quick else SHAPES:
            if shape[0] == "weather" and cell != "lstm":
                continue
            t0 = time.perf_counter()
            rows.append(run_case(cell, shape, args))
            print(f"  done {rows[-1]['case']:<36} ({time.perf_counter() - t0:5.1f} s, load "
                  f"average {C.load_average()})", flush=True)
    print()
    print(report(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"blas": C.blas_summary(),
                                               "blas_env": C.blas_env_label(),
                                               "rows": rows}, indent=2))
        print(f"saved {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
