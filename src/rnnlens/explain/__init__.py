"""See inside, visually: a self-contained explainer page for any model.

``rnnlens.explain(model, x).save("page.html")`` writes one HTML file (inline
SVG / CSS / JS, no network) that shows, for ``x`` (or a sample of it):

* **Graph**: every layer call and tensor with its shape; a recurrent layer's
  outputs are named for what they are: the ``return_sequences`` output is h
  at every step, ``state_h`` its last column, ``state_c`` the last column of
  the cell state c (the seed tutorial's four configurations, drawn).
* **Heatmaps** (units x steps) of h, c and every gate of each recurrent layer
  call (both directions of ``Bidirectional``; every state of stacked and user
  cells), from ``rnnlens.trace``; masked steps marked on the time axis; the
  exact value on hover.
* **Step view**: the cell's equations at a chosen (sample, step, unit) with
  the traced numbers, e.g. ``c_t = f*c_(t-1) + i*g``.
* **Pattern search** (as LSTMVis): units on (h > threshold) / off over a range
  of steps; every traced sample and step with the same on/off pattern.
* **Attribution**: d(output unit) / d(input step), summed over features, by
  rnnlens's own backward pass (``rnnlens.explain.attribution``).
* **Summary**: per unit, how often each gate saturates, and how long the cell
  remembers (``rnnlens.explain.stats``).

Only NumPy is imported. The package module is callable, so
``rnnlens.explain(model, x)`` is ``rnnlens.explain.explain(model, x)``.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from rnnlens.explain.build import explain
from rnnlens.explain.page import Explanation, combine

__all__ = ["explain", "Explanation", "combine"]


class _CallableModule(types.ModuleType):
    """``rnnlens.explain(model, x)`` works whether it names the function or the package."""

    def __call__(self, *args: Any, **kwargs: Any) -> Explanation:
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
