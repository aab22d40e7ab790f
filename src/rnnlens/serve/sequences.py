"""Live sequences and the dynamic batcher (Triton's sequence batcher, in asyncio).

Each live sequence owns a *slot* of a :class:`~rnnlens.serve.stepper.ModelStepper`
(its recurrent states). A message's steps go one by one into the batcher's queue;
the batcher waits at most ``batch_delay`` seconds after the first queued step (or
until ``max_batch`` steps are queued), then runs **one** model step for all of them
on a worker thread::

    rows b = 1..B: distinct sequences with a queued step
    y[b] = stepper.step(x[b], slot[b], reset[b])          one (B, F) model step

so the throughput grows with the number of concurrent sequences. A sequence has at
most one step in the queue (its messages run in order, behind a per-sequence lock),
so a batch never holds a sequence twice and no step waits for another sequence's.

Bounds: ``max_sequences`` live sequences (slots), sequences idle for
``idle_timeout`` seconds are evicted, ``max_pending`` messages may wait per
sequence. A new sequence's first step always resets its slot, so a slot freed by
``end`` or eviction is reused without leaking a state.
"""

from __future__ import annotations

import asyncio
import heapq
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnlens.serve.metrics import Metrics
from rnnlens.serve.protocol import ClientError


@dataclass
class ServeConfig:
    """The server's bounds and batching (``rnnlens serve --help`` lists them).

    Args:
        max_sequences: live sequences at most (each holds one slot of states).
        idle_timeout: seconds without a message after which a sequence is evicted.
        batch_delay: seconds the batcher waits after the first queued step for
            others (0: run as soon as the previous batch is done).
        max_batch: steps in one batch at most.
        max_message_bytes: largest request body / WebSocket message.
        max_steps_per_message: most time steps in one message.
        max_pending: messages that may wait behind one sequence's running message.
        max_inflight_per_connection: messages one WebSocket may have in progress; more
            are not read until one is answered (back-pressure).
        ended_memory: how many ended ids are remembered (to answer 410, not 404).
    """

    max_sequences: int = 10000
    idle_timeout: float = 300.0
    batch_delay: float = 0.002
    max_batch: int = 1024
    max_message_bytes: int = 1 << 20
    max_steps_per_message: int = 1024
    max_pending: int = 8
    max_inflight_per_connection: int = 1024
    ended_memory: int = 100000

    def __post_init__(self) -> None:
        for name in ("max_sequences", "max_batch", "max_message_bytes",
                     "max_steps_per_message", "max_pending", "max_inflight_per_connection",
                     "ended_memory"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, received {value!r}.")
        for name in ("idle_timeout", "batch_delay"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not value >= 0 or value == float("inf"):
                raise ValueError(f"{name} must be a finite number of seconds >= 0, received "
                                 f"{value!r}.")
        if self.idle_timeout == 0:
            raise ValueError("idle_timeout must be > 0 seconds.")


class Sequence:
    """One live sequence: its slot, step count and message lock."""

    def __init__(self, seq_id: str, slot: int):
        self.id, self.slot = seq_id, slot
        self.steps = 0
        self.reset_pending = True
        self.last_active = time.monotonic()
        self.lock = asyncio.Lock()
        self.waiting = 0
        self.closed: str | None = None


@dataclass
class _Item:
    seq: Sequence
    values: list[np.ndarray]       # one (*shape) row per input
    reset: bool
    want_states: bool
    future: asyncio.Future
    queued: float


class Registry:
    """Live sequences, their slots, the batcher and the idle evictor (one event loop)."""

    def __init__(self, stepper: Any, config: ServeConfig, metrics: Metrics | None = None):
        self.stepper, self.config = stepper, config
        self.metrics = metrics or Metrics()
        self.live: dict[str, Sequence] = {}
        self.ended: OrderedDict[str, str] = OrderedDict()
        self._free: list[int] = list(range(config.max_sequences))   # a heap: lowest first
        self._queue: list[_Item] = []
        self._wake: asyncio.Event | None = None
        self._tasks: list[asyncio.Task] = []
        self._executor: Any = None

    # -- lifecycle -------------------------------------------------------------

    async def start(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="rnnlens-step")
        self._tasks = [asyncio.create_task(self._batch_loop()),
                       asyncio.create_task(self._evict_loop())]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        for item in self._queue:
            if not item.future.done():
                item.future.set_exception(ClientError(503, "The server is shutting down."))
        self._queue.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    # -- sequences -----------------------------------------------------------

    def open(self, seq_id: str | None = None) -> Sequence:
        """A new sequence (with a fresh id when none is given)."""
        seq_id = seq_id or uuid.uuid4().hex
        if seq_id in self.live:
            raise ClientError(409, f"Sequence '{seq_id}' is already open; end it first or "
                              "send steps to it.")
        if not self._free:
            raise ClientError(429, f"The server holds its maximum of "
                              f"{self.config.max_sequences} live sequences; end finished "
                              "sequences (idle ones are evicted) and retry.")
        seq = Sequence(seq_id, heapq.heappop(self._free))
        self.live[seq_id] = seq
        self.ended.pop(seq_id, None)
        self.metrics.opened.inc()
        self.metrics.live.set(len(self.live))
        return seq

    def get(self, seq_id: str) -> Sequence:
        seq = self.live.get(seq_id)
        if seq is not None:
            return seq
        reason = self.ended.get(seq_id)
        if reason is not None:
            raise ClientError(410, f"Sequence '{seq_id}' has {reason}; open a new one to "
                              "send more steps.")
        raise ClientError(404, f"Unknown sequence '{seq_id}'; open it first (POST /sequences "
                          "or a message with \"start\": true).")

    def close(self, seq: Sequence, reason: str) -> None:
        """Ends ``seq`` (reason: 'ended' or 'been evicted after ... idle')."""
        if seq.closed is not None:
            return
        seq.closed = reason
        self.live.pop(seq.id, None)
        heapq.heappush(self._free, seq.slot)
        self.ended[seq.id] = reason
        while len(self.ended) > self.config.ended_memory:
            self.ended.popitem(last=False)
        self.metrics.closed.inc(reason="end" if reason == "ended" else "evicted")
        self.metrics.live.set(len(self.live))

    async def locked(self, seq: Sequence) -> Any:
        """Waits for the sequence's turn (bounded queue); use as ``async with``."""
        if seq.waiting >= self.config.max_pending:
            raise ClientError(429, f"Sequence '{seq.id}' already has {seq.waiting} messages "
                              "waiting; wait for their answers before sending more.")
        seq.waiting += 1
        try:
            await seq.lock.acquire()
        finally:
            seq.waiting -= 1
        if seq.closed is not None:
            seq.lock.release()
            raise ClientError(410, f"Sequence '{seq.id}' has {seq.closed}.")
        return _Held(seq)

    async def run_steps(self, seq: Sequence, arrays: list[np.ndarray], want_states: bool
                        ) -> tuple[list[list[np.ndarray]], list[dict] | None]:
        """Feeds T steps (one (T, ...) array per input) through the batcher, in order.

        Returns each output's T rows and, when asked, the states after each step.
        The caller holds the sequence's lock.
        """
        loop = asyncio.get_running_loop()
        outputs: list[list[np.ndarray]] = [[] for _ in self.stepper.outputs]
        states: list[dict] | None = [] if want_states else None
        for t in range(arrays[0].shape[0]):
            item = _Item(seq, [a[t] for a in arrays], seq.reset_pending, want_states,
                         loop.create_future(), time.perf_counter())
            seq.reset_pending = False
            self._queue.append(item)
            self._wake.set()
            ys, st = await item.future
            seq.steps += 1
            seq.last_active = time.monotonic()
            for store, y in zip(outputs, ys):
                store.append(y)
            if states is not None:
                states.append(st)
        return outputs, states

    # -- batching ------------------------------------------------------------

    async def _batch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            if self._queue:
                delay = self.config.batch_delay - (time.perf_counter() - self._queue[0].queued)
                if delay > 0 and len(self._queue) < self.config.max_batch:
                    await asyncio.sleep(delay)
            batch = self._take()
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._compute, batch)
            except Exception as err:               # a model error: fail this batch only
                for item in batch:
                    if not item.future.done():
                        item.future.set_exception(ClientError(
                            500, f"The model step failed: {type(err).__name__}: {err}"))
                continue
            done = time.perf_counter()
            self.metrics.batches.inc()
            self.metrics.batch_size.observe(len(batch))
            self.metrics.steps.inc(len(batch))
            for item, result in zip(batch, results):
                self.metrics.latency.observe(done - item.queued)
                if not item.future.done():
                    item.future.set_result(result)

    def _take(self) -> list[_Item]:
        """Up to max_batch queued steps of distinct slots, oldest first; steps whose
        caller went away are dropped (their sequence does not move on)."""
        batch, rest, seen = [], [], set()
        for item in self._queue:
            if item.future.done():
                continue
            if len(batch) < self.config.max_batch and item.seq.slot not in seen:
                batch.append(item)
                seen.add(item.seq.slot)
            else:
                rest.append(item)
        self._queue = rest
        if not rest:
            self._wake.clear()
        return batch

    def _compute(self, batch: list[_Item]) -> list[tuple[list[np.ndarray], dict | None]]:
        """One model step for the batch (on the worker thread)."""
        xs = [np.stack([item.values[k] for item in batch])
              for k in range(len(self.stepper.inputs))]
        slots = np.array([item.seq.slot for item in batch], dtype=np.int64)
        reset = np.array([item.reset for item in batch])
        ys = self.stepper.step(xs, slots, reset)
        wanted = [b for b, item in enumerate(batch) if item.want_states]
        states = self.stepper.states(slots[wanted]) if wanted else {}
        out = []
        for b in range(len(batch)):
            row_states = None
            if batch[b].want_states:
                r = wanted.index(b)
                row_states = {layer: {name: value[r] for name, value in by_name.items()}
                              for layer, by_name in states.items()}
            out.append(([y[b] for y in ys], row_states))
        return out

    async def _evict_loop(self) -> None:
        period = min(1.0, self.config.idle_timeout / 4)
        while True:
            await asyncio.sleep(period)
            self.evict_idle()

    def evict_idle(self) -> int:
        """Closes sequences idle past the timeout (none with a message in progress)."""
        limit = time.monotonic() - self.config.idle_timeout
        stale = [s for s in self.live.values()
                 if s.last_active < limit and not s.lock.locked() and s.waiting == 0]
        for seq in stale:
            self.close(seq, f"been evicted after {self.config.idle_timeout:g} s idle")
        return len(stale)


class _Held:
    """``async with`` releasing a sequence's lock."""

    def __init__(self, seq: Sequence):
        self.seq = seq

    async def __aenter__(self) -> Sequence:
        return self.seq

    async def __aexit__(self, *exc: Any) -> None:
        self.seq.lock.release()
        self.seq.last_active = time.monotonic()


__all__ = ["ServeConfig", "Registry", "Sequence"]
