"""``rnnlens explain MODEL_FILE [INPUT] -o page.html``: the model, inside, in one page."""

from __future__ import annotations

import argparse
import sys

from rnnlens.commands._args import positive


def register(sub: argparse._SubParsersAction) -> None:
    explain = sub.add_parser(
        "explain", help="write a self-contained HTML page that shows a model inside",
        description="Loads a Keras model file safely and writes one HTML file (no network): "
                    "the graph with every tensor's shape and meaning, heatmaps of h, c and "
                    "the gates of every recurrent layer, each step's equations with the "
                    "numbers, LSTMVis-style pattern search, input attribution and per-unit "
                    "summaries. Without INPUT a random input of the model's shapes is used "
                    "(the page says so).")
    explain.add_argument("file", help="a .keras / .h5 model file or SavedModel directory")
    explain.add_argument("input", nargs="?", help=".npy (one input) or .npz (one array per "
                         "input name); default: random data")
    explain.add_argument("-o", "--output", help="the page to write (default: <model>.html)")
    explain.add_argument("--max-samples", type=positive, default=32,
                         help="trace at most this many samples, evenly spaced (default 32)")
    explain.add_argument("--max-steps", type=positive, default=500,
                         help="show the last N steps of each layer (default 500)")
    explain.add_argument("--max-units", type=positive, default=256,
                         help="show the first N units of each layer (default 256)")
    explain.add_argument("--sample", type=int, action="append",
                         help="a sample to draw in detail (repeat for several)")
    explain.add_argument("--seed", type=int, default=0, help="seed of the random input")
    explain.add_argument("--steps", type=positive, default=20,
                         help="time steps of the random input when the model does not fix "
                              "them (default 20)")
    explain.add_argument("--no-attribution", action="store_true",
                         help="skip the input attribution (its backward passes are the slow "
                              "part for large layers)")
    explain.add_argument("--semantics", help="as for inspect")


def run(args: argparse.Namespace) -> int:
    from rnnlens.explain.command import explain_file

    try:
        line = explain_file(args.file, args.input, args.output, max_samples=args.max_samples,
                            max_steps=args.max_steps, max_units=args.max_units,
                            sample=args.sample, seed=args.seed, steps=args.steps,
                            semantics=args.semantics, attribution=not args.no_attribution)
    except (ValueError, TypeError, ImportError, OSError) as err:
        print(f"rnnlens explain: {err}", file=sys.stderr)
        return 1
    print(line)
    return 0
