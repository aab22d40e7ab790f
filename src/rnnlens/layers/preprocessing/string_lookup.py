"""``StringLookup`` and ``IntegerLookup``: vocabularies of strings / int64 tokens to
indices (or back, with ``invert=True``), as Keras 3.15.1 computes them.

See :mod:`rnnlens.layers.preprocessing.index_lookup` for the index rules, ``adapt``'s
order and the files. Shape legend: B batch, T tokens per sample, V vocabulary size
(``vocabulary_size()``, or ``max_tokens`` with ``pad_to_max_tokens``).

* ``output_mode="int"``: ids (B, T) int64 -> (B, T) int64.
* ``"one_hot"``: (B,) or (B, 1) -> (B, V); (B, T) -> (B, T, V).
* ``"multi_hot"`` / ``"count"``: (B, T) -> (B, V) int64; ``"tf_idf"``: float32.
* ``invert=True``: ids -> tokens, an object array of UTF-8 ``bytes`` as Keras's
  ``tf.string`` output converts to NumPy (``get_vocabulary()`` stays ``str``, as in Keras).
"""

from __future__ import annotations

import codecs
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.preprocessing import _common as C
from rnnlens.layers.preprocessing import _strings as S
from rnnlens.layers.preprocessing.index_lookup import (IdfParam, VocabularyParam,
                                                       VocabularySizeParam, _int_array,
                                                       _IndexLookup)

_LOOKUP_ORDER = ("invert", "max_tokens", "num_oov_indices", "oov_token", "mask_token",
                 "output_mode", "sparse", "pad_to_max_tokens", "vocabulary_dtype",
                 "idf_weights", "vocabulary", "vocabulary_size", "oov_method", "salt",
                 "encoding")


def check_utf8(value: Any) -> str:
    """``encoding``: a spelling of UTF-8 (the only encoding rnnlens's strings use)."""
    try:
        name = codecs.lookup(value).name
    except (LookupError, TypeError):
        raise ValueError(value) from None
    if name != "utf-8":
        raise ValueError(value)
    return value


def encoding_param() -> P.Param:
    return P.Json("utf-8", validate=check_utf8,
                  expected="'utf-8' (rnnlens holds text as Python str; other encodings "
                           "are not supported)")


def read_text_file(path: str) -> str:
    """A vocabulary file's text (a regular file, size-capped, strict UTF-8)."""
    import os

    from rnnlens.interop.keras_config import Limits
    from rnnlens.interop.safe_io import read_file

    if not os.path.exists(path):
        raise ValueError(f"Vocabulary file {path} does not exist.")
    data = read_file(path, Limits().max_member_bytes, "the vocabulary file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"Vocabulary file {path} is not valid UTF-8 text.") from None


class StringLookup(_IndexLookup):
    """Maps strings to integer indices through a vocabulary (Keras's ``StringLookup``).

    Args:
        max_tokens: the largest vocabulary, special indices included (None: no limit).
        num_oov_indices: indices for out-of-vocabulary strings (hashed when > 1; 0 makes
            OOV input an error).
        mask_token: a string mapped to index 0 ("int") or dropped (other modes).
        oov_token: the token ``invert`` returns for OOV indices.
        vocabulary: a list of strings, or a path to a file of one string a line.
        idf_weights: ``"tf_idf"``: one weight per vocabulary entry.
        invert: map indices back to strings.
        output_mode: "int", "one_hot", "multi_hot", "count" or "tf_idf".
        pad_to_max_tokens: encodings have ``max_tokens`` columns.
        sparse: False only (sparse tensors are TensorFlow's).
        encoding: "utf-8" only.
        salt: an int or two ints: OOV strings are hashed with SipHash instead of FarmHash.
    """

    max_tokens = P.Int(None, min=2, cap="max_dim", none=True)
    num_oov_indices = P.Int(1, min=0, cap="max_dim")
    mask_token = P.Str(None, none=True)
    oov_token = P.Str("[UNK]", none=True)
    vocabulary = VocabularyParam(integers=False)
    idf_weights = IdfParam()
    invert = P.Bool(False)
    output_mode = C.output_mode_param()
    pad_to_max_tokens = P.Bool(False)
    sparse = P.Const(False, why="sparse outputs are TensorFlow tensors")
    encoding = encoding_param()
    salt = C.salt_param()
    oov_method = P.Choice("floormod", ("floormod", "farmhash"))
    vocabulary_size = VocabularySizeParam()

    config_order = _LOOKUP_ORDER

    def _token(self, value: Any, what: str) -> str:
        if isinstance(value, (bytes, np.bytes_)):
            return S.to_strings(bytes(value), what)[()]
        if not isinstance(value, str):
            raise TypeError(f"The {what} of layer '{self.name}' must hold strings, found "
                            f"{type(value).__name__} {value!r:.40}.")
        return str(value)

    def _read_vocabulary_file(self, path: str) -> list:
        return S.parse_vocabulary_file(read_text_file(path), path, integers=False)

    def _to_keys(self, inputs: Any, what: str) -> np.ndarray:
        return S.to_strings(inputs, what)

    def _adapt_rows(self, data: Any) -> list:
        return _rows(self._to_keys(data, "adapt data"), self.output_mode)


class IntegerLookup(_IndexLookup):
    """Maps integers to indices through a vocabulary (Keras's ``IntegerLookup``).

    The arguments are ``StringLookup``'s with integer tokens (``oov_token=-1``),
    ``vocabulary_dtype="int64"`` and ``oov_method``: ``"floormod"`` (``t mod
    num_oov_indices``) or ``"farmhash"`` (FarmHash of the decimal string; SipHash with
    ``salt``) to spread OOV integers over the OOV indices.
    """

    max_tokens = P.Int(None, min=2, cap="max_dim", none=True)
    num_oov_indices = P.Int(1, min=0, cap="max_dim")
    mask_token = P.Int(None, min=-2**63, max=2**63 - 1, cap=None, none=True)
    oov_token = P.Int(-1, min=-2**63, max=2**63 - 1, cap=None, none=True)
    vocabulary = VocabularyParam(integers=True)
    vocabulary_dtype = P.Const("int64", why="IntegerLookup's only vocabulary dtype")
    idf_weights = IdfParam()
    invert = P.Bool(False)
    output_mode = C.output_mode_param()
    sparse = P.Const(False, why="sparse outputs are TensorFlow tensors")
    pad_to_max_tokens = P.Bool(False)
    oov_method = P.Choice("floormod", ("floormod", "farmhash"))
    salt = C.salt_param()
    vocabulary_size = VocabularySizeParam()

    integers = True
    config_order = _LOOKUP_ORDER

    def config_value(self, key: str) -> Any:
        value = super().config_value(key)
        if key == "vocabulary" and value is not None:
            return [int(v) for v in value]
        return value

    def _token(self, value: Any, what: str) -> int:
        if not C.is_int(value) or not -2**63 <= value < 2**63:
            raise TypeError(f"The {what} of layer '{self.name}' must hold int64 integers, "
                            f"found {type(value).__name__} {value!r:.40}.")
        return int(value)

    def _read_vocabulary_file(self, path: str) -> list:
        return S.parse_vocabulary_file(read_text_file(path), path, integers=True)

    def _to_keys(self, inputs: Any, what: str) -> np.ndarray:
        return _int_array(inputs, what)

    def _adapt_rows(self, data: Any) -> list:
        return _rows(self._to_keys(data, "adapt data"), self.output_mode)

    def _asset_token(self, line: str) -> int:
        try:
            return int(line)
        except ValueError:
            raise ValueError(f"vocabulary.txt of layer '{self.name}' has a line that is not "
                             f"an integer: {line[:40]!r}.") from None

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        return [v if v is None else int(v)
                for v in super().get_vocabulary(include_special_tokens)]


def _rows(keys: np.ndarray, output_mode: str) -> list:
    """The documents of one ``update_state`` batch: rank 0 and 1 are one document."""
    if keys.ndim <= 1:
        return [keys.reshape(-1).tolist()]
    if keys.ndim == 2:
        return [row.tolist() for row in keys]
    if output_mode == "tf_idf":
        raise ValueError(f"adapt in 'tf_idf' mode takes batches of rank <= 2 (documents of "
                         f"tokens), received rank {keys.ndim}.")
    return [keys.reshape(-1).tolist()]


__all__ = ["StringLookup", "IntegerLookup"]
