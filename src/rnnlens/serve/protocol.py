"""The server's messages: JSON parsing and checking, errors with an HTTP status.

Every request body (HTTP) or message (WebSocket) is one JSON object. A step message::

    {"x": [[0.1, 0.2, 0.3], [0.0, 0.5, 1.0]],   # T steps, each of the input's step shape
     "states": false,                             # also return h / c after each step
     "reset": false,                              # restart from zero states first
     "end": false}                                # end the sequence after these steps

A model with several inputs takes ``"x": {"input name": [...T steps...], ...}``.
Anything else is a :class:`ClientError` with a 4xx status and a message saying what
to send instead; nothing in a bad message touches any sequence's state.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

#: Sequence ids: 1-128 characters of letters, digits and ``._:-``.
ID_PATTERN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


class ClientError(Exception):
    """A request the server refuses, with its HTTP status (4xx)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = int(status), message

    def payload(self) -> dict:
        return {"ok": False, "status": self.status, "error": self.message}


def parse_json(raw: bytes | str, limit: int) -> dict:
    """One JSON object of at most ``limit`` bytes."""
    if len(raw) > limit:
        raise ClientError(413, f"Message of {len(raw)} bytes is over the limit of {limit}; "
                          "send fewer steps per message.")
    try:
        obj = json.loads(raw)
    except RecursionError:
        raise ClientError(400, "Malformed JSON: nested too deeply.") from None
    except ValueError as err:
        raise ClientError(400, f"Malformed JSON: {err}.") from None
    if not isinstance(obj, dict):
        raise ClientError(400, f"Expected a JSON object, received a {type(obj).__name__}.")
    return obj


def check_fields(body: dict, allowed: set[str], what: str) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ClientError(400, f"Unknown field(s) {unknown} in {what}; allowed: "
                          f"{sorted(allowed)}.")


def check_id(value: Any) -> str:
    """A sequence id from a URL or message."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ClientError(400, f"Sequence ids are 1-128 characters of letters, digits and "
                          f"'._:-'; received {str(value)[:80]!r}.")
    return value


def flag(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if not isinstance(value, bool):
        raise ClientError(400, f"'{name}' must be true or false, received {value!r:.40}.")
    return value


def parse_steps(body: dict, stepper: Any, max_steps: int) -> list[np.ndarray]:
    """The ``x`` of a step message as one (T, *step shape) array per model input."""
    from rnnlens.serve.stepper import _convert

    if "x" not in body:
        raise ClientError(422, f"A step message needs 'x': a list of time steps "
                          f"{_expected(stepper)}.")
    x, inputs = body["x"], stepper.inputs
    if isinstance(x, dict):
        names = [s.name for s in inputs]
        if sorted(x) != sorted(names):
            raise ClientError(422, f"'x' must have one entry per model input {names}, "
                              f"received {sorted(x)[:10]}.")
        values = [x[name] for name in names]
    elif len(inputs) == 1:
        values = [x]
    else:
        raise ClientError(422, f"This model has {len(inputs)} inputs: send 'x' as "
                          f"{{{', '.join(repr(s.name) for s in inputs)}: [steps]}}.")
    arrays = []
    for value, spec in zip(values, inputs):
        if not isinstance(value, list) or not value:
            raise ClientError(422, f"'x' for input '{spec.name}' must be a non-empty list of "
                              f"time steps {_expected(stepper)}.")
        if len(value) > max_steps:
            raise ClientError(413, f"{len(value)} steps in one message, over the limit of "
                              f"{max_steps}; split them over several messages.")
        try:
            arr = _convert(_array(value, spec.name), spec)
        except (TypeError, ValueError) as err:
            raise ClientError(422, f"{err} Send 'x' as a list of time steps "
                              f"{_expected(stepper)}.") from None
        if arr.dtype.kind == "f" and not np.all(np.isfinite(arr)):
            raise ClientError(422, f"Input '{spec.name}' has NaN or infinite values; send "
                              "finite numbers.")
        arrays.append(arr)
    if len({a.shape[0] for a in arrays}) != 1:
        raise ClientError(422, f"Inputs have different numbers of steps "
                          f"{[a.shape[0] for a in arrays]}.")
    return arrays


def _array(value: list, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise ClientError(422, f"'x' for input '{name}' is ragged or not numeric: every "
                          "step must have the same shape.") from None
    if arr.dtype == object:
        raise ClientError(422, f"'x' for input '{name}' is ragged or has values that are not "
                          "numbers.")
    return arr


def _expected(stepper: Any) -> str:
    shapes = ", ".join(f"'{s.name}': each step of shape "
                       f"{tuple('any' if d is None else d for d in s.shape)} ({s.dtype})"
                       for s in stepper.inputs)
    return f"({shapes})"


def to_json(array: np.ndarray) -> Any:
    """Nested lists of Python numbers (float32 values are written exactly)."""
    return array.tolist()


__all__ = ["ClientError", "parse_json", "parse_steps", "check_id", "check_fields", "flag"]
