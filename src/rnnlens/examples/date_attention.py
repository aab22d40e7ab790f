"""An attention encoder–decoder that learns to translate dates, trained for real.

Dates written in many ways ("march 3 1998", "3 mar 98", "3/3/98", "03.03.1998",
...) become "1998-03-03". The seed tutorial's encoder–decoder hands the decoder
one summary of the input (the encoder's last states); attention lets every
decoder step look back at every encoder step instead:

* encoder: ``Embedding(mask_zero=True)`` -> ``Bidirectional(LSTM(return_sequences=True,
  return_state=True))``: one vector per source character (padding masked) and the
  two directions' final states, joined, as the decoder's initial ``[h, c]``;
* decoder: ``Embedding`` -> ``LSTM(return_sequences=True)`` reading the previous
  output character (teacher forcing: the true one while training);
* ``Attention()([decoder_steps, encoder_steps], return_attention_scores=True)``:
  for decoder step i, weights ``w_ij = softmax_j(d_i . e_j)`` over the source
  characters (padding gets none) and the context ``sum_j w_ij e_j``;
* ``Dense(softmax)`` on ``[d_i, context_i]`` predicts the next character.

After training, ``greedy_decode`` translates held-out dates one character at a time
with ``decoder.step`` (the decoder's own previous guess as its input) and the
attention layer on that one step; ``rnnlens.trace`` records the attention weights
(``trace(model, x).extras["attention"]["attention_scores"]``), and ``alignment``
shows which source character each output character read.

Run it with ``rnnlens example dates`` or ``python examples/date_attention.py``.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

import rnnlens
from rnnlens import optimizers
from rnnlens.layers import (LSTM, Attention, Bidirectional, Concatenate, Dense, Embedding,
                            Input)
from rnnlens.models import Model

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
SOURCE_CHARS = " ,./0123456789abcdefghijklmnopqrstuvwxyz"
SOURCE_VOCAB = len(SOURCE_CHARS) + 1                # id 0 is padding
SOURCE_LEN = 18                                     # "september 30, 1998"
TARGET_CHARS = "0123456789-"
START = len(TARGET_CHARS)                           # the decoder's start token
TARGET_VOCAB = len(TARGET_CHARS) + 1
TARGET_LEN = 10                                     # "1998-03-03"
FIRST_DAY = datetime.date(1950, 1, 1).toordinal()   # two-digit years: 50-99 -> 19xx,
LAST_DAY = datetime.date(2049, 12, 31).toordinal()  #                  00-49 -> 20xx


@dataclass
class Result:
    """What a run produced: held-out accuracies, seconds, history, a few translations."""

    sequence_accuracy: float
    char_accuracy: float
    train_seconds: float
    train_cpu_seconds: float
    history: dict
    examples: list[tuple[str, str, str]]
    alignment: list[tuple[str, str]]


def written(day: datetime.date, style: int) -> str:
    """One of eight ways to write ``day``."""
    month, d, yy = MONTHS[day.month - 1], day.day, day.year % 100
    return [f"{month} {d} {day.year}", f"{d} {month} {day.year}", f"{month} {d}, {day.year}",
            f"{month[:3]} {d} {day.year}", f"{d} {month[:3]} {yy:02d}",
            f"{day.month}/{d}/{yy:02d}", f"{d:02d}.{day.month:02d}.{day.year}",
            f"{day.year} {month} {d}"][style]


def make_data(n: int, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """``n`` random dates in random styles, and their ISO forms."""
    days = rng.integers(FIRST_DAY, LAST_DAY + 1, size=n)
    styles = rng.integers(0, 8, size=n)
    dates = [datetime.date.fromordinal(int(d)) for d in days]
    return [written(d, int(s)) for d, s in zip(dates, styles)], [d.isoformat() for d in dates]


def encode_source(texts: list[str]) -> np.ndarray:
    """(n, SOURCE_LEN) character ids, padded with 0 on the right."""
    out = np.zeros((len(texts), SOURCE_LEN), np.int32)
    for row, text in enumerate(texts):
        ids = [SOURCE_CHARS.index(ch) + 1 for ch in text[:SOURCE_LEN]]
        out[row, :len(ids)] = ids
    return out


def encode_target(texts: list[str]) -> np.ndarray:
    return np.array([[TARGET_CHARS.index(ch) for ch in t] for t in texts], np.int32)


def decode_target(ids: np.ndarray) -> list[str]:
    return ["".join(TARGET_CHARS[i] if i < len(TARGET_CHARS) else "?" for i in row)
            for row in ids]


def teacher_inputs(targets: np.ndarray) -> np.ndarray:
    """The decoder's inputs while training: START, then the targets shifted right."""
    return np.concatenate([np.full((len(targets), 1), START), targets[:, :-1]], axis=1)


def build(units: int = 32, dim: int = 16) -> tuple[Model, dict]:
    """The training model and the layers the step-by-step decoder reuses."""
    source = Input(shape=(SOURCE_LEN,), dtype="int32", name="source")
    previous = Input(shape=(TARGET_LEN,), dtype="int32", name="previous_char")
    layers = {
        "source_embedding": Embedding(SOURCE_VOCAB, dim, mask_zero=True,
                                      name="source_embedding"),
        "encoder": Bidirectional(LSTM(units, return_sequences=True, return_state=True),
                                 name="encoder"),
        "target_embedding": Embedding(TARGET_VOCAB, dim, name="target_embedding"),
        "decoder": LSTM(2 * units, return_sequences=True, name="decoder"),
        "attention": Attention(name="attention"),
        "head": Dense(TARGET_VOCAB, activation="softmax", name="next_char"),
    }
    enc, fh, fc, bh, bc = layers["encoder"](layers["source_embedding"](source))
    state = [Concatenate()([fh, bh]), Concatenate()([fc, bc])]
    dec = layers["decoder"](layers["target_embedding"](previous), initial_state=state)
    context = layers["attention"]([dec, enc])
    probs = layers["head"](Concatenate()([dec, context]))
    return Model([source, previous], probs, name="date_translator"), layers


def greedy_decode(layers: dict, source: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Translates ``source`` ids one character at a time with ``decoder.step``.

    Returns:
        The output ids (n, TARGET_LEN) and the attention weights of every step
        (n, TARGET_LEN, SOURCE_LEN).
    """
    mask = source != 0
    enc, fh, fc, bh, bc = layers["encoder"](layers["source_embedding"](source))
    states = [np.concatenate([fh, bh], -1), np.concatenate([fc, bc], -1)]
    token = np.full(len(source), START)
    out = np.zeros((len(source), TARGET_LEN), np.int64)
    weights = np.zeros((len(source), TARGET_LEN, SOURCE_LEN), np.float32)
    for t in range(TARGET_LEN):
        h, states = layers["decoder"].step(layers["target_embedding"](token), states)
        context, w = layers["attention"]([h[:, None], np.asarray(enc)], mask=[None, mask],
                                         return_attention_scores=True)
        probs = layers["head"](np.concatenate([h[:, None], context], -1))[:, 0]
        token = probs.argmax(axis=-1)                   # the decoder's own guess
        out[:, t], weights[:, t] = token, w[:, 0]
    return out, weights


def alignment(text: str, output: str, weights: np.ndarray) -> list[tuple[str, str]]:
    """For each output character, the source character it attended to most."""
    return [(ch, f"{text[j]!r}@{j} ({weights[i, j]:.0%})")
            for i, ch in enumerate(output) for j in [int(weights[i].argmax())]]


def run(seed: int = 0, train_size: int = 6000, test_size: int = 1000, epochs: int = 2,
        batch_size: int = 64, units: int = 32, verbose: Any = 1) -> Result:
    """Trains the translator and measures it on held-out dates."""
    rnnlens.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    src_train, tgt_train = make_data(train_size, rng)
    src_test, tgt_test = make_data(test_size, rng)
    model, layers = build(units)
    model.compile(optimizer=optimizers.Adam(learning_rate=0.01),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    y_train = encode_target(tgt_train)
    start, cpu = time.perf_counter(), time.process_time()
    history = model.fit([encode_source(src_train), teacher_inputs(y_train)], y_train,
                        epochs=epochs, batch_size=batch_size, verbose=verbose)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    x_test = encode_source(src_test)
    guess, weights = greedy_decode(layers, x_test)
    y_test = encode_target(tgt_test)
    guesses = decode_target(guess)
    shown = [(s, g, t) for s, g, t in zip(src_test[:6], guesses[:6], tgt_test[:6])]
    return Result(sequence_accuracy=float((guess == y_test).all(axis=1).mean()),
                  char_accuracy=float((guess == y_test).mean()), train_seconds=seconds,
                  train_cpu_seconds=cpu,
                  history=history.history, examples=shown,
                  alignment=alignment(src_test[0], guesses[0], weights[0]))


def main(seed: int = 0, epochs: int = 2, verbose: Any = 1) -> int:
    """Runs the example and prints what it learned; 0 when it reaches 95 %."""
    result = run(seed=seed, epochs=epochs, verbose=verbose)
    print(f"\ntrained in {result.train_seconds:.1f} s ({result.train_cpu_seconds:.1f} s of CPU)")
    for source, guess, truth in result.examples:
        print(f"  {source!r:22} -> {guess}   ({'ok' if guess == truth else truth})")
    print(f"\nwhere the decoder looked for {result.examples[0][0]!r} (attention weights):")
    for out_char, source_char in result.alignment:
        print(f"  {out_char} <- {source_char}")
    print(f"\nheld-out dates translated exactly: {result.sequence_accuracy:.2%} "
          f"(characters {result.char_accuracy:.2%}; greedy decoding with decoder.step)")
    return 0 if result.sequence_accuracy >= 0.95 else 1


if __name__ == "__main__":
    raise SystemExit(main())
