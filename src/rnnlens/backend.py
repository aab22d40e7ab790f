"""The little of ``keras.backend`` that user code touches."""

from rnnlens.naming import clear_session


def floatx() -> str:
    """rnnlens computes in float32 end to end."""
    return "float32"


def backend() -> str:
    return "numpy"


__all__ = ["clear_session", "floatx", "backend"]
