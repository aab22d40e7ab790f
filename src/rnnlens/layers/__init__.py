"""Layers, with Keras's import path: ``from rnnlens.layers import Input, LSTM``."""

from rnnlens.functional import Input
from rnnlens.layers.base import Layer
from rnnlens.layers.core import (Concatenate, Dense, Embedding, InputLayer, Masking,
                                 RepeatVector)
from rnnlens.cells import GRUCell, LSTMCell, SimpleRNNCell, StackedRNNCells
from rnnlens.layers.recurrent import GRU, LSTM, RNN, SimpleRNN
from rnnlens.layers.wrappers import Bidirectional, TimeDistributed

__all__ = ["Input", "Layer", "InputLayer", "Dense", "RepeatVector", "Concatenate", "Masking",
           "Embedding",
           "RNN", "LSTM", "GRU", "SimpleRNN", "TimeDistributed", "Bidirectional",
           "LSTMCell", "GRUCell", "SimpleRNNCell", "StackedRNNCells"]
