"""Per-unit summary statistics of a recurrent layer: gate saturation and memory length.

Both are computed over every traced sample and every real (unmasked) step of
the whole sequence, not only the steps the page draws.

Saturation of gate ``a`` at unit j (counts over samples b and real steps t)::

    low_j  = #{a[b, t, j] < lo} / #{real (b, t)}
    high_j = #{a[b, t, j] > hi} / #{real (b, t)}

with ``(lo, hi) = (0.05, 0.95)`` for gates in [0, 1] (σ gates: LSTM i, f, o;
GRU z, r) and ``(-0.95, 0.95)`` for the candidates in [-1, 1] (LSTM g, GRU hh).

Memory length (LSTM: the forget gate f; GRU: the update gate z, which weighs
the old state in ``h_t = z * h_tm1 + (1 - z) * hh``). What is left at step
s + k of the state written at a real step s is scaled, along the gated path,
by the running product of the gate::

    P_j(b, s, k) = prod_{t = s+1 .. s+k} f[b, t, j]      (f = 1 at masked steps)
    k_j(b, s)    = min {k >= 1 : P_j(b, s, k) < 1/2}     (+inf if it never falls
                                                          below 1/2 before the end)
    memory_j     = median over samples b and real steps s of k_j(b, s)

so a unit whose memory length is 12 typically keeps half of what it stored
for 12 steps. ``never_j`` is the fraction of (b, s) whose product stays at or
above 1/2 to the end of the sequence (the +inf entries). The statistic is
defined only for gates in [0, 1] (a custom ``recurrent_activation`` outside
that range gives None).
"""

from __future__ import annotations

import numpy as np

#: Saturation thresholds for [0, 1] gates and [-1, 1] candidates.
SIGMOID_BOUNDS = (0.05, 0.95)
TANH_BOUNDS = (-0.95, 0.95)

#: The fraction of the stored value whose survival defines memory length.
HALF = 0.5


def real_steps(mask: np.ndarray | None, shape: tuple) -> np.ndarray:
    """(B, T, 1) bool: True at real steps (all steps without a mask)."""
    if mask is None:
        return np.ones(shape[:2] + (1,), bool)
    return np.asarray(mask, bool)[:, :, None]


class Saturation:
    """Running counts of low / high gate values per unit, over chunks of samples."""

    def __init__(self, units: int, bounds: tuple[float, float]):
        self.bounds = bounds
        self.low = np.zeros(units, np.int64)
        self.high = np.zeros(units, np.int64)
        self.total = 0

    def add(self, gate: np.ndarray, mask: np.ndarray | None) -> None:
        """Counts one chunk: ``gate`` (B, T, u), ``mask`` (B, T) or None."""
        real = real_steps(mask, gate.shape)                     # (B, T, 1)
        lo, hi = self.bounds
        self.low += np.sum((gate < lo) & real, axis=(0, 1))
        self.high += np.sum((gate > hi) & real, axis=(0, 1))
        self.total += int(real.sum())

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) fractions per unit (zeros when there was no real step)."""
        n = max(self.total, 1)
        return self.low / n, self.high / n


def memory_lengths(gate: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """k_j(b, s) for every sample, real start step and unit.

    Args:
        gate: (B, T, u) values in [0, 1] (the forget / update gate).
        mask: (B, T) bool or None.

    Returns:
        (B, T, u) float64: the steps until the running product of the gate after
        s falls below 1/2, +inf if it never does, NaN at masked start steps.
    """
    b, t, u = gate.shape
    real = real_steps(mask, gate.shape)                               # (B, T, 1)
    f = np.where(real, np.asarray(gate, np.float64), 1.0)
    logs = np.log(np.clip(f, 1e-30, 1.0))                             # <= 0, finite
    # neg[r, t] = -sum_{tau <= t} log f: non-decreasing along t in every row r = (b, j)
    neg = -np.cumsum(logs, axis=1).transpose(0, 2, 1).reshape(b * u, t)
    span = float(neg[:, -1].max()) + np.log(2.0) + 1.0 if neg.size else 1.0
    offsets = np.arange(b * u, dtype=np.float64)[:, None] * span
    flat = (neg + offsets).ravel()                                    # globally sorted
    target = (neg + np.log(1.0 / HALF) + offsets).ravel()
    first = np.searchsorted(flat, target, side="right").reshape(b * u, t)
    first -= (np.arange(b * u) * t)[:, None]                          # index within row
    k = (first - np.arange(t)[None, :]).astype(np.float64)
    k[first >= t] = np.inf
    k = k.reshape(b, u, t).transpose(0, 2, 1)                         # (B, T, u)
    return np.where(real, k, np.nan)


class Memory:
    """Histogram of k_j(b, s) per unit, over chunks; its median is exact."""

    def __init__(self, units: int, steps: int):
        self.steps = steps
        self.counts = np.zeros((units, steps + 1), np.int64)    # bin ``steps`` is +inf

    def add(self, gate: np.ndarray, mask: np.ndarray | None) -> None:
        k = memory_lengths(gate, mask)                            # (B, T, u)
        units = np.broadcast_to(np.arange(k.shape[2]), k.shape)
        ok = ~np.isnan(k)
        bins = np.where(np.isinf(k[ok]), self.steps, k[ok]).astype(np.int64)
        np.add.at(self.counts, (units[ok], bins), 1)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(median memory length per unit, +inf allowed; fraction that never fell)."""
        total = self.counts.sum(axis=1)
        medians = np.array([_median_of_counts(row, self.steps) for row in self.counts])
        never = self.counts[:, -1] / np.maximum(total, 1)
        return medians, never


def _median_of_counts(row: np.ndarray, inf_bin: int) -> float:
    """The median (the mean of the two middle values for an even count) of a histogram."""
    n = int(row.sum())
    if n == 0:
        return float("nan")
    cum = np.cumsum(row)
    values = [int(np.searchsorted(cum, q, side="right")) for q in ((n - 1) // 2, n // 2)]
    as_float = [float("inf") if v == inf_bin else float(v) for v in values]
    return (as_float[0] + as_float[1]) / 2


#: Activations whose values lie in [0, 1] and in [-1, 1] (Keras's names).
UNIT_RANGE = {"sigmoid", "hard_sigmoid"}
SIGNED_RANGE = {"tanh", "hard_tanh", "softsign", "soft_sign"}


def gate_bounds(activation: str | None) -> tuple[float, float] | None:
    """Saturation bounds for a gate made by ``activation`` (None: not bounded)."""
    if activation in UNIT_RANGE:
        return SIGMOID_BOUNDS
    if activation in SIGNED_RANGE:
        return TANH_BOUNDS
    return None
