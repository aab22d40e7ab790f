"""What the image preprocessing layers share (Keras 3.15.1's
``BaseImagePreprocessingLayer``): the call protocol, factor ranges, random draws, and the
backward pass.

A call ``layer(data, training=True)`` (Keras's default for these layers: an eager call
augments; ``predict`` / ``evaluate`` pass ``training=False``) does::

    transformation = layer.get_random_transformation(data, training)
    images = layer.transform_images(images, transformation, training)

``data`` is an image batch ``(B, H, W, C)`` (``(B, C, H, W)`` channels-first), a single
image (rank 3: transformed as a batch of one), or a dict with ``"images"`` and any of
``"labels"``, ``"segmentation_masks"`` and ``"bounding_boxes"``, each transformed by
``transform_labels`` / ``transform_segmentation_masks`` / ``transform_bounding_boxes``
with the same transformation. The transformation is a dict of NumPy arrays with
Keras's keys, so a transformation drawn by Keras's layer reproduces its output exactly.

Random draws use the layer's own NumPy generator (from ``seed``) or
``rnnlens.random.generator()``; TensorFlow's stateless draws cannot be reproduced, so the
distributions agree but the numbers differ.

Factors (Keras's ``_set_factor``): a number ``f`` in ``[lo, hi]`` stands for
``(max(-|f|, lo), |f|)``, a pair is sorted; the config keeps the pair.

Backward: the identity where the call changed nothing (inference); deterministic
layers (``Rescaling``, ``Resizing``, ``CenterCrop``, ...) define their own. A random
transformation in training has no backward in rnnlens: it is refused when a layer with
trainable weights lies upstream (its gradient would be needed); otherwise (augmentation
at the input, as Keras recommends) no gradient flows to the input, as in Keras's ``fit``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnlens import params as P
from rnnlens.layers.base import Layer, to_float_array

F32 = np.float32


class lazy:
    """A module imported on first attribute access (``rnnlens.ops`` stays out of
    ``import rnnlens``)."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        import importlib

        return getattr(importlib.import_module(self._name), attr)


class DataFormat(P.Choice):
    """``data_format``: None is ``image_data_format()`` at construction (Keras stores the
    resolved value in its config)."""

    def __init__(self) -> None:
        super().__init__(None, ("channels_last", "channels_first", None), lower=True)

    def check(self, value: Any, owner: Any = None) -> Any:
        value = super().check(value, owner)
        if value is None:
            from rnnlens.backend import image_data_format

            return image_data_format()
        return value


BOX_FORMATS = ("xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx",
               "rel_xywh", "rel_center_xywh")


def box_format() -> P.Param:
    """``bounding_box_format`` (a keyword of every image layer; in the config when set)."""
    return P.Choice(None, (*BOX_FORMATS, None), lower=True)


def _num(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


class Range(P.Param):
    """A factor stored as ``(lower, upper)`` (see the module docstring).

    Args:
        bounds: the allowed ``(lo, hi)``.
        number: how a number ``f`` expands: "sym" ``(max(-|f|, lo), |f|)``, "free"
            ``(-|f|, |f|)`` (``RandomShear``), "zero" ``(0, f)`` (``Solarization``).
        strict: check both items of a pair against the bounds (else Keras's base check
            ``pair[0] <= hi and pair[1] >= lo``).
        pair_bounds: the bounds of a pair's items when they differ from a number's
            (``RandomShear`` writes ``(-f, f)`` to its config and must read it back).
    """

    def __init__(self, default: Any = P.REQUIRED, bounds: tuple = (-1, 1), *,
                 number: str = "sym", strict: bool = False, pair_bounds: tuple | None = None,
                 doc: str = ""):
        super().__init__(default, doc=doc)
        self.bounds, self.number, self.strict = bounds, number, strict
        self.pair_bounds = pair_bounds or bounds

    @property
    def expected(self) -> str:
        return (f"a number (or a list of two numbers) in the range [{self.bounds[0]}, "
                f"{self.bounds[1]}]")

    def validate(self, value: Any, owner: Any) -> tuple:
        lo, hi = self.bounds
        if isinstance(value, (tuple, list)):
            if len(value) != 2 or not all(_num(v) for v in value):
                raise self.fail(value, owner)
            plo, phi = self.pair_bounds
            bad = (any(v < plo or v > phi for v in value) if self.strict
                   else value[0] > hi or value[1] < lo)
            if bad:
                raise self.fail(value, owner)
            a, b = sorted(value)
            return (a, b)
        if not _num(value) or value < lo or value > hi:
            raise self.fail(value, owner)
        if self.number == "zero":
            return (0, value)
        f = abs(value)
        return (-f, f) if self.number == "free" else (max(-f, lo), f)

    def dump(self, value: Any) -> Any:
        return tuple(value)


class ValueRange(P.Param):
    """``value_range``: two numbers; ``sort`` stores them sorted as a list (Keras's
    ``_set_value_range``), else as given."""

    expected = "a list of two numbers"

    def __init__(self, default: Any = (0, 255), *, sort: bool = True):
        super().__init__(default)
        self.sort = sort

    def validate(self, value: Any, owner: Any) -> Any:
        if not isinstance(value, (tuple, list)) or len(value) != 2 or \
                not all(_num(v) for v in value):
            raise self.fail(value, owner)
        return sorted(value) if self.sort else value

    def dump(self, value: Any) -> Any:
        return value


class Number(P.Param):
    """A finite number kept as given (int or float), as Keras keeps ``fill_value``."""

    expected = "a number"

    def validate(self, value: Any, owner: Any) -> Any:
        if not _num(value) or not np.isfinite(float(value)):
            raise self.fail(value, owner, error=TypeError if not _num(value) else ValueError)
        return value


def interpolation_param(default: str = "bilinear") -> P.Param:
    return P.Choice(default, ("nearest", "bilinear"))


def fill_mode_param(default: str = "reflect",
                    modes: tuple = ("reflect", "wrap", "constant", "nearest")) -> P.Param:
    return P.Choice(default, modes)


class ImageLayer(Layer):
    """Base of the image preprocessing layers (not registered; see the module docstring).

    Class attributes:
        config_order: Keras's ``get_config`` keys after ``data_format`` (and
            ``bounding_box_format``), in its order.
        channels: the channel count the layer needs (3 for color layers), or None.
    """

    registered = False
    config_order: tuple[str, ...] = ()
    channels: int | None = None
    interpolation = "bilinear"

    def __post_init__(self) -> None:
        seed = getattr(self, "seed", None)
        self._rng = np.random.default_rng(seed) if seed is not None else None

    # -- config ---------------------------------------------------------------------
    def get_config(self) -> dict:
        config = super().get_config()
        out = {k: config[k] for k in ("name", "trainable", "dtype")}
        if "data_format" in config:
            out["data_format"] = config["data_format"]
        if config.get("bounding_box_format") is not None:
            out["bounding_box_format"] = config["bounding_box_format"]
        out.update({k: config[k] for k in self.config_order})
        return out

    # -- axes -----------------------------------------------------------------------
    @property
    def height_axis(self) -> int:
        return -2 if self.data_format == "channels_first" else -3

    @property
    def width_axis(self) -> int:
        return -1 if self.data_format == "channels_first" else -2

    @property
    def channel_axis(self) -> int:
        return -3 if self.data_format == "channels_first" else -1

    def _kind(self) -> str:
        return f"Layer '{self.name}' ({type(self).__name__})"

    # -- random draws ---------------------------------------------------------------
    def _generator(self, seed: Any = None) -> np.random.Generator:
        if isinstance(seed, np.random.Generator):
            return seed
        if seed is not None and not isinstance(seed, bool) and isinstance(seed, (int,
                                                                                np.integer)):
            return np.random.default_rng(int(seed))
        if self._rng is not None:
            return self._rng
        from rnnlens.random import generator

        return generator()

    @staticmethod
    def uniform(rng: np.random.Generator, shape: Any, lo: float = 0.0,
                hi: float = 1.0) -> np.ndarray:
        """``U[lo, hi)`` in float32, as ``u (hi - lo) + lo``."""
        u = rng.random(shape, dtype=F32)
        return (u * (F32(hi) - F32(lo)) + F32(lo)).astype(F32)

    # -- inputs ---------------------------------------------------------------------
    def convert_inputs(self, inputs: Any) -> Any:
        if isinstance(inputs, dict):
            unknown = set(inputs) - {"images", "labels", "segmentation_masks",
                                     "bounding_boxes"}
            if "images" not in inputs or unknown:
                raise ValueError(f"{self._kind()} takes a dict with 'images' and any of "
                                 "'labels', 'segmentation_masks', 'bounding_boxes'; received "
                                 f"keys {sorted(inputs)}.")
            out = dict(inputs)
            out["images"] = self._images(inputs["images"])
            for key in ("labels", "segmentation_masks"):
                if key in out:
                    out[key] = to_float_array(out[key], f"{key} of layer '{self.name}'")
            return out
        return self._images(inputs)

    def _images(self, images: Any) -> np.ndarray:
        return to_float_array(images, f"input to layer '{self.name}'")

    def check_input_shape(self, shape: Any, source: Any = None) -> None:
        if not isinstance(shape, tuple) or len(shape) not in (3, 4):
            raise ValueError(f"{self._kind()} expects an image (rank 3) or a batch of images "
                             f"(rank 4), received shape {shape}.")
        if self.channels is not None and shape[self.channel_axis] not in (None,
                                                                          self.channels):
            raise ValueError(f"{self._kind()} expects {self.channels} channels on axis "
                             f"{self.channel_axis} ({self.data_format}), received shape "
                             f"{shape}.")
        if any(d == 0 for d in shape[1:] if d is not None):
            raise ValueError(f"{self._kind()} received empty images of shape {shape}.")

    def eager_call(self, inputs: Any, **kwargs: Any) -> Any:
        data = self.convert_inputs(inputs)
        shape = tuple((data["images"] if isinstance(data, dict) else data).shape)
        self.check_input_shape(shape)
        self.maybe_build(shape)
        return self.call(data, **kwargs)

    # -- the call protocol ----------------------------------------------------------
    def get_random_transformation(self, data: Any, training: bool = True,
                                  seed: Any = None) -> Any:
        return None

    def transform_images(self, images: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        images = images.astype(F32, copy=False)
        if training:
            images = self._transform_images(images, transformation, self.interpolation)
        return images

    def _transform_images(self, images: np.ndarray, transformation: Any,
                          interpolation: str) -> np.ndarray:
        raise NotImplementedError

    def transform_labels(self, labels: np.ndarray, transformation: Any,
                         training: bool = True) -> np.ndarray:
        return labels

    def transform_segmentation_masks(self, masks: np.ndarray, transformation: Any,
                                     training: bool = True) -> np.ndarray:
        if training:
            masks = self._transform_images(masks, transformation, "nearest")
        return masks

    def transform_bounding_boxes(self, boxes: Any, transformation: Any,
                                 training: bool = True) -> Any:
        raise ValueError(f"{self._kind()}: rnnlens does not transform bounding boxes with "
                         f"{type(self).__name__} (only MaxNumBoundingBoxes takes them); pass "
                         "'images' with 'labels' / 'segmentation_masks'.")

    def _rank_batch(self, images: np.ndarray) -> int:
        if images.ndim not in (3, 4):
            raise ValueError("Expected image tensor to have rank 3 (single image) or 4 (batch "
                             f"of images). Received: data.shape={images.shape}")
        return images.ndim

    def _apply(self, fn: Any, value: np.ndarray, transformation: Any, training: bool,
               batched: bool) -> np.ndarray:
        if batched:
            return fn(value, transformation, training=training)
        return fn(value[None], transformation, training=training)[0]

    def call(self, inputs: Any, training: bool = True, mask: Any = None) -> Any:
        return self._run(inputs, training)[0]

    def _run(self, data: Any, training: Any) -> tuple[Any, Any]:
        training = True if training is None else bool(training)
        images = data["images"] if isinstance(data, dict) else data
        batched = self._rank_batch(images) == 4
        transformation = self.get_random_transformation(data, training=training)
        if not isinstance(data, dict):
            return self._apply(self.transform_images, data, transformation, training,
                               batched), transformation
        out = dict(data)
        out["images"] = self._apply(self.transform_images, images, transformation, training,
                                    batched)
        if "bounding_boxes" in data:
            if getattr(self, "bounding_box_format", None) is None:
                raise ValueError("You passed an input with a 'bounding_boxes' key, but you "
                                 "didn't specify a bounding box format. Pass a "
                                 f"`bounding_box_format` argument to your "
                                 f"{type(self).__name__} layer, e.g. "
                                 "`bounding_box_format='xyxy'`.")
            out["bounding_boxes"] = self.transform_bounding_boxes(
                dict(data["bounding_boxes"]), transformation, training=training)
        if "labels" in data:
            out["labels"] = self._apply(self.transform_labels, data["labels"],
                                        transformation, training, batched)
        if "segmentation_masks" in data:
            out["segmentation_masks"] = self._apply(
                self.transform_segmentation_masks, data["segmentation_masks"],
                transformation, training, batched)
        return out, transformation

    # -- training -------------------------------------------------------------------
    def changes_input(self, training: bool) -> bool:
        """Whether a call in this mode may change the images (random layers: training)."""
        return bool(training)

    def forward(self, inputs: Any, training: bool = True, mask: Any = None
                ) -> tuple[Any, Any]:
        out, transformation = self._run(inputs, training)
        cache = None if not self.changes_input(training) else \
            (inputs, transformation, bool(training))
        return out, cache

    def backward(self, cache: Any, d_out: Any) -> tuple[Any, dict, list]:
        if cache is None:
            return d_out, {}, []
        return self.input_gradient(cache, d_out), {}, []

    def input_gradient(self, cache: Any, d_out: np.ndarray) -> Any:
        """dL/d images of a call that changed them (see the module docstring)."""
        if _upstream_trainable(self):
            raise ValueError(f"{self._kind()} applies a random transformation in training "
                             "and rnnlens has no backward pass through it, but a layer with "
                             "trainable weights precedes it. Put the augmentation layers at "
                             "the model's input (as Keras recommends), or augment the data "
                             "before fit.")
        return None

    def compute_output_shape(self, input_shape: Any, **kwargs: Any) -> Any:
        return input_shape


def _upstream_trainable(layer: Layer) -> bool:
    """Whether any layer feeding ``layer`` (in any graph it is part of) has trainable
    weights."""
    seen: set[int] = set()
    stack = [t for node in getattr(layer, "_inbound_nodes", []) for t in node.input_tensors]
    while stack:
        t = stack.pop()
        src = t.layer
        if id(src) in seen:
            continue
        seen.add(id(src))
        if getattr(src, "trainable_weights", None):
            return True
        node = t.node
        stack.extend(node.input_tensors)
    return False


__all__ = ["lazy", "ImageLayer", "DataFormat", "Range", "ValueRange", "Number", "box_format",
           "interpolation_param", "fill_mode_param", "BOX_FORMATS"]
