"""The lookup machinery shared by ``StringLookup``, ``IntegerLookup`` and
``TextVectorization``: Keras 3.15.1's ``IndexLookup``.

Indices (``token_start = oov_start + num_oov_indices``)::

    oov_start = 1 if (mask_token is not None and output_mode == "int") else 0
    index(mask_token) = 0 ("int") / dropped (other modes)
    index(t) = token_start + position of t in the vocabulary
    index(oov t) = oov_start                           (num_oov_indices == 1)
                 = oov_start + hash(t) % num_oov       (num_oov_indices > 1)
                 = error                               (num_oov_indices == 0)

``hash`` is FarmHash ``Fingerprint64`` of the UTF-8 bytes (SipHash with ``salt``); for
integers it is ``t mod num_oov`` (``oov_method="floormod"``) or the hash of the decimal
string (``"farmhash"``). ``adapt`` counts tokens and sorts by count, descending, ties by
the token, descending (UTF-8 byte order for strings), as Keras's
``np.lexsort((tokens, counts))[::-1]``; ``max_tokens`` keeps the first
``max_tokens - token_start``. TF-IDF weights are ``log(1 + N / (1 + df))`` with ``N``
documents and ``df`` the documents containing the token; the special indices get the
mean weight.

``invert=True`` maps ids back: ``token_start + k`` -> the k-th token, 0 -> the mask token
(when set), any other id -> ``oov_token``. Strings come back as UTF-8 ``bytes`` in an
object array, what ``.numpy()`` of Keras's ``tf.string`` output holds (integers: int64).

Files: a vocabulary that did not come from the constructor's list is written as
``assets/<layer path>/vocabulary.txt`` (one token a line, joined by ``\\n``) and read
back with Python's ``splitlines`` (what Keras does, lossy for tokens holding line
breaks); TF-IDF weights are the variable ``vars/idf_weights``.
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer
from rnnlens.layers.preprocessing import _common as C
from rnnlens.layers.preprocessing import _hashes


def listify(value: Any) -> Any:
    """Keras's ``listify_tensors``: arrays become lists, anything else is kept."""
    return value.tolist() if isinstance(value, np.ndarray) else value


class VocabularyParam(P.Param):
    """``vocabulary``: None, a list / tuple / 1-D array of tokens, or a file path (in code).

    Configs hold the list given to the constructor (None for a path or an adapted
    layer); a model file's config may hold a list only, never a path.
    """

    expected = "None, a list of tokens or a path to a vocabulary file"

    def __init__(self, integers: bool, doc: str = ""):
        super().__init__(None, doc=doc)
        self.integers = integers

    def validate(self, value: Any, owner: Any) -> Any:
        if isinstance(value, str):
            return value
        if isinstance(value, (list, tuple, np.ndarray)):
            return value
        raise self.fail(value, owner, error=TypeError)

    def dump(self, value: Any) -> Any:
        return listify(value)

    def load(self, raw: Any, reader: Any) -> Any:
        if raw is None:
            return None
        if isinstance(raw, str):
            raise reader.refuse("a layer's `vocabulary` names a file outside the model "
                                f"archive ({raw[:80]!r}); such files are never read.")
        kind = (int,) if self.integers else (str,)
        if not isinstance(raw, list) or not all(isinstance(v, kind) and not isinstance(
                v, bool) for v in raw):
            raise reader.refuse(f"`vocabulary` is not a list of "
                                f"{'integers' if self.integers else 'strings'}.")
        return raw


class IdfParam(P.Param):
    """``idf_weights``: None or a 1-D list of finite numbers (kept as given)."""

    expected = "None or a 1-D list of numbers"

    def __init__(self, doc: str = ""):
        super().__init__(None, doc=doc)

    def validate(self, value: Any, owner: Any) -> Any:
        try:
            C.float_list(value, "idf_weights")
        except (ValueError, TypeError):
            raise self.fail(value, owner) from None
        return value

    def dump(self, value: Any) -> Any:
        return listify(value)


class VocabularySizeParam(P.Int):
    """Keras's hidden ``vocabulary_size`` keyword (the size when the config was written).

    A data descriptor: the constructor's value goes to ``vocabulary_size_arg`` and the
    attribute stays the ``vocabulary_size()`` method, as in Keras.
    """

    def __init__(self) -> None:
        super().__init__(None, min=0, cap="max_dim", none=True)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return obj._vocabulary_size

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__["vocabulary_size_arg"] = value


class _IndexLookup(Layer):
    """Keras's ``IndexLookup`` (not exported): see the module docstring.

    Subclasses declare the Keras arguments (their order differs) and set
    ``integers`` (token type) and ``config_order`` (Keras's ``get_config`` order).
    """

    integers = False
    config_order: tuple[str, ...] = ()
    _has_assets = True

    # -- construction -------------------------------------------------------------

    def __post_init__(self) -> None:
        if self.pad_to_max_tokens and self.max_tokens is None:
            raise ValueError("If pad_to_max_tokens is True, must set `max_tokens`. "
                             f"Received: max_tokens={self.max_tokens}")
        if self.salt is not None and self.integers and self.oov_method != "farmhash":
            raise ValueError("`salt` can only be used when `oov_method='farmhash'`. "
                             f"Received: oov_method={self.oov_method}")
        if self.invert and self.output_mode != "int":
            raise ValueError("`output_mode` must be `'int'` when `invert` is true. "
                             f"Received: output_mode={self.output_mode}")
        if self.invert and self.oov_token is None:
            raise ValueError(f"Layer '{self.name}' has invert=True and oov_token=None: an "
                             "inverting lookup returns `oov_token` for unknown ids, so it "
                             "needs one (Keras refuses None: \"Attempt to convert a value "
                             "(None) ... to a Tensor\"). Pass oov_token='[UNK]' (or -1).")
        if self.idf_weights is not None and self.output_mode != "tf_idf":
            raise ValueError("`idf_weights` should only be set if `output_mode` is "
                             f"`'tf_idf'`. Received: output_mode={self.output_mode}")
        vocabulary = self.vocabulary
        self.input_vocabulary = None if isinstance(vocabulary, str) else vocabulary
        self.input_idf_weights = self.idf_weights
        self._has_input_vocabulary = vocabulary is not None
        self._frozen_vocab_size = self.vocabulary_size_arg
        self._tokens: list = []
        self._index: dict = {}
        self._initialized = False             # Keras's lookup table starts uninitialized
        self._idf: np.ndarray | None = None
        if self.output_mode == "tf_idf":
            if self._has_input_vocabulary and self.idf_weights is None:
                raise ValueError("When specifying the `vocabulary` argument, in TF-IDF "
                                 "output mode, the `idf_weights` argument must also be "
                                 "provided.")
            if self.idf_weights is not None:
                self._idf = np.asarray(C.float_list(self.idf_weights, "idf_weights"),
                                       np.float32)
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, self.idf_weights)
        self.reset_state()

    def config_value(self, key: str) -> Any:
        if key == "vocabulary":
            return self.input_vocabulary
        if key == "idf_weights":
            return self.input_idf_weights
        if key == "vocabulary_size":
            return self._frozen_vocab_size
        return getattr(self, key)

    def get_config(self) -> dict:
        return C.ordered(super().get_config(), self.config_order)

    # -- indices ------------------------------------------------------------------

    def _oov_start_index(self) -> int:
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self) -> int:
        return self._oov_start_index() + self.num_oov_indices

    def _vocabulary_size(self) -> int:
        """The size of the vocabulary, including the mask and OOV indices."""
        return len(self._tokens) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens: bool = True) -> list:
        """The vocabulary; with the special tokens, a term's position is its index."""
        vocab = [self.oov_token] * self._token_start_index() + list(self._tokens)
        if self.mask_token is not None and self.output_mode == "int":
            vocab[0] = self.mask_token
        return vocab if include_special_tokens else vocab[self._token_start_index():]

    def _depth(self) -> int:
        if self.pad_to_max_tokens:
            return self.max_tokens
        if self._frozen_vocab_size is None:
            raise ValueError(f"When using `output_mode={self.output_mode}` and "
                             "`pad_to_max_tokens=False`, you must set the layer's vocabulary "
                             "before calling it. Either pass a `vocabulary` argument to the "
                             "layer, or call `adapt` with some sample data.")
        return self._frozen_vocab_size

    def _record_vocabulary_size(self) -> None:
        new = self.vocabulary_size()
        if self.output_mode != "int" and not self.pad_to_max_tokens and \
                self._frozen_vocab_size is not None and new != self._frozen_vocab_size:
            raise ValueError(f"When using `output_mode={self.output_mode}` and "
                             "`pad_to_max_tokens=False`, the vocabulary size cannot be "
                             f"changed after the layer is called. Old vocab size is "
                             f"{self._frozen_vocab_size}, new vocab size is {new}")
        self._frozen_vocab_size = new

    # -- setting a vocabulary -----------------------------------------------------

    def _token(self, value: Any, what: str) -> Any:
        """One vocabulary entry as the layer's token type (str or int)."""
        raise NotImplementedError

    def _read_vocabulary_file(self, path: str) -> list:
        raise NotImplementedError

    def set_vocabulary(self, vocabulary: Any, idf_weights: Any = None) -> None:
        """Sets the vocabulary (and, for ``"tf_idf"``, the idf weights) directly.

        Args:
            vocabulary: a list / tuple / 1-D array of tokens, optionally starting with
                the special tokens in index order, or a path to a text file (one token a
                line, special tokens not included).
            idf_weights: ``"tf_idf"`` only: one weight per entry of ``vocabulary``.
        """
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError("`idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError("`idf_weights` should only be set if output_mode is `'tf_idf'`."
                             f" Received: output_mode={self.output_mode}")
        if isinstance(vocabulary, str):
            if self.output_mode == "tf_idf":
                raise ValueError("output_mode `'tf_idf'` does not support loading a "
                                 "vocabulary from file.")
            self._set_tokens(self._read_vocabulary_file(vocabulary))
            self._record_vocabulary_size()
            return
        entries = self._entries(vocabulary)
        start = self._token_start_index()
        special = [self.mask_token] * self._oov_start_index() + \
            [self.oov_token] * self.num_oov_indices
        found = len(entries) >= start and entries[:start] == special
        tokens = entries[start:] if found else entries
        self._check_tokens(tokens, special)
        self._set_tokens(tokens)
        self._record_vocabulary_size()
        if self.output_mode == "tf_idf":
            self._set_idf(idf_weights, len(entries), found)

    def _entries(self, vocabulary: Any) -> list:
        if isinstance(vocabulary, np.ndarray):
            if vocabulary.ndim != 1:
                raise ValueError(f"The vocabulary must be 1-D, received shape "
                                 f"{vocabulary.shape}.")
            vocabulary = vocabulary.tolist()
        if not isinstance(vocabulary, (list, tuple)):
            raise TypeError(f"Received vocabulary of type {type(vocabulary).__name__}, "
                            "expected a list of tokens or a file path.")
        if not vocabulary:
            raise ValueError(f"Cannot set an empty vocabulary. Received: vocabulary="
                             f"{vocabulary}")
        return [self._token(v, "vocabulary") for v in vocabulary]

    def _check_tokens(self, tokens: list, special: list) -> None:
        counts = collections.Counter(tokens)
        repeated = [t for t, n in counts.items() if n > 1]
        if repeated:
            raise ValueError("The passed vocabulary has at least one repeated term. Please "
                             f"uniquify your dataset. The repeated terms are: {repeated[:20]}")
        for what, token in (("mask_token", self.mask_token),
                            ("oov_token", self.oov_token if self.invert else None)):
            if token is not None and token in counts:
                raise ValueError(f"Found reserved {what} {token!r} at an unexpected location "
                                 "in `vocabulary`. Either remove all mask and OOV tokens, or "
                                 "include them only at the start of the vocabulary in "
                                 f"precisely this order: {special}.")
        size = self._token_start_index() + len(tokens)
        if self.max_tokens is not None and size > self.max_tokens:
            raise ValueError("Attempted to set a vocabulary larger than the maximum vocab "
                             f"size. Received vocabulary size is {size}; `max_tokens` is "
                             f"{self.max_tokens}.")

    def _set_tokens(self, tokens: list) -> None:
        if not tokens:
            raise ValueError(f"Layer '{self.name}' would get a vocabulary with no tokens "
                             "besides the special ones, which Keras refuses (TensorFlow: "
                             "\"keys and values cannot be empty tensors\"). Adapt on data "
                             "with tokens, raise max_tokens, or pass a vocabulary.")
        start = self._token_start_index()
        self._initialized = True
        self._tokens = list(tokens)
        self._index = {t: start + i for i, t in enumerate(self._tokens)}

    def _set_idf(self, idf_weights: Any, n_entries: int, found: bool) -> None:
        weights = np.asarray(C.float_list(idf_weights, "idf_weights"), np.float64)
        if weights.shape[0] != n_entries:
            raise ValueError("`idf_weights` must be the same length as vocabulary. "
                             f"len(idf_weights) is {weights.shape[0]}; len(vocabulary) is "
                             f"{n_entries}")
        front = 0 if found else self._token_start_index()
        front_value = 0.0 if found else float(np.average(weights))
        back = self.max_tokens - front - weights.shape[0] if self.pad_to_max_tokens else 0
        weights = np.pad(weights, (front, max(back, 0)), "constant",
                         constant_values=(front_value, 0.0))
        self._idf = weights.astype(np.float32)

    # -- adapt ----------------------------------------------------------------------

    def reset_state(self) -> None:
        """Forgets the counts gathered by ``update_state`` (not the vocabulary)."""
        if self._has_input_vocabulary:
            return
        self._counts: collections.Counter = collections.Counter()
        self._doc_counts: collections.Counter = collections.Counter()
        self._num_documents = 0

    def _adapt_rows(self, data: Any) -> list:
        """A batch as a list of documents (lists of tokens), as ``update_state`` sees it."""
        raise NotImplementedError

    def update_state(self, data: Any) -> None:
        """Counts the tokens of one batch (a rank-1 batch is one document)."""
        if self._has_input_vocabulary:
            raise ValueError(f"Cannot adapt layer '{self.name}' after setting a static "
                             "vocabulary via `vocabulary` argument or `set_vocabulary()` "
                             "method.")
        self._count_rows(self._adapt_rows(data))

    def _count_rows(self, rows: list) -> None:
        for row in rows:
            self._counts.update(row)
        if self.output_mode == "tf_idf":
            for row in rows:
                self._doc_counts.update(set(row))
            self._num_documents += len(rows)

    def finalize_state(self) -> None:
        """Builds the vocabulary from the counts (most frequent first)."""
        if self._has_input_vocabulary or not self._counts:
            self._record_vocabulary_size()
            return
        for special in (self.mask_token, self.oov_token):
            if special is not None:
                self._counts.pop(special, None)
        tokens = list(self._counts)
        counts = [self._counts[t] for t in tokens]
        keys = np.array(tokens, dtype=np.int64 if self.integers else object)
        order = np.lexsort((keys, np.asarray(counts, np.int64)))[::-1]
        if self.max_tokens:
            order = order[:self.max_tokens - self._token_start_index()]
        tokens = [tokens[i] for i in order]
        self._set_tokens(tokens)
        if self.output_mode == "tf_idf":
            df = np.array([self._doc_counts[t] for t in tokens], np.int64)
            idf = np.log(1 + self._num_documents / (1 + df)).astype(np.float32)
            mean = idf.mean(dtype=np.float32) if idf.size else np.float32(np.nan)
            idf = np.pad(idf, (self._token_start_index(), 0), constant_values=mean)
            if self.pad_to_max_tokens and self.max_tokens is not None:
                idf = np.pad(idf, (0, max(0, self.max_tokens - idf.size)))
            self._idf = idf.astype(np.float32)
        self.reset_state()
        self._record_vocabulary_size()

    def adapt(self, data: Any, steps: int | None = None) -> None:
        """Computes the vocabulary from ``data``: an array or list (rank 1: one token per
        document), or an iterable of batches (``rnnlens.utils.ArrayDataset``, a generator);
        ``steps`` limits the batches read from an iterable."""
        self.reset_state()
        if _is_batches(data):
            for i, batch in enumerate(data):
                if steps is not None and i >= steps:
                    break
                self.update_state(_first(batch))
        else:
            self._adapt_array(data)
        self.finalize_state()

    def _adapt_array(self, data: Any) -> None:
        arr = self._to_keys(data, "adapt data")
        if arr.ndim == 1:
            arr = arr[:, None]
        self.update_state(arr)

    # -- calling --------------------------------------------------------------------

    def _to_keys(self, inputs: Any, what: str) -> np.ndarray:
        raise NotImplementedError

    def convert_inputs(self, inputs: Any) -> np.ndarray:
        if self.invert:
            return _int_array(inputs, f"input to layer '{self.name}'")
        return self._to_keys(inputs, f"input to layer '{self.name}'")

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, inputs: Any, training: bool = False, mask: Any = None) -> np.ndarray:
        inputs = self.convert_inputs(inputs)
        if self.output_mode != "int":
            self._depth()
        if self.invert:
            return self._invert(inputs)
        ids = self.lookup(inputs)
        if self.output_mode == "int":
            return ids
        dtype = np.float32 if self.output_mode == "tf_idf" else np.int64
        return C.encode(ids, self.output_mode, self._depth(), dtype, self._idf)

    def require_table(self) -> None:
        """Keras's "Table not initialized": no vocabulary was ever set or learned."""
        if not self._initialized:
            raise ValueError(f"Layer '{self.name}' has no vocabulary yet (Keras: \"Table not "
                             "initialized\"): call adapt() on data with tokens, pass "
                             "`vocabulary`, or call set_vocabulary().")

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """The int64 index of every key (the mask gets 0 or Keras's dropped value)."""
        self.require_table()
        start = self._oov_start_index()
        default = start if self.num_oov_indices == 1 else -1
        flat = keys.reshape(-1).tolist()
        get = self._index.get
        ids = np.fromiter((get(t, default) for t in flat), np.int64, len(flat))
        if self.mask_token is not None:
            masked = np.fromiter((t == self.mask_token for t in flat), bool, len(flat))
            ids[masked] = 0 if self.output_mode == "int" else C.DROPPED
        oov = np.nonzero(ids == -1)[0]
        if oov.size and self.num_oov_indices == 0:
            values = [flat[i] for i in oov[:10]]
            raise ValueError("When `num_oov_indices=0` all inputs should be in vocabulary, "
                             f"found OOV values {values}, consider setting "
                             "`num_oov_indices=1`.")
        if oov.size:
            ids[oov] = start + np.asarray(self._oov_buckets([flat[i] for i in oov]), np.int64)
        return ids.reshape(keys.shape)

    def _oov_buckets(self, tokens: list) -> list[int]:
        n = self.num_oov_indices
        if self.integers and self.oov_method != "farmhash":
            return [t % n for t in tokens]                       # floormod
        data = [(str(t) if self.integers else t).encode("utf-8") for t in tokens]
        return _hashes.hash_bucket(data, n, None if self.salt is None else tuple(self.salt))

    def _invert(self, ids: np.ndarray) -> np.ndarray:
        self.require_table()
        start, size = self._token_start_index(), self.vocabulary_size()
        flat = ids.reshape(-1).tolist()
        tokens, oov, mask = self._tokens, self.oov_token, self.mask_token
        out = [tokens[i - start] if start <= i < size else oov for i in flat]
        if mask is not None:
            out = [mask if i == 0 else t for i, t in zip(flat, out)]
        if not self.integers:                 # a tf.string tensor: its numpy() is bytes
            out = [t.encode("utf-8") for t in out]
        arr = np.empty(len(out), np.int64 if self.integers else object)
        arr[:] = out
        return arr.reshape(ids.shape)

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> tuple:
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        if self.output_mode == "one_hot":
            if len(input_shape) > 1 and input_shape[-1] == 1:
                return (*input_shape[:-1], depth)
            return (*input_shape, depth)
        return (*input_shape[:-1], depth)

    @property
    def output_dtype(self) -> str:
        if self.invert:
            return "int64" if self.integers else "string"
        return "float32" if self.output_mode != "int" else "int64"

    # -- files (rnnlens.interop.keras_format) -----------------------------------------

    def save_assets(self) -> dict[str, str]:
        """``{"vocabulary.txt": text}`` unless the config holds the vocabulary."""
        if self.input_vocabulary is not None:
            return {}
        return {"vocabulary.txt": "\n".join(str(w) for w in self.get_vocabulary())}

    def assets_to_load(self) -> tuple[str, ...]:
        return () if self.input_vocabulary is not None else ("vocabulary.txt",)

    def load_assets(self, files: dict[str, str]) -> None:
        """Sets the vocabulary from a file's ``vocabulary.txt`` as Keras reads it."""
        if self.input_vocabulary is not None:
            return
        if "vocabulary.txt" not in files:
            raise ValueError(f"layer '{self.name}' has no vocabulary.txt in the archive.")
        lines = files["vocabulary.txt"].splitlines()
        while lines and lines[-1] == "":
            lines.pop()
        values = [self._asset_token(line) for line in lines]
        if self.output_mode == "tf_idf":
            self.set_vocabulary(values, idf_weights=self._idf)
        else:
            self.set_vocabulary(values)

    def _asset_token(self, line: str) -> Any:
        return line

    def save_extra_variables(self) -> dict[str, np.ndarray]:
        if self.output_mode != "tf_idf":
            return {}
        if self._idf is None:
            raise ValueError(f"Cannot save layer '{self.name}': it is in 'tf_idf' mode but "
                             "has no idf weights yet; adapt it or set its vocabulary first.")
        return {"idf_weights": self._idf}

    def extra_variables_to_load(self) -> tuple[str, ...]:
        return ("idf_weights",) if self.output_mode == "tf_idf" else ()

    def load_extra_variables(self, arrays: dict[str, np.ndarray]) -> None:
        if self.output_mode == "tf_idf":
            idf = np.asarray(arrays["idf_weights"], np.float32)
            if idf.ndim != 1:
                raise ValueError(f"idf_weights of layer '{self.name}' must be 1-D, found "
                                 f"shape {idf.shape}.")
            self._idf = idf


def _is_batches(data: Any) -> bool:
    """An iterable of batches (not an array, list, tuple or string), as Keras's adapt."""
    return hasattr(data, "__iter__") and not isinstance(
        data, (list, tuple, np.ndarray, str, bytes))


def _first(batch: Any) -> Any:
    """The inputs of a batch ``(x, y)`` from a dataset."""
    return batch[0] if isinstance(batch, tuple) else batch


def _int_array(value: Any, what: str) -> np.ndarray:
    """Integer data as int64 (integral floats accepted; other kinds refused)."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{what} is not a rectangular array ({err}).") from None
    if arr.dtype.kind in "iub":
        return arr.astype(np.int64)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.array_equal(arr, np.trunc(arr)) or \
                (arr.size and (arr.min() < -2.0**63 or arr.max() >= 2.0**63)):
            raise ValueError(f"{what} holds non-integer numbers; this layer takes integer "
                             "ids.")
        return arr.astype(np.int64)
    if arr.dtype == object and all(C.is_int(v) for v in arr.flat):
        return arr.astype(np.int64)
    raise TypeError(f"{what} has dtype {arr.dtype}, expected integers.")


__all__ = ["VocabularyParam", "IdfParam", "VocabularySizeParam", "listify"]
