"""Keras activations in torch, each exactly the function :mod:`rnnlens.activations` computes.

``get(name)`` returns a function of a tensor; ``glu``, ``softmax``, ``log_softmax`` and
``sparsemax`` act along the last axis. Definitions (Keras 3.15.1's TensorFlow ones)::

    hard_sigmoid  clip(x + 3, 0, 6) / 6     hard_sigmoid_keras2  clip(0.2 x + 0.5, 0, 1)
    leaky_relu    slope 0.2                 elu / celu           alpha 1
    gelu          0.5 x (1 + erf(x / sqrt 2))   (the exact form, Keras's default)
    log_sigmoid   -softplus(-x)             squareplus           (x + sqrt(x^2 + 4)) / 2
    hard_shrink / soft_shrink   threshold 0.5
    sparse_plus, sparse_sigmoid, sparsemax, glu   as rnnlens.activations

A user callable has no torch form and is refused by the converters.
"""

from __future__ import annotations

from typing import Any, Callable

from rnnlens.interop.torch.weights import _import_torch


def _table(torch: Any) -> dict[str, Callable]:
    F = torch.nn.functional

    def hard_sigmoid(x: Any) -> Any:
        return torch.clamp(x + 3.0, 0.0, 6.0) / 6.0

    def softplus(x: Any) -> Any:
        return torch.logaddexp(torch.zeros((), dtype=x.dtype, device=x.device), x)

    def sparsemax(x: Any) -> Any:
        srt = torch.sort(x, dim=-1, descending=True).values
        cum = torch.cumsum(srt, dim=-1)
        r = torch.arange(1, x.shape[-1] + 1, dtype=x.dtype, device=x.device)
        support = srt - (cum - 1) / r > 0
        k = support.sum(dim=-1, keepdim=True).to(x.dtype)
        tau = (torch.where(support, cum, torch.zeros_like(cum)).sum(-1, keepdim=True) - 1) / k
        return torch.clamp(x - tau, min=0.0)

    def glu(x: Any) -> Any:
        if x.shape[-1] % 2:
            raise ValueError(f"glu needs an even size along the last axis, received shape "
                             f"{tuple(x.shape)}.")
        a, b = torch.chunk(x, 2, dim=-1)
        return a * torch.sigmoid(b)

    def where(cond: Any, a: Any, b: Any) -> Any:
        return torch.where(cond, a, torch.as_tensor(b, dtype=a.dtype, device=a.device)
                           if not torch.is_tensor(b) else b)

    return {
        "linear": lambda x: x,
        "tanh": torch.tanh,
        "sigmoid": torch.sigmoid,
        "hard_sigmoid": hard_sigmoid,
        "hard_sigmoid_keras2": lambda x: torch.clamp(x * 0.2 + 0.5, 0.0, 1.0),
        "relu": torch.relu,
        "relu6": lambda x: torch.clamp(x, 0.0, 6.0),
        "leaky_relu": lambda x: F.leaky_relu(x, 0.2),
        "elu": lambda x: F.elu(x, 1.0),
        "selu": F.selu,
        "celu": lambda x: F.celu(x, 1.0),
        "softplus": softplus,
        "softsign": lambda x: x / (torch.abs(x) + 1.0),
        "silu": lambda x: x * torch.sigmoid(x),
        "swish": lambda x: x * torch.sigmoid(x),
        "hard_silu": lambda x: x * hard_sigmoid(x),
        "hard_swish": lambda x: x * hard_sigmoid(x),
        "mish": lambda x: x * torch.tanh(softplus(x)),
        "exponential": torch.exp,
        "gelu": lambda x: 0.5 * x * (1.0 + torch.erf(x / 2.0 ** 0.5)),
        "hard_tanh": lambda x: torch.clamp(x, -1.0, 1.0),
        "tanh_shrink": lambda x: x - torch.tanh(x),
        "log_sigmoid": lambda x: -softplus(-x),
        "squareplus": lambda x: (x + torch.sqrt(x * x + 4.0)) / 2.0,
        "softmax": lambda x: torch.softmax(x, dim=-1),
        "log_softmax": lambda x: torch.log_softmax(x, dim=-1),
        "hard_shrink": lambda x: where(torch.abs(x) > 0.5, x, 0.0),
        "soft_shrink": lambda x: where(x > 0.5, x - 0.5, where(x < -0.5, x + 0.5, 0.0)),
        "sparse_plus": lambda x: where(x <= -1, 0.0, where(x < 1, 0.25 * (x + 1) ** 2, x)),
        "sparse_sigmoid": lambda x: where(x <= -1, 0.0, where(x >= 1, 1.0, 0.5 * (x + 1))),
        "sparsemax": sparsemax,
        "glu": glu,
    }


_TABLE: dict[str, Callable] = {}


def name_of(fn: Any, where: str, arg: str = "activation") -> str:
    """The Keras name of an rnnlens activation, or a ValueError starting with ``where``."""
    from rnnlens import activations

    key = activations.serialize(fn)
    if isinstance(key, str) and (key in activations.LEGACY or _known(key)):
        return key
    label = key if isinstance(key, str) else getattr(fn, "__name__", repr(fn))
    raise ValueError(f"{where}: {arg}={label!r} is a user function; only Keras's named "
                     "activations can be converted to PyTorch.")


def _known(name: str) -> bool:
    from rnnlens import activations

    try:
        activations.get(name)
    except ValueError:
        return False
    return True


def get(name: str) -> Callable:
    """The torch function of a Keras activation name (see :func:`name_of`)."""
    if not _TABLE:
        _TABLE.update(_table(_import_torch()))
    return _TABLE[name]


__all__ = ["get", "name_of"]
