"""String data as TensorFlow's string ops see it, on NumPy object arrays of ``str``.

Strings are held as NumPy ``object`` arrays of Python ``str`` (a ``<U`` array would drop
trailing NUL characters). TensorFlow works on UTF-8 bytes; every operation Keras's text
layers use is ASCII-only or code-point-wise, so on valid UTF-8 the two agree:

* ``tf.strings.lower`` (no encoding): ASCII ``A-Z`` -> ``a-z`` only (``"Ünï"`` stays).
* Keras's punctuation regex ``[!"#$%&()\\*\\+,-\\./:;<=>?@\\[\\\\\\]^_`{|}~\\']`` removes the
  32 ASCII punctuation characters (``string.punctuation``; ``,-\\.`` is the range
  ``,``-``.``), nothing else.
* ``tf.strings.split()`` splits on runs of ASCII whitespace ``" \\t\\n\\v\\f\\r"`` only
  (not on ``\\x1c``-``\\x1f``, ``\\x85``, ``\\xa0`` or other Unicode spaces, which Python's
  ``str.split()`` would split on) and drops empty pieces.
* ``tf.strings.unicode_split(x, "UTF-8")``: the code points.
* ``tf.strings.ngrams(x, widths, " ")``: for each width in the given order, the
  ``len - width + 1`` windows joined by a space (none when the row is shorter).
"""

from __future__ import annotations

import re
import string
from typing import Any, Callable

import numpy as np

_LOWER = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}
_STRIP = {ord(c): None for c in string.punctuation}
_BOTH = {**_LOWER, **_STRIP}
_TABLES = {"lower": _LOWER, "strip_punctuation": _STRIP, "lower_and_strip_punctuation": _BOTH}
_WORDS = re.compile(r"[^ \t\n\x0b\x0c\r]+")

#: Keras's regex, kept for reference and for the tests.
PUNCTUATION_REGEX = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'


def _as_text(value: Any, encoding: str, what: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode(encoding)
        except UnicodeDecodeError:
            raise ValueError(f"{what} holds bytes that are not valid {encoding}: "
                             f"{bytes(value)[:40]!r}.") from None
    raise TypeError(f"{what} must hold strings, found {type(value).__name__} {value!r:.60}.")


def to_strings(value: Any, what: str, encoding: str = "utf-8") -> np.ndarray:
    """``value`` (str, list of str, a NumPy str / bytes / object array) as an object
    array of ``str`` of the same shape; anything else is a TypeError naming ``what``."""
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return value.astype(object)
    if isinstance(value, (str, bytes)):
        arr = np.empty((), object)
        arr[()] = value
    elif isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value, dtype=object)
        except (ValueError, TypeError) as err:
            raise ValueError(f"{what} is not a rectangular array of strings ({err}).") from None
    if arr.dtype.kind in "biufc":
        raise TypeError(f"{what} has dtype {arr.dtype}; this layer takes strings. Pass text "
                        "(a list or array of str), or use Input(..., dtype='string').")
    flat = [_as_text(v, encoding, what) for v in arr.reshape(-1)]
    out = np.empty(len(flat), object)
    out[:] = flat
    return out.reshape(arr.shape)


def standardize(strings: np.ndarray, mode: str | None) -> np.ndarray:
    """Keras's named standardizations on an object array of ``str``."""
    if mode is None:
        return strings
    table = _TABLES[mode]
    out = np.empty(strings.shape, object)
    out.reshape(-1)[:] = [s.translate(table) for s in strings.reshape(-1)]
    return out


def split(strings: np.ndarray, mode: str) -> list:
    """Each string's tokens (a nested list, one level per axis of ``strings``)."""
    fn: Callable[[str], list] = _WORDS.findall if mode == "whitespace" else list
    if strings.ndim == 0:
        return fn(strings[()])
    return [split(row, mode) if isinstance(row, np.ndarray) else fn(row) for row in strings]


def ngrams_of(tokens: list, widths: tuple[int, ...]) -> list:
    """``tf.strings.ngrams(tokens, widths, separator=" ")`` of one row of tokens."""
    out: list = []
    n = len(tokens)
    for width in widths:
        out += [" ".join(tokens[i:i + width]) for i in range(n - width + 1)]
    return out


def ngrams(rows: Any, widths: tuple[int, ...], depth: int) -> Any:
    """ngrams on the innermost lists of a nested list ``depth`` levels deep."""
    if depth <= 1:
        return ngrams_of(list(rows), widths)
    return [ngrams(r, widths, depth - 1) for r in rows]


def dense_ngrams(strings: np.ndarray, widths: tuple[int, ...]) -> np.ndarray:
    """ngrams along the last axis of a dense string array (every row gives as many)."""
    if strings.ndim == 0:
        raise ValueError("ngrams need at least one axis of tokens; received a single string "
                         "with split=None.")
    rows = strings.reshape(-1, strings.shape[-1])
    made = [ngrams_of(list(r), widths) for r in rows]
    width = len(made[0]) if made else sum(max(0, strings.shape[-1] - w + 1) for w in widths)
    out = np.empty((len(made), width), object)
    for k, row in enumerate(made):
        out[k, :] = row
    return out.reshape(*strings.shape[:-1], width)


def parse_vocabulary_file(text: str, source: str, integers: bool) -> list:
    """The tokens of a vocabulary file, read as TensorFlow's ``TextFileInitializer``.

    One token per ``\\n``-terminated line, a trailing ``\\r`` removed; a final newline is
    optional. An empty file, an empty line, a repeated token or (for integer
    vocabularies) a line that is not a base-10 int64 is an error, as in TensorFlow.
    """
    if "\x00" in text:
        raise ValueError(f"Vocabulary file {source} contains a NUL character.")
    if text == "":
        raise ValueError(f"Vocabulary file {source} is empty.")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    tokens: list = []
    seen: set = set()
    for k, line in enumerate(lines):
        if line.endswith("\r"):
            line = line[:-1]
        if line == "":
            raise ValueError(f"Invalid content in vocabulary file {source}: empty line "
                             f"{k + 1}.")
        token: Any = line
        if integers:
            if not re.fullmatch(r"\s*[+-]?[0-9]+\s*", line) or \
                    not -2**63 <= int(line) < 2**63:
                raise ValueError(f"Vocabulary file {source} line {k + 1} is not a valid "
                                 f"int64: {line[:40]!r}.")
            token = int(line)
        if token in seen:
            raise ValueError(f"Vocabulary file {source} repeats the token {line[:40]!r} "
                             f"(line {k + 1}); every token must be unique.")
        seen.add(token)
        tokens.append(token)
    return tokens


__all__ = ["to_strings", "standardize", "split", "ngrams", "dense_ngrams", "ngrams_of",
           "parse_vocabulary_file", "PUNCTUATION_REGEX"]
