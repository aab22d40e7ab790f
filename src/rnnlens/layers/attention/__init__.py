"""Attention layers, as Keras 3.15.1 lays them out (``keras/src/layers/attention``):
``Attention`` (Luong), ``AdditiveAttention`` (Bahdanau), ``MultiHeadAttention`` and
``GroupQueryAttention``.

Each returns its attention weights with ``return_attention_scores=True`` and records
them for ``rnnlens.trace`` (``Trace.extras[name]["attention_scores"]``).
"""

from rnnlens.layers.attention.additive_attention import AdditiveAttention
from rnnlens.layers.attention.attention import Attention
from rnnlens.layers.attention.grouped_query_attention import (GroupedQueryAttention,
                                                              GroupQueryAttention)
from rnnlens.layers.attention.multi_head_attention import MultiHeadAttention

__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention", "GroupQueryAttention",
           "GroupedQueryAttention"]
