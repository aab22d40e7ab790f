"""Video classification with a CNN-RNN, as in Keras's video_classification example: a
frozen CNN turns each frame into a feature vector, clips are cut or zero-padded to
``MAX_SEQ_LENGTH`` frames with a boolean frame mask, and a GRU(16) -> GRU(8) -> Dropout ->
Dense sequence model is called with ``mask=`` the mask input and trained with
``validation_split``, a ``ModelCheckpoint(save_weights_only=True, save_best_only=True)``
and ``load_weights``; ``StringLookup(num_oov_indices=0)`` encodes the class names.

Replaced: the UCF101 top-5 download (``train.csv`` / ``test.csv`` and .avi files read
with OpenCV) by synthetic clips of the five classes, 12-30 frames of 4:3 RGB uint8 video
(BGR, as OpenCV returns it) in which a class-coloured patch moves in a class-specific
direction over noise; the csv files are written and read with the ``csv`` module
(pandas is not used). ``keras.applications.InceptionV3`` with ImageNet weights (a
download) is replaced by a stand-in feature extractor of the same interface: a fixed,
randomly initialised strided ``Conv2D`` + ``GlobalMaxPooling2D`` giving
``NUM_FEATURES`` features per frame. The GIF is not written.
``RNNLENS_EXAMPLE_SMALL=1`` (the tests) uses 32-pixel frames, 64 features, 30 training
and 10 test clips."""

import csv
import os
import tempfile

import numpy as np

import rnnlens as keras                      # was: import keras
from _common import size

IMG_SIZE = size(224, 32)
BATCH_SIZE = 64
EPOCHS = 10

MAX_SEQ_LENGTH = 20
NUM_FEATURES = size(2048, 64)

CLASSES = ["CricketShot", "PlayingCello", "Punch", "ShavingBeard", "TennisSwing"]
COLOURS = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [200, 200, 40],
                    [200, 40, 200]])
DIRECTIONS = np.array([[1, 0], [0, 1], [-1, 0], [0, -1], [1, 1]])
DATA_DIR = tempfile.mkdtemp()                # the original untars ucf101_top5.tar.gz here


# ---------------------------------------------------------------------------- the data
def write_csv_files(n_train: int = size(594, 30), n_test: int = size(224, 10)) -> None:
    """Stands in for the download: ``train.csv`` and ``test.csv`` (video_name, tag)."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("test", n_test)):
        with open(os.path.join(DATA_DIR, f"{split}.csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["video_name", "tag"])
            for i in range(n):
                tag = CLASSES[(i + int(rng.integers(0, 2))) % len(CLASSES)]
                writer.writerow([f"v_{tag}_g{i:03d}_c01.avi", tag])


def read_csv(path: str) -> dict:
    """``pd.read_csv`` for the two columns the example uses."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return {key: np.array([row[key] for row in rows]) for key in ("video_name", "tag")}


def synthetic_clip(path: str) -> np.ndarray:
    """The frames of video ``path``: (frames, h, 4h/3, 3) uint8 BGR, a patch of the class's
    colour drifting in the class's direction over noise."""
    rng = np.random.default_rng(sum(map(ord, os.path.basename(path))))
    tag = os.path.basename(path).split("_")[1]
    k = CLASSES.index(tag)
    h = IMG_SIZE
    w, patch = h * 4 // 3, h // 3
    frames = rng.integers(0, 60, (int(rng.integers(12, 31)), h, w, 3)).astype(np.uint8)
    start = rng.integers(patch, h - 2 * patch, 2) + [0, (w - h) // 2]
    for t, frame in enumerate(frames):
        r, c = (start + DIRECTIONS[k] * (t * h // 60)) % [h - patch, w - patch]
        frame[r:r + patch, c:c + patch] = COLOURS[k][::-1]          # BGR
    return frames


def crop_center_square(frame):
    y, x = frame.shape[0:2]
    min_dim = min(y, x)
    start_x = (x // 2) - (min_dim // 2)
    start_y = (y // 2) - (min_dim // 2)
    return frame[start_y: start_y + min_dim, start_x: start_x + min_dim]


def load_video(path, max_frames=0):
    """The example's reader with ``cv2.VideoCapture`` replaced by :func:`synthetic_clip`;
    the clips are made at ``IMG_SIZE``, so the ``cv2.resize`` step has nothing to do."""
    frames = []
    for frame in synthetic_clip(path):
        frame = crop_center_square(frame)
        frame = frame[:, :, [2, 1, 0]]
        frames.append(frame)
        if len(frames) == max_frames:
            break
    return np.array(frames)


# ---------------------------------------------------------------------------- features
def build_feature_extractor():
    """Stand-in for InceptionV3(weights="imagenet", include_top=False, pooling="avg")."""
    inputs = keras.Input((IMG_SIZE, IMG_SIZE, 3))
    rescaled = keras.layers.Rescaling(1.0 / 127.5, offset=-1)(inputs)   # as preprocess_input
    x = keras.layers.Conv2D(NUM_FEATURES, 8, strides=4, activation="relu")(rescaled)
    outputs = keras.layers.GlobalMaxPooling2D()(x)
    return keras.Model(inputs, outputs, name="feature_extractor")


def prepare_all_videos(df, root_dir, feature_extractor, label_processor):
    num_samples = len(df["video_name"])
    video_paths = list(df["video_name"])
    labels = df["tag"]
    labels = keras.ops.convert_to_numpy(label_processor(labels[..., None]))

    frame_masks = np.zeros(shape=(num_samples, MAX_SEQ_LENGTH), dtype="bool")
    frame_features = np.zeros(shape=(num_samples, MAX_SEQ_LENGTH, NUM_FEATURES),
                              dtype="float32")
    for idx, path in enumerate(video_paths):
        frames = load_video(os.path.join(root_dir, path))
        frames = frames[None, ...]
        temp_frame_mask = np.zeros(shape=(1, MAX_SEQ_LENGTH), dtype="bool")
        temp_frame_features = np.zeros(shape=(1, MAX_SEQ_LENGTH, NUM_FEATURES),
                                       dtype="float32")
        for i, batch in enumerate(frames):
            video_length = batch.shape[0]
            length = min(MAX_SEQ_LENGTH, video_length)
            for j in range(length):
                temp_frame_features[i, j, :] = feature_extractor.predict(
                    batch[None, j, :], verbose=0)
            temp_frame_mask[i, :length] = 1                   # 1 = not masked, 0 = masked
        frame_features[idx,] = temp_frame_features.squeeze()
        frame_masks[idx,] = temp_frame_mask.squeeze()
    return (frame_features, frame_masks), labels


# ---------------------------------------------------------------------------- the model
def get_sequence_model(class_vocab):
    frame_features_input = keras.Input((MAX_SEQ_LENGTH, NUM_FEATURES))
    mask_input = keras.Input((MAX_SEQ_LENGTH,), dtype="bool")
    x = keras.layers.GRU(16, return_sequences=True)(frame_features_input, mask=mask_input)
    x = keras.layers.GRU(8)(x)
    x = keras.layers.Dropout(0.4)(x)
    x = keras.layers.Dense(8, activation="relu")(x)
    output = keras.layers.Dense(len(class_vocab), activation="softmax")(x)
    rnn_model = keras.Model([frame_features_input, mask_input], output)
    rnn_model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
                      metrics=["accuracy"])
    return rnn_model


def run_experiment(train_data, train_labels, test_data, test_labels, class_vocab):
    filepath = os.path.join(DATA_DIR, "video_classifier", "ckpt.weights.h5")
    os.makedirs(os.path.dirname(filepath), exist_ok=True)
    checkpoint = keras.callbacks.ModelCheckpoint(
        filepath, save_weights_only=True, save_best_only=True, verbose=1)
    seq_model = get_sequence_model(class_vocab)
    history = seq_model.fit([train_data[0], train_data[1]], train_labels,
                            validation_split=0.3, epochs=EPOCHS, callbacks=[checkpoint])
    seq_model.load_weights(filepath)
    _, accuracy = seq_model.evaluate([test_data[0], test_data[1]], test_labels)
    print(f"Test accuracy: {round(accuracy * 100, 2)}%")
    return history, seq_model


def prepare_single_video(frames, feature_extractor):
    frames = frames[None, ...]
    frame_mask = np.zeros(shape=(1, MAX_SEQ_LENGTH), dtype="bool")
    frame_features = np.zeros(shape=(1, MAX_SEQ_LENGTH, NUM_FEATURES), dtype="float32")
    for i, batch in enumerate(frames):
        video_length = batch.shape[0]
        length = min(MAX_SEQ_LENGTH, video_length)
        for j in range(length):
            frame_features[i, j, :] = feature_extractor.predict(batch[None, j, :], verbose=0)
        frame_mask[i, :length] = 1                            # 1 = not masked, 0 = masked
    return frame_features, frame_mask


def sequence_prediction(path, sequence_model, feature_extractor, class_vocab):
    frames = load_video(os.path.join("test", path))
    frame_features, frame_mask = prepare_single_video(frames, feature_extractor)
    probabilities = sequence_model.predict([frame_features, frame_mask])[0]
    for i in np.argsort(probabilities)[::-1]:
        print(f"  {class_vocab[i]}: {probabilities[i] * 100:5.2f}%")
    return frames


def main() -> None:
    keras.utils.set_random_seed(0)
    write_csv_files()
    train_df = read_csv(os.path.join(DATA_DIR, "train.csv"))
    test_df = read_csv(os.path.join(DATA_DIR, "test.csv"))
    print(f"Total videos for training: {len(train_df['tag'])}")
    print(f"Total videos for testing: {len(test_df['tag'])}")

    feature_extractor = build_feature_extractor()
    label_processor = keras.layers.StringLookup(num_oov_indices=0,
                                                vocabulary=np.unique(train_df["tag"]))
    class_vocab = label_processor.get_vocabulary()
    print(class_vocab)
    train_data, train_labels = prepare_all_videos(train_df, "train", feature_extractor,
                                                  label_processor)
    test_data, test_labels = prepare_all_videos(test_df, "test", feature_extractor,
                                                label_processor)
    print(f"Frame features in train set: {train_data[0].shape}")
    print(f"Frame masks in train set: {train_data[1].shape}")

    _, sequence_model = run_experiment(train_data, train_labels, test_data, test_labels,
                                       class_vocab)
    test_video = np.random.choice(list(test_df["video_name"]))
    print(f"Test video path: {test_video}")
    sequence_prediction(test_video, sequence_model, feature_extractor, class_vocab)


if __name__ == "__main__":
    main()
