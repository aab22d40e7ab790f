#!/usr/bin/env python
"""Layer speed beside the recurrent core: 2-D convolutions and pooling, and streaming steps.

Side by side in one run, same weights, outputs checked equal before anything is timed:

* conv family on (8, 32, 32, 16) inputs, 3x3 kernels: forward and forward + backward
  (rnnlens ``forward`` / ``backward``; Keras eager layer call under ``tf.GradientTape``;
  PyTorch ``nn.Conv2d`` / pooling / upsampling with ``autograd``), channels-last for
  rnnlens and Keras, channels-first for torch (each framework's native layout);
* streaming at batch 1: ``LSTM(64).step``, ``Stream.step`` and ``torch.nn.LSTMCell``
  (inference mode), per step.

Ratios are other / rnnlens (> 1: rnnlens is faster). Times are medians over repeats
(``bench_forward.measure``). Run with the machine's BLAS settings, and again with
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` to see both (see README.md).

Usage:
    python benchmarks/bench_layers.py [--quick] [--json out.json] [--only rnnlens,torch]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from bench_forward import environment  # noqa: E402
from bench_forward import measure as _measure  # noqa: E402

import rnnlens  # noqa: E402
from rnnlens import layers as RL  # noqa: E402

CONV = [("Conv2D", dict(filters=16, kernel_size=3, padding="same")),
        ("Conv2D/s2", dict(filters=32, kernel_size=3, strides=2)),
        ("DepthwiseConv2D", dict(kernel_size=3, padding="same")),
        ("Conv2DTranspose", dict(filters=16, kernel_size=3, strides=2, padding="same")),
        ("MaxPooling2D", dict()),
        ("AveragePooling2D", dict(pool_size=3, strides=1)),
        ("UpSampling2D", dict(interpolation="bilinear"))]
SHAPE = (8, 32, 32, 16)


def measure(fn: Callable[[], Any], budget: float) -> float:
    """Median seconds per call (``bench_forward.measure``)."""
    return _measure(fn, budget)["median_ms"] / 1e3


def _cls(name: str) -> str:
    return name.split("/")[0]


def rnnlens_conv(name: str, kwargs: dict, x: np.ndarray) -> tuple[Callable, Callable, Any]:
    layer = getattr(RL, _cls(name))(**kwargs)
    y = layer(x)
    d_out = np.ones_like(y)
    return (lambda: layer(x)), (lambda: layer.backward(layer.forward(x)[1], d_out)), layer


def keras_conv(name: str, kwargs: dict, x: np.ndarray, ours: Any) -> tuple:
    import keras  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    layer = getattr(keras.layers, _cls(name))(**kwargs)
    layer(x)
    if ours.get_weights():
        layer.set_weights(ours.get_weights())
    xt = tf.constant(x)

    def both() -> None:
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt)
        tape.gradient(y, [xt] + layer.trainable_weights)
    return (lambda: np.asarray(layer(xt))), both, np.asarray(layer(xt))


def torch_conv(name: str, kwargs: dict, x: np.ndarray, ours: Any) -> tuple | None:
    import torch  # noqa: PLC0415

    cls, c = _cls(name), x.shape[-1]
    w = ours.get_weights()
    if cls == "Conv2D":
        s = kwargs.get("strides", 1)
        m = torch.nn.Conv2d(c, kwargs["filters"], 3, stride=s,
                            padding=1 if kwargs.get("padding") == "same" else 0)
        m.weight.data = torch.from_numpy(w[0].transpose(3, 2, 0, 1).copy())
        m.bias.data = torch.from_numpy(w[1])
    elif cls == "DepthwiseConv2D":
        m = torch.nn.Conv2d(c, c, 3, padding=1, groups=c)
        m.weight.data = torch.from_numpy(w[0].transpose(2, 3, 0, 1).reshape(c, 1, 3, 3).copy())
        m.bias.data = torch.from_numpy(w[1])
    elif cls == "Conv2DTranspose":
        conv = torch.nn.ConvTranspose2d(c, kwargs["filters"], 3, stride=2)
        # TensorFlow's "same" crops the full (2H + 1) output at the end only
        m = torch.nn.Sequential(conv)
        m.forward = lambda t: conv(t)[:, :, :-1, :-1]
        conv.weight.data = torch.from_numpy(w[0].transpose(3, 2, 0, 1).copy())
        conv.bias.data = torch.from_numpy(w[1])
    elif cls == "MaxPooling2D":
        m = torch.nn.MaxPool2d(2)
    elif cls == "AveragePooling2D":
        m = torch.nn.AvgPool2d(3, stride=1)
    elif cls == "UpSampling2D":
        m = torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
    else:
        return None
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_(True)

    def fwd() -> np.ndarray:
        with torch.inference_mode():
            return m(xt.detach()).numpy().transpose(0, 2, 3, 1)

    def both() -> None:
        xt.grad = None
        m(xt).sum().backward()
    return fwd, both, fwd()


def conv_rows(frameworks: list[str], budget: float) -> list[dict]:
    x = np.random.default_rng(0).normal(size=SHAPE).astype(np.float32)
    rows = []
    for name, kwargs in CONV:
        fwd, both, ours = rnnlens_conv(name, kwargs, x)
        row = {"case": name, "rnnlens": (measure(fwd, budget),
                                         measure(both, budget))}
        want = fwd()
        for fw, make in (("keras", keras_conv), ("torch", torch_conv)):
            if fw not in frameworks:
                continue
            made = make(name, kwargs, x, ours)
            if made is None:
                continue
            f2, b2, out = made
            diff = float(np.abs(np.asarray(out) - want).max())
            row[f"{fw} diff"] = diff
            if diff > 1e-4:
                row[fw] = "MISMATCH"
                continue
            row[fw] = (measure(f2, budget), measure(b2, budget))
        rows.append(row)
    return rows


def stream_rows(frameworks: list[str], budget: float) -> list[dict]:
    units, features = 64, 32
    layer = RL.LSTM(units)
    layer.build((None, None, features))
    xs = np.random.default_rng(1).uniform(-1, 1, (1, features)).astype(np.float32)
    stream = rnnlens.Stream(layer)
    states: list[Any] = [None]

    def step() -> None:
        _, states[0] = layer.step(xs, states[0])

    rows = [{"case": "LSTM(64).step, batch 1", "rnnlens": measure(step, budget)},
            {"case": "Stream.step, batch 1",
             "rnnlens": measure(lambda: stream.step(xs), budget)}]
    if "torch" in frameworks:
        import torch  # noqa: PLC0415

        cell = torch.nn.LSTMCell(features, units)
        xt, hc = torch.from_numpy(xs), [None]

        def tstep() -> None:
            with torch.inference_mode():
                hc[0] = cell(xt, hc[0])
        t = measure(tstep, budget)
        for row in rows:
            row["torch"] = t
    return rows


def _ms(v: Any) -> str:
    return v if isinstance(v, str) else f"{v * 1e3:.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--only", default="rnnlens,keras,torch")
    args = parser.parse_args(argv)
    frameworks = args.only.split(",")
    budget = 0.1 if args.quick else 0.5
    conv, stream = conv_rows(frameworks, budget), stream_rows(frameworks, budget)
    print(f"conv family on {SHAPE}, ms: forward / forward+backward; ratio other/rnnlens")
    for row in conv:
        cells = [f"{row['case']:18s} rnnlens {_ms(row['rnnlens'][0])} / "
                 f"{_ms(row['rnnlens'][1])}"]
        for fw in ("keras", "torch"):
            v = row.get(fw)
            if isinstance(v, tuple):
                cells.append(f"{fw} {_ms(v[0])} / {_ms(v[1])} "
                             f"(x{v[0] / row['rnnlens'][0]:.2f} / x{v[1] / row['rnnlens'][1]:.2f})")
            elif v:
                cells.append(f"{fw} {v}")
        print("  " + "   ".join(cells))
    print("streaming, us per step (ratio torch/rnnlens)")
    for row in stream:
        t = row.get("torch")
        extra = f"   torch.nn.LSTMCell {t * 1e6:.1f} (x{t / row['rnnlens']:.2f})" if t else ""
        print(f"  {row['case']:24s} rnnlens {row['rnnlens'] * 1e6:.1f}{extra}")
    if args.json:
        Path(args.json).write_text(json.dumps({"conv": conv, "stream": stream,
                                               "environment": environment({})}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
