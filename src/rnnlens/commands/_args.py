"""Argument types shared by the subcommands."""

from __future__ import annotations

import argparse


def positive(text: str) -> int:
    """An int > 0 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value
