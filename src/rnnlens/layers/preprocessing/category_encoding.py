"""``CategoryEncoding``: integer ids to one-hot, multi-hot or count vectors (Keras 3.15.1).

With ``num_tokens`` = V and ids x (see ``_common`` for the encodings)::

    "one_hot":    out[..., k] = [x == k]                 a last axis of size 1 is dropped
    "multi_hot":  out[b, k]   = [k occurs in row b]      rank <= 2 (one row for rank 1)
    "count":      out[b, k]   = sum of w over the occurrences of k in row b
                                (w = ``count_weights``, or 1)

Inputs of rank 3 or more reduce over axis 1 (Keras's generic path). Ids >= V count
nowhere; a negative id is an error for multi_hot / count on rank <= 2 (TensorFlow's
bincount refuses it) and counts nowhere otherwise; floats are truncated to integers.
The output is float32 (or the layer's ``dtype``); the layer has no weights, passes no
mask and no gradient to its (integer) inputs. ``sparse=True`` (a TensorFlow
SparseTensor) is refused.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers.preprocessing import _common as C
from rnnlens.layers.preprocessing.hashing import DtypeParam


def check_output_size(layer: Layer, shape: tuple) -> None:
    """A ValueError, before anything is allocated, for an encoding over rnnlens's element
    limit (``rnnlens.ops._conv_core.MAX_ELEMENTS``); ``shape`` is the one-hot's
    ``(*ids.shape, depth)`` (rank > 2 ids also reduce axis 1 into an output of its own)."""
    from rnnlens.ops._conv_core import MAX_ELEMENTS

    count = max(math.prod(shape), math.prod(shape[:1] + shape[2:]) if len(shape) > 3 else 0)
    if count > MAX_ELEMENTS:
        raise ValueError(f"Layer '{layer.name}' ({type(layer).__name__}) would output "
                         f"{count} values (shape {shape}), over rnnlens's limit of "
                         f"{MAX_ELEMENTS} (rnnlens.ops._conv_core.MAX_ELEMENTS); use fewer "
                         "tokens / bins or a smaller batch.")


class CategoryEncoding(Layer):
    """Encodes integer features as one-hot, multi-hot or count vectors.

    Args:
        num_tokens: the number of categories V (ids in ``[0, V)``).
        output_mode: "multi_hot" (default; Keras's old "binary" too), "one_hot" or
            "count".
        sparse: False only.
        dtype: the output dtype ("float32" by default; "int32", "int64", "bool").

    Call arguments: ``inputs`` (integer ids), ``count_weights`` (same shape, "count"
    only).
    """

    num_tokens = P.Int(None, min=1, cap="max_dim")
    output_mode = C.output_mode_param("multi_hot", modes=("count", "one_hot", "multi_hot"))
    sparse = P.Const(False, why="sparse outputs are TensorFlow SparseTensors; use the "
                     "dense output")
    dtype = DtypeParam(("float32", "int32", "int64", "bool"))

    call_keywords = ("count_weights",)

    def __post_init__(self) -> None:
        if self.num_tokens is None:
            raise ValueError("num_tokens must be set to use this layer. If the number of "
                             "tokens is not known beforehand, use the IntegerLookup layer "
                             "instead.")
        if self.dtype is None:
            self.dtype = "float32"

    def get_config(self) -> dict:
        config = super().get_config()
        keys = ("name", "trainable", "dtype", "num_tokens", "output_mode")
        return {k: config[k] for k in keys}

    def keras_node(self, node: Any) -> tuple[list, dict]:
        """The call as Keras writes it: the ids, and ``count_weights`` if given."""
        return list(node.args), {k: v for k, v in node.kwargs.items()
                                 if k == "count_weights" and v is not None}

    def convert_inputs(self, inputs: Any) -> np.ndarray:
        arr = np.asarray(inputs)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            raise TypeError(f"Layer '{self.name}' (CategoryEncoding) takes integer ids, "
                            f"received dtype {arr.dtype}.")
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ValueError(f"Layer '{self.name}' (CategoryEncoding) received non-finite "
                             "ids.")
        return arr

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple):
            raise ValueError(f"Layer '{self.name}' (CategoryEncoding) takes one tensor of "
                             f"ids, received shapes {shape}.")

    def call(self, inputs: Any, training: bool = False, mask: Any = None,
             count_weights: Any = None) -> np.ndarray:
        x = np.trunc(self.convert_inputs(inputs)).astype(np.int64)
        check_output_size(self, (*x.shape, self.num_tokens))
        dtype = np.dtype(self.dtype)
        if count_weights is not None:
            return self._weighted(x, count_weights, dtype)
        if self.output_mode != "one_hot" and x.ndim <= 2 and np.any(x < 0):
            raise ValueError(f"Layer '{self.name}' (CategoryEncoding) received a negative id "
                             f"({int(x.min())}); ids must be in [0, num_tokens="
                             f"{self.num_tokens}).")
        return C.encode(x, self.output_mode, self.num_tokens, dtype)

    def _weighted(self, x: np.ndarray, weights: Any, dtype: np.dtype) -> np.ndarray:
        """``output_mode="count"`` with ``count_weights``: the weights' sums per id."""
        if self.output_mode != "count":
            raise ValueError("`count_weights` is not used when `output_mode` is not "
                             f"`'count'`. Received `count_weights={weights}`.")
        w = np.asarray(weights, np.float32)
        if w.shape != x.shape:
            raise ValueError(f"Layer '{self.name}' (CategoryEncoding): count_weights of shape "
                             f"{w.shape} must have the ids' shape {x.shape}.")
        if x.ndim <= 2 and np.any(x < 0):
            raise ValueError(f"Layer '{self.name}' (CategoryEncoding) received a negative id "
                             f"({int(x.min())}); ids must be in [0, num_tokens).")
        hot = C.one_hot(x if x.ndim else x[None], self.num_tokens, np.float32)
        hot = hot * (w if x.ndim else w[None])[..., None]
        if x.ndim <= 1:
            return hot.sum(axis=0).astype(dtype)                       # (V,)
        return hot.sum(axis=1).astype(dtype)

    def forward(self, inputs: Any, training: bool = False, mask: Any = None,
                count_weights: Any = None) -> tuple[np.ndarray, None]:
        return self.call(inputs, count_weights=count_weights), None

    def backward(self, cache: Any, d_out: Any) -> tuple[None, dict, list]:
        """Ids are integers: no gradient flows to them (as in Keras)."""
        return None, {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shape = tuple(input_shape)
        if not shape:
            return (self.num_tokens,)
        if self.output_mode == "one_hot" and (shape[-1] != 1 or len(shape) == 1):
            return shape + (self.num_tokens,)
        return shape[:-1] + (self.num_tokens,)

    @property
    def output_dtype(self) -> str:
        return self.dtype


__all__ = ["CategoryEncoding", "check_output_size"]
