"""``rnnlens predict FILE INPUT``: run a Keras model file on arrays."""

from __future__ import annotations

import argparse
import sys

from rnnlens.commands._args import positive


def register(sub: argparse._SubParsersAction) -> None:
    predict = sub.add_parser(
        "predict", help="run a Keras model file on a .npy / .npz input",
        description="Runs the model on INPUT (.npy for one input, .npz with one array per "
                    "input name) in batches, and writes the outputs to an .npz.")
    predict.add_argument("file")
    predict.add_argument("input")
    predict.add_argument("-o", "--output", help="write the outputs to this .npz")
    predict.add_argument("--batch-size", type=positive, default=32)
    predict.add_argument("--semantics", help="as for inspect")


def run(args: argparse.Namespace) -> int:
    from rnnlens import inspect_cmd

    try:
        return inspect_cmd.predict(args.file, args.input, args.output, args.batch_size,
                                   args.semantics)
    except (ValueError, TypeError, ImportError) as err:
        print(f"rnnlens predict: {err}", file=sys.stderr)
        return 1
