"""Keras's ``keras.utils`` helpers that rnnlens has."""

from rnnlens.naming import clear_session
from rnnlens.random import set_random_seed

__all__ = ["set_random_seed", "clear_session"]
