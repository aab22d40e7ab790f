"""Training speed: seconds per epoch, rnnlens vs Keras vs PyTorch, side by side.

Each case trains the same model (same initial weights, same data, Adam,
MSE, no shuffling) for a few epochs in every framework that is installed and
reports the median seconds per epoch (the first epoch, which includes
Keras's graph tracing, is timed separately as "first"). The first epoch's
loss is printed per framework as a check that they train the same thing
(rnnlens and Keras agree to the printed digits; torch's Adam puts epsilon
after the bias correction, so its loss differs in the last digits).

    .venv/bin/python benchmarks/bench_train.py            # full grid
    .venv/bin/python benchmarks/bench_train.py --quick    # one small case
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

CASES = [  # (name, samples, timesteps, features, units, batch)
    ("LSTM 1024x20x8 u32 b32", 1024, 20, 8, 32, 32),
    ("LSTM 2048x50x16 u64 b64", 2048, 50, 16, 64, 64),
    ("LSTM 1024x100x32 u128 b128", 1024, 100, 32, 128, 128),
]
QUICK = [("LSTM 512x20x8 u32 b32", 512, 20, 8, 32, 32)]


def data(n: int, t: int, f: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, f)).astype(np.float32)
    y = np.tanh(x.sum(axis=(1, 2), keepdims=False) / np.sqrt(t * f))[:, None].astype(np.float32)
    return x, y


def rnnlens_model(t: int, f: int, u: int) -> Any:
    from rnnlens.layers import LSTM, Dense, Input
    from rnnlens.models import Model

    i = Input((t, f))
    return Model(i, Dense(1)(LSTM(u)(i)))


def time_epochs(fit_one_epoch, epochs: int) -> tuple[float, float, float]:
    """(first epoch s, median of the rest s, first-epoch loss)."""
    times, first_loss = [], None
    for e in range(epochs):
        start = time.perf_counter()
        loss = fit_one_epoch()
        times.append(time.perf_counter() - start)
        first_loss = loss if e == 0 else first_loss
    return times[0], statistics.median(times[1:] or times), float(first_loss)


def bench_rnnlens(x, y, weights, u: int, batch: int, epochs: int):
    from rnnlens import optimizers

    model = rnnlens_model(x.shape[1], x.shape[2], u)
    model.set_weights(weights)
    model.compile(optimizer=optimizers.Adam(0.001), loss="mse")
    return time_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=False,
                                         verbose=0).history["loss"][0], epochs)


def bench_keras(x, y, weights, u: int, batch: int, epochs: int):
    import keras

    i = keras.Input((x.shape[1], x.shape[2]))
    model = keras.Model(i, keras.layers.Dense(1)(keras.layers.LSTM(u)(i)))
    model.set_weights(weights)
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="mse")
    return time_epochs(lambda: model.fit(x, y, batch_size=batch, epochs=1, shuffle=False,
                                         verbose=0).history["loss"][0], epochs)


def bench_torch(x, y, weights, u: int, batch: int, epochs: int):
    import torch

    torch.set_num_threads(os.cpu_count() or 1)
    lstm = torch.nn.LSTM(x.shape[2], u, batch_first=True)
    head = torch.nn.Linear(u, 1)
    kernel, recurrent, bias, dense_k, dense_b = weights
    with torch.no_grad():                     # Keras gate order i, f, c, o == torch i, f, g, o
        lstm.weight_ih_l0.copy_(torch.from_numpy(kernel.T.copy()))
        lstm.weight_hh_l0.copy_(torch.from_numpy(recurrent.T.copy()))
        lstm.bias_ih_l0.copy_(torch.from_numpy(bias))
        lstm.bias_hh_l0.zero_()
        head.weight.copy_(torch.from_numpy(dense_k.T.copy()))
        head.bias.copy_(torch.from_numpy(dense_b))
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=0.001, eps=1e-7)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def epoch() -> float:
        total = 0.0
        for s in range(0, len(x), batch):
            xb, yb = xt[s:s + batch], yt[s:s + batch]
            opt.zero_grad()
            _, (h, _) = lstm(xb)
            loss = torch.mean((head(h[-1]) - yb) ** 2)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(xb)
        return total / len(x)

    return time_epochs(epoch, epochs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small case")
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    runners = {"rnnlens": bench_rnnlens, "keras": bench_keras, "torch": bench_torch}
    rows = []
    for name, n, t, f, u, batch in (QUICK if args.quick else CASES):
        x, y = data(n, t, f)
        import rnnlens

        rnnlens.utils.set_random_seed(0)
        weights = rnnlens_model(t, f, u).get_weights()
        got = {}
        for fw, fn in runners.items():
            try:
                got[fw] = fn(x, y, weights, u, batch, args.epochs)
            except ImportError:
                got[fw] = None
        rows.append((name, got))
        print(f"  done {name}", flush=True)
    print_table(rows)
    return 0


def print_table(rows: list) -> None:
    head = (f"{'case':<28}{'rnnlens s/ep':>13}{'keras s/ep':>12}{'torch s/ep':>12}"
            f"{'keras/rn':>10}{'torch/rn':>10}   first-epoch loss (rn / keras / torch)")
    print(head)
    for name, got in rows:
        rn = got["rnnlens"][1]
        cells, ratios = [], []
        for fw in ("rnnlens", "keras", "torch"):
            cells.append("n/a" if got[fw] is None else f"{got[fw][1]:.3f}")
        for fw in ("keras", "torch"):
            ratios.append("n/a" if got[fw] is None else f"{got[fw][1] / rn:.2f}")
        losses = " / ".join("n/a" if got[fw] is None else f"{got[fw][2]:.5f}"
                            for fw in ("rnnlens", "keras", "torch"))
        print(f"{name:<28}{cells[0]:>13}{cells[1]:>12}{cells[2]:>12}{ratios[0]:>10}"
              f"{ratios[1]:>10}   {losses}")
    print("s/ep: median seconds per epoch after the first; ratios other / rnnlens "
          "(> 1: rnnlens faster)")


if __name__ == "__main__":
    raise SystemExit(main())
