"""The command line: ``rnnlens tour`` (also ``python -m rnnlens tour``)."""

from __future__ import annotations

import argparse
import sys
from typing import Sequence


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rnnlens",
        description="Keras-exact recurrent networks in NumPy that let you see inside.")
    sub = parser.add_subparsers(dest="command", required=True)
    tour = sub.add_parser(
        "tour", help="the return_sequences / return_state tutorial, run and explained",
        description="Runs the seed tutorial (LSTM return sequences vs return states) for "
                    "real: every returned tensor with its shape, values and meaning, the "
                    "cell state at every step, and the uses (stacking, TimeDistributed, "
                    "encoder-decoder).")
    tour.add_argument("--seed", type=int, default=1, help="seed for the weights (default 1)")
    tour.add_argument("--units", type=_positive, default=1, help="LSTM units (default 1)")
    tour.add_argument("--timesteps", type=_positive, default=3,
                      help="length of the input 0.1, 0.2, ... (default 3)")
    tour.add_argument("--compare", choices=["keras"],
                      help="also run the configurations in Keras with the same weights")
    example = sub.add_parser(
        "example", help="train a worked example for real",
        description="reverse: an encoder-decoder LSTM learns to reverse digit sequences "
                    "(teacher forcing, then greedy decoding step by step with the "
                    "encoder's [state_h, state_c]).")
    example.add_argument("name", choices=["reverse"])
    example.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    example.add_argument("--epochs", type=_positive, default=10, help="epochs (default 10)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "tour":
        from rnnlens import tour

        if args.compare == "keras" and not _keras_importable():
            print("rnnlens tour: --compare keras needs Keras 3 with TensorFlow installed "
                  "(make test installs them into .venv).", file=sys.stderr)
            return 2
        return tour.run(units=args.units, timesteps=args.timesteps, seed=args.seed,
                        compare=args.compare)
    if args.command == "example":
        from rnnlens.examples import reverse_digits

        return reverse_digits.main(seed=args.seed, epochs=args.epochs)
    return 2


def _keras_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("keras") is not None


if __name__ == "__main__":
    sys.exit(main())
