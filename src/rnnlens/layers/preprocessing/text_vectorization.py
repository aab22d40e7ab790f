"""``TextVectorization``: text to token ids or bag-of-words vectors, as Keras 3.15.1.

Each string goes through (see :mod:`rnnlens.layers.preprocessing._strings` for the exact
TensorFlow semantics):

1. ``standardize``: "lower_and_strip_punctuation" (default), "lower",
   "strip_punctuation" (ASCII only, as TensorFlow), None, or a callable (in code only;
   it receives a NumPy object array of ``str`` and returns one of the same shape);
2. ``split``: "whitespace" (default, ASCII whitespace runs), "character" (code points),
   None, or a callable (it receives the 1-D object array of standardized strings and
   returns one list of tokens per string);
3. ``ngrams``: None, ``n`` (widths 1..n) or a tuple of widths, joined by a space;
4. a ``StringLookup(mask_token="")`` (so index 0 is padding, 1 is OOV, then the
   vocabulary by frequency) in ``output_mode``.

Shapes (B batch, L ``output_sequence_length`` or the longest row, V vocabulary size):
``"int"``: (B,) or (B, 1) strings -> (B, L) int64, padded with 0 / truncated;
``"multi_hot"`` / ``"count"``: -> (B, V) int64; ``"tf_idf"``: -> (B, V) float32.
Without ``split`` the lookup is element-wise on the input's shape. ``one_hot`` with a
``split`` is a ragged tensor in Keras and is refused here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers.preprocessing import _common as C
from rnnlens.layers.preprocessing import _strings as S
from rnnlens.layers.preprocessing.index_lookup import (IdfParam, VocabularyParam,
                                                       VocabularySizeParam, _first,
                                                       _is_batches)
from rnnlens.layers.preprocessing.string_lookup import StringLookup, encoding_param

_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")


class CallableOrName(P.Param):
    """``standardize`` / ``split``: None, one of Keras's names, or a callable (code only)."""

    def __init__(self, default: Any, names: tuple[str, ...], doc: str = ""):
        super().__init__(default, none=True, doc=doc)
        self.names = names

    @property
    def expected(self) -> str:
        return "None, a callable, or one of " + ", ".join(map(repr, self.names))

    def validate(self, value: Any, owner: Any) -> Any:
        if callable(value) or value in self.names:
            return value
        raise self.fail(value, owner)

    def load(self, raw: Any, reader: Any) -> Any:
        if raw is not None and raw not in self.names:
            raise reader.refuse(f"`{self.name}` is {str(raw)[:80]!r}: a custom callable. "
                                "Callables are never loaded from files (nothing is "
                                "executed); only Keras's named modes "
                                f"{', '.join(self.names)} load.")
        return raw


def _check_ngrams(value: Any) -> Any:
    if C.is_int(value) and value >= 1:
        return int(value)
    if isinstance(value, tuple) and value and all(C.is_int(v) and v >= 1 for v in value):
        return tuple(int(v) for v in value)
    raise ValueError(value)


class NgramsParam(P.Json):
    """``ngrams``: None, a positive int or a tuple of them (files hold lists)."""

    def __init__(self) -> None:
        super().__init__(None, validate=_check_ngrams, none=True,
                         expected="None, a positive integer, or a tuple of them")

    def load(self, raw: Any, reader: Any) -> Any:
        if isinstance(raw, list) and len(raw) <= 64:
            raw = tuple(raw)
        return self.check(raw, None)


class TextVectorization(Layer):
    """Maps strings to sequences of token ids or to bag-of-words vectors.

    Args:
        max_tokens: the largest vocabulary, padding and OOV indices included.
        standardize, split, ngrams: see the module docstring.
        output_mode: "int", "multi_hot", "count", "tf_idf" (or "one_hot" without split).
        output_sequence_length: "int" only: pad / truncate every row to this length.
        pad_to_max_tokens: encodings have ``max_tokens`` columns.
        vocabulary: a list of strings or the path of a file of one string a line.
        idf_weights: "tf_idf" with a ``vocabulary``: one weight per entry.
        sparse, ragged: False only (TensorFlow tensor kinds).
        encoding: "utf-8" only.
    """

    max_tokens = P.Int(None, min=2, cap="max_dim", none=True)
    standardize = CallableOrName("lower_and_strip_punctuation", _STANDARDIZE)
    split = CallableOrName("whitespace", _SPLIT)
    ngrams = NgramsParam()
    output_mode = C.output_mode_param()
    output_sequence_length = P.Int(None, min=0, cap="max_dim", none=True)
    pad_to_max_tokens = P.Bool(False)
    vocabulary = VocabularyParam(integers=False)
    idf_weights = IdfParam()
    sparse = P.Const(False, why="sparse outputs are TensorFlow tensors")
    ragged = P.Const(False, why="ragged outputs are TensorFlow tensors")
    encoding = encoding_param()
    vocabulary_size = VocabularySizeParam()

    config_order = ("max_tokens", "standardize", "split", "ngrams", "output_mode",
                    "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged",
                    "vocabulary", "idf_weights", "encoding", "vocabulary_size")

    def __post_init__(self) -> None:
        if self.output_mode != "int" and self.output_sequence_length is not None:
            raise ValueError("`output_sequence_length` must not be set if `output_mode` is "
                             f"not 'int'. Received output_sequence_length="
                             f"{self.output_sequence_length}.")
        widths = self.ngrams
        self._ngram_widths = tuple(range(1, widths + 1)) if isinstance(widths, int) \
            else widths
        lookup = StringLookup(max_tokens=self.max_tokens, vocabulary=self.vocabulary,
                              idf_weights=self.idf_weights,
                              pad_to_max_tokens=self.pad_to_max_tokens, mask_token="",
                              output_mode=self.output_mode,
                              vocabulary_size=self.vocabulary_size_arg)
        self._lookup_layer = lookup
        self.__dict__["_tracked"]["_lookup_layer"] = lookup     # Keras saves it there

    def config_value(self, key: str) -> Any:
        if key == "vocabulary":
            return self._lookup_layer.input_vocabulary
        if key == "idf_weights":
            return self._lookup_layer.input_idf_weights
        if key == "vocabulary_size":
            return self.vocabulary_size()
        return getattr(self, key)

    def get_config(self) -> dict:
        return C.ordered(super().get_config(), self.config_order)

    # -- vocabulary ---------------------------------------------------------------

    def _vocabulary_size(self) -> int:
        """The vocabulary size, padding and OOV indices included."""
        return self._lookup_layer.vocabulary_size()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary (with ``""`` and ``"[UNK]"`` first unless excluded)."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (a list or a file path) and, for "tf_idf", its weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def adapt(self, data: Any, batch_size: int | None = None, steps: int | None = None
              ) -> None:
        """Learns the vocabulary from text: an array or list of strings (one document
        each) or an iterable of batches (``ArrayDataset``, generator); ``steps`` limits
        the batches."""
        self.reset_state()
        if _is_batches(data):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(_first(batch))
        else:
            strings = S.to_strings(data, "adapt data")
            self.update_state(strings[:, None] if strings.ndim == 1 else strings)
        self.finalize_state()

    def update_state(self, data: Any) -> None:
        lookup = self._lookup_layer
        if lookup._has_input_vocabulary:
            lookup.update_state(data)                      # raises Keras's error
        tokens, depth = self._preprocess(data)
        if isinstance(tokens, np.ndarray):
            lookup.update_state(tokens)
            return
        rows = [tokens] if depth == 1 else (tokens if depth == 2 else None)
        if rows is None:
            if self.output_mode == "tf_idf":
                raise ValueError("adapt in 'tf_idf' mode takes rank-1 batches of text.")
            rows = [list(_leaves(tokens, depth))]
        lookup._count_rows(rows)

    def finalize_state(self) -> None:
        self._lookup_layer.finalize_state()

    def reset_state(self) -> None:
        self._lookup_layer.reset_state()

    # -- preprocessing --------------------------------------------------------------

    def _preprocess(self, inputs: Any) -> tuple[Any, int]:
        """Standardized, split, ngrammed tokens: a dense array (depth 0), or nested lists
        ``depth`` levels deep (the last level holds the tokens of one string)."""
        strings = S.to_strings(inputs, f"input to layer '{self.name}'")
        mode = self.standardize
        if callable(mode):
            strings = S.to_strings(mode(strings), f"the output of `standardize` of "
                                                  f"'{self.name}'")
        else:
            strings = S.standardize(strings, mode)
        if self.split is None:
            if self._ngram_widths is not None:
                strings = S.dense_ngrams(strings, self._ngram_widths)
            return strings, 0
        if strings.ndim > 1:
            if strings.shape[-1] != 1:
                raise ValueError("When using `TextVectorization` to tokenize strings, the "
                                 "input rank must be 1 or the last shape dimension must be "
                                 f"1. Received: inputs.shape={strings.shape} with "
                                 f"rank={strings.ndim}")
            strings = strings[..., 0]
        depth = strings.ndim + 1
        if callable(self.split):
            tokens = _custom_split(self.split(strings), strings, self.name)
        else:
            tokens = S.split(strings, self.split)
        if self._ngram_widths is not None:
            tokens = S.ngrams(tokens, self._ngram_widths, depth)
        return tokens, depth

    # -- calling --------------------------------------------------------------------

    def convert_inputs(self, inputs: Any) -> np.ndarray:
        return S.to_strings(inputs, f"input to layer '{self.name}'")

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        tokens, depth = self._preprocess(inputs)
        lookup = self._lookup_layer
        lookup.require_table()
        if self.output_mode == "one_hot" and depth > 1:
            raise ValueError("TextVectorization(output_mode='one_hot') with a `split` gives "
                             "a ragged tensor in Keras, which rnnlens does not return; use "
                             "'multi_hot' or 'count', or split=None.")
        if depth <= 1:
            data = tokens if depth == 0 else _as_object(tokens)
            out = lookup.call(data)
            if self.output_mode == "int" and self.output_sequence_length is not None:
                out = _fit_last(out, self.output_sequence_length)
            return out
        flat = list(_leaves(tokens, depth))
        ids = lookup.lookup(_as_object(flat)) if flat else np.zeros(0, np.int64)
        if self.output_mode == "int":
            return _pad(tokens, depth, ids, self.output_sequence_length)
        if depth != 2:
            raise ValueError(f"output_mode={self.output_mode!r} takes a batch of strings of "
                             "shape (B,) or (B, 1).")
        lengths = [len(row) for row in tokens]
        width = max(lengths, default=0)
        rows = np.full((len(tokens), width), C.DROPPED, np.int64)
        offsets = np.cumsum([0] + lengths)
        for r, n in enumerate(lengths):
            rows[r, :n] = ids[offsets[r]:offsets[r] + n]
        dtype = np.float32 if self.output_mode == "tf_idf" else np.int64
        return C.encode(rows, self.output_mode, lookup._depth(), dtype, lookup._idf)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        if self.split is None:
            if len(input_shape) <= 1:
                input_shape = (*input_shape, 1)
        else:
            input_shape = (*input_shape, None)
        return self._lookup_layer.compute_output_shape(input_shape)

    @property
    def output_dtype(self) -> str:
        return "int64" if self.output_mode == "int" else "float32"

    # -- files (rnnlens.interop.keras_format) ---------------------------------------

    def _check_savable(self) -> None:
        for key in ("standardize", "split"):
            if callable(getattr(self, key)):
                raise ValueError(f"Cannot save layer '{self.name}': its `{key}` is a Python "
                                 "callable, which rnnlens neither writes nor loads. Use one "
                                 "of Keras's named modes to save the model.")

    def save_assets(self) -> dict[str, str]:
        self._check_savable()
        return self._lookup_layer.save_assets()

    def assets_to_load(self) -> tuple[str, ...]:
        return self._lookup_layer.assets_to_load()

    def load_assets(self, files: dict[str, str]) -> None:
        self._lookup_layer.load_assets(files)

    def save_extra_variables(self) -> dict[str, np.ndarray]:
        return self._lookup_layer.save_extra_variables()

    def extra_variables_to_load(self) -> tuple[str, ...]:
        return self._lookup_layer.extra_variables_to_load()

    def load_extra_variables(self, arrays: dict[str, np.ndarray]) -> None:
        self._lookup_layer.load_extra_variables(arrays)


def _as_object(items: list) -> np.ndarray:
    out = np.empty(len(items), object)
    out[:] = items
    return out


def _leaves(tokens: Any, depth: int) -> Any:
    """The tokens of a nested list ``depth`` levels deep, in order."""
    if depth <= 1:
        yield from tokens
        return
    for row in tokens:
        yield from _leaves(row, depth - 1)


def _bounding(tokens: Any, depth: int) -> list[int]:
    """The padded shape of a nested list (``RaggedTensor.bounding_shape``)."""
    shape = [len(tokens)]
    for _ in range(depth - 1):
        level = [len(x) for x in tokens]
        shape.append(max(level, default=0))
        tokens = [y for x in tokens for y in x]
    return shape


def _pad(tokens: Any, depth: int, ids: np.ndarray, length: int | None) -> np.ndarray:
    """The ids of nested lists padded with 0 (``to_tensor``), the last axis ``length``."""
    shape = _bounding(tokens, depth)
    if length is not None:
        shape[-1] = length
    out = np.zeros(shape, np.int64)
    it = iter(ids.tolist())

    def fill(node: Any, index: tuple, level: int) -> None:
        if level == depth - 1:
            row = [next(it) for _ in node]
            n = min(len(row), shape[-1])
            out[index][:n] = row[:n]
            return
        for k, child in enumerate(node):
            fill(child, (*index, k), level + 1)

    for k, node in enumerate(tokens):
        fill(node, (k,), 1)
    return out


def _fit_last(out: np.ndarray, length: int) -> np.ndarray:
    """Truncates or zero-pads the last axis to ``length``."""
    out = out[..., :length]
    pad = length - out.shape[-1]
    if pad > 0:
        out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, pad)])
    return out


def _custom_split(result: Any, strings: np.ndarray, name: str) -> list:
    """A callable split's output as nested lists of ``str`` (one list per string)."""
    what = f"the output of `split` of '{name}'"

    def rows(value: Any, ndim: int, count: int) -> list:
        if ndim == 0:
            return S.to_strings(list(value), what).tolist()
        if len(value) != count:
            raise ValueError(f"The `split` callable of layer '{name}' returned {len(value)} "
                             f"rows for {count} strings.")
        return [rows(v, ndim - 1, len(v) if ndim > 1 else 0) for v in value]

    if isinstance(result, np.ndarray) and result.dtype != object and result.ndim > strings.ndim:
        result = result.tolist()
    try:
        return rows(result, strings.ndim, len(strings) if strings.ndim else 0)
    except TypeError as err:
        raise TypeError(f"The `split` callable of layer '{name}' must return one list of "
                        f"string tokens per input string ({err}).") from None


__all__ = ["TextVectorization"]
