"""Forecasting a temperature 12 hours ahead from 5 days of hourly weather, with
``timeseries_dataset_from_array`` and an LSTM(32), as in Keras's
timeseries_weather_forecasting example. The Jena climate CSV is replaced by a
synthetic 7-feature series with daily and yearly cycles."""

import os
import tempfile

import numpy as np

import rnnlens as keras                      # was: from tensorflow import keras
from _common import size

split_fraction = 0.715
step = 6
past = size(720, 60)
future = size(72, 12)
learning_rate = 0.001
batch_size = size(256, 32)
epochs = size(10, 2)


def weather(rows: int, rng: np.random.Generator) -> np.ndarray:
    """Ten-minute readings: 7 features driven by daily and yearly cycles."""
    t = np.arange(rows)
    day, year = np.sin(2 * np.pi * t / 144), np.sin(2 * np.pi * t / (144 * 365))
    base = np.stack([day, year, day * year, np.cos(2 * np.pi * t / 144)], axis=1)
    mix = rng.normal(size=(4, 7))
    return base @ mix + 0.1 * rng.normal(size=(rows, 7))


def normalize(data: np.ndarray, train_split: int) -> np.ndarray:
    mean, std = data[:train_split].mean(axis=0), data[:train_split].std(axis=0)
    return (data - mean) / std


def main() -> None:
    features = weather(size(420551, 4000), np.random.default_rng(0))
    train_split = int(split_fraction * features.shape[0])
    features = normalize(features, train_split)
    train_data, val_data = features[:train_split], features[train_split:]

    start = past + future
    x_train = train_data[:, :7]
    y_train = features[start:start + train_split][:, [1]]
    sequence_length = int(past / step)
    dataset_train = keras.preprocessing.timeseries_dataset_from_array(
        x_train, y_train, sequence_length=sequence_length, sampling_rate=step,
        batch_size=batch_size)

    x_end = len(val_data) - past - future
    label_start = train_split + past + future
    x_val = val_data[:x_end, :7]
    y_val = features[label_start:][:, [1]]
    dataset_val = keras.preprocessing.timeseries_dataset_from_array(
        x_val, y_val, sequence_length=sequence_length, sampling_rate=step,
        batch_size=batch_size)

    for batch in dataset_train.take(1):
        inputs, targets = batch
    print("Input shape:", inputs.numpy().shape)
    print("Target shape:", targets.numpy().shape)

    inputs = keras.layers.Input(shape=(inputs.shape[1], inputs.shape[2]))
    lstm_out = keras.layers.LSTM(32)(inputs)
    outputs = keras.layers.Dense(1)(lstm_out)
    model = keras.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    model.summary()

    path_checkpoint = os.path.join(tempfile.mkdtemp(), "model_checkpoint.weights.h5")
    es_callback = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=0, patience=5)
    modelckpt_callback = keras.callbacks.ModelCheckpoint(
        monitor="val_loss", filepath=path_checkpoint, verbose=1, save_weights_only=True,
        save_best_only=True)
    history = model.fit(dataset_train, epochs=epochs, validation_data=dataset_val,
                        callbacks=[es_callback, modelckpt_callback])
    print("loss", history.history["loss"], "val_loss", history.history["val_loss"])

    for x, y in dataset_val.take(size(5, 1)):
        print("history", x[0][:, 1].numpy()[-3:], "true", y[0].numpy(),
              "predicted", model.predict(x, verbose=0)[0])


if __name__ == "__main__":
    main()
