"""Shared by the example scripts: the size switch the tests use."""

import os

SMALL = os.environ.get("RNNLENS_EXAMPLE_SMALL") == "1"


def size(full: int, small: int) -> int:
    """``full`` normally; ``small`` when the tests run the examples."""
    return small if SMALL else full
