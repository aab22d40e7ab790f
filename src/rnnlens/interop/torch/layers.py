"""rnnlens layers as torch modules, one class per family, for :mod:`.model`'s converter.

Every module has the same interface::

    outs, masks = module(x, mask=None, initial_state=None)

``x`` is the layer's input (a tensor, or a list of them for a merge), ``mask`` the Keras
mask it receives ((B, T) bool, or a list for a merge; None without one), and the result
is the list of its output tensors with the Keras mask each carries (``compute_mask``, as
rnnlens computes it: the incoming mask for the pass-through layers). The equations are
rnnlens's (and so Keras's)::

    Embedding     W[ids]                      mask: ids != 0 with mask_zero
    Masking       keep = any(x != v, -1);  y = x * keep;   mask: keep
    Dense         act(x @ kernel + bias);  Activation: act(x)
    ReLU, LeakyReLU, PReLU, ELU, Softmax   rnnlens's formulas (Softmax reads a mask)
    merges        Add ((x1 + x2) + ...), Average (.. / n), Subtract, Multiply / Maximum /
                  Minimum (masked values as Keras 3.15.1), Concatenate, Dot (batch_dot,
                  L2-normalized with epsilon 1e-7)
    RepeatVector, Flatten, Reshape, Permute   the values moved as rnnlens moves them
    LayerNormalization   x * inv + (beta - mean * inv), inv = rsqrt(var + eps) * gamma
    BatchNormalization   x * inv + shift with the moving statistics (inference)
    UnitNormalization    x * min(rsqrt(sum(x^2)), 1e12)
    Dropout & friends, Identity   the identity (inference)

Classes are made on first use (they subclass ``torch.nn.Module``; torch stays optional)
and are reachable as attributes of this module, so ``torch.save`` / ``torch.load`` work.
"""

from __future__ import annotations

import functools
import string
from types import SimpleNamespace
from typing import Any

import numpy as np

from rnnlens.interop.torch import activations as acts
from rnnlens.interop.torch.weights import _import_torch


@functools.lru_cache(maxsize=1)
def base() -> type:
    """``LayerModule``: the base class with the interface of the module docstring."""
    torch = _import_torch()

    class LayerModule(torch.nn.Module):
        """One rnnlens layer; ``forward(x, mask, initial_state) -> (outs, masks)``."""

        def __init__(self, keras_name: str, supports_masking: bool = False):
            super().__init__()
            self.keras_name = keras_name
            self.supports_masking = supports_masking

        def forward(self, x: Any, mask: Any = None, initial_state: Any = None) -> tuple:
            return [self.call(x, mask)], [self.compute_mask(x, mask)]

        def call(self, x: Any, mask: Any) -> Any:
            raise NotImplementedError

        def compute_mask(self, x: Any, mask: Any) -> Any:
            return mask if self.supports_masking else None

        def param(self, name: str, value: Any) -> None:
            """Registers a float32 parameter from a NumPy array."""
            array = np.ascontiguousarray(np.asarray(value, np.float32))
            self.register_parameter(name, torch.nn.Parameter(torch.from_numpy(array.copy()),
                                                             requires_grad=True))

        def extra_repr(self) -> str:
            return f"name={self.keras_name!r}"

    publish(__name__, LayerModule=LayerModule)
    return LayerModule


def _where(torch: Any, cond: Any, a: Any, b: float) -> Any:
    return torch.where(cond, a, torch.full((), b, dtype=a.dtype, device=a.device))


@functools.lru_cache(maxsize=1)
def classes() -> SimpleNamespace:
    """Every layer module class of this file, made once."""
    torch = _import_torch()
    Base = base()

    class Identity(Base):
        """Dropout, noise and regularization layers at inference, ``Identity``."""

        def forward(self, x: Any, mask: Any = None, initial_state: Any = None) -> tuple:
            outs = list(x) if isinstance(x, (list, tuple)) else [x]
            masks = list(mask) if isinstance(mask, (list, tuple)) else [mask]
            if not self.supports_masking:
                masks = [None] * len(outs)
            return outs, masks + [None] * (len(outs) - len(masks))

    class Embedding(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, bool(layer.mask_zero))
            self.param("embeddings", layer.embeddings)
            self.mask_zero = bool(layer.mask_zero)

        def call(self, x: Any, mask: Any) -> Any:
            return self.embeddings[x.long()]                           # (B, T, D)

        def compute_mask(self, x: Any, mask: Any) -> Any:
            return x != 0 if self.mask_zero else None

    class Masking(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            self.mask_value = float(layer.mask_value)

        def call(self, x: Any, mask: Any) -> Any:
            keep = torch.any(x != self.mask_value, dim=-1, keepdim=True)
            return x * keep.to(x.dtype)

        def compute_mask(self, x: Any, mask: Any) -> Any:
            return torch.any(x != self.mask_value, dim=-1)

    class Dense(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            self.activation = acts.name_of(layer.activation, f"Layer '{layer.name}' (Dense)")
            self.param("kernel", layer.kernel)
            self.use_bias = bool(layer.use_bias)
            if self.use_bias:
                self.param("bias", layer.bias)

        def call(self, x: Any, mask: Any) -> Any:
            y = torch.matmul(x, self.kernel)
            if self.use_bias:
                y = y + self.bias
            return acts.get(self.activation)(y)

    class Activation(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            self.activation = acts.name_of(layer.activation,
                                           f"Layer '{layer.name}' (Activation)")

        def call(self, x: Any, mask: Any) -> Any:
            return acts.get(self.activation)(x)

    class ActivationLayer(Base):
        """ReLU, LeakyReLU, PReLU, ELU and Softmax, with rnnlens's formulas (Softmax: a
        mask sets masked inputs to -1e9 before and masked outputs to 0 after)."""

        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            self.kind = type(layer).__name__
            names = ("max_value", "negative_slope", "threshold", "axis")
            self.settings = {k: getattr(layer, k) for k in names if hasattr(layer, k)}
            if self.kind == "ELU":
                self.settings["alpha"] = float(layer.alpha)
            if self.kind == "PReLU":
                self.param("alpha", layer.alpha)                      # a weight

        def call(self, x: Any, mask: Any) -> Any:
            kind, c = self.kind, self.settings
            zero = torch.zeros((), dtype=x.dtype, device=x.device)
            if kind == "LeakyReLU":
                return torch.where(x > 0, x, c["negative_slope"] * x)
            if kind == "PReLU":
                return torch.maximum(x, zero) - self.alpha * torch.maximum(-x, zero)
            if kind == "ELU":
                res = torch.where(x > 0, x, torch.exp(torch.minimum(x, zero)) - 1)
                return res if c["alpha"] == 1 else torch.where(x > 0, res, c["alpha"] * res)
            if kind == "Softmax":
                return self._softmax(x, mask)
            return self._relu(x, zero)

        def _relu(self, x: Any, zero: Any) -> Any:
            slope, top, threshold = (self.settings[k] for k in ("negative_slope", "max_value",
                                                                 "threshold"))
            if slope != 0.0 and top is None and threshold == 0:
                return torch.where(x > 0, x, slope * x)
            clip = top is not None
            if threshold != 0:
                y = torch.where(x > threshold, x, zero)
            elif top == 6:
                y, clip = torch.clamp(x, 0.0, 6.0), False
            else:
                y = torch.maximum(x, zero)
            if clip:
                y = torch.clamp(y, 0.0, top)
            if slope != 0.0:
                y = y - slope * torch.maximum(threshold - x, zero)
            return y

        def _softmax(self, x: Any, mask: Any) -> Any:
            axis = self.settings["axis"]
            dims = [axis] if isinstance(axis, int) else list(axis)
            if mask is not None:
                x = _where(torch, mask, x, -1e9)
            shifted = x - torch.amax(x, dim=dims, keepdim=True)
            e = torch.exp(shifted)
            y = e / torch.sum(e, dim=dims, keepdim=True)
            return y if mask is None else _where(torch, mask, y, 0.0)

    class TimeDistributed(Base):
        """The inner module on (B*T, ...), the result back to (B, T, ...)."""

        def __init__(self, layer: Any, inner: Any):
            super().__init__(layer.name, True)
            self.inner = inner

        def call(self, x: Any, mask: Any) -> Any:
            b, t = x.shape[0], x.shape[1]
            y = self.inner(x.reshape(b * t, *x.shape[2:]))[0][0]
            return y.reshape(b, t, *y.shape[1:])

    return publish(__name__, Identity=Identity, Embedding=Embedding, Masking=Masking,
                   Dense=Dense, Activation=Activation, ActivationLayer=ActivationLayer,
                   TimeDistributed=TimeDistributed,
                   **_shape_classes(torch, Base), **_merge_classes(torch, Base),
                   **_norm_classes(torch, Base))


def publish(module: str, **made: type) -> SimpleNamespace:
    """The classes, named as module-level attributes of ``module`` (for pickling)."""
    for name, cls in made.items():
        cls.__module__, cls.__qualname__, cls.__name__ = module, name, name
    return SimpleNamespace(**made)


def _merge_classes(torch: Any, Base: type) -> dict:
    class Merge(Base):
        """Add, Subtract, Average, Multiply, Maximum, Minimum (rnnlens's ``Merge``)."""

        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            self.kind = type(layer).__name__
            self.uses_masks = bool(layer.uses_masks)
            self.mask_rule = layer.mask_rule

        def call(self, xs: Any, mask: Any) -> Any:
            rank = max(x.dim() for x in xs)
            same = len({x.dim() for x in xs}) == 1
            xs = [x.reshape(x.shape[:1] + (1,) * (rank - x.dim()) + x.shape[1:]) for x in xs]
            masks = None
            if self.uses_masks and same and self.mask_rule == "or" and mask is not None:
                masks = [None if m is None else m.unsqueeze(-1) for m in mask]
            if self.kind == "Multiply" and masks is not None:
                return self._product(xs, masks)
            if masks is not None:
                return self._select(xs, masks)
            out = xs[0]
            for x in xs[1:]:
                out = self._binary(out, x)
            return out / len(xs) if self.kind == "Average" else out

        def _binary(self, a: Any, b: Any) -> Any:
            kind = self.kind
            if kind in ("Add", "Average"):
                return a + b
            if kind == "Subtract":
                return a - b
            if kind == "Multiply":
                return a * b
            return torch.maximum(a, b) if kind == "Maximum" else torch.minimum(a, b)

        def _product(self, xs: list, masks: list) -> Any:
            factors = [x if m is None else _where(torch, m, x, 1.0) for x, m in zip(xs, masks)]
            out = factors[0]
            for f in factors[1:]:
                out = out * f
            if all(m is not None for m in masks):
                keep = masks[0]
                for m in masks[1:]:
                    keep = keep | m
                out = _where(torch, keep, out, 0.0)
            return out

        def _select(self, xs: list, masks: list) -> Any:
            out, out_mask = xs[0], masks[0]
            for x, m in zip(xs[1:], masks[1:]):
                if m is not None:
                    x = torch.where(m, x, out)
                if out_mask is not None:
                    out = torch.where(out_mask, out, x)
                out_mask = None if m is None or out_mask is None else out_mask | m
                out = self._binary(out, x)
            return out

        def compute_mask(self, xs: Any, mask: Any) -> Any:
            if mask is None:
                return None
            if self.mask_rule == "and":
                mask = [m for m in mask if m is not None]
                if not mask:
                    return None
            elif any(m is None for m in mask):
                return None
            out = mask[0]
            for m in mask[1:]:
                out = (out & m) if self.mask_rule == "and" else (out | m)
            return out

    class Concatenate(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, True)
            self.axis, self.mask_rule = int(layer.axis), layer.mask_rule

        def call(self, xs: Any, mask: Any) -> Any:
            return torch.cat(list(xs), dim=self.axis)

        def compute_mask(self, xs: Any, mask: Any) -> Any:
            if mask is None or all(m is None for m in mask):
                return None
            full = [torch.ones(x.shape, dtype=torch.bool, device=x.device) if m is None
                    else m.unsqueeze(-1).expand(x.shape) if m.dim() < x.dim() else m
                    for x, m in zip(xs, mask)]
            joined = torch.cat(full, dim=self.axis)
            return joined.all(dim=-1) if self.mask_rule == "and" else joined.any(dim=-1)

    class Dot(Base):
        """Keras's ``batch_dot`` over ``axes`` (x's remaining axes, then y's)."""

        def __init__(self, layer: Any, ranks: tuple[int, int]):
            super().__init__(layer.name, True)
            axes = layer.axes
            pair = (axes, axes) if isinstance(axes, int) else tuple(axes)
            self.axes = (int(pair[0]) % ranks[0], int(pair[1]) % ranks[1])
            self.normalize = bool(layer.normalize)
            letters = iter(string.ascii_lowercase[2:])
            xa = ["b"] + [("a" if k == self.axes[0] else next(letters)) for k in range(1, ranks[0])]
            ya = ["b"] + [("a" if k == self.axes[1] else next(letters)) for k in range(1, ranks[1])]
            out = "b" + "".join(c for c in xa[1:] + ya[1:] if c != "a")
            self.equation = f"{''.join(xa)},{''.join(ya)}->{out}"

        def call(self, xs: Any, mask: Any) -> Any:
            x, y = xs
            if self.normalize:
                x, y = l2_normalize(torch, x, [self.axes[0]], 1e-7), \
                    l2_normalize(torch, y, [self.axes[1]], 1e-7)
            z = torch.einsum(self.equation, x, y)
            return z.unsqueeze(1) if z.dim() == 1 else z

        def compute_mask(self, xs: Any, mask: Any) -> Any:
            return None

    return {"Merge": Merge, "Concatenate": Concatenate, "Dot": Dot}


def l2_normalize(torch: Any, x: Any, axes: list[int], epsilon: float) -> Any:
    """``x * min(rsqrt(sum(x^2, axes)), 1 / epsilon)``, as rnnlens."""
    s = torch.sum(x * x, dim=axes, keepdim=True)
    return x * torch.clamp(1.0 / torch.sqrt(s), max=1.0 / epsilon)


def _shape_classes(torch: Any, Base: type) -> dict:
    class RepeatVector(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, False)
            self.n = int(layer.n)

        def call(self, x: Any, mask: Any) -> Any:
            return x.unsqueeze(1).expand(-1, self.n, -1)

    class Flatten(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, False)
            self.channels_first = layer.data_format == "channels_first"

        def call(self, x: Any, mask: Any) -> Any:
            if self.channels_first and x.dim() > 2:
                x = x.permute(0, *range(2, x.dim()), 1)
            return x.reshape(x.shape[0], -1)

    class Reshape(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, False)
            self.target = tuple(int(d) for d in layer.target_shape)

        def call(self, x: Any, mask: Any) -> Any:
            return x.reshape(x.shape[0], *self.target)

    class Permute(Base):
        def __init__(self, layer: Any):
            super().__init__(layer.name, False)
            self.dims = tuple(int(d) for d in layer.dims)

        def call(self, x: Any, mask: Any) -> Any:
            return x.permute(0, *self.dims)

    return {"RepeatVector": RepeatVector, "Flatten": Flatten, "Reshape": Reshape,
            "Permute": Permute}


def _norm_classes(torch: Any, Base: type) -> dict:
    class LayerNormalization(Base):
        def __init__(self, layer: Any, rank: int):
            super().__init__(layer.name, True)
            raw = layer.axis if isinstance(layer.axis, (tuple, list)) else (layer.axis,)
            self.axes = sorted(int(a) % rank for a in raw)
            self.epsilon, self.rms = float(layer.epsilon), bool(layer.rms_scaling)
            shape = [-1 if a in self.axes else 1 for a in range(1, rank)]
            self.has_gamma = bool(layer.scale or layer.rms_scaling)
            self.has_beta = bool(layer.center and not layer.rms_scaling)
            if self.has_gamma:
                self.param("gamma", np.reshape(layer.gamma, _param_shape(layer.gamma, shape)))
            if self.has_beta:
                self.param("beta", np.reshape(layer.beta, _param_shape(layer.beta, shape)))

        def call(self, x: Any, mask: Any) -> Any:
            mean = torch.mean(x, dim=self.axes, keepdim=True)
            diff = x - mean
            var = torch.mean(diff * diff, dim=self.axes, keepdim=True)
            r = 1.0 / torch.sqrt(var + self.epsilon)
            if self.rms:
                y = x * r
                return y * self.gamma if self.has_gamma else y
            inv = r * self.gamma if self.has_gamma else r
            shift = self.beta - mean * inv if self.has_beta else -mean * inv
            return x * inv + shift

    class BatchNormalization(Base):
        """Inference: ``x * inv + shift`` from the moving statistics (float32, rnnlens's
        order of operations)."""

        def __init__(self, layer: Any, rank: int):
            super().__init__(layer.name, True)
            shape = [1] * rank
            shape[int(layer.axis) % rank] = -1
            f32 = np.float32
            mean = np.asarray(layer.moving_mean, f32).reshape(shape)
            var = np.asarray(layer.moving_variance, f32).reshape(shape)
            r = (1 / np.sqrt(var + f32(layer.epsilon))).astype(f32)
            inv = r * np.asarray(layer.gamma, f32).reshape(shape) if layer.scale else r
            shift = (np.asarray(layer.beta, f32).reshape(shape) - mean * inv if layer.center
                     else -mean * inv)
            self.register_buffer("inv", torch.from_numpy(np.ascontiguousarray(inv)))
            self.register_buffer("shift", torch.from_numpy(np.ascontiguousarray(shift)))

        def call(self, x: Any, mask: Any) -> Any:
            return x * self.inv + self.shift

    class UnitNormalization(Base):
        def __init__(self, layer: Any, rank: int):
            super().__init__(layer.name, True)
            raw = layer.axis if isinstance(layer.axis, (tuple, list)) else (layer.axis,)
            self.axes = sorted(int(a) % rank for a in raw)

        def call(self, x: Any, mask: Any) -> Any:
            return l2_normalize(torch, x, self.axes, 1e-12)

    return {"LayerNormalization": LayerNormalization,
            "BatchNormalization": BatchNormalization, "UnitNormalization": UnitNormalization}


def _param_shape(weight: Any, shape: list) -> list:
    """The broadcast shape (rank - 1 entries, -1 resolved) of a LayerNormalization weight."""
    sizes = iter(np.shape(weight))
    return [next(sizes) if d == -1 else 1 for d in shape]


def __getattr__(name: str) -> Any:
    # the classes subclass torch.nn.Module, so they are made on first use (torch.load
    # finds them here by name)
    if name == "LayerModule":
        return base()
    found = getattr(classes(), name, None)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found


__all__ = ["base", "classes", "l2_normalize", "publish"]
