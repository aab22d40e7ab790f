"""What the convolution, pooling, padding, cropping and upsampling layers share: their
declared argument types, the data format, the checks of spatial inputs, and Keras's config
key order.

A spatial layer has a class attribute ``rank`` (1 for ``Conv1D``, 2 for ``Conv2D``, ...):
its inputs are ``(B, *spatial, C)`` (``data_format="channels_last"``) or
``(B, C, *spatial)``, with ``rank`` spatial axes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class SpatialTuple(P.IntTuple):
    """``kernel_size``, ``strides``, ``dilation_rate``, ``pool_size``: an int or ``rank``
    ints (Keras's ``standardize_tuple``), each ``>= min``; written as a tuple, as Keras
    keeps it. Read from a file (no owner yet), an int stays an int until the layer is
    made and knows its rank."""

    def __init__(self, default: Any = P.REQUIRED, *, min: int = 1, none: bool = False,
                 doc: str = ""):
        super().__init__(default, allow_int=True, min=min, none=none, doc=doc)

    @property
    def expected(self) -> str:
        lo = "positive" if self.min == 1 else "non-negative"
        return f"a {lo} integer or a tuple of `rank` {lo} integers"

    def validate(self, value: Any, owner: Any) -> Any:
        rank = getattr(owner, "rank", None) if owner is not None else None
        if _is_int(value):
            if value < self.min:
                raise self.fail(value, owner)
            return (int(value),) * rank if rank else int(value)
        if isinstance(value, (str, bytes, dict)) or not isinstance(value, (list, tuple)):
            raise self.fail(value, owner)
        out = super().validate(value, owner)
        if rank and len(out) != rank:
            raise self.fail(value, owner, f"an integer or a tuple of {rank} integers")
        return out

    def dump(self, value: Any) -> Any:
        return None if value is None else tuple(value)

    def load(self, raw: Any, reader: Any) -> Any:
        value = self.check(raw, None)
        items = value if isinstance(value, tuple) else () if value is None else (value,)
        for item in items:
            if self.cap is not None:
                reader.cap(item, self.cap, self.name)
        return value


class PadPair(SpatialTuple):
    """``ZeroPadding1D.padding`` / ``Cropping1D.cropping``: an int or two non-negative ints
    ``(before, after)``."""

    def __init__(self, default: Any, doc: str = ""):
        super().__init__(default, min=0, doc=doc)

    @property
    def expected(self) -> str:
        return "a non-negative integer or a tuple of 2 non-negative integers"

    def validate(self, value: Any, owner: Any) -> tuple:
        if _is_int(value):
            if value < 0:
                raise self.fail(value, owner)
            return (int(value),) * 2
        out = P.IntTuple.validate(self, value, owner) if isinstance(value, (list, tuple)) \
            else None
        if out is None or len(out) != 2:
            raise self.fail(value, owner)
        return out


class PadPairs(P.IntTuple):
    """``ZeroPadding2D/3D.padding``, ``Cropping2D/3D.cropping``: an int (every side), a tuple
    of ``rank`` ints (symmetric per axis) or of ``rank`` pairs ``(before, after)``, all
    non-negative; kept (and written) as ``rank`` pairs, as Keras keeps it."""

    def __init__(self, rank: int, default: Any, doc: str = ""):
        super().__init__(default, min=0, doc=doc)
        self.rank = rank

    @property
    def expected(self) -> str:
        n = self.rank
        return (f"a non-negative integer, a tuple of {n} non-negative integers, or a tuple "
                f"of {n} tuples of 2 non-negative integers")

    def validate(self, value: Any, owner: Any) -> tuple:
        if _is_int(value):
            if value < 0:
                raise self.fail(value, owner)
            return ((int(value),) * 2,) * self.rank
        if not isinstance(value, (list, tuple)) or len(value) != self.rank:
            raise self.fail(value, owner)                       # Keras: a ValueError
        pairs = []
        for item in value:
            if _is_int(item) and item >= 0:
                pairs.append((int(item),) * 2)
            elif isinstance(item, (list, tuple)) and len(item) == 2 and all(
                    _is_int(v) and v >= 0 for v in item):
                pairs.append((int(item[0]), int(item[1])))
            else:
                raise self.fail(value, owner)
        return tuple(pairs)

    def dump(self, value: Any) -> Any:
        return tuple(tuple(pair) for pair in value)

    def load(self, raw: Any, reader: Any) -> Any:
        value = self.check(raw, None)
        for pair in value:
            for item in pair:
                if self.cap is not None:
                    reader.cap(item, self.cap, self.name)
        return value


def output_length(n: int | None, k: int, s: int, d: int, padding: str) -> int | None:
    """Steps of a convolution / pooling output along one axis of n steps (None stays None):
    "valid" ``floor((n - (k - 1) d - 1) / s) + 1`` (may be <= 0), "same" and "causal"
    ``ceil(n / s)``."""
    if n is None:
        return None
    if padding == "valid":
        return (n - (k - 1) * d - 1) // s + 1
    return -(-n // s)


def data_format_param() -> P.Choice:
    """``data_format``: "channels_last", "channels_first" or None (the configured
    ``image_data_format()``), case-insensitive."""
    return P.Choice(None, ("channels_last", "channels_first", None), lower=True)


def resolve_data_format(value: str | None) -> str:
    """Keras's ``standardize_data_format``: None is ``image_data_format()``."""
    if value is None:
        from rnnlens.backend import image_data_format

        return image_data_format()
    return value


class SpatialLayer(Layer):
    """Base of the layers on ``(B, *spatial, C)`` / ``(B, C, *spatial)`` inputs.

    Class attributes:
        rank: the number of spatial axes.
        config_order: Keras's order of the config keys where it differs from the
            signature's (``get_config`` follows it).
        keras2_defaults: values for keys that Keras 2 files may omit: a class with a
            ``data_format`` gets ``{"data_format": "channels_last"}`` (Keras <= 2.2 wrote
            none for 1-D layers, which were always channels-last; a missing key must not
            fall back to a configured ``image_data_format()``).
    """

    registered = False
    rank = 1
    config_order: tuple[str, ...] = ()
    keras2_defaults: dict[str, Any] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "keras2_defaults" not in cls.__dict__:
            cls.keras2_defaults = {"data_format": "channels_last"} \
                if "data_format" in cls._params else {}

    def _kind(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    @property
    def channel_axis(self) -> int:
        return -1 if getattr(self, "data_format", "channels_last") == "channels_last" else 1

    def spatial_axes(self) -> tuple[int, ...]:
        start = 1 if self.channel_axis == -1 else 2
        return tuple(range(start, start + self.rank))

    def check_rank(self, shape: Any) -> None:
        """A single input of rank ``rank + 2``, or a ValueError naming the expected axes."""
        if not isinstance(shape, tuple):
            raise ValueError(f"{self._kind()} expects a single input, received shapes {shape}.")
        if len(shape) != self.rank + 2:
            axes = ", ".join(["batch", *(["steps"] if self.rank == 1 else
                                         [f"dim{i + 1}" for i in range(self.rank)])])
            where = f"({axes}, channels)" if self.channel_axis == -1 else \
                f"(batch, channels, {axes.split(', ', 1)[1]})"
            raise ValueError(f"Input 0 of {self._kind()} is incompatible with the layer: "
                             f"expected ndim={self.rank + 2} {where}, found ndim={len(shape)}. "
                             f"Full shape received: {shape}")

    def get_config(self) -> dict:
        """Keras's config in Keras's key order: the base entries (name, trainable, dtype,
        then activity_regularizer when set, as Keras's ``Layer.get_config`` puts it),
        ``config_order``, then the other declared arguments."""
        config = drop_keras2_keys(self, super().get_config())
        first = ["name", "trainable", "dtype"]
        if config.get("activity_regularizer") is not None:
            first.append("activity_regularizer")
        keys = first + [k for k in self.config_order if k in config]
        keys += [k for k in config if k not in keys]
        return {k: config[k] for k in keys}


class Keras2Key(P.Param):
    """A config key that Keras 2 (tf_keras) writes for this class and Keras 3 does not
    have: accepted from files (with ``only`` as its one allowed value, if given) and
    ignored; never written by ``get_config``."""

    _ANY = object()

    def __init__(self, only: Any = _ANY, doc: str = ""):
        super().__init__(None, doc=doc)
        self.only = only

    def check(self, value: Any, owner: Any = None) -> Any:
        if self.only is not self._ANY and value is not None and value != self.only:
            where = f" for {type(owner).__name__}" if owner is not None else ""
            raise ValueError(f"Received {self.name}={value!r}{where}: Keras 3 has no such "
                             f"argument, and Keras 2's value {self.only!r} is the only one "
                             "rnnlens accepts from a Keras 2 file.")
        return value


def drop_keras2_keys(layer: Layer, config: dict) -> dict:
    """``config`` without the layer's :class:`Keras2Key` entries."""
    hidden = [k for k, p in type(layer)._params.items() if isinstance(p, Keras2Key)]
    return {k: v for k, v in config.items() if k not in hidden}


__all__ = ["SpatialTuple", "PadPair", "PadPairs", "output_length", "data_format_param",
           "resolve_data_format", "SpatialLayer", "Keras2Key", "drop_keras2_keys"]
