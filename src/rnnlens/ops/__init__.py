"""``rnnlens.ops``: Keras 3.15.1's ``keras.ops`` on NumPy (TensorFlow backend semantics).

Every op has Keras's name, signature, defaults and dtype rules (``ops.arange(3)`` is
int32, ``ops.ones((2,))`` float32, ``ops.mean`` of ints float32, Python scalars are weak
types) and returns NumPy arrays. The submodules mirror ``keras.ops``: ``core``,
``numpy``, ``math``, ``nn``, ``linalg``; the convolutions and pooling are in ``nn_conv``.
``docs/ops.md`` lists what is supported and what differs;
``rnnlens.ops._dispatch.keras_op`` is the decorator every op goes through.

Importing this package needs NumPy only.
"""

from __future__ import annotations

from rnnlens.ops import core, linalg, math, nn, nn_conv, numpy  # noqa: F401  (registers ops)
from rnnlens.ops import nn_adaptive  # noqa: F401  (adaptive pooling)
from rnnlens.ops import image  # noqa: F401  (keras.ops.image, not in __all__)
from rnnlens.ops import signal  # noqa: F401  (stft, istft)
from rnnlens.ops._dispatch import PUBLIC
from rnnlens.ops._dtypes import result_type  # noqa: F401

__all__ = sorted(PUBLIC)
globals().update(PUBLIC)
