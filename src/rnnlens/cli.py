"""The command line: ``rnnlens <command>`` (also ``python -m rnnlens <command>``).

Each subcommand lives in its own module of ``rnnlens.commands`` (``register`` adds its
parser, ``run`` executes it); see that package for how to add one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from rnnlens.commands import COMMANDS


def _module(name: str):
    return importlib.import_module(f"rnnlens.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnlens",
        description="Keras-exact recurrent networks in NumPy that let you see inside.")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        _module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return _module(args.command).run(args)


if __name__ == "__main__":
    sys.exit(main())
