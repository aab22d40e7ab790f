"""``keras.backend``: the session-wide settings and the dtype helpers Keras code calls.

``FLOATX`` is the dtype every array is computed in: float32, as Keras. Tests
switch it to float64 (``set_floatx("float64")``) for finite-difference
gradient checks; everything that allocates reads it at call time.

The other settings are Keras 3.15.1's (``keras/src/backend/config.py``)::

    epsilon()             1e-7   the fuzz factor of numeric expressions
    image_data_format()   "channels_last"
    backend()             "numpy" (Keras says "tensorflow"; rnnlens has one backend)

Dtype names follow ``keras.backend.standardize_dtype``: Python ``int`` is
``"int64"`` and ``float`` is ``"float32"`` (the TensorFlow backend's choices),
NumPy types and dtypes give their names, and anything outside Keras's allowed
names raises ``ValueError``. ``result_type`` is Keras's promotion lattice, which
``rnnlens.ops`` implements (imported lazily: this module needs NumPy only).
"""

from __future__ import annotations

import gc
import math
from typing import Any

import numpy as np

from rnnlens import naming


class _FloatX:
    """A switchable dtype: NumPy accepts any object with a ``dtype`` attribute."""

    dtype = np.dtype("float32")

    def __repr__(self) -> str:
        return f"FLOATX({self.dtype})"


FLOATX = _FloatX()

#: Keras's ``ALLOWED_DTYPES`` (``keras/src/backend/common/dtypes.py``).
ALLOWED_DTYPES = (
    "float16", "float32", "float64", "uint8", "uint16", "uint32", "uint64", "int8",
    "int16", "int32", "int64", "bfloat16", "bool", "string", "float8_e4m3fn",
    "float8_e5m2", "complex64", "complex128",
)
#: Python types and the string "int" as the TensorFlow backend names them.
_PYTHON_DTYPES = {bool: "bool", int: "int64", float: "float32", str: "string",
                  "int": "int64", complex: "complex128"}
_SETTINGS: dict[str, Any] = {"epsilon": 1e-7, "image_data_format": "channels_last"}


# ---------------------------------------------------------------------------- settings
def floatx() -> str:
    """The compute dtype's name (``"float32"`` unless changed)."""
    return FLOATX.dtype.name


def set_floatx(name: str) -> None:
    """Computes in ``"float32"`` (default) or ``"float64"`` from now on.

    Keras also accepts ``"float16"`` and ``"bfloat16"``; rnnlens computes in float32 or
    float64 only and raises ``ValueError`` for anything else.
    """
    if name not in ("float32", "float64"):
        raise ValueError(f"Received floatx={name!r}, expected 'float32' or 'float64' "
                         "(rnnlens computes in float32 or float64 only).")
    FLOATX.dtype = np.dtype(name)


def epsilon() -> float:
    """The fuzz factor used in numeric expressions (``1e-07`` unless changed)."""
    return _SETTINGS["epsilon"]


def set_epsilon(value: float) -> None:
    """Sets the fuzz factor returned by :func:`epsilon`.

    Args:
        value: a finite, non-negative real number. (Keras stores anything; rnnlens
            refuses non-numbers with ``TypeError`` and negative or non-finite values
            with ``ValueError``.)

    Note: rnnlens's losses, metrics and regularizers use Keras's fixed ``1e-7`` as
    Keras 3.15.1's built-ins do; this setting is for user code that reads it.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)) \
            or isinstance(value, (complex, np.complexfloating)):
        raise TypeError(f"Received epsilon={value!r}, expected a float such as 1e-7.")
    if not math.isfinite(float(value)) or value < 0:
        raise ValueError(f"Received epsilon={value!r}, expected a finite value >= 0.")
    _SETTINGS["epsilon"] = value


def image_data_format() -> str:
    """``"channels_last"`` (default) or ``"channels_first"``."""
    return _SETTINGS["image_data_format"]


def set_image_data_format(data_format: str) -> None:
    """Sets the image data format: ``"channels_first"`` or ``"channels_last"``.

    As Keras, the value is lower-cased first; anything else raises ``ValueError``.
    """
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', "
                         f"'channels_last'}}. Received: data_format={data_format}")
    _SETTINGS["image_data_format"] = value


def backend() -> str:
    """The backend's name: always ``"numpy"``."""
    return "numpy"


def clear_session(free_memory: bool = True) -> None:
    """Resets the global state: layer-name counters (``dense``, ``dense_1``, ...) and
    :func:`get_uid`'s counters restart, as ``keras.backend.clear_session``.

    Args:
        free_memory: also run Python's garbage collector (Keras's default).
    """
    naming.clear_session()
    if free_memory:
        gc.collect()


def get_uid(prefix: str = "") -> int:
    """A counter per ``prefix``: 1 on the first call, then 2, 3, ...

    It is the counter behind automatic names, as in Keras: after ``get_uid("dense")``
    the next ``Dense`` layer is named ``dense_1``. ``clear_session`` resets it.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"Received prefix={prefix!r}, expected a string.")
    name = naming.unique(prefix)
    return 1 if name == prefix else int(name[len(prefix) + 1:]) + 1


# ---------------------------------------------------------------------------- dtypes
def standardize_dtype(dtype: Any) -> str:
    """Keras's name for a dtype-like: ``None`` -> ``floatx()``, ``int`` -> ``"int64"``,
    ``float`` -> ``"float32"``, ``np.float32`` / ``np.dtype("int8")`` / objects with a
    ``name`` (TensorFlow and torch dtypes) -> their names.

    Raises:
        ValueError: for a name that is not one of Keras's dtypes (``ALLOWED_DTYPES``).
        TypeError: for an unhashable value (a list, a dict).
    """
    if dtype is None:
        return floatx()
    try:
        dtype = _PYTHON_DTYPES.get(dtype, dtype)
    except TypeError:
        raise TypeError(f"Invalid dtype: {dtype!r} (expected a dtype name such as "
                        "'float32', a NumPy dtype or a Python type).") from None
    if hasattr(dtype, "name"):
        dtype = dtype.name
    elif hasattr(dtype, "__name__"):
        dtype = dtype.__name__
    elif "torch" in str(dtype) or "jax.numpy" in str(dtype):
        dtype = str(dtype).split(".")[-1]
    if not isinstance(dtype, str) or dtype not in ALLOWED_DTYPES:
        raise ValueError(f"Invalid dtype: {dtype}")
    return dtype


def is_float_dtype(dtype: Any) -> bool:
    """True for float16/32/64 and bfloat16 (Keras's rule: the name starts with float)."""
    name = standardize_dtype(dtype)
    return name.startswith(("float", "bfloat"))


def is_int_dtype(dtype: Any) -> bool:
    """True for the signed and unsigned integer dtypes (not bool)."""
    name = standardize_dtype(dtype)
    return name.startswith(("int", "uint"))


def result_type(*dtypes: Any) -> str:
    """The dtype Keras's type promotion gives ``dtypes`` (``keras.backend.result_type``).

    Python ``int`` / ``float`` are weak types (``result_type("int8", int)`` is int8),
    ``None`` means ``floatx()``, no argument gives ``floatx()``. Promotion is
    ``rnnlens.ops``' implementation of Keras's lattice, where bfloat16 and the float8
    types (no NumPy dtype) raise ``TypeError``.
    """
    for d in dtypes:
        if isinstance(d, str) and d.startswith("float8"):
            raise ValueError("There is no implicit conversions from float8 dtypes to others. "
                             f"You must cast it internally. Received: {dtypes}")
    from rnnlens.ops._dtypes import result_type as _promote  # noqa: PLC0415  (lazy)

    names = [d if d is None or d is int or d is float else standardize_dtype(d)
             for d in dtypes]
    return _promote(*names)


# ---------------------------------------------------------------------------- kernels
def kernel() -> str:
    """Which code runs the recurrent layers' time loops: ``"c"`` or ``"numpy"``.

    ``"c"`` is the compiled loop (``rnnlens/cells/_fused.c``, built by ``make install``;
    it takes LSTM / GRU / SimpleRNN with their default activations and no recurrent
    dropout, and anything else still runs in NumPy). ``"numpy"`` when the library is
    not built or cannot be loaded, or when chosen with :func:`set_kernel` or the
    environment variable ``RNNLENS_KERNEL=numpy``. Both give the same numbers (to
    ~1e-7; Keras's within 1e-5).
    """
    from rnnlens.cells import _kernels  # noqa: PLC0415  (lazy: loads the library)

    return "c" if _kernels.active() else "numpy"


def set_kernel(name: str, threads: int | None = None) -> None:
    """Runs the recurrent time loops in ``"c"`` or ``"numpy"`` from now on.

    Args:
        name: ``"c"`` (raises ``ValueError`` saying why when the compiled library
            is unavailable) or ``"numpy"``.
        threads: threads of the C loop (it splits the batch); None (default) uses
            one per core for batches large enough to gain from it.
    """
    from rnnlens.cells import _kernels  # noqa: PLC0415

    _kernels.select(name, threads)


def kernel_info() -> dict[str, Any]:
    """The running kernel, the library and BLAS it uses, threads, and why C is off.

    ``"avx512"`` is True when the C loop's own AVX-512 kernels run its float32
    products and LSTM gates (a CPU with AVX-512F; ``RNNLENS_AVX512=0`` turns them
    off, and then NumPy's BLAS multiplies); the numbers agree either way to float32
    rounding.
    """
    from rnnlens.cells import _kernels  # noqa: PLC0415

    return _kernels.info()


def is_keras_tensor(x: Any) -> bool:
    """True for a symbolic tensor (``rnnlens.Input(...)`` or a layer's output on one)."""
    from rnnlens.functional import SymbolicTensor  # noqa: PLC0415  (lazy: layers)

    return isinstance(x, SymbolicTensor)


__all__ = ["FLOATX", "backend", "clear_session", "epsilon", "floatx", "get_uid",
           "image_data_format", "is_float_dtype", "is_int_dtype", "is_keras_tensor",
           "kernel", "kernel_info", "result_type", "set_epsilon", "set_floatx",
           "set_image_data_format", "set_kernel", "standardize_dtype"]
