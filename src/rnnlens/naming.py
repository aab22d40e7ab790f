"""Keras-style unique names: ``lstm``, ``lstm_1``, ``lstm_2``, ..."""

from __future__ import annotations

_COUNTS: dict[str, int] = {}


def unique(prefix: str) -> str:
    """The next free name for ``prefix`` in this session."""
    n = _COUNTS.get(prefix, 0)
    _COUNTS[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def clear_session() -> None:
    """Restarts every name counter (like ``keras.backend.clear_session``)."""
    _COUNTS.clear()
