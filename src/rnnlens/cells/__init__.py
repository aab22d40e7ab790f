"""Recurrent cells: one time step each (the layers run them over time)."""

from rnnlens.cells.base import RecurrentCell
from rnnlens.cells.lstm import LSTMCell

__all__ = ["RecurrentCell", "LSTMCell"]
