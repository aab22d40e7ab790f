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
    inspect = sub.add_parser(
        "inspect", help="show a Keras model file: layers, shapes, parameters, outputs",
        description="Loads a .keras file, a legacy .h5 model or a tf.keras SavedModel "
                    "directory safely (nothing in the file is executed) and prints which "
                    "Keras saved it, the definitions that version computes with, the "
                    "summary and what each output is.")
    inspect.add_argument("file")
    inspect.add_argument("--semantics", help="compute with another Keras's definitions: "
                         "keras3, tf.keras, keras2, or a version such as 2.2.4")
    predict = sub.add_parser(
        "predict", help="run a Keras model file on a .npy / .npz input",
        description="Runs the model on INPUT (.npy for one input, .npz with one array per "
                    "input name) in batches, and writes the outputs to an .npz.")
    predict.add_argument("file")
    predict.add_argument("input")
    predict.add_argument("-o", "--output", help="write the outputs to this .npz")
    predict.add_argument("--batch-size", type=_positive, default=32)
    predict.add_argument("--semantics", help="as for inspect")
    example = sub.add_parser(
        "example", help="train a worked example for real",
        description="reverse: an encoder-decoder LSTM learns to reverse digit sequences "
                    "(teacher forcing, then greedy decoding step by step with the "
                    "encoder's [state_h, state_c]). dates: an attention encoder-decoder "
                    "(Bidirectional LSTM encoder, LSTM decoder, Attention) learns to write "
                    "dates such as 'march 3 1998' or '3/3/98' as 1998-03-03, decodes them "
                    "step by step and shows where each output character looked.")
    example.add_argument("name", choices=["reverse", "dates"])
    example.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    example.add_argument("--epochs", type=_positive, default=None,
                         help="epochs (default 10 for reverse, 2 for dates)")
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
    if args.command in ("inspect", "predict"):
        from rnnlens import inspect_cmd

        try:
            if args.command == "inspect":
                return inspect_cmd.inspect(args.file, args.semantics)
            return inspect_cmd.predict(args.file, args.input, args.output, args.batch_size,
                                       args.semantics)
        except (ValueError, TypeError, ImportError) as err:
            print(f"rnnlens {args.command}: {err}", file=sys.stderr)
            return 1
    if args.command == "example":
        if args.name == "dates":
            from rnnlens.examples import date_attention

            return date_attention.main(seed=args.seed, epochs=args.epochs or 2)
        from rnnlens.examples import reverse_digits

        return reverse_digits.main(seed=args.seed, epochs=args.epochs or 10)
    return 2


def _keras_importable() -> bool:
    import importlib.util

    return importlib.util.find_spec("keras") is not None


if __name__ == "__main__":
    sys.exit(main())
