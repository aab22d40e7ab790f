"""``Discretization``: numbers to bucket indices, as Keras 3.15.1 computes them.

    index(x) = #{b in bin_boundaries : b <= x}            (TensorFlow's ``Bucketize``)

with ``x`` and the boundaries in float32 (NaN and +inf go to the last bucket, -inf to
the first); unsorted boundaries are an error, as in TensorFlow. ``output_mode`` then
encodes the indices (see ``_common``): "int" (int32), "one_hot", "multi_hot", "count"
(float32, ``len(bin_boundaries) + 1`` columns).

``adapt`` with ``num_bins`` runs Keras's approximate quantiles: every batch (as float32)
is summarized by ``1 / epsilon`` evenly spaced order statistics weighted by the values
they stand for, summaries are merged and compressed by interpolating their cumulative
weights, and the boundaries are the compressed summary at ``1 / num_bins`` steps, the
last dropped. The NumPy code is Keras's, so the boundaries are the same floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers.preprocessing import _common as C
from rnnlens.layers.preprocessing.hashing import DtypeParam


class _Adapted(list):
    """Boundaries read from a config that also holds ``num_bins`` (an adapted layer)."""


class BoundariesParam(P.Param):
    """``bin_boundaries``: None or a list of finite numbers (kept as given)."""

    expected = "None or a list of numbers"

    def __init__(self) -> None:
        super().__init__(None, none=True)

    def validate(self, value: Any, owner: Any) -> Any:
        try:
            C.float_list(value, "bin_boundaries")
        except (ValueError, TypeError):
            raise self.fail(value, owner) from None
        return value

    def load(self, raw: Any, reader: Any) -> Any:
        return None if raw is None else _Adapted(self.check(raw, None))


def summarize(values: np.ndarray, epsilon: float) -> np.ndarray:
    """Keras's ``summarize``: ``[values at even steps; the weight each stands for]``."""
    values = np.sort(np.reshape(values, [-1]))
    step = max(np.size(values) / (1.0 / epsilon), 1)
    boundaries = values[int(step - 1)::int(step)]
    return np.stack([boundaries, np.ones_like(boundaries) * step])


def compress_summary(summary: np.ndarray, epsilon: float) -> np.ndarray:
    """Keras's ``compress_summary``: interpolate the cumulative weights at ``epsilon``
    steps (unchanged when the summary is already that small)."""
    if summary.shape[1] * epsilon < 1:
        return summary
    percents = epsilon + np.arange(0.0, 1.0, epsilon)
    cum_weights = summary[1].cumsum()
    cum_percents = cum_weights / cum_weights[-1]
    new_bins = np.interp(percents, cum_percents, summary[0])
    cum_weights = np.interp(percents, cum_percents, cum_weights)
    new_weights = cum_weights - np.concatenate((np.array([0]), cum_weights[:-1]))
    return np.stack((new_bins, new_weights)).astype("float32")


def merge_summaries(prev: np.ndarray, nxt: np.ndarray, epsilon: float) -> np.ndarray:
    merged = np.concatenate((prev, nxt), axis=1)
    merged = np.take(merged, np.argsort(merged[0]), axis=1)
    return compress_summary(merged, epsilon)


class Discretization(Layer):
    """Buckets numbers by boundaries (given, or learned by ``adapt`` with ``num_bins``).

    Args:
        bin_boundaries: sorted boundaries; bucket ``i`` is ``[b[i-1], b[i])``.
        num_bins: the number of buckets ``adapt`` computes boundaries for.
        epsilon: the error tolerance of ``adapt``'s quantiles.
        output_mode: "int", "one_hot", "multi_hot" or "count".
        sparse: False only.
        dtype: "float32" only.
    """

    bin_boundaries = BoundariesParam()
    num_bins = P.Int(None, min=0, cap="max_dim", none=True)
    epsilon = P.Float(0.01, min=0.0)
    output_mode = C.output_mode_param(modes=("int", "one_hot", "multi_hot", "count"),
                                      aliases=False)
    sparse = P.Const(False, why="sparse outputs are TensorFlow tensors")
    dtype = DtypeParam(("float32",), as_policy=False)

    def __post_init__(self) -> None:
        self.dtype = "float32"
        adapted = isinstance(self.bin_boundaries, _Adapted)
        if self.num_bins is not None and self.bin_boundaries is not None and not adapted:
            raise ValueError("Both `num_bins` and `bin_boundaries` should not be set. "
                             f"Received: `num_bins={self.num_bins}` and "
                             f"`bin_boundaries={self.bin_boundaries}`")
        if self.num_bins is None and self.bin_boundaries is None:
            raise ValueError("You need to set either `num_bins` or `bin_boundaries`.")
        if adapted:
            self.bin_boundaries = list(self.bin_boundaries)
        self.summary = None if self.bin_boundaries else np.array([[], []], "float32")

    def get_config(self) -> dict:
        return {"bin_boundaries": self.bin_boundaries, "num_bins": self.num_bins,
                "epsilon": self.epsilon, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict) -> "Discretization":
        config = dict(config)
        if config.get("bin_boundaries") is not None and config.get("num_bins") is not None:
            config["bin_boundaries"] = _Adapted(config["bin_boundaries"])
        return cls(**config)

    # -- adapt --------------------------------------------------------------------

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Learns ``num_bins`` quantile boundaries from an array or iterable of batches."""
        if self.num_bins is None:
            raise ValueError("Cannot adapt a Discretization layer that has been initialized "
                             "with `bin_boundaries`, use `num_bins` instead.")
        if self.num_bins == 0 or self.epsilon <= 0:
            raise ValueError("Cannot adapt a Discretization layer with num_bins=0 or "
                             "epsilon=0 (Keras divides by both).")
        self.reset_state()
        if hasattr(data, "__iter__") and not isinstance(data, (np.ndarray, str, bytes)):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(batch)
        else:
            self.update_state(data)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        try:
            values = np.array(data).astype("float32")
        except (ValueError, TypeError) as err:
            raise TypeError(f"Discretization.adapt takes numbers ({err}).") from None
        if not np.all(np.isfinite(values)):
            raise ValueError("Discretization.adapt received NaN or infinite values, which "
                             "make Keras's quantile summary meaningless.")
        self.summary = merge_summaries(summarize(values, self.epsilon), self.summary,
                                       self.epsilon)

    def finalize_state(self) -> None:
        if self.num_bins is None:
            return
        self.bin_boundaries = compress_summary(self.summary, 1.0 / self.num_bins)[0, :-1] \
            .tolist()

    def reset_state(self) -> None:
        if self.num_bins is not None:
            self.summary = np.array([[], []], dtype="float32")

    # -- calling ------------------------------------------------------------------

    def convert_inputs(self, inputs: Any) -> np.ndarray:
        arr = np.asarray(inputs)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"Layer '{self.name}' (Discretization) takes numbers, received "
                            f"dtype {arr.dtype}.")
        return arr.astype(np.float32)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        if self.bin_boundaries is None:
            raise ValueError("You need to either pass the `bin_boundaries` argument at "
                             "construction time or call `adapt(dataset)` before you can "
                             "start using the `Discretization` layer.")
        bins = np.asarray([float(b) for b in self.bin_boundaries], np.float32)
        if np.any(bins[1:] < bins[:-1]):
            raise ValueError(f"Layer '{self.name}': bin_boundaries must be sorted (TensorFlow: "
                             f"\"Expected sorted boundaries\"), received {self.bin_boundaries}.")
        x = self.convert_inputs(inputs)
        ids = np.searchsorted(bins, x, side="right")
        dtype = np.int32 if self.output_mode == "int" else np.float32
        return C.encode(ids, self.output_mode, bins.size + 1, dtype)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = len(self.bin_boundaries) + 1 if self.bin_boundaries is not None \
            else self.num_bins
        if self.output_mode == "one_hot":
            if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
                return (*input_shape[:-1], depth)
            return (*input_shape, depth)
        if len(input_shape) >= 2:
            return (input_shape[0], *input_shape[2:], depth)
        return (depth,)

    @property
    def output_dtype(self) -> str:
        return "int32" if self.output_mode == "int" else "float32"


__all__ = ["Discretization"]
