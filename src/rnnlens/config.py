"""``keras.config``: the global settings of Keras 3.15.1, as far as they mean something here.

Shared with :mod:`rnnlens.backend` (the same values): ``floatx``/``set_floatx``,
``epsilon``/``set_epsilon``, ``image_data_format``/``set_image_data_format``,
``backend`` (``"numpy"``).

Stored for their readers (nothing else in rnnlens changes when they are set):

* ``max_epochs()`` / ``set_max_epochs(n)`` and ``max_steps_per_epoch()`` /
  ``set_max_steps_per_epoch(n)``: Keras's debugging caps on ``fit``'s epochs and on
  the steps of ``fit``/``evaluate``/``predict``; ``None`` means no cap. As in Keras the
  environment variables ``KERAS_MAX_EPOCHS`` and ``KERAS_MAX_STEPS_PER_EPOCH`` set
  them at import. The training loop reads ``rnnlens.config.max_epochs()`` and
  ``rnnlens.config.max_steps_per_epoch()``.
* ``enable_interactive_logging()`` / ``disable_interactive_logging()`` /
  ``is_interactive_logging_enabled()`` (default True): in Keras, disabling sends the
  progress bars to ``absl.logging``; rnnlens's progress bars print to their stream
  either way, and the flag is kept for code that reads it.
* ``enable_traceback_filtering()`` / ``disable_traceback_filtering()`` /
  ``is_traceback_filtering_enabled()`` (default True): rnnlens filters no tracebacks.

Harmless, as on a Keras backend without the feature: ``enable_flash_attention`` /
``disable_flash_attention`` / ``is_flash_attention_enabled`` (None, False after
disabling), ``is_nnx_enabled`` (always False), ``set_backend`` (only ``"numpy"``).

``dtype_policy()`` is the float32 :class:`DTypePolicy` (``floatx()`` while float64 is
set for gradient checks); ``set_dtype_policy`` accepts only float32 policies: rnnlens
has no mixed precision. ``enable_unsafe_deserialization()`` changes nothing: rnnlens
never deserializes code (lambdas, Lambda layers), safe mode or not.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from rnnlens.backend import (
    backend,
    epsilon,
    floatx,
    image_data_format,
    set_epsilon,
    set_floatx,
    set_image_data_format,
)

_STATE: dict[str, Any] = {
    "max_epochs": None, "max_steps_per_epoch": None, "interactive_logging": True,
    "traceback_filtering": True, "flash_attention": None, "dtype_policy": None,
}


# ---------------------------------------------------------------------------- debug caps
def _cap(value: Any, name: str) -> int | None:
    """None or a positive int (Keras stores anything; rnnlens checks)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not hasattr(value, "__index__"):
        raise TypeError(f"Received {name}={value!r}, expected a positive integer or None.")
    if int(value) < 1:
        raise ValueError(f"Received {name}={value!r}, expected a positive integer or None.")
    return int(value)


def _env_cap(var: str) -> int | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    try:
        return _cap(int(raw), var)
    except (TypeError, ValueError):
        raise ValueError(f"Environment variable {var}={raw!r} must be a positive "
                         "integer.") from None


def set_max_epochs(max_epochs: int | None) -> None:
    """Caps the epochs of every later ``fit`` at ``max_epochs`` (None: no cap)."""
    _STATE["max_epochs"] = _cap(max_epochs, "max_epochs")


def max_epochs() -> int | None:
    """The cap set by :func:`set_max_epochs` or ``KERAS_MAX_EPOCHS`` (None: none)."""
    return _STATE["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch: int | None) -> None:
    """Caps the steps of one epoch of ``fit``/``evaluate``/``predict`` (None: no cap)."""
    _STATE["max_steps_per_epoch"] = _cap(max_steps_per_epoch, "max_steps_per_epoch")


def max_steps_per_epoch() -> int | None:
    """The cap set by :func:`set_max_steps_per_epoch` or ``KERAS_MAX_STEPS_PER_EPOCH``."""
    return _STATE["max_steps_per_epoch"]


_STATE["max_epochs"] = _env_cap("KERAS_MAX_EPOCHS")
_STATE["max_steps_per_epoch"] = _env_cap("KERAS_MAX_STEPS_PER_EPOCH")


# ---------------------------------------------------------------------------- flags
def enable_interactive_logging() -> None:
    """Sets the interactive-logging flag (stored; rnnlens's progress bars always print)."""
    _STATE["interactive_logging"] = True


def disable_interactive_logging() -> None:
    """Clears the interactive-logging flag (stored; see the module docstring)."""
    _STATE["interactive_logging"] = False


def is_interactive_logging_enabled() -> bool:
    return _STATE["interactive_logging"]


def enable_traceback_filtering() -> None:
    """Stored only: rnnlens does not filter tracebacks."""
    _STATE["traceback_filtering"] = True


def disable_traceback_filtering() -> None:
    """Stored only: rnnlens does not filter tracebacks."""
    _STATE["traceback_filtering"] = False


def is_traceback_filtering_enabled() -> bool:
    return _STATE["traceback_filtering"]


def enable_flash_attention() -> None:
    """No effect (no attention kernels here); ``is_flash_attention_enabled()`` -> None."""
    _STATE["flash_attention"] = None


def disable_flash_attention() -> None:
    """No effect; ``is_flash_attention_enabled()`` -> False, as in Keras."""
    _STATE["flash_attention"] = False


def is_flash_attention_enabled() -> bool | None:
    """None (Keras's "not disabled") unless :func:`disable_flash_attention` was called."""
    return _STATE["flash_attention"]


def is_nnx_enabled() -> bool:
    """False: NNX is a JAX feature."""
    return False


def set_backend(backend: str) -> None:
    """Accepts only ``"numpy"``, the one backend rnnlens has."""
    if backend != "numpy":
        raise ValueError(f"Received backend={backend!r}; rnnlens has only the 'numpy' "
                         "backend (it reproduces Keras on TensorFlow).")


def enable_unsafe_deserialization() -> None:
    """Does nothing: rnnlens never deserializes code.

    Keras's lambdas and ``Lambda`` layers carry Python bytecode, which Keras loads once
    safe mode is off. rnnlens refuses them whatever the safe mode, so there is nothing
    to enable; a ``UserWarning`` says so.
    """
    warnings.warn("rnnlens never deserializes code (lambdas, Lambda layers): "
                  "enable_unsafe_deserialization() has no effect.", UserWarning, stacklevel=2)


# ---------------------------------------------------------------------------- dtype policy
class DTypePolicy:
    """A float dtype policy: layers compute and keep their weights in ``name``.

    rnnlens supports ``"float32"`` (and ``floatx()``); ``compute_dtype`` and
    ``variable_dtype`` are both the name, ``quantization_mode`` is None.
    """

    def __init__(self, name: str | None = None):
        if name is None:
            name = dtype_policy().name
        if not isinstance(name, str):
            raise TypeError("'name' must be a string, such as 'float32'. "
                            f"Received: name={name} (of type {type(name)})")
        if name not in ("float32", floatx()):
            raise ValueError(f"Received dtype policy {name!r}; rnnlens computes in float32 "
                             "only (no mixed precision, float16, bfloat16 or quantization; "
                             "use rnnlens.config.set_floatx('float64') for float64 checks).")
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def compute_dtype(self) -> str:
        return self._name

    @property
    def variable_dtype(self) -> str:
        return self._name

    @property
    def quantization_mode(self) -> None:
        return None

    def get_config(self) -> dict:
        return {"name": self._name}

    @classmethod
    def from_config(cls, config: dict) -> "DTypePolicy":
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(other) is DTypePolicy and other.name == self.name

    def __hash__(self) -> int:
        return hash(("DTypePolicy", self._name))

    def __repr__(self) -> str:
        return f'<DTypePolicy "{self._name}">'


def set_dtype_policy(policy: Any) -> None:
    """Sets the global policy: ``"float32"`` or ``DTypePolicy("float32")`` only.

    Raises:
        ValueError: for other policies (``"mixed_float16"``, ``"float16"``, ...) and for
            arguments that are neither a string nor a ``DTypePolicy`` (as Keras).
    """
    if not isinstance(policy, DTypePolicy):
        if not isinstance(policy, str):
            raise ValueError("Invalid `policy` argument. Expected the string name of a "
                             "policy (such as 'float32') or a `DTypePolicy` instance. "
                             f"Received: policy={policy} (of type {type(policy)})")
        policy = DTypePolicy(policy)
    _STATE["dtype_policy"] = policy


def dtype_policy() -> DTypePolicy:
    """The global policy (a float32 ``DTypePolicy`` unless floatx is float64)."""
    policy = _STATE["dtype_policy"]
    if policy is None or policy.name not in ("float32", floatx()):
        policy = _STATE["dtype_policy"] = DTypePolicy(floatx())
    return policy


__all__ = ["DTypePolicy", "backend", "disable_flash_attention",
           "disable_interactive_logging", "disable_traceback_filtering", "dtype_policy",
           "enable_flash_attention", "enable_interactive_logging",
           "enable_traceback_filtering", "enable_unsafe_deserialization", "epsilon",
           "floatx", "image_data_format", "is_flash_attention_enabled",
           "is_interactive_logging_enabled", "is_nnx_enabled",
           "is_traceback_filtering_enabled", "max_epochs", "max_steps_per_epoch",
           "set_backend", "set_dtype_policy", "set_epsilon", "set_floatx",
           "set_image_data_format", "set_max_epochs", "set_max_steps_per_epoch"]
