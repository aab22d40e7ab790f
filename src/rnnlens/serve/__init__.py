"""Serving a recurrent model to many live sequences over HTTP and WebSocket.

``rnnlens serve MODEL --port 8000`` (or :func:`run`) starts an ASGI server
(Starlette on uvicorn; ``pip install rnnlens[serve]``) that keeps each sequence's
recurrent states between messages, as Triton's sequence batcher does:

* a client opens a sequence (or names it: ``"start": true``), sends one or several
  time steps per message and receives each step's outputs (and ``h`` / ``c`` on
  request); it can reset or end the sequence;
* concurrent sequences' steps are batched into one model step after a small delay
  (:class:`ServeConfig` ``batch_delay``, ``max_batch``), so throughput grows with load;
* bounded: ``max_sequences`` live, idle ones evicted after ``idle_timeout``, message
  sizes and steps per message capped; bad messages get a 4xx answer that names the
  problem and touch no other sequence;
* ``/health`` and ``/metrics`` (Prometheus: live sequences, batch sizes, step latency).

For a slot fed ``x_1..x_t`` since its last reset, the output of step t equals
``model.predict(x_{1..t})`` at step t (:mod:`rnnlens.serve.stepper`). The parts:
:mod:`~rnnlens.serve.stepper` (whole-model step, NumPy only),
:mod:`~rnnlens.serve.sequences` (sequences, batcher, bounds),
:mod:`~rnnlens.serve.protocol` (messages), :mod:`~rnnlens.serve.app` (routes),
:mod:`~rnnlens.serve.server` (uvicorn), :mod:`~rnnlens.serve.client` (an asyncio
WebSocket client multiplexing many sequences).
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ModelStepper": "rnnlens.serve.stepper", "ServeConfig": "rnnlens.serve.sequences",
    "Registry": "rnnlens.serve.sequences", "create_app": "rnnlens.serve.app",
    "run": "rnnlens.serve.server", "BackgroundServer": "rnnlens.serve.server",
    "Client": "rnnlens.serve.client",
}


def _require(package: str) -> None:
    """Imports ``package`` or raises an ImportError naming the extra that brings it."""
    try:
        importlib.import_module(package)
    except ImportError:
        raise ImportError(f"rnnlens serve needs {package}; install the extra with "
                          "`pip install 'rnnlens[serve]'` (starlette, uvicorn, "
                          "websockets).") from None


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'rnnlens.serve' has no attribute {name!r}")


__all__ = sorted(_EXPORTS)
