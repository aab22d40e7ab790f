"""Learning to add numbers written as strings ("535+61" -> "596") with an LSTM
encoder, RepeatVector and an LSTM decoder, as in Keras's addition_rnn example."""

import numpy as np

import rnnlens as keras                      # was: from tensorflow import keras
from rnnlens import layers                   # was: from tensorflow.keras import layers
from _common import size

TRAINING_SIZE = size(50000, 600)
DIGITS = 3
REVERSE = True
MAXLEN = DIGITS + 1 + DIGITS
CHARS = "0123456789+ "


class CharTable:
    """One-hot encoding of strings over a fixed alphabet, and back."""

    def __init__(self, chars: str):
        self.chars = sorted(set(chars))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def encode(self, text: str, rows: int) -> np.ndarray:
        out = np.zeros((rows, len(self.chars)))
        for i, c in enumerate(text):
            out[i, self.index[c]] = 1
        return out

    def decode(self, x: np.ndarray, calc_argmax: bool = True) -> str:
        ids = x.argmax(axis=-1) if calc_argmax else x
        return "".join(self.chars[i] for i in ids)


def make_data(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    table_seen, questions, answers = set(), [], []
    while len(questions) < TRAINING_SIZE:
        a, b = (int("".join(rng.choice(list("0123456789"), rng.integers(1, DIGITS + 1))))
                for _ in range(2))
        key = tuple(sorted((a, b)))
        if key in table_seen:
            continue
        table_seen.add(key)
        query = f"{a}+{b}".ljust(MAXLEN)
        questions.append(query[::-1] if REVERSE else query)
        answers.append(str(a + b).ljust(DIGITS + 1))
    return questions, answers


def main() -> None:
    rng = np.random.default_rng(0)
    table = CharTable(CHARS)
    questions, answers = make_data(rng)
    x = np.stack([table.encode(q, MAXLEN) for q in questions]).astype(bool)
    y = np.stack([table.encode(a, DIGITS + 1) for a in answers]).astype(bool)
    split = len(x) - len(x) // 10
    x_train, x_val, y_train, y_val = x[:split], x[split:], y[:split], y[split:]

    model = keras.Sequential()
    model.add(layers.LSTM(size(128, 16), input_shape=(MAXLEN, len(CHARS))))
    model.add(layers.RepeatVector(DIGITS + 1))
    model.add(layers.LSTM(size(128, 16), return_sequences=True))
    model.add(layers.Dense(len(CHARS), activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.summary()

    for epoch in range(1, size(30, 3)):
        print("Iteration", epoch)
        model.fit(x_train, y_train, batch_size=32, epochs=1, validation_data=(x_val, y_val))
        for _ in range(3):
            ind = rng.integers(0, len(x_val))
            rowx, rowy = x_val[np.array([ind])], y_val[np.array([ind])]
            preds = np.argmax(model.predict(rowx, verbose=0), axis=-1)
            q, correct = table.decode(rowx[0]), table.decode(rowy[0])
            guess = table.decode(preds[0], calc_argmax=False)
            print("Q", q[::-1] if REVERSE else q, "T", correct,
                  ("ok " if correct == guess else "no ") + guess)


if __name__ == "__main__":
    main()
