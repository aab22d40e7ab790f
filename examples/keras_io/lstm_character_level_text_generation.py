"""Character-level text generation with one LSTM layer, sampled with a
temperature, as in Keras's lstm_character_level_text_generation example. The
Nietzsche corpus is replaced by a synthetic text of repeated phrases."""

import random
import sys

import numpy as np

import rnnlens as keras                      # was: from tensorflow import keras
from rnnlens import layers                   # was: from tensorflow.keras import layers
from _common import size

PHRASES = ["the will to power ", "beyond good and evil ", "what does not kill me ",
           "makes me stronger ", "god is dead "]


def sample(preds: np.ndarray, temperature: float = 1.0) -> int:
    preds = np.asarray(preds).astype("float64")
    preds = np.log(preds) / temperature
    exp_preds = np.exp(preds)
    preds = exp_preds / np.sum(exp_preds)
    return int(np.argmax(np.random.multinomial(1, preds, 1)))


def main() -> None:
    rng = random.Random(0)
    text = "".join(rng.choice(PHRASES) for _ in range(size(5000, 60)))
    chars = sorted(set(text))
    char_indices = {c: i for i, c in enumerate(chars)}
    maxlen, step = 40, 3
    sentences = [text[i:i + maxlen] for i in range(0, len(text) - maxlen, step)]
    next_chars = [text[i + maxlen] for i in range(0, len(text) - maxlen, step)]
    x = np.zeros((len(sentences), maxlen, len(chars)), dtype=bool)
    y = np.zeros((len(sentences), len(chars)), dtype=bool)
    for i, sentence in enumerate(sentences):
        for t, char in enumerate(sentence):
            x[i, t, char_indices[char]] = 1
        y[i, char_indices[next_chars[i]]] = 1

    model = keras.Sequential([
        keras.Input(shape=(maxlen, len(chars))),
        layers.LSTM(size(128, 16)),
        layers.Dense(len(chars), activation="softmax"),
    ])
    optimizer = keras.optimizers.RMSprop(learning_rate=0.01)
    model.compile(loss="categorical_crossentropy", optimizer=optimizer)

    for epoch in range(size(40, 1)):
        print("Epoch", epoch)
        model.fit(x, y, batch_size=128, epochs=1)
        start = rng.randint(0, len(text) - maxlen - 1)
        for diversity in [0.2, 0.5, 1.0, 1.2]:
            sentence = text[start:start + maxlen]
            sys.stdout.write(f"----- diversity {diversity}: {sentence}")
            for _ in range(size(400, 20)):
                x_pred = np.zeros((1, maxlen, len(chars)))
                for t, char in enumerate(sentence):
                    x_pred[0, t, char_indices[char]] = 1.0
                preds = model.predict(x_pred, verbose=0)[0]
                next_char = chars[sample(preds, diversity)]
                sentence = sentence[1:] + next_char
                sys.stdout.write(next_char)
            print()


if __name__ == "__main__":
    main()
