"""Next-frame video prediction with three ConvLSTM2D layers, BatchNormalization and a
Conv3D, as in Keras's conv_lstm example: the model reads frames 0..n-1 of a clip and
predicts frames 1..n (binary cross-entropy per pixel, Adam, EarlyStopping and
ReduceLROnPlateau on the validation loss), then extends a validation clip by ten frames,
feeding its own predictions back.

Replaced: the Moving MNIST download (``mnist_test_seq.npy``, uint8, frames x clips x 64 x
64) by synthetic clips of the same layout: two random glyphs (binary patterns the size
MNIST digits have on the 64 x 64 canvas) moving diagonally, 1-4 pixels a frame, and
bouncing off the walls. The matplotlib figures and the GIF widgets are replaced by
printed per-frame errors.
``RNNLENS_EXAMPLE_SMALL=1`` (the tests) uses 12 x 12 frames, 15 clips, 6 filters and
2 epochs; the model and training code are otherwise those of the example."""

import numpy as np

import rnnlens as keras                      # was: from tensorflow import keras
from rnnlens import layers                   # was: from tensorflow.keras import layers
from _common import size

FRAMES = 20                                  # per clip, as in Moving MNIST
SIDE = size(64, 12)                          # frame height and width
CLIPS = size(1000, 15)      # the file has 10000 clips; the example keeps the first 1000
FILTERS = size(64, 6)
epochs = size(20, 2)
batch_size = 5


def moving_glyphs(rng: np.random.Generator) -> np.ndarray:
    """Stands in for ``np.load(get_file("moving_mnist.npy", ...))``: (frames, clips, H, W)
    uint8, two glyphs per clip moving diagonally and bouncing off the edges."""
    glyph = max(2, SIDE * 28 // 64)
    data = np.zeros((FRAMES, CLIPS, SIDE, SIDE), dtype=np.uint8)
    room = SIDE - glyph
    for clip in range(CLIPS):
        for _ in range(2):
            pattern = (rng.random((glyph, glyph)) < 0.6) * rng.integers(128, 256)
            pos = rng.integers(0, room + 1, 2)
            vel = rng.choice([-1, 1], 2) * rng.integers(1, max(1, SIDE // 16) + 1, 2)
            for t in range(FRAMES):
                r, c = pos
                window = data[t, clip, r:r + glyph, c:c + glyph]
                np.maximum(window, pattern.astype(np.uint8), out=window)
                pos = pos + vel
                for k in range(2):                       # bounce off the walls
                    if not 0 <= pos[k] <= room:
                        vel[k] = -vel[k]
                        pos[k] = -pos[k] if pos[k] < 0 else 2 * room - pos[k]
    return data


def load_datasets() -> tuple[np.ndarray, np.ndarray]:
    """The example's dataset construction: 1000 clips, a 90/10 split, values in [0, 1]."""
    dataset = moving_glyphs(np.random.default_rng(0))
    dataset = np.swapaxes(dataset, 0, 1)
    dataset = dataset[:1000, ...]
    dataset = np.expand_dims(dataset, axis=-1)
    indexes = np.arange(dataset.shape[0])
    np.random.shuffle(indexes)
    train_index = indexes[: int(0.9 * dataset.shape[0])]
    val_index = indexes[int(0.9 * dataset.shape[0]):]
    train_dataset = dataset[train_index]
    val_dataset = dataset[val_index]
    return train_dataset / 255, val_dataset / 255


def create_shifted_frames(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x`` is frames 0 to n - 1 and ``y`` frames 1 to n."""
    x = data[:, 0: data.shape[1] - 1, :, :]
    y = data[:, 1: data.shape[1], :, :]
    return x, y


def build_model(frame_shape: tuple) -> "keras.Model":
    """Three ConvLSTM2D (5x5, 3x3, 1x1) with BatchNormalization, then a Conv3D."""
    inp = layers.Input(shape=(None, *frame_shape))
    x = layers.ConvLSTM2D(filters=FILTERS, kernel_size=(5, 5), padding="same",
                          return_sequences=True, activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=FILTERS, kernel_size=(3, 3), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ConvLSTM2D(filters=FILTERS, kernel_size=(1, 1), padding="same",
                          return_sequences=True, activation="relu")(x)
    x = layers.Conv3D(filters=1, kernel_size=(3, 3, 3), activation="sigmoid",
                      padding="same")(x)
    model = keras.models.Model(inp, x)
    model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam())
    return model


def train(model, x_train, y_train, x_val, y_val):
    early_stopping = keras.callbacks.EarlyStopping(monitor="val_loss", patience=10)
    reduce_lr = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", patience=5)
    return model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                     validation_data=(x_val, y_val), callbacks=[early_stopping, reduce_lr])


def extend_clip(model, example: np.ndarray, steps: int = 10) -> np.ndarray:
    """Predict ``steps`` new frames after the first ten, one at a time."""
    frames = example[:10, ...]
    for _ in range(steps):
        new_prediction = model.predict(np.expand_dims(frames, axis=0))
        new_prediction = np.squeeze(new_prediction, axis=0)
        predicted_frame = np.expand_dims(new_prediction[-1, ...], axis=0)
        frames = np.concatenate((frames, predicted_frame), axis=0)
    return frames[10:, ...]


def main() -> None:
    keras.utils.set_random_seed(0)
    train_dataset, val_dataset = load_datasets()
    x_train, y_train = create_shifted_frames(train_dataset)
    x_val, y_val = create_shifted_frames(val_dataset)
    print("Training Dataset Shapes: " + str(x_train.shape) + ", " + str(y_train.shape))
    print("Validation Dataset Shapes: " + str(x_val.shape) + ", " + str(y_val.shape))

    model = build_model(x_train.shape[2:])
    model.summary()
    history = train(model, x_train, y_train, x_val, y_val)
    print("loss per epoch:", " ".join(f"{v:.4f}" for v in history.history["loss"]))

    example = val_dataset[np.random.choice(range(len(val_dataset)), size=1)[0]]
    new_frames = extend_clip(model, example)
    original_frames = example[10:, ...]
    errors = np.abs(new_frames - original_frames).mean(axis=(1, 2, 3))
    print("mean |prediction - truth| for frames 11..20:",
          " ".join(f"{e:.3f}" for e in errors))


if __name__ == "__main__":
    main()
