"""Reading captchas with a CNN-RNN and a CTC loss, as in Keras's captcha_ocr example: two
Conv2D + MaxPooling2D blocks, a Reshape that makes the image width the time axis, Dense,
two Bidirectional(LSTM) layers and a softmax over the characters plus a blank; the loss is
added by a custom ``CTCLayer`` (a ``Layer`` subclass whose ``call(y_true, y_pred)`` calls
``self.add_loss``), so the model compiles without a loss and trains on dicts of
``image`` and ``label``. After training, a prediction model cut from ``model.input[0]`` to
``get_layer("dense2").output`` is decoded greedily with ``ops.ctc_decode`` and mapped
back to text with an inverted ``StringLookup``.

Replaced:

* the captcha download (``captcha_images_v2.zip``: 1040 PNGs of 5 characters from a
  19-character alphabet, each named after its text) by synthetic captchas of the same
  kind: each character has a fixed random glyph, drawn dark on a light noisy background
  at a jittered position, with a random line across; they are written as ``.npy`` files
  named after their text, and read with ``np.load`` where the example calls
  ``tf.io.read_file`` + ``tf.io.decode_png`` + ``tf.image.convert_image_dtype``;
* the other TensorFlow calls, which have no Keras equivalent: ``tf.data`` by
  ``rnnlens.utils.ArrayDataset``, ``tf.strings.unicode_split`` by ``list`` of the text,
  ``tf.strings.reduce_join(...).numpy().decode()`` by ``"".join``, and the sparse-label
  ``tf.compat.v1.nn.ctc_loss`` inside ``ctc_batch_cost`` by ``ops.ctc_loss`` on the dense
  labels, with the blank where ``tf.compat.v1.nn.ctc_loss`` has it (the last class);
  ``tf.sparse.to_dense`` is dropped (``ops.ctc_decode`` already returns dense, -1 padded
  labels). Everything else (the lookups, the model, ``CTCLayer``, compile, fit with
  EarlyStopping(restore_best_weights=True), the prediction model and the decoding call)
  is the example's, including ``ops.ctc_decode``'s default blank (index 0, the OOV
  token), which the example leaves as it is;
* the plots by printed texts.

``RNNLENS_EXAMPLE_SMALL=1`` (the tests) uses 64 x 16 images, 64 captchas and 3 epochs.
"""

import os
import tempfile

import numpy as np

import rnnlens as keras                      # was: import keras
from rnnlens import layers, ops              # was: from keras import layers, ops
from rnnlens.utils import ArrayDataset       # was: tf.data.Dataset
from _common import size

AUTOTUNE = -1                                # was: tf.data.AUTOTUNE
ALPHABET = "2345678bcdefgmnpwxy"             # the 19 characters of the original captchas
CAPTCHAS = size(1040, 64)
data_dir = tempfile.mkdtemp()                # was: Path("./captcha_images_v2/")

batch_size = 16
img_width = size(200, 64)
img_height = size(50, 16)
downsample_factor = 4
epochs = size(100, 3)
early_stopping_patience = 10


# ---------------------------------------------------------------------------- the data
def write_captchas(rng: np.random.Generator) -> None:
    """Stands in for the download: ``<text>.npy`` grayscale uint8 images (height, width,
    1), five characters each, every text different."""
    glyph_h, glyph_w = img_height * 3 // 5, img_width // 7
    glyphs = {c: rng.random((glyph_h, glyph_w)) < 0.45 for c in ALPHABET}
    texts: set[str] = set()
    while len(texts) < CAPTCHAS:
        texts.add("".join(rng.choice(list(ALPHABET), 5)))
    for text in sorted(texts):
        img = rng.integers(200, 256, (img_height, img_width)).astype(np.uint8)
        for i, char in enumerate(text):
            r = int(rng.integers(0, img_height - glyph_h + 1))
            c = glyph_w + i * glyph_w + int(rng.integers(-glyph_w // 4, glyph_w // 4 + 1))
            img[r:r + glyph_h, c:c + glyph_w][glyphs[char]] = rng.integers(0, 80)
        row = int(rng.integers(0, img_height))
        img[row, :] = np.minimum(img[row, :], 120)                 # a line across
        np.save(os.path.join(data_dir, f"{text}.npy"), img[..., None])


def list_captchas() -> tuple[list[str], list[str], list[str]]:
    """The example's image paths, labels (the file names) and sorted characters."""
    images = sorted(os.path.join(data_dir, f) for f in os.listdir(data_dir)
                    if f.endswith(".npy"))
    labels = [img.split(os.path.sep)[-1].split(".npy")[0] for img in images]
    characters = set(char for label in labels for char in label)
    characters = sorted(list(characters))
    return images, labels, characters


def make_lookups(characters):
    """Characters to integers and back (index 0 is the OOV token)."""
    char_to_num = layers.StringLookup(vocabulary=list(characters), mask_token=None)
    num_to_char = layers.StringLookup(
        vocabulary=char_to_num.get_vocabulary(), mask_token=None, invert=True)
    return char_to_num, num_to_char


def split_data(images, labels, train_size=0.9, shuffle=True):
    size = len(images)
    indices = ops.arange(size)
    if shuffle:
        keras.random.shuffle(indices)        # returns a shuffled copy, which is dropped
    train_samples = int(size * train_size)
    x_train, y_train = images[indices[:train_samples]], labels[indices[:train_samples]]
    x_valid, y_valid = images[indices[train_samples:]], labels[indices[train_samples:]]
    return x_train, x_valid, y_train, y_valid


def as_text(t) -> str:
    """The string in a scalar string tensor (what ``tf.strings`` functions take)."""
    value = ops.convert_to_numpy(t)
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def join_chars(chars) -> str:
    """``tf.strings.reduce_join(chars).numpy().decode("utf-8")``."""
    return "".join(as_text(c) for c in ops.convert_to_numpy(chars).tolist())


def encode_single_sample(img_path, label, char_to_num):
    img = np.load(as_text(img_path))         # was: tf.io.read_file + tf.io.decode_png
    img = ops.cast(img, "float32") / 255.0   # was: tf.image.convert_image_dtype
    img = ops.image.resize(img, [img_height, img_width])
    img = ops.transpose(img, axes=[1, 0, 2])         # the width is the time axis
    label = char_to_num(list(as_text(label)))  # was: tf.strings.unicode_split
    return {"image": img, "label": label}


def make_dataset(x, y, char_to_num):
    dataset = ArrayDataset.from_tensor_slices((x, y))
    return (dataset.map(lambda img, label: encode_single_sample(img, label, char_to_num),
                        num_parallel_calls=AUTOTUNE)
            .batch(batch_size)
            .prefetch(buffer_size=AUTOTUNE))


# ---------------------------------------------------------------------------- the model
def ctc_batch_cost(y_true, y_pred, input_length, label_length):
    label_length = ops.cast(ops.squeeze(label_length, axis=-1), dtype="int32")
    input_length = ops.cast(ops.squeeze(input_length, axis=-1), dtype="int32")
    y_pred = ops.log(y_pred + keras.backend.epsilon())
    blank = ops.shape(y_pred)[-1] - 1        # tf.compat.v1.nn.ctc_loss's blank: the last
    return ops.expand_dims(
        ops.ctc_loss(ops.cast(y_true, "int32"), y_pred, label_length, input_length,
                     mask_index=blank),
        1,
    )


class CTCLayer(layers.Layer):
    def __init__(self, name=None):
        super().__init__(name=name)
        self.loss_fn = ctc_batch_cost

    def call(self, y_true, y_pred):
        # The training-time loss, added with self.add_loss(); the predictions pass through.
        batch_len = ops.cast(ops.shape(y_true)[0], dtype="int64")
        input_length = ops.cast(ops.shape(y_pred)[1], dtype="int64")
        label_length = ops.cast(ops.shape(y_true)[1], dtype="int64")

        input_length = input_length * ops.ones(shape=(batch_len, 1), dtype="int64")
        label_length = label_length * ops.ones(shape=(batch_len, 1), dtype="int64")

        loss = self.loss_fn(y_true, y_pred, input_length, label_length)
        self.add_loss(loss)
        return y_pred


def build_model(char_to_num):
    input_img = layers.Input(shape=(img_width, img_height, 1), name="image", dtype="float32")
    labels = layers.Input(name="label", shape=(None,), dtype="float32")

    x = layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer="he_normal",
                      padding="same", name="Conv1")(input_img)
    x = layers.MaxPooling2D((2, 2), name="pool1")(x)
    x = layers.Conv2D(64, (3, 3), activation="relu", kernel_initializer="he_normal",
                      padding="same", name="Conv2")(x)
    x = layers.MaxPooling2D((2, 2), name="pool2")(x)

    # Two 2x2 poolings: the feature maps are 4x smaller, with 64 filters.
    new_shape = ((img_width // 4), (img_height // 4) * 64)
    x = layers.Reshape(target_shape=new_shape, name="reshape")(x)
    x = layers.Dense(64, activation="relu", name="dense1")(x)
    x = layers.Dropout(0.2)(x)

    x = layers.Bidirectional(layers.LSTM(128, return_sequences=True, dropout=0.25))(x)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True, dropout=0.25))(x)

    x = layers.Dense(len(char_to_num.get_vocabulary()) + 1, activation="softmax",
                     name="dense2")(x)
    output = CTCLayer(name="ctc_loss")(labels, x)

    model = keras.models.Model(inputs=[input_img, labels], outputs=output,
                               name="ocr_model_v1")
    opt = keras.optimizers.Adam()
    model.compile(optimizer=opt)
    return model


def decode_batch_predictions(pred, num_to_char, max_length):
    input_len = np.ones(pred.shape[0]) * pred.shape[1]
    # Greedy search; for complex tasks, beam search.
    results = ops.ctc_decode(pred, sequence_lengths=input_len, strategy="greedy")[0][0]
    dense_results = results                  # was: tf.sparse.to_dense(results, -1)
    dense_results = dense_results[:, :max_length]
    output_text = []
    for res in results:
        res = join_chars(num_to_char(res))   # was: tf.strings.reduce_join(...).decode()
        output_text.append(res)
    return output_text


def main() -> None:
    keras.utils.set_random_seed(0)
    write_captchas(np.random.default_rng(0))
    images, labels, characters = list_captchas()
    print("Number of images found: ", len(images))
    print("Number of labels found: ", len(labels))
    print("Number of unique characters: ", len(characters))
    print("Characters present: ", characters)
    max_length = max([len(label) for label in labels])

    char_to_num, num_to_char = make_lookups(characters)
    x_train, x_valid, y_train, y_valid = split_data(np.array(images), np.array(labels))
    train_dataset = make_dataset(x_train, y_train, char_to_num)
    validation_dataset = make_dataset(x_valid, y_valid, char_to_num)

    model = build_model(char_to_num)
    model.summary()
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss", patience=early_stopping_patience, restore_best_weights=True)
    history = model.fit(train_dataset, validation_data=validation_dataset, epochs=epochs,
                        callbacks=[early_stopping])
    print("loss per epoch:", " ".join(f"{v:.3f}" for v in history.history["loss"]))

    prediction_model = keras.models.Model(model.input[0],
                                          model.get_layer(name="dense2").output)
    prediction_model.summary()
    for batch in validation_dataset.take(1):
        batch_images = batch["image"]
        batch_labels = batch["label"]
        preds = prediction_model.predict(batch_images)
        pred_texts = decode_batch_predictions(preds, num_to_char, max_length)
        orig_texts = [join_chars(num_to_char(label)) for label in batch_labels]
        for orig, pred in zip(orig_texts, pred_texts):
            print(f"label {orig}  prediction {pred}")


if __name__ == "__main__":
    main()
