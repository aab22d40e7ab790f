"""``rnnlens inspect FILE``: which Keras saved a model file, its layers and outputs."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    inspect = sub.add_parser(
        "inspect", help="show a Keras model file: layers, shapes, parameters, outputs",
        description="Loads a .keras file, a legacy .h5 model or a tf.keras SavedModel "
                    "directory safely (nothing in the file is executed) and prints which "
                    "Keras saved it, the definitions that version computes with, the "
                    "summary and what each output is.")
    inspect.add_argument("file")
    inspect.add_argument("--semantics", help="compute with another Keras's definitions: "
                         "keras3, tf.keras, keras2, or a version such as 2.2.4")


def run(args: argparse.Namespace) -> int:
    from rnnlens import inspect_cmd

    try:
        return inspect_cmd.inspect(args.file, args.semantics)
    except (ValueError, TypeError, ImportError) as err:
        print(f"rnnlens inspect: {err}", file=sys.stderr)
        return 1
