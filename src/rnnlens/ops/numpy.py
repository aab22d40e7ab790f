"""``keras.ops.numpy`` on NumPy: every NumPy-style op, gathered from the implementation
modules (``np_create``, ``np_elementwise``, ``np_reduce``, ``np_shape``, ``np_index``,
``np_products``)."""

from __future__ import annotations

from rnnlens.ops import np_create, np_elementwise, np_index, np_products, np_reduce, np_shape
from rnnlens.ops._dispatch import PUBLIC

_MODULES = (np_create, np_elementwise, np_index, np_products, np_reduce, np_shape)
_MODULE_NAMES = {m.__name__ for m in _MODULES}

__all__ = sorted(n for n, f in PUBLIC.items() if f.__module__ in _MODULE_NAMES)
globals().update({n: PUBLIC[n] for n in __all__})
