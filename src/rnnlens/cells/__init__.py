"""Recurrent cells: one time step each (the layers run them over time)."""

from rnnlens.cells.base import RecurrentCell
from rnnlens.cells.gru import GRUCell
from rnnlens.cells.lstm import LSTMCell
from rnnlens.cells.generic import CellAdapter, StackedRNNCells
from rnnlens.cells.simple_rnn import SimpleRNNCell
from rnnlens.cells.conv_lstm import ConvLSTMCell

__all__ = ["RecurrentCell", "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells",
           "CellAdapter", "ConvLSTMCell"]
