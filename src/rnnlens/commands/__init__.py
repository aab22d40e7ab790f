"""The ``rnnlens`` command's subcommands: one module per subcommand.

Each module defines ``register(subparsers)`` (adds its parser, with ``help`` and
``description``) and ``run(args) -> int`` (the exit status). ``rnnlens.cli`` builds the
parser from :data:`COMMANDS` in this order; a new subcommand is a new module plus its
name here. Modules import what they need inside ``run``, so ``rnnlens --help`` stays fast.
"""

COMMANDS = ["tour", "inspect", "predict", "example", "explain", "serve"]

__all__ = ["COMMANDS"]
