"""``EinsumDense``: a dense layer whose product is any einsum Keras 3.15.1 accepts.

    a = einsum(equation, x, K) (+ b)          y = activation(a)

with the kernel K shaped by the equation's weight letters and the bias b over the
output letters from the first of ``bias_axes`` on (see ``_einsum`` for the shape rules
and the gradients). With LoRA (``lora_rank`` r, ``lora_alpha`` s, or
``enable_lora(r)``) the kernel used is ``K' = K + (s / r) A B`` with A of shape
``K.shape[:-1] + (r,)``, B of shape ``(r, K.shape[-1])`` and ``A B`` the matrix product
over A's last axis; K is then frozen (non-trainable) and only A, B (and b) train::

    dK' = gradient of the einsum;   dA = (s / r) dK' B^T;   dB = (s / r) A^T dK'

Keras saves a LoRA layer's merged kernel K' as its ``kernel`` and drops A and B (they
are zeros after loading); rnnlens reads such a file as a plain EinsumDense with the
merged kernel (the same outputs; a note says so) and refuses to write a LoRA layer to a
Keras file (Keras would read the unmerged K): save its weights instead.

Shape legend: the equation's letters; ``...`` any number of leading or trailing axes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers.core import _einsum as E


class _OutputShape(P.Json):
    """``output_shape``: an int or a sequence (None entries allowed); anything else is
    Keras's TypeError."""

    def validate(self, value: Any, owner: Any) -> Any:
        if not isinstance(value, (int, np.integer, list, tuple)) or isinstance(value, bool):
            raise self.fail(value, owner, error=TypeError)
        return super().validate(value, owner)


def _output_shape(value: Any) -> tuple:
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),)
    if not isinstance(value, (list, tuple)) or len(value) > 16 or not all(
            d is None or (isinstance(d, (int, np.integer)) and not isinstance(d, bool)
                          and 0 < d <= 2 ** 31) for d in value):
        raise ValueError(value)
    return tuple(None if d is None else int(d) for d in value)


def _bias_axes(value: Any) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isalpha() \
            or len(value) > 52:
        raise ValueError(value)
    return value


def _alpha(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)):
        raise ValueError(value)
    return value.item() if isinstance(value, np.generic) else value


class _LoraRank(P.Int):
    """``lora_rank``: a Keras file holds the merged kernel only, so rnnlens reads it
    without LoRA (same outputs) and notes it."""

    def load(self, raw: Any, reader: Any) -> Any:
        value = super().load(raw, reader)
        if value:
            reader.note(f"EinsumDense lora_rank={value}: Keras saved the merged kernel and "
                        "no LoRA factors; loaded as a plain EinsumDense (same outputs)")
        return None


class _LoraAlpha(P.Json):
    def load(self, raw: Any, reader: Any) -> Any:
        self.check(raw, None)
        return None


_CONFIG_ORDER = ("output_shape", "equation", "activation", "bias_axes", "kernel_initializer",
                 "bias_initializer", "kernel_regularizer", "bias_regularizer",
                 "activity_regularizer", "kernel_constraint", "bias_constraint",
                 "quantization_config", "lora_rank", "lora_alpha")


class EinsumDense(Layer):
    """A dense layer computed by ``einsum`` (see the module docstring).

    Args:
        equation: ``"ab,bc->ac"``, ``"...b,bc->...c"`` or ``"ab...,bc->ac..."`` forms.
        output_shape: the output's shape without the batch axis and the elided axes
            (an int for one axis); None for a size the input gives.
        activation: name, callable or None (linear).
        bias_axes: the output letters that get a bias (None: no bias).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: as in Keras.
        lora_rank: enable LoRA with this rank at build (see the module docstring).
        lora_alpha: LoRA's scale numerator (default: lora_rank).
        gptq_unpacked_column_size, quantization_config: None only (no quantization).
    """

    equation = P.Str(max_len=256)
    output_shape = _OutputShape(validate=_output_shape, expected="an int or a tuple of positive "
                          "ints (None for sizes the input gives)")
    activation = P.Activation(None)
    bias_axes = P.Json(None, validate=_bias_axes, expected="a string of output letters, "
                       "or None")
    kernel_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    kernel_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    bias_constraint = P.Constraint()
    lora_rank = _LoraRank(None, min=1, cap="max_units")
    lora_alpha = _LoraAlpha(None, validate=_alpha, expected="a number")
    gptq_unpacked_column_size = P.Const(None, why="GPTQ-quantized layers cannot be loaded")
    quantization_config = P.Const(None, why="quantized models cannot be loaded")
    activity_regularizer = P.Regularizer()

    def __post_init__(self) -> None:
        self.spec = E.parse(self.equation)
        if self.lora_alpha is None:
            self.lora_alpha = self.lora_rank
        self.lora_enabled = False
        self._rank: int | None = None

    def _kind(self) -> str:
        return f"Layer '{self.name}' (EinsumDense)"

    # -- config -------------------------------------------------------------------

    def get_config(self) -> dict:
        """Keras's keys in Keras's order; ``lora_rank`` / ``lora_alpha`` only with LoRA."""
        config = super().get_config()
        out = {k: config[k] for k in ("name", "trainable", "dtype")}
        out.update((k, config[k]) for k in _CONFIG_ORDER if k in config)
        if not self.lora_rank:
            out.pop("lora_rank", None)
            out.pop("lora_alpha", None)
        return out

    def keras_build_config(self) -> dict | None:
        """Keras's ``{"input_shape": ...}``; a LoRA layer cannot be written (Keras keeps
        only the merged kernel, which rnnlens's weight layout does not produce)."""
        if self.lora_enabled:
            raise ValueError(f"Cannot save layer '{self.name}' to a Keras file: it has LoRA "
                             "enabled, and Keras's file holds the merged kernel in its place. "
                             "Save the weights (save_weights) or rebuild the layer without "
                             "LoRA with kernel = layer.kernel_value().")
        shape = getattr(self, "_build_input_shape", None)
        return None if shape is None else {"input_shape": list(shape)}

    # -- building -----------------------------------------------------------------

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple) or not shape:
            raise ValueError(f"{self._kind()} expects one tensor with a batch axis, received "
                             f"shape {shape}.")
        rank = getattr(self, "_built_rank", None)
        if rank is not None and len(shape) != rank:
            raise ValueError(f"Input 0 of layer '{self.name}' is incompatible with the layer: "
                             f"expected ndim={rank}, found ndim={len(shape)}. Full shape "
                             f"received: {shape}")
        n = len(self.spec.inp)
        if len(shape) < n or (self.spec.elided is None and len(shape) != n):
            raise ValueError(f"{self._kind()}: the equation '{self.equation}' names "
                             f"{n} input axes{' or more' if self.spec.elided else ''}, "
                             f"received an input of shape {shape}.")

    def _shapes(self, input_shape: tuple) -> E.Shapes:
        out = E.analyze(self.spec, self.bias_axes, tuple(input_shape), self.output_shape)
        if len(out.output) != len(input_shape) - len(self.spec.inp) + len(self.spec.out):
            raise ValueError(f"{self._kind()}: output_shape={self.output_shape} has "
                             f"{len(self.output_shape)} entries but the output "
                             f"'{self.spec.out}' has {len(self.spec.out) - 1} axes after the "
                             "batch axis; give one entry per output letter after the first.")
        return out

    def build(self, input_shape: tuple) -> None:
        input_shape = tuple(input_shape)
        self.check_input_shape(input_shape)
        shapes = self._shapes(input_shape)
        for what, shape in (("kernel", shapes.kernel), ("bias", shapes.bias)):
            if shape is not None and any(d is None for d in shape):
                raise ValueError(f"{self._kind()}: its {what} would have shape {shape}; every "
                                 "size must be known. Give the sizes in `output_shape` (or the "
                                 "input's shape) instead of None.")
        self.kernel = self.add_weight(name="kernel", shape=shapes.kernel,
                                      initializer=self._fanned(shapes),
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if shapes.bias is not None:
            self.bias = self.add_weight(name="bias", shape=shapes.bias,
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self._built_rank = len(input_shape)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def _fanned(self, shapes: E.Shapes) -> Any:
        """A variance-scaling initializer without axes gets the kernel's input / output
        axes (Keras's ``_update_kernel_initializer``)."""
        init = self.kernel_initializer
        if getattr(init, "input_axes", "absent") is None or \
                getattr(init, "output_axes", "absent") is None:
            config = dict(init.get_config())
            config["input_axes"], config["output_axes"] = shapes.input_axes, shapes.output_axes
            return type(init)(**config)
        return init

    def enable_lora(self, rank: int, lora_alpha: Any = None, a_initializer: Any = "he_uniform",
                    b_initializer: Any = "zeros") -> None:
        """Adds the trainable LoRA factors A, B and freezes the kernel (Keras's method)."""
        if self.kernel_constraint is not None:
            raise ValueError("Lora is incompatible with kernel constraints. In order to enable "
                             "lora on this layer, remove the `kernel_constraint` argument.")
        if not self.built:
            raise ValueError("Cannot enable lora on a layer that isn't yet built.")
        if self.lora_enabled:
            raise ValueError("lora is already enabled. This can only be done once per layer.")
        rank = P.Int(min=1, cap=None).check(rank, self)
        alpha = _alpha(rank if lora_alpha is None else lora_alpha)
        shape = self.kernel.shape
        self.lora_kernel_a = self.add_weight(name="lora_kernel_a", shape=shape[:-1] + (rank,),
                                             initializer=a_initializer,
                                             regularizer=self.kernel_regularizer)
        self.lora_kernel_b = self.add_weight(name="lora_kernel_b", shape=(rank, shape[-1]),
                                             initializer=b_initializer,
                                             regularizer=self.kernel_regularizer)
        record = next(w for w in self._own_weights if w.value is self.kernel)
        record.trainable = False
        self.lora_enabled, self.lora_rank, self.lora_alpha = True, rank, alpha

    # -- running ------------------------------------------------------------------

    def kernel_value(self) -> np.ndarray:
        """The kernel the einsum uses: K, or K + (alpha / rank) A B with LoRA."""
        if not self.lora_enabled:
            return self.kernel
        scale = self.kernel.dtype.type(self.lora_alpha / self.lora_rank)
        return self.kernel + scale * np.matmul(self.lora_kernel_a, self.lora_kernel_b)

    def call(self, inputs: np.ndarray, training: bool = False, mask: Any = None) -> np.ndarray:
        return self.forward(inputs)[0]

    def forward(self, inputs: np.ndarray, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, tuple]:
        x_s, w_s, y_s = E.explicit(self.spec, inputs.ndim)
        kernel = self.kernel_value()
        a = np.einsum(f"{x_s},{w_s}->{y_s}", inputs, kernel, optimize=True)
        a = np.asarray(a, inputs.dtype)
        if self.bias is not None:
            a = a + self.bias
        y = self.activation(a)
        return y, (inputs, kernel, a, y)

    def backward(self, cache: tuple, d_out: np.ndarray) -> tuple[np.ndarray, dict, list]:
        x, kernel, a, y = cache
        x_s, w_s, y_s = E.explicit(self.spec, x.ndim)
        d_a = activations.backward(self.activation, a, y, d_out)
        d_x = E.operand_grad(x_s, x.shape, w_s, kernel, y_s, d_a).astype(x.dtype, copy=False)
        d_k = E.operand_grad(w_s, kernel.shape, x_s, x, y_s, d_a).astype(x.dtype, copy=False)
        grads = [d_k]
        if self.bias is not None:
            grads.append(_sum_to(d_a, self.bias.shape))
        if self.lora_enabled:
            scale = d_k.dtype.type(self.lora_alpha / self.lora_rank)
            a_mat = self.lora_kernel_a.reshape(-1, self.lora_rank)
            d_k2 = d_k.reshape(-1, d_k.shape[-1])
            grads += [scale * np.matmul(d_k, self.lora_kernel_b.T), scale * (a_mat.T @ d_k2)]
        return d_x, {}, grads

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return self._shapes(tuple(input_shape)).output


def _sum_to(g: np.ndarray, shape: tuple) -> np.ndarray:
    """``g`` summed over the axes the (right-aligned) ``shape`` broadcasts."""
    lead = g.ndim - len(shape)
    out = g.sum(axis=tuple(range(lead))) if lead else g
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and out.shape[i] != 1)
    return out.sum(axis=axes, keepdims=True) if axes else out


__all__ = ["EinsumDense"]
