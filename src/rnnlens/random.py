"""The seedable random generator behind initializers and dropout."""

from __future__ import annotations

import numpy as np

_GLOBAL = {"rng": np.random.default_rng()}


def set_random_seed(seed: int) -> None:
    """Makes every later default initialisation and dropout draw reproducible.

    Like ``keras.utils.set_random_seed``: after ``set_random_seed(7)`` the same
    program builds the same weights every run.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"Received seed={seed!r}, expected an integer.")
    _GLOBAL["rng"] = np.random.default_rng(int(seed))


def generator(seed: int | None = None) -> np.random.Generator:
    """A fresh generator for an explicit ``seed``, else the global one."""
    if seed is None:
        return _GLOBAL["rng"]
    return np.random.default_rng(int(seed))
