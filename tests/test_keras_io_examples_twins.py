"""The keras-io example programs, run as written by rnnlens and, with only their import
lines switched back, by Keras 3.15.1 on the same data and the same weights.

``twin(name, "keras")`` reads ``examples/keras_io/<name>.py``, rewrites exactly the lines
that import rnnlens (``import rnnlens as keras`` -> ``import keras``, ``from rnnlens
import layers, ops`` -> ``from keras import layers, ops``) and executes the result as a
module (small sizes); ``twin(name, "rnnlens")`` executes the file unchanged. An AST check
first makes sure the import lines are the only places the program names rnnlens, so the
programs are Keras programs. The tests then build each example's model through the
example's own functions in both libraries, copy Keras's weights into rnnlens, and compare
predictions, evaluation losses and short deterministic ``fit`` histories (shuffle off, no
dropout in the path compared); where training is random (dropout, shuffling) they check
that rnnlens's loss goes down.
"""

from __future__ import annotations

import ast
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from oracle import keras_available

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "keras_io"
NAMES = ("active_learning_review_classification", "captcha_ocr", "conv_lstm",
         "video_classification")
#: rnnlens imports with no ``keras`` counterpart: what the original imports there instead
TF_SWAPS = {"from rnnlens.utils import ArrayDataset":
            "from tensorflow.data import Dataset as ArrayDataset"}


def _openblas() -> Any:
    """NumPy's bundled OpenBLAS (ctypes), or None where it cannot be found."""
    import ctypes  # noqa: PLC0415
    import glob  # noqa: PLC0415

    found = glob.glob(str(Path(np.__file__).parent.parent / "numpy.libs" / "*openblas*"))
    for path in found:
        lib = ctypes.CDLL(path)
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None


@pytest.fixture(scope="module", autouse=True)
def one_blas_thread() -> Any:
    """The small models run thousands of tiny float32 products, which a multi-threaded
    OpenBLAS makes up to 1000x slower on a busy machine (its threads spin): one thread
    for this module, as the example runs get with OPENBLAS_NUM_THREADS=1."""
    blas = _openblas()
    if blas is None:
        yield
        return
    get, put = blas
    before = get()
    put(1)
    yield
    put(before)


@pytest.fixture(scope="module")
def keras() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 on TensorFlow is not importable")
    import keras  # noqa: PLC0415

    return keras


def _import_lines(source: str) -> set[int]:
    """Line numbers of the statements that import rnnlens; fails if rnnlens is named
    anywhere else in the program's code (docstrings and comments are not code)."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            if any(a.name.split(".")[0] == "rnnlens" for a in node.names):
                assert len(node.names) == 1, "one rnnlens import per line"
                lines.add(node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if (node.module or "").split(".")[0] == "rnnlens":
                lines.add(node.lineno)
        elif isinstance(node, ast.Name):
            assert node.id != "rnnlens", f"line {node.lineno} uses rnnlens outside an import"
    return lines


def keras_source(name: str) -> str:
    """The example with its rnnlens import lines pointed at Keras (nothing else changed)."""
    source = (EXAMPLES / f"{name}.py").read_text()
    wanted = _import_lines(source)
    assert wanted, f"{name}.py does not import rnnlens"
    out = source.splitlines()
    for n in sorted(wanted):
        code = out[n - 1].partition("#")[0].rstrip()
        out[n - 1] = TF_SWAPS.get(code, code.replace("rnnlens", "keras", 1))
    return "\n".join(out) + "\n"


def twin(name: str, lib: str, patch: tuple[str, str] | None = None) -> types.ModuleType:
    """The example ``name`` executed as a module for ``lib`` ("rnnlens" or "keras"),
    at the small sizes the tests use; ``patch`` (old, new) replaces one line's text
    (for a known rnnlens gap, in both twins alike)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    import _common  # noqa: PLC0415

    _common.SMALL = True
    path = EXAMPLES / f"{name}.py"
    source = path.read_text() if lib == "rnnlens" else keras_source(name)
    if patch is not None:
        assert source.count(patch[0]) == 1, f"{patch[0]!r} is not in {name}.py once"
        source = source.replace(*patch)
    module = types.ModuleType(f"keras_io_{name}_{lib}")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module           # dataclasses / pickling look it up
    exec(compile(source, f"{path} [{lib}]", "exec"), module.__dict__)
    return module


def copy_weights(source_model: Any, target_model: Any) -> None:
    target_model.set_weights([np.asarray(w) for w in source_model.get_weights()])


def test_rewriting_changes_only_the_import_lines() -> None:
    for name in NAMES:
        before = (EXAMPLES / f"{name}.py").read_text().splitlines()
        after = keras_source(name).splitlines()
        changed = [a for a, b in zip(before, after) if a != b]
        assert len(before) == len(after) and changed
        assert all(line.startswith(("import rnnlens", "from rnnlens")) for line in changed)
        assert _import_lines("\n".join(after)) == set()          # no rnnlens code left


def test_the_import_check_rejects_other_uses_of_rnnlens() -> None:
    with pytest.raises(AssertionError, match="outside an import"):
        _import_lines("import rnnlens as keras\nx = rnnlens.ops.ones(2)\n")


# ---------------------------------------------------------------------------- conv_lstm
@pytest.fixture(scope="module")
def conv_lstm(keras: Any) -> dict[str, Any]:
    rn, kr = twin("conv_lstm", "rnnlens"), twin("conv_lstm", "keras")
    np.random.seed(0)                # np.random.shuffle splits the clips (rnnlens's
    train, val = rn.load_datasets()  # keras.utils.set_random_seed leaves np.random alone)
    np.random.seed(0)
    k_train, _ = kr.load_datasets()
    np.testing.assert_array_equal(train, k_train)        # same synthetic data, same seed
    return {"rn": rn, "kr": kr, "train": train, "val": val}


def test_conv_lstm_data_has_the_moving_mnist_layout(conv_lstm: dict) -> None:
    rn = conv_lstm["rn"]
    raw = rn.moving_glyphs(np.random.default_rng(1))
    assert raw.dtype == np.uint8 and raw.shape == (20, rn.CLIPS, rn.SIDE, rn.SIDE)
    train = conv_lstm["train"]
    assert train.shape[1:] == (20, rn.SIDE, rn.SIDE, 1) and 0 <= train.min() < train.max() <= 1
    x, y = rn.create_shifted_frames(train)
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    # the glyphs move: consecutive frames differ, and every frame shows something
    assert np.all(np.abs(np.diff(train, axis=1)).sum(axis=(2, 3, 4)) > 0)
    assert np.all(train.max(axis=(2, 3, 4)) > 0)


@pytest.mark.slow
def test_conv_lstm_model_matches_keras(conv_lstm: dict) -> None:
    """Same weights: predictions, evaluation loss and a 2-epoch Adam history (shuffle off;
    BatchNormalization in training mode) equal Keras's; the trained weights too."""
    rn, kr = conv_lstm["rn"], conv_lstm["kr"]
    x, y = rn.create_shifted_frames(conv_lstm["train"][:5, :6])          # 5 frames
    frame_shape = x.shape[2:]
    k_model, r_model = kr.build_model(frame_shape), rn.build_model(frame_shape)
    assert r_model.count_params() == k_model.count_params()
    assert [w.shape for w in r_model.get_weights()] == [
        tuple(w.shape) for w in k_model.get_weights()]
    copy_weights(k_model, r_model)
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-5)
    assert r_model.evaluate(x, y, verbose=0) == pytest.approx(
        k_model.evaluate(x, y, verbose=0), rel=1e-5)
    fit = {"batch_size": 5, "epochs": 2, "shuffle": False, "verbose": 0}
    r_hist = r_model.fit(x, y, **fit).history["loss"]
    k_hist = k_model.fit(x, y, **fit).history["loss"]
    np.testing.assert_allclose(r_hist, k_hist, rtol=1e-5)
    assert r_hist[-1] < r_hist[0]
    for r_w, k_w in zip(r_model.get_weights(), k_model.get_weights()):
        np.testing.assert_allclose(r_w, np.asarray(k_w), atol=1e-3)   # Adam amplifies 1e-7
    np.testing.assert_allclose(r_model.predict(x, verbose=0), k_model.predict(x, verbose=0),
                               atol=1e-4)


def test_conv_lstm_trains_and_extends_a_clip(conv_lstm: dict) -> None:
    """The example's training (callbacks included) lowers the loss; the clip extension
    returns ten frames of probabilities shaped like the clip's."""
    rn = conv_lstm["rn"]
    rn.keras.utils.set_random_seed(0)
    train, val = conv_lstm["train"], conv_lstm["val"]
    x_train, y_train = rn.create_shifted_frames(train)
    x_val, y_val = rn.create_shifted_frames(val)
    model = rn.build_model(x_train.shape[2:])
    history = rn.train(model, x_train, y_train, x_val, y_val).history
    assert len(history["loss"]) == rn.epochs and history["loss"][-1] < history["loss"][0]
    assert set(history) >= {"loss", "val_loss", "learning_rate"}
    frames = rn.extend_clip(model, val[0], steps=3)
    assert frames.shape == (3, rn.SIDE, rn.SIDE, 1)
    assert np.all((frames > 0) & (frames < 1))


# ---------------------------------------------------------------------------- active_learning
@pytest.fixture(scope="module")
def reviews(keras: Any) -> dict[str, Any]:
    """Both twins' splits, datasets (ArrayDataset / tf.data) and adapted vectorizers."""
    out: dict[str, Any] = {}
    for lib in ("rnnlens", "keras"):
        mod = twin("active_learning_review_classification", lib)
        texts, labels = mod.load_reviews(np.random.default_rng(0))
        (val, test, train), pools = mod.balanced_splits(texts, labels)
        train_ds = mod.ArrayDataset.from_tensor_slices(train)
        out[lib] = {"mod": mod, "val": val, "test": test, "train": train, "pools": pools,
                    "vectorizer": mod.adapt_vectorizer(train_ds)}
    return out


def test_active_learning_data_is_balanced(reviews: dict) -> None:
    rn = reviews["rnnlens"]
    mod = rn["mod"]
    for (x, y), n in zip((rn["val"], rn["test"], rn["train"]),
                         (mod.val_split, mod.test_split, mod.train_split)):
        assert x.dtype.kind == "U" and y.dtype == np.int64 and len(x) == len(y) == 2 * n
        assert y.sum() == n                                      # as many 1s as 0s
    (x_pos, y_pos), (x_neg, y_neg) = rn["pools"]
    assert set(y_pos) == {1} and set(y_neg) == {0} and len(x_pos) >= mod.pool_size // 2
    np.testing.assert_array_equal(rn["train"][0], reviews["keras"]["train"][0])


def test_active_learning_vectorizer_matches_keras(reviews: dict) -> None:
    """``TextVectorization.adapt`` on the mapped, batched dataset: the same vocabulary and
    the same padded integer sequences as Keras adapting on tf.data."""
    r_vec, k_vec = reviews["rnnlens"]["vectorizer"], reviews["keras"]["vectorizer"]
    assert list(r_vec.get_vocabulary()) == [str(t) for t in k_vec.get_vocabulary()]
    texts = reviews["rnnlens"]["test"][0]
    r_ids, k_ids = np.asarray(r_vec(texts)), np.asarray(k_vec(texts))
    assert r_ids.shape == (len(texts), reviews["rnnlens"]["mod"].sequence_length)
    np.testing.assert_array_equal(r_ids, k_ids)


def test_active_learning_model_matches_keras(reviews: dict) -> None:
    """The example's model and compile: with Keras's weights, the same predictions and the
    same evaluation (loss, accuracy, false negatives / positives) on the test reviews."""
    rn, kr = reviews["rnnlens"], reviews["keras"]
    x = np.asarray(rn["vectorizer"](rn["test"][0]))
    y = rn["test"][1]
    k_model, r_model = kr["mod"].create_model(), rn["mod"].create_model()
    copy_weights(k_model, r_model)
    r_pred, k_pred = r_model.predict(x, verbose=0), k_model.predict(x, verbose=0)
    np.testing.assert_allclose(r_pred, k_pred, atol=1e-5)
    for mod, model in ((rn["mod"], r_model), (kr["mod"], k_model)):
        mod.compile_model(model)
    r_eval = r_model.evaluate(x, y, verbose=0)
    k_eval = k_model.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(r_eval, k_eval, rtol=1e-5)
    assert r_eval[2] + r_eval[3] == np.sum((r_pred[:, 0] > 0.5) != y)   # FN + FP = errors


def test_active_learning_trains(reviews: dict) -> None:
    """Dropout makes training random: rnnlens's own loss on the vectorized reviews falls."""
    rn = reviews["rnnlens"]
    mod = rn["mod"]
    mod.keras.utils.set_random_seed(0)
    x = np.asarray(rn["vectorizer"](rn["train"][0]))
    model = mod.create_model()
    mod.compile_model(model)
    history = model.fit(x, rn["train"][1], batch_size=mod.batch_size, epochs=6, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < loss[0] - 0.01, loss


# ---------------------------------------------------------------------------- video_classification
@pytest.fixture(scope="module")
def video(keras: Any) -> dict[str, Any]:
    """Both twins with their csv files, label lookups and feature extractors (rnnlens's
    holding Keras's weights)."""
    out: dict[str, Any] = {}
    for lib in ("rnnlens", "keras"):
        mod = twin("video_classification", lib)
        mod.write_csv_files()
        train_df = mod.read_csv(f"{mod.DATA_DIR}/train.csv")
        lookup = mod.keras.layers.StringLookup(num_oov_indices=0,
                                               vocabulary=np.unique(train_df["tag"]))
        out[lib] = {"mod": mod, "train_df": train_df, "lookup": lookup,
                    "extractor": mod.build_feature_extractor()}
    copy_weights(out["keras"]["extractor"], out["rnnlens"]["extractor"])
    return out


def _few(df: dict, n: int) -> dict:
    return {k: v[:n] for k, v in df.items()}


def test_video_clips_have_the_ucf101_layout(video: dict) -> None:
    mod = video["rnnlens"]["mod"]
    names = video["rnnlens"]["train_df"]["video_name"]
    assert len(names) == 30 and set(video["rnnlens"]["train_df"]["tag"]) == set(mod.CLASSES)
    lengths = set()
    for name in names[:10]:
        raw = mod.synthetic_clip(name)
        assert raw.dtype == np.uint8 and raw.shape[1:] == (mod.IMG_SIZE, mod.IMG_SIZE * 4 // 3, 3)
        frames = mod.load_video(name)
        assert frames.shape == (len(raw), mod.IMG_SIZE, mod.IMG_SIZE, 3)
        np.testing.assert_array_equal(frames[0], mod.crop_center_square(raw[0])[:, :, ::-1])
        np.testing.assert_array_equal(mod.load_video(name), frames)     # a file reads the same
        assert len(mod.load_video(name, max_frames=5)) == 5
        lengths.add(len(frames))
    assert min(lengths) < mod.MAX_SEQ_LENGTH < max(lengths)           # both padding and cutting


def test_video_features_and_labels_match_keras(video: dict) -> None:
    """The stand-in extractor called frame by frame with ``predict``, the zero padding,
    the masks and the ``StringLookup`` labels: as Keras computes them."""
    rn, kr = video["rnnlens"], video["keras"]
    assert list(rn["lookup"].get_vocabulary()) == [str(v) for v in kr["lookup"].get_vocabulary()]
    df = _few(rn["train_df"], 3)
    (r_feat, r_mask), r_lab = rn["mod"].prepare_all_videos(df, "train", rn["extractor"],
                                                           rn["lookup"])
    (k_feat, k_mask), k_lab = kr["mod"].prepare_all_videos(df, "train", kr["extractor"],
                                                           kr["lookup"])
    np.testing.assert_allclose(r_feat, k_feat, atol=1e-5)
    np.testing.assert_array_equal(r_mask, k_mask)
    np.testing.assert_array_equal(r_lab, k_lab)
    lengths = [min(20, len(rn["mod"].load_video(p))) for p in df["video_name"]]
    np.testing.assert_array_equal(r_mask.sum(axis=1), lengths)
    assert np.all(r_feat[~r_mask] == 0) and np.all(np.abs(r_feat[r_mask]).sum(axis=-1) > 0)
    assert r_lab.shape == (3, 1) and [rn["mod"].CLASSES[i] for i in r_lab[:, 0]] == list(
        df["tag"])


@pytest.fixture(scope="module")
def video_data(video: dict) -> tuple:
    rn = video["rnnlens"]
    return rn["mod"].prepare_all_videos(rn["train_df"], "train", rn["extractor"], rn["lookup"])


def test_video_sequence_model_matches_keras(video: dict, video_data: tuple) -> None:
    """GRU(16) called with ``mask=`` a boolean Input, GRU(8), Dropout, Dense: with Keras's
    weights, the same probabilities and evaluation; what the mask hides changes nothing."""
    (feat, mask), labels = video_data
    rn, kr = video["rnnlens"], video["keras"]
    vocab = rn["lookup"].get_vocabulary()
    k_model, r_model = kr["mod"].get_sequence_model(vocab), rn["mod"].get_sequence_model(vocab)
    copy_weights(k_model, r_model)
    r_pred = r_model.predict([feat, mask], verbose=0)
    np.testing.assert_allclose(r_pred, k_model.predict([feat, mask], verbose=0), atol=1e-5)
    np.testing.assert_allclose(r_model.evaluate([feat, mask], labels, verbose=0),
                               k_model.evaluate([feat, mask], labels, verbose=0), rtol=1e-5)
    noisy = np.where(mask[..., None], feat, 5.0).astype("float32")     # garbage where masked
    np.testing.assert_allclose(r_model.predict([noisy, mask], verbose=0), r_pred, atol=1e-6)
    unmasked = r_model.predict([noisy, np.ones_like(mask)], verbose=0)
    assert np.abs(unmasked - r_pred).max() > 1e-3                      # the mask did matter


def test_video_run_experiment_trains_and_restores_the_best_epoch(video: dict,
                                                                video_data: tuple) -> None:
    """``fit(validation_split=0.3)`` with the best-only weights checkpoint, then
    ``load_weights``: the restored model scores the best epoch's val_loss on the
    validation slice, and training lowered the loss."""
    (feat, mask), labels = video_data
    mod = video["rnnlens"]["mod"]
    mod.keras.utils.set_random_seed(0)
    vocab = video["rnnlens"]["lookup"].get_vocabulary()
    history, model = mod.run_experiment((feat, mask), labels, (feat[:5], mask[:5]),
                                        labels[:5], vocab)
    hist = history.history
    assert len(hist["loss"]) == mod.EPOCHS and hist["loss"][-1] < hist["loss"][0]
    split = int(len(feat) * 0.7)
    val_loss, _ = model.evaluate([feat[split:], mask[split:]], labels[split:], verbose=0)
    assert val_loss == pytest.approx(min(hist["val_loss"]), rel=1e-5)


# ---------------------------------------------------------------------------- captcha_ocr
@pytest.fixture(scope="module")
def captcha(keras: Any) -> dict[str, Any]:
    """Both twins, the captcha files, lookups and encoded samples."""
    out: dict[str, Any] = {}
    for lib in ("rnnlens", "keras"):
        mod = twin("captcha_ocr", lib)
        mod.write_captchas(np.random.default_rng(0))
        images, labels, characters = mod.list_captchas()
        char_to_num, num_to_char = mod.make_lookups(characters)
        x_train, x_valid, y_train, y_valid = mod.split_data(np.array(images), np.array(labels))
        samples = [mod.encode_single_sample(x, y, char_to_num)
                   for x, y in zip(x_train[:16], y_train[:16])]
        out[lib] = {"mod": mod, "labels": labels, "characters": characters,
                    "char_to_num": char_to_num, "num_to_char": num_to_char,
                    "split": (x_train, x_valid, y_train, y_valid),
                    "x": np.stack([np.asarray(d["image"]) for d in samples]),
                    "y": np.stack([np.asarray(d["label"]) for d in samples]).astype("float32")}
    return out


def test_captcha_model_builds_as_written(captcha: dict) -> None:
    """labels = Input(shape=(None,)) into CTCLayer()(labels, x): the custom layer's output
    shape comes from call() on small dummy labels once 83-long ones are refused."""
    mod = twin("captcha_ocr", "rnnlens")
    model = mod.build_model(captcha["rnnlens"]["char_to_num"])
    assert tuple(model.input[1].shape) == (None, None)


def test_captcha_model_as_written_builds_in_keras(captcha: dict) -> None:
    mod = twin("captcha_ocr", "keras")
    model = mod.build_model(captcha["keras"]["char_to_num"])
    assert tuple(model.input[1].shape) == (None, None)


def test_captcha_data_and_lookups_match_keras(captcha: dict) -> None:
    """Files named after their 5-character texts, the same split, the same StringLookup
    vocabularies, and samples encoded as Keras encodes them (image transposed to (width,
    height, 1) in [0, 1], label ids 1..19)."""
    rn, kr = captcha["rnnlens"], captcha["keras"]
    mod = rn["mod"]
    assert len(rn["labels"]) == mod.CAPTCHAS and {len(t) for t in rn["labels"]} == {5}
    assert rn["characters"] == sorted(mod.ALPHABET)
    assert list(rn["char_to_num"].get_vocabulary()) == [
        str(v) for v in kr["char_to_num"].get_vocabulary()]
    for a, b in zip(rn["split"], kr["split"]):
        np.testing.assert_array_equal([p.rsplit("/", 1)[-1] for p in a],
                                      [p.rsplit("/", 1)[-1] for p in b])
    assert rn["x"].shape == (16, mod.img_width, mod.img_height, 1)
    assert rn["x"].dtype == np.float32 and 0 <= rn["x"].min() < rn["x"].max() <= 1
    np.testing.assert_allclose(rn["x"], kr["x"], atol=1e-6)
    np.testing.assert_array_equal(rn["y"], kr["y"])
    assert rn["y"].min() >= 1 and rn["y"].max() <= len(mod.ALPHABET)
    texts = [mod.join_chars(rn["num_to_char"](ids.astype(int))) for ids in rn["y"]]
    assert texts == list(rn["split"][2][:16])


def test_captcha_model_matches_keras(captcha: dict) -> None:
    """Same weights: the prediction model (cut at dense2) gives the same probabilities;
    evaluating the CTC loss that CTCLayer adds gives the same value; the greedy decoding
    gives the same texts."""
    rn, kr = captcha["rnnlens"], captcha["keras"]
    k_model = kr["mod"].build_model(kr["char_to_num"])
    r_model = rn["mod"].build_model(rn["char_to_num"])
    assert [w.shape for w in r_model.get_weights()] == [
        tuple(w.shape) for w in k_model.get_weights()]
    copy_weights(k_model, r_model)
    x, y = rn["x"], rn["y"]
    r_pred_model = rn["mod"].keras.models.Model(r_model.input[0],
                                                r_model.get_layer(name="dense2").output)
    k_pred_model = kr["mod"].keras.models.Model(k_model.input[0],
                                                k_model.get_layer(name="dense2").output)
    r_pred = r_pred_model.predict(x, verbose=0)
    k_pred = k_pred_model.predict(x, verbose=0)
    np.testing.assert_allclose(r_pred, k_pred, atol=1e-5)
    r_loss = r_model.evaluate({"image": x, "label": y}, verbose=0)
    k_loss = k_model.evaluate({"image": x, "label": y}, verbose=0)
    assert r_loss == pytest.approx(k_loss, rel=1e-5) and r_loss > 0
    np.testing.assert_array_equal(
        rn["mod"].decode_batch_predictions(r_pred, rn["num_to_char"], 5),
        kr["mod"].decode_batch_predictions(k_pred, kr["num_to_char"], 5))


def test_captcha_ctc_batch_cost_matches_keras(captcha: dict) -> None:
    """The CTC loss per sample (blank = the last class) on the same probabilities."""
    rn, kr = captcha["rnnlens"], captcha["keras"]
    rng = np.random.default_rng(3)
    logits = rng.normal(size=(4, 16, len(rn["characters"]) + 2))
    probs = (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")
    y = rn["y"][:4]
    lengths = (np.full((4, 1), 16), np.full((4, 1), 5))
    r_cost = np.asarray(rn["mod"].ctc_batch_cost(y, probs, *lengths))
    k_cost = np.asarray(kr["mod"].ctc_batch_cost(y, probs, *lengths))
    assert r_cost.shape == (4, 1)
    np.testing.assert_allclose(r_cost, k_cost, rtol=1e-5)


def test_captcha_trains_on_the_dataset(captcha: dict) -> None:
    """The example's fit on its dict dataset (CTC loss from add_loss only, dropout on)
    lowers the loss, and EarlyStopping(restore_best_weights=True) is accepted."""
    rn = captcha["rnnlens"]
    mod = rn["mod"]
    mod.keras.utils.set_random_seed(0)
    x_train, x_valid, y_train, y_valid = rn["split"]
    train = mod.make_dataset(x_train[:32], y_train[:32], rn["char_to_num"])
    valid = mod.make_dataset(x_valid, y_valid, rn["char_to_num"])
    model = mod.build_model(rn["char_to_num"])
    stop = mod.keras.callbacks.EarlyStopping(monitor="val_loss", patience=10,
                                             restore_best_weights=True)
    history = model.fit(train, validation_data=valid, epochs=4, callbacks=[stop], verbose=0)
    loss = history.history["loss"]
    assert len(loss) == 4 and loss[-1] < 0.8 * loss[0], loss
