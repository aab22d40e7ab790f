"""``Hashing``: values to ``num_bins`` buckets by a hash, as Keras 3.15.1 computes it.

    bucket(v) = H(text(v)) mod m,    m = num_bins - 1 if mask_value is set (and
                                          num_bins > 1), else num_bins
    out = 0 where v == mask_value, bucket + 1 elsewhere     (with a mask_value)

``H`` is FarmHash ``Fingerprint64`` (``tf.strings.to_hash_bucket_fast``), or SipHash-2-4
keyed by ``salt`` (``to_hash_bucket_strong``); ``text(v)`` is the UTF-8 string, the
decimal form of an integer, ``"true"`` / ``"false"`` for booleans, and the decimal form
of ``int64(v)`` (truncated) for floats, whose mask comparison uses the float itself.
``output_mode`` then encodes the bucket ids (see ``_common``): "int" (int64, or
``dtype``), "one_hot", "multi_hot", "count" (float32).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer, dtype_policy
from rnnlens.layers.preprocessing import _common as C
from rnnlens.layers.preprocessing import _hashes
from rnnlens.layers.preprocessing import _strings as S


def _check_mask_value(value: Any) -> Any:
    if isinstance(value, str) or (C.is_int(value) and -2**63 <= value < 2**63):
        return value if isinstance(value, str) else int(value)
    raise ValueError(value)


class DtypeParam(P.Param):
    """A layer's ``dtype`` among ``allowed`` (None: the layer's default); configs hold
    Keras's ``DTypePolicy`` of the resolved name (``as_policy``) or the bare name."""

    def __init__(self, allowed: tuple[str, ...], as_policy: bool = True):
        super().__init__(None, none=True)
        self.allowed, self.as_policy = allowed, as_policy

    @property
    def expected(self) -> str:
        return "None or one of " + ", ".join(map(repr, self.allowed))

    def validate(self, value: Any, owner: Any) -> str:
        if isinstance(value, dict):
            value = (value.get("config") or {}).get("name")
        name = getattr(value, "name", value)
        try:
            name = np.dtype(name).name if not isinstance(name, str) else name
        except TypeError:
            pass
        if name not in self.allowed:
            raise self.fail(value, owner)
        return name

    def dump(self, value: Any) -> Any:
        return dtype_policy(value) if self.as_policy else value


class Hashing(Layer):
    """Hashes strings or integers into ``num_bins`` buckets (Keras's ``Hashing``).

    Args:
        num_bins: the number of buckets, the mask bucket 0 included.
        mask_value: a value (string or int) sent to bucket 0.
        salt: an int or two ints: SipHash with this key instead of FarmHash.
        output_mode: "int", "one_hot", "multi_hot" or "count".
        sparse: False only.
        dtype: the output dtype: "int64" (default) or "int32" for "int", "float32"
            otherwise.
    """

    num_bins = P.Int(min=1, cap="max_dim")
    mask_value = P.Json(None, validate=_check_mask_value, none=True,
                        expected="None, a string or an integer")
    salt = C.salt_param()
    output_mode = C.output_mode_param(modes=("int", "one_hot", "multi_hot", "count"),
                                      aliases=False)
    sparse = P.Const(False, why="sparse outputs are TensorFlow tensors")
    dtype = DtypeParam(("int32", "int64", "float32"))

    config_order = ("num_bins", "salt", "mask_value", "output_mode", "sparse")

    def __post_init__(self) -> None:
        if self.dtype is None:
            self.dtype = "int64" if self.output_mode == "int" else "float32"
        if self.output_mode == "int" and self.dtype not in ("int32", "int64"):
            raise ValueError('When `output_mode="int"`, `dtype` should be an integer type, '
                             f"'int32' or 'int64'. Received: dtype={self.dtype}")
        if self.output_mode != "int" and self.dtype != "float32":
            raise ValueError(f"Hashing(output_mode={self.output_mode!r}) computes float32 "
                             f"encodings; received dtype={self.dtype!r}.")

    def get_config(self) -> dict:
        return C.ordered(super().get_config(), self.config_order)

    def convert_inputs(self, inputs: Any) -> np.ndarray:
        arr = np.asarray(inputs) if not isinstance(inputs, np.ndarray) else inputs
        if arr.dtype.kind in "biuf":
            return arr
        return S.to_strings(inputs, f"input to layer '{self.name}'")

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        values = self.convert_inputs(inputs)
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        ids = self.hash_values(values)
        return C.encode(ids, self.output_mode, self.num_bins, np.dtype(self.dtype))

    def hash_values(self, values: np.ndarray) -> np.ndarray:
        """The bucket (int64) of every value."""
        bins = self.num_bins
        masked = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            masked = self._is_mask(values)
        data = [s.encode("utf-8") for s in self._texts(values)]
        salt = None if self.salt is None else tuple(self.salt)
        ids = np.asarray(_hashes.hash_bucket(data, bins, salt), np.int64).reshape(values.shape)
        if masked is not None:
            ids = np.where(masked, 0, ids + 1)
        return ids

    def _is_mask(self, values: np.ndarray) -> np.ndarray:
        text = values.dtype == object
        if text != isinstance(self.mask_value, str) or values.dtype.kind == "b":
            raise TypeError(f"Layer '{self.name}' has mask_value={self.mask_value!r} but "
                            f"received {'strings' if text else values.dtype} inputs; the "
                            "mask value must have the inputs' type.")
        if text:
            return np.fromiter((v == self.mask_value for v in values.reshape(-1)), bool,
                               values.size).reshape(values.shape)
        return values == self.mask_value

    def _texts(self, values: np.ndarray) -> list[str]:
        flat = values.reshape(-1)
        kind = values.dtype.kind
        if kind == "O":
            return flat.tolist()
        if kind == "b":
            return ["true" if v else "false" for v in flat.tolist()]
        if kind == "f":
            if not np.all(np.isfinite(flat)) or np.any(np.abs(flat) >= 2.0**63):
                raise ValueError(f"Layer '{self.name}' received a float that is not finite or "
                                 "does not fit int64; Keras casts floats to int64 before "
                                 "hashing, which is undefined for such values.")
            flat = np.trunc(flat).astype(np.int64)
        return [str(v) for v in flat.tolist()]

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        if self.output_mode == "int":
            return tuple(input_shape)
        if len(input_shape) == 0:
            return (self.num_bins,)
        return (*tuple(input_shape)[:-1], self.num_bins)

    @property
    def output_dtype(self) -> str:
        return self.dtype


__all__ = ["Hashing", "DtypeParam"]
