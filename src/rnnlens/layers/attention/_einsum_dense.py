"""The projections inside ``MultiHeadAttention`` (Keras builds them as ``EinsumDense``).

Keras's ``_build_proj_equation(free, bound, out)`` contracts the last ``bound`` axes of
the input with the first ``bound`` axes of the kernel and appends the kernel's last
``out`` axes, e.g. ``abc,cde->abde`` (query / key / value: (B, T, E) -> (B, T, N, H))
and ``abcd,cde->abe`` (output: (B, T, N, H) -> (B, T, E)). That is one matrix product::

    y = reshape(x, (-1, prod(bound))) @ reshape(W, (prod(bound), prod(out))) + b
    dx = dy W^T,  dW = x^T dy,  db = sum of dy over the free axes

with the bias over the output axes (Keras's ``bias_axes``) and an optional activation
(the gate's sigmoid).
"""

from __future__ import annotations

import math
import string
from typing import Any

import numpy as np

from rnnlens import activations
from rnnlens import params as P
from rnnlens.layers.base import Layer


def proj_equation(free: int, bound: int, out: int) -> tuple[str, str]:
    """Keras's einsum equation and bias axes for a projection."""
    letters = string.ascii_lowercase
    inp = letters[:free + bound]
    kernel = letters[free:free + bound + out]
    output = letters[:free] + letters[free + bound:free + bound + out]
    return f"{inp},{kernel}->{output}", letters[free + bound:free + bound + out]


class _EinsumDense(Layer):
    """One projection: the last ``bound`` input axes -> ``out_shape``.

    Weights: kernel (*bound axes' sizes, *out_shape), bias (*out_shape) if use_bias.
    """

    bound = P.Int(min=1)
    out_shape = P.IntTuple(min=1)
    use_bias = P.Bool(True)
    activation = P.Activation(None)
    kernel_initializer = P.Initializer("glorot_uniform")
    bias_initializer = P.Initializer("zeros")
    kernel_regularizer = P.Regularizer()
    bias_regularizer = P.Regularizer()
    kernel_constraint = P.Constraint()
    bias_constraint = P.Constraint()

    def build(self, input_shape: tuple) -> None:
        inner = tuple(input_shape[-self.bound:])
        if any(d is None for d in inner):
            raise ValueError(f"Layer '{self.name}' needs known sizes on its last {self.bound} "
                             f"input axes, received shape {input_shape}.")
        self.in_shape = tuple(int(d) for d in inner)
        self.equation, _ = proj_equation(len(input_shape) - self.bound, self.bound,
                                         len(self.out_shape))
        self.kernel = self.add_weight(name="kernel", shape=self.in_shape + self.out_shape,
                                      initializer=self._fanned(self.kernel_initializer),
                                      regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=self.out_shape,
                                        initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
        self.built = True

    def _fanned(self, init: Any) -> Any:
        """Keras's EinsumDense gives a variance-scaling initializer its input / output
        axes (fan_in = prod(bound sizes), fan_out = prod(out_shape))."""
        if getattr(init, "input_axes", "absent") is None or \
                getattr(init, "output_axes", "absent") is None:
            config = dict(init.get_config())
            config["input_axes"] = list(range(self.bound))
            config["output_axes"] = list(range(self.bound, self.bound + len(self.out_shape)))
            return type(init)(**config)
        return init

    def _matrices(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_in, n_out = math.prod(self.in_shape), math.prod(self.out_shape)
        return x.reshape(-1, n_in), self.kernel.reshape(n_in, n_out)

    def forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        x2, w2 = self._matrices(x)
        a = (x2 @ w2).reshape(x.shape[:x.ndim - self.bound] + self.out_shape)
        if self.bias is not None:
            a = a + self.bias
        y = self.activation(a)
        return y, (x, a, y)

    def call(self, inputs: np.ndarray, **kwargs: Any) -> np.ndarray:
        return self.forward(inputs)[0]

    def backward(self, cache: tuple, d_y: np.ndarray) -> tuple[np.ndarray, dict, list]:
        x, a, y = cache
        d_a = activations.backward(self.activation, a, y, d_y)
        x2, w2 = self._matrices(x)
        d_a2 = d_a.reshape(-1, w2.shape[1])
        grads = [(x2.T @ d_a2).reshape(self.kernel.shape)]
        if self.bias is not None:
            grads.append(d_a2.sum(axis=0).reshape(self.bias.shape))
        return (d_a2 @ w2.T).reshape(x.shape), {}, grads

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        return (*input_shape[:len(input_shape) - self.bound], *self.out_shape)
