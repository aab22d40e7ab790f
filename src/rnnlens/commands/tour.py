"""``rnnlens tour``: the seed tutorial, run and explained."""

from __future__ import annotations

import argparse
import importlib.util
import sys

from rnnlens.commands._args import positive


def register(sub: argparse._SubParsersAction) -> None:
    tour = sub.add_parser(
        "tour", help="the return_sequences / return_state tutorial, run and explained",
        description="Runs the seed tutorial (LSTM return sequences vs return states) for "
                    "real: every returned tensor with its shape, values and meaning, the "
                    "cell state at every step, and the uses (stacking, TimeDistributed, "
                    "encoder-decoder).")
    tour.add_argument("--seed", type=int, default=1, help="seed for the weights (default 1)")
    tour.add_argument("--units", type=positive, default=1, help="LSTM units (default 1)")
    tour.add_argument("--timesteps", type=positive, default=3,
                      help="length of the input 0.1, 0.2, ... (default 3)")
    tour.add_argument("--compare", choices=["keras"],
                      help="also run the configurations in Keras with the same weights")
    tour.add_argument("--html", metavar="PAGE",
                      help="also write the tour's models, inside, to one HTML page")


def run(args: argparse.Namespace) -> int:
    from rnnlens import tour

    if args.compare == "keras" and importlib.util.find_spec("keras") is None:
        print("rnnlens tour: --compare keras needs Keras 3 with TensorFlow installed "
              "(make test installs them into .venv).", file=sys.stderr)
        return 2
    return tour.run(units=args.units, timesteps=args.timesteps, seed=args.seed,
                    compare=args.compare, html=args.html)
