"""Review classification with active learning (ratio-based uncertainty sampling), as in
Keras's active_learning_review_classification example: a ``TextVectorization`` layer
adapted on the training reviews, an Embedding + Bidirectional(LSTM) + GlobalMaxPool1D
classifier, a model trained on the whole labelled set for comparison, then a loop that
predicts and evaluates on a balanced test set, draws new reviews from the unlabelled pools
in the ratio of false positives to false negatives, recompiles and trains again, keeping
the best model with ``ModelCheckpoint`` / ``load_model``.

The IMDB reviews (tensorflow_datasets) are replaced by synthetic English-like reviews whose
sentiment shows in a few words among many neutral ones (with some words of the other
sentiment and some wrong labels, so both kinds of error occur); ``tf.data`` pipelines are
``rnnlens.utils.ArrayDataset``, which has the same methods. The plots are printed."""

import os
import tempfile

import numpy as np

import rnnlens as keras                      # was: import keras
from rnnlens import layers, ops              # was: from keras import layers, ops
from rnnlens.utils import ArrayDataset       # was: tf.data.Dataset
from _common import size

AUTOTUNE = -1                                # was: tf.data.AUTOTUNE
val_split = size(2500, 24)
test_split = size(2500, 24)
train_split = size(7500, 64)
pool_size = size(17500, 200)                 # per class, after the three splits
max_tokens = size(3000, 400)
sequence_length = size(150, 40)
epochs = size(20, 10)
batch_size = size(256, 32)
num_iterations = 3
sampling_size = size(5000, 64)
CHECKPOINTS = tempfile.mkdtemp()             # the original writes into the working dir

POSITIVE = "great wonderful superb moving brilliant loved enjoyable charming".split()
NEGATIVE = "awful boring dull terrible waste hated clumsy tedious".split()
NEUTRAL = ("the a film movie plot actor scene story it was and of to in this that director "
           "ending music camera script character role cast minutes watched").split()


def review(label: int, rng: np.random.Generator) -> str:
    """A sentence of neutral words with a few sentiment words (mostly of ``label``)."""
    words = list(rng.choice(NEUTRAL, int(rng.integers(10, sequence_length))))
    for _ in range(int(rng.integers(2, 6))):
        own = rng.random() < 0.85
        bag = POSITIVE if (label == 1) == own else NEGATIVE
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(bag)))
    words[0] = words[0].capitalize()
    return " ".join(words) + rng.choice([".", "!", "...", "?!"])


def load_reviews(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stands in for ``tfds.load("imdb_reviews", split="train + test", ...)``."""
    per_class = val_split + test_split + train_split + pool_size
    labels = np.repeat(np.array([0, 1], dtype="int64"), per_class)
    rng.shuffle(labels)
    reviews = np.array([review(int(y), rng) for y in labels])
    flip = rng.random(len(labels)) < 0.05                 # annotators disagree sometimes
    return reviews, np.where(flip, 1 - labels, labels)


def balanced_splits(reviews: np.ndarray, labels: np.ndarray) -> tuple:
    """Validation / test / train splits with as many positives as negatives, and the pools."""
    x_pos, y_pos = reviews[labels == 1], labels[labels == 1]
    x_neg, y_neg = reviews[labels == 0], labels[labels == 0]
    bounds = np.cumsum([0, val_split, test_split, train_split])
    splits = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        splits.append((np.concatenate((x_pos[lo:hi], x_neg[lo:hi]), 0),
                       np.concatenate((y_pos[lo:hi], y_neg[lo:hi]), 0)))
    end = bounds[-1]
    pools = (x_pos[end:], y_pos[end:]), (x_neg[end:], y_neg[end:])
    return splits, pools


def adapt_vectorizer(train_dataset):
    """A ``TextVectorization`` adapted on the training reviews (the labels mapped away)."""
    vectorizer = layers.TextVectorization(
        max_tokens, standardize="lower_and_strip_punctuation",
        output_sequence_length=sequence_length)
    vectorizer.adapt(train_dataset.map(lambda x, y: x, num_parallel_calls=AUTOTUNE).batch(256))
    return vectorizer


def append_history(losses, val_losses, accuracy, val_accuracy, history):
    losses = losses + history.history["loss"]
    val_losses = val_losses + history.history["val_loss"]
    accuracy = accuracy + history.history["binary_accuracy"]
    val_accuracy = val_accuracy + history.history["val_binary_accuracy"]
    return losses, val_losses, accuracy, val_accuracy


def plot_history(losses, val_losses, accuracies, val_accuracies):
    for name, values in [("train_loss", losses), ("val_loss", val_losses),
                         ("train_accuracy", accuracies), ("val_accuracy", val_accuracies)]:
        print(f"{name:>15}:", " ".join(f"{v:.3f}" for v in values))


def create_model():
    model = keras.models.Sequential([
        layers.Input(shape=(sequence_length,)),
        layers.Embedding(input_dim=max_tokens, output_dim=size(128, 32)),
        layers.Bidirectional(layers.LSTM(size(32, 16), return_sequences=True)),
        layers.GlobalMaxPool1D(),
        layers.Dense(20, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.summary()
    return model


def compile_model(model):
    model.compile(loss="binary_crossentropy", optimizer="rmsprop", metrics=[
        keras.metrics.BinaryAccuracy(), keras.metrics.FalseNegatives(),
        keras.metrics.FalsePositives()])


def train_full_model(full_train_dataset, val_dataset, test_dataset):
    model = create_model()
    compile_model(model)
    path = os.path.join(CHECKPOINTS, "FullModelCheckpoint.keras")
    history = model.fit(full_train_dataset.batch(batch_size), epochs=epochs,
                        validation_data=val_dataset, callbacks=[
                            keras.callbacks.EarlyStopping(patience=4, verbose=1),
                            keras.callbacks.ModelCheckpoint(path, verbose=1,
                                                            save_best_only=True)])
    plot_history(history.history["loss"], history.history["val_loss"],
                 history.history["binary_accuracy"], history.history["val_binary_accuracy"])
    model = keras.models.load_model(path)
    print("-" * 100)
    print("Test set evaluation: ", model.evaluate(test_dataset, verbose=0, return_dict=True))
    print("-" * 100)
    return model


def sample_ratios(model, test_dataset):
    """The share of new positives / negatives to label: the share of each kind of error."""
    predictions = model.predict(test_dataset)
    rounded = ops.where(ops.greater(predictions, 0.5), 1, 0)
    print("Predicted positives on the test set:", int(np.sum(rounded)))
    _, _, false_negatives, false_positives = model.evaluate(test_dataset, verbose=0)
    print("-" * 100)
    print(f"Number of zeros incorrectly classified: {false_negatives}, "
          f"Number of ones incorrectly classified: {false_positives}")
    if false_negatives != 0 and false_positives != 0:
        total = false_negatives + false_positives
        sample_ratio_ones, sample_ratio_zeros = false_positives / total, false_negatives / total
    else:
        sample_ratio_ones, sample_ratio_zeros = 0.5, 0.5
    print(f"Sample ratio for positives: {sample_ratio_ones}, "
          f"Sample ratio for negatives:{sample_ratio_zeros}")
    return sample_ratio_ones, sample_ratio_zeros


def train_active_learning_models(train_dataset, pool_negatives, pool_positives, val_dataset,
                                 test_dataset, num_iterations=3, sampling_size=5000):
    losses, val_losses, accuracies, val_accuracies = [], [], [], []
    model = create_model()
    compile_model(model)
    path = os.path.join(CHECKPOINTS, "AL_Model.keras")
    checkpoint = keras.callbacks.ModelCheckpoint(path, save_best_only=True, verbose=1)
    early_stopping = keras.callbacks.EarlyStopping(patience=4, verbose=1)
    print(f"Starting to train with {len(train_dataset)} samples")
    history = model.fit(train_dataset.cache().shuffle(20000).batch(batch_size), epochs=epochs,
                        validation_data=val_dataset, callbacks=[checkpoint, early_stopping])
    losses, val_losses, accuracies, val_accuracies = append_history(
        losses, val_losses, accuracies, val_accuracies, history)

    for _ in range(num_iterations):
        sample_ratio_ones, sample_ratio_zeros = sample_ratios(model, test_dataset)
        n_zeros, n_ones = int(sample_ratio_zeros * sampling_size), int(
            sample_ratio_ones * sampling_size)
        sampled_dataset = pool_negatives.take(n_zeros).concatenate(pool_positives.take(n_ones))
        pool_negatives = pool_negatives.skip(n_zeros)
        pool_positives = pool_positives.skip(n_ones)
        train_dataset = train_dataset.concatenate(sampled_dataset).prefetch(AUTOTUNE)
        print(f"Starting training with {len(train_dataset)} samples")
        print("-" * 100)
        compile_model(model)                 # resets the optimizer state, as the original
        history = model.fit(train_dataset.cache().shuffle(20000).batch(batch_size),
                            validation_data=val_dataset, epochs=epochs, callbacks=[
                                checkpoint, keras.callbacks.EarlyStopping(patience=4,
                                                                          verbose=1)])
        losses, val_losses, accuracies, val_accuracies = append_history(
            losses, val_losses, accuracies, val_accuracies, history)
        model = keras.models.load_model(path)

    plot_history(losses, val_losses, accuracies, val_accuracies)
    print("-" * 100)
    print("Test set evaluation: ", model.evaluate(test_dataset, verbose=0, return_dict=True))
    print("-" * 100)
    return model


def main() -> None:
    keras.utils.set_random_seed(0)
    reviews, labels = load_reviews(np.random.default_rng(0))
    print("Total examples:", reviews.shape[0])
    ((x_val, y_val), (x_test, y_test), (x_train, y_train)), (positives, negatives) = \
        balanced_splits(reviews, labels)
    train_dataset = ArrayDataset.from_tensor_slices((x_train, y_train))
    val_dataset = ArrayDataset.from_tensor_slices((x_val, y_val))
    test_dataset = ArrayDataset.from_tensor_slices((x_test, y_test))
    pool_negatives = ArrayDataset.from_tensor_slices(negatives)
    pool_positives = ArrayDataset.from_tensor_slices(positives)
    print(f"Initial training set size: {len(train_dataset)}")
    print(f"Validation set size: {len(val_dataset)}")
    print(f"Testing set size: {len(test_dataset)}")
    print(f"Unlabeled negative pool: {len(pool_negatives)}")
    print(f"Unlabeled positive pool: {len(pool_positives)}")

    vectorizer = adapt_vectorizer(train_dataset)

    def vectorize_text(text, label):
        return vectorizer(text), label

    train_dataset = train_dataset.map(vectorize_text, num_parallel_calls=AUTOTUNE).prefetch(
        AUTOTUNE)
    pool_negatives = pool_negatives.map(vectorize_text, num_parallel_calls=AUTOTUNE)
    pool_positives = pool_positives.map(vectorize_text, num_parallel_calls=AUTOTUNE)
    val_dataset = val_dataset.batch(256).map(vectorize_text, num_parallel_calls=AUTOTUNE)
    test_dataset = test_dataset.batch(256).map(vectorize_text, num_parallel_calls=AUTOTUNE)

    full_train_dataset = (train_dataset.concatenate(pool_positives)
                          .concatenate(pool_negatives).cache().shuffle(20000))
    train_full_model(full_train_dataset, val_dataset, test_dataset)
    train_active_learning_models(train_dataset, pool_negatives, pool_positives, val_dataset,
                                 test_dataset, num_iterations=num_iterations,
                                 sampling_size=sampling_size)


if __name__ == "__main__":
    main()
