"""Sentiment classification with an Embedding and two stacked Bidirectional
LSTMs, as in Keras's bidirectional_lstm_imdb example. The IMDB reviews are
replaced by synthetic ragged id sequences whose label depends on the ids."""

import numpy as np

import rnnlens as keras                      # was: from tensorflow import keras
from rnnlens import layers                   # was: from tensorflow.keras import layers
from _common import size

max_features = size(20000, 500)
maxlen = size(200, 30)


def reviews(n: int, rng: np.random.Generator) -> tuple[list[list[int]], np.ndarray]:
    """Ragged lists of word ids; positive reviews use more ids from the upper half."""
    labels = rng.integers(0, 2, n)
    seqs = []
    for label in labels:
        length = int(rng.integers(5, 2 * maxlen))
        low, high = (max_features // 2, max_features) if label else (1, max_features // 2)
        seqs.append([int(v) for v in rng.integers(low, high, length)])
    return seqs, labels


def main() -> None:
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, size(128, 8))(inputs)
    x = layers.Bidirectional(layers.LSTM(size(64, 8), return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(size(64, 8)))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.summary()

    rng = np.random.default_rng(0)
    (x_train, y_train), (x_val, y_val) = reviews(size(25000, 96), rng), reviews(
        size(25000, 32), rng)
    print(len(x_train), "Training sequences")
    x_train = keras.preprocessing.sequence.pad_sequences(x_train, maxlen=maxlen)
    x_val = keras.preprocessing.sequence.pad_sequences(x_val, maxlen=maxlen)

    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=size(2, 1),
              validation_data=(x_val, y_val))


if __name__ == "__main__":
    main()
