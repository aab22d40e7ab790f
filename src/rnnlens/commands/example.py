"""``rnnlens example NAME``: train a worked example for real."""

from __future__ import annotations

import argparse

from rnnlens.commands._args import positive


def register(sub: argparse._SubParsersAction) -> None:
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
    example.add_argument("--epochs", type=positive, default=None,
                         help="epochs (default 10 for reverse, 2 for dates)")


def run(args: argparse.Namespace) -> int:
    if args.name == "dates":
        from rnnlens.examples import date_attention

        return date_attention.main(seed=args.seed, epochs=args.epochs or 2)
    from rnnlens.examples import reverse_digits

    return reverse_digits.main(seed=args.seed, epochs=args.epochs or 10)
