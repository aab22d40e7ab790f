"""``HashedCrossing``: the hashed cross of two or more categorical features (Keras 3.15.1).

Keras runs TensorFlow's ``tf.sparse.cross_hashed``; per sample, with features
f_1 .. f_n (integers or strings)::

    h = 0xDECAFCAFFE                                   (TensorFlow's default hash key)
    h = FingerprintCat64(h, F(f_i))   for i = 1 .. n   F(string) = Fingerprint64(utf-8 bytes)
                                                        F(integer) = the int64 value itself
    bin = h mod num_bins                               (unsigned 64-bit arithmetic)

    FingerprintCat64(a, b) = S(S(((a ^ k) ^ (S(b k) k)) k) k),  S(v) = v ^ (v >> 47),
                             k = 0xC6A4A7935BD1E995

``Fingerprint64`` is FarmHash's (``_hashes``). Inputs are scalars, ``(batch,)`` or
``(batch, 1)`` tensors of one shape; the output has that shape (int64 by default) with
``output_mode="int"``, or one-hot vectors (float32) with ``"one_hot"`` (a last axis of
size 1 is replaced by ``num_bins``). No weights, masks or gradients; ``sparse=True`` is
refused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers.preprocessing import _common as C
from rnnlens.layers.preprocessing import _hashes
from rnnlens.layers.preprocessing import _strings as S
from rnnlens.layers.preprocessing.category_encoding import check_output_size
from rnnlens.layers.preprocessing.hashing import DtypeParam

_M = (1 << 64) - 1
_KMUL = 0xC6A4A7935BD1E995
#: ``tf.sparse.cross_hashed``'s hash key when none is given.
DEFAULT_HASH_KEY = 0xDECAFCAFFE


def _shift_mix(v: int) -> int:
    return v ^ (v >> 47)


def fingerprint_cat64(fp1: int, fp2: int) -> int:
    """TensorFlow's ``FingerprintCat64``: combines two 64-bit fingerprints."""
    result = fp1 ^ _KMUL
    result ^= (_shift_mix((fp2 * _KMUL) & _M) * _KMUL) & _M
    result = (result * _KMUL) & _M
    result = (_shift_mix(result) * _KMUL) & _M
    return _shift_mix(result)


def cross_hash(columns: list[list], num_bins: int) -> list[int]:
    """The bin of each sample's cross (``columns``: per feature, per sample values)."""
    out = []
    for values in zip(*columns):
        h = DEFAULT_HASH_KEY
        for v in values:
            f = _hashes.fingerprint64(v.encode("utf-8")) if isinstance(v, str) else int(v) & _M
            h = fingerprint_cat64(h, f)
        out.append(h % num_bins)
    return out


class HashedCrossing(Layer):
    """Crosses categorical features into ``num_bins`` buckets (see the module docstring).

    Args:
        num_bins: the number of buckets.
        output_mode: "int" (bucket ids) or "one_hot".
        sparse: False only.
        name: the layer's name.
        dtype: the output dtype: "int64" (default) or "int32" for "int", "float32" for
            "one_hot".
    """

    num_bins = P.Int(min=1, cap="max_dim")
    output_mode = P.Choice("int", ("int", "one_hot"))
    sparse = P.Const(False, why="sparse outputs are TensorFlow SparseTensors; use the "
                     "dense output")
    dtype = DtypeParam(("int32", "int64", "float32"), as_policy=False)

    def __post_init__(self) -> None:
        if self.dtype is None:
            self.dtype = "int64" if self.output_mode == "int" else "float32"

    def get_config(self) -> dict:
        """Keras's keys: num_bins, output_mode, sparse, name, dtype (no ``trainable``)."""
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    def _kind(self) -> str:
        return f"Layer '{self.name}' (HashedCrossing)"

    def convert_inputs(self, inputs: Any) -> list[np.ndarray]:
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"`HashedCrossing` should be called on a list or tuple of at "
                             f"least two inputs. Received: {type(inputs).__name__}")
        out = []
        for k, x in enumerate(inputs):
            arr = np.asarray(x) if not isinstance(x, np.ndarray) else x
            if arr.dtype.kind in "iu":
                out.append(arr.astype(np.int64))
            elif arr.dtype.kind in "bf" or (arr.dtype.kind == "O" and arr.size and
                                           not isinstance(arr.reshape(-1)[0], (str, bytes))):
                raise ValueError(f"All `HashedCrossing` inputs should have an integer or "
                                 f"string dtype. Received: input {k} of dtype {arr.dtype}")
            else:
                out.append(S.to_strings(x, f"input {k} to layer '{self.name}'"))
        return out

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, list) or len(shape) < 2 or \
                not all(isinstance(s, tuple) for s in shape):
            raise ValueError(f"`HashedCrossing` should be called on a list or tuple of at "
                             f"least two inputs. Received shapes: {shape}")
        first = shape[0]
        if len(first) > 2 or (len(first) == 2 and first[-1] != 1):
            raise ValueError(f"All `HashedCrossing` inputs should have shape `()`, "
                             f"`(batch_size)` or `(batch_size, 1)`. Received shapes: {shape}")
        if not all(s == first for s in shape[1:]):
            raise ValueError(f"All `HashedCrossing` inputs should have equal shape. Received "
                             f"shapes: {shape}")

    def call(self, inputs: list, training: bool = False, mask: Any = None) -> np.ndarray:
        columns = [x.reshape(-1).tolist() for x in inputs]
        ids = np.asarray(cross_hash(columns, self.num_bins), np.int64).reshape(inputs[0].shape)
        if self.output_mode == "int":
            return ids.astype(self.dtype)
        check_output_size(self, (max(ids.size, 1), self.num_bins))
        return C.encode(ids, "one_hot", self.num_bins, np.dtype(self.dtype))

    def forward(self, inputs: list, training: bool = False, mask: Any = None
                ) -> tuple[np.ndarray, None]:
        return self.call(inputs), None

    def backward(self, cache: Any, d_out: Any) -> tuple[None, dict, list]:
        """Categorical inputs: no gradient."""
        return None, {}, []

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        shapes = [tuple(s) for s in input_shape]
        if len(shapes) < 2 or shapes[0][-1:] != shapes[1][-1:]:
            raise ValueError(f"Expected the two input tensors to have identical shapes. "
                             f"Received input_shape={input_shape}")
        first = shapes[0]
        if self.output_mode == "int":
            return first
        if first and first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    @property
    def output_dtype(self) -> str:
        return self.dtype


__all__ = ["HashedCrossing", "cross_hash", "fingerprint_cat64"]
