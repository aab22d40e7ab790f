"""``rnnlens.autodiff``: a small reverse-mode tape over ``rnnlens.ops``.

Built-in layers train through their hand-written, fused ``backward``. Code written the
Keras way with ``rnnlens.ops`` (a custom ``Layer``'s ``call``, a custom loss function,
a custom metric) trains through this tape instead: while a :class:`Tape` is active,
every op records its inputs and output, and :meth:`Tape.gradient` replays the records
in reverse, applying each op's vector-Jacobian product (VJP):

.. math::

    \\bar{x}_i = \\sum_{\\text{ops } y = f(\\dots, x_i, \\dots)}
                 \\left(\\frac{\\partial f}{\\partial x_i}\\right)^{\\!\\top} \\bar{y},
    \\qquad \\bar{L} = 1.

Values that flow through a tape are :class:`Traced` arrays (an ``np.ndarray``
subclass), so that NumPy operators (``x + y``, ``x @ w``, ``x[:, -1]``, ``x.T``) record
too; ``np.*`` functions with an ``rnnlens.ops`` namesake are recorded as that op, and any
other NumPy use of a traced value that would produce floats raises a ``TypeError`` naming
the function. When no tape is active ops pay one context-variable lookup.

``vjps.NO_GRADIENT`` lists the differentiable-looking ops without a VJP; differentiating
through one raises a ``ValueError`` naming it. ``rnnlens.autodiff.layers`` connects the
tape to ``Model.forward`` / ``Model.backward`` (custom layers, ``add_loss``).

Example::

    x = np.array([1.0, 2.0], "float32")
    with rnnlens.autodiff.Tape() as tape:
        xt = tape.watch(x)
        y = rnnlens.ops.sum(rnnlens.ops.square(xt))
    tape.gradient(y, xt)        # array([2., 4.], dtype=float32)
"""

from __future__ import annotations

from rnnlens.autodiff.tape import ACTIVE, Tape, Traced, active, value_and_grad

__all__ = ["ACTIVE", "Tape", "Traced", "active", "value_and_grad"]
