"""Counters, gauges and histograms rendered in Prometheus's text format (0.0.4).

A histogram with upper bounds ``b_1 < ... < b_n`` keeps cumulative counts
``count(value <= b_i)``, the total count and the sum, exported as
``name_bucket{le="b_i"}``, ``name_bucket{le="+Inf"}``, ``name_sum`` and ``name_count``;
quantiles are estimated from the buckets (``histogram_quantile``) by a scraper, and
:meth:`Histogram.quantile` does the same here for tests and benchmarks.

No dependency: the server's event loop is the only writer.
"""

from __future__ import annotations

import bisect
import math
from typing import Sequence


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return "{" + body + "}"


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _num(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    """A monotonically increasing count per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str):
        self.name, self.help = name, help_text
        self.values: dict[tuple, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        self.values[key] = self.values.get(key, 0.0) + amount

    def get(self, **labels: str) -> float:
        return self.values.get(tuple(sorted(labels.items())), 0.0)

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]
        for key, value in sorted(self.values.items()):
            out.append(f"{self.name}{_labels(dict(key))} {_num(value)}")
        if not self.values:
            out.append(f"{self.name} 0")
        return out


class Gauge(Counter):
    """A value that goes up and down (set by the owner)."""

    kind = "gauge"

    def set(self, value: float, **labels: str) -> None:
        self.values[tuple(sorted(labels.items()))] = float(value)


class Histogram:
    """Observations counted in buckets with the given upper bounds."""

    def __init__(self, name: str, help_text: str, buckets: Sequence[float]):
        bounds = sorted(float(b) for b in buckets)
        if not bounds or len(set(bounds)) != len(bounds):
            raise ValueError(f"Histogram {name} needs distinct bucket bounds, got {buckets}.")
        self.name, self.help, self.bounds = name, help_text, bounds
        self.counts = [0] * (len(bounds) + 1)          # the last: above every bound
        self.sum, self.count = 0.0, 0

    def observe(self, value: float, times: int = 1) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += times
        self.sum += float(value) * times
        self.count += times

    def quantile(self, q: float) -> float:
        """Estimated q-quantile by linear interpolation inside the bucket (as Prometheus)."""
        if self.count == 0:
            return math.nan
        rank, seen, lower = q * self.count, 0, 0.0
        for bound, n in zip(self.bounds + [math.inf], self.counts):
            if seen + n >= rank and n:
                if bound == math.inf:
                    return self.bounds[-1]
                return lower + (bound - lower) * (rank - seen) / n
            seen, lower = seen + n, bound
        return self.bounds[-1]

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        running = 0
        for bound, n in zip(self.bounds + [math.inf], self.counts):
            running += n
            out.append(f'{self.name}_bucket{{le="{_num(bound)}"}} {running}')
        out += [f"{self.name}_sum {_num(self.sum)}", f"{self.name}_count {self.count}"]
        return out


class Metrics:
    """The server's metrics (``rnnlens_serve_*``)."""

    def __init__(self) -> None:
        self.live = Gauge("rnnlens_serve_live_sequences", "Sequences holding a state now.")
        self.opened = Counter("rnnlens_serve_sequences_opened_total", "Sequences opened.")
        self.closed = Counter("rnnlens_serve_sequences_closed_total",
                              "Sequences closed, by reason (end, evicted).")
        self.steps = Counter("rnnlens_serve_steps_total", "Time steps computed.")
        self.batches = Counter("rnnlens_serve_batches_total", "Batched model steps run.")
        self.errors = Counter("rnnlens_serve_errors_total",
                              "Requests answered with an error, by status.")
        self.batch_size = Histogram(
            "rnnlens_serve_batch_size", "Sequences stepped together in one model step.",
            [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096])
        self.latency = Histogram(
            "rnnlens_serve_step_latency_seconds",
            "Time from a step's arrival in the batcher's queue to its output.",
            [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
             0.25, 0.5, 1.0, 2.5, 5.0, 10.0])

    def render(self) -> str:
        parts = [self.live, self.opened, self.closed, self.steps, self.batches, self.errors,
                 self.batch_size, self.latency]
        return "\n".join(line for metric in parts for line in metric.lines()) + "\n"


__all__ = ["Counter", "Gauge", "Histogram", "Metrics"]
