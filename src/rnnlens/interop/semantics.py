"""Which Keras a model file came from, and the definitions that Keras computed with.

A model loaded from a file computes what the Keras that saved it computed. Where a
definition changed between Keras versions, the loader records the choice on each
layer (``Layer.apply_semantics``) and lists it in ``model.keras_file_info``:

============================  ===============================  =========================
definition                    Keras 2 (standalone, tf.keras)    Keras 3
============================  ===============================  =========================
``hard_sigmoid``              ``clip(0.2 x + 0.5, 0, 1)``       ``relu6(x + 3) / 6``
merge layers with masks       AND of the masks, values kept     OR (>= 3.4); masked
                              (also Keras 3.0 - 3.3)            values in Multiply /
                                                                Maximum / Minimum
GRU without ``reset_after``   reset before (Keras <= 2.1.4)     reset after
Bidirectional + mask,         standalone Keras 2: forward half  both halves 0 (tf.keras
``return_sequences``          carries its last output           too)
mask of an RNN call that      used                              dropped (spec 10.1)
also gets ``initial_state``
leading masked steps with a   standalone Keras <= 2.2.5: h0     0
non-zero initial state
Conv1D / 1-D pooling without  channels_last                     ``image_data_format()``
``data_format``
============================  ===============================  =========================

The version comes from the file (``keras_version`` of a legacy ``.h5``,
``metadata.json`` of a ``.keras``, ``keras_metadata.pb`` of a SavedModel);
``load_model(path, semantics=...)`` overrides it with ``"keras3"``, ``"tf.keras"``,
``"keras2"`` or a version such as ``"2.2.4"``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Semantics:
    """The definitions a loaded model computes with.

    Attributes:
        flavor: ``"keras3"``, ``"tf.keras"`` (TensorFlow's Keras 2) or ``"keras2"``
            (standalone Keras 2.x).
        version: the saving Keras version as a tuple, or None when unknown.
        source: where the choice came from (for ``rnnlens inspect``).
    """

    flavor: str
    version: tuple[int, ...] | None
    source: str

    @property
    def label(self) -> str:
        ver = ".".join(map(str, self.version)) if self.version else "unknown version"
        return {"keras3": "Keras", "tf.keras": "tf.keras", "keras2": "Keras"}[self.flavor] + \
            f" {ver}"

    @property
    def keras2(self) -> bool:
        """Standalone Keras 2 or tf.keras."""
        return self.flavor != "keras3"

    @property
    def hard_sigmoid(self) -> str:
        return "keras2" if self.keras2 else "keras3"

    @property
    def merge_masks(self) -> str:
        if self.keras2 or (self.version is not None and self.version < (3, 4)):
            return "and"
        return "or"

    @property
    def bidirectional_zero_output(self) -> bool:
        """tf.keras and Keras 3 force ``zero_output_for_mask`` in Bidirectional."""
        return self.flavor != "keras2"

    @property
    def masked_output_from_state(self) -> bool:
        """Standalone Keras <= 2.2.5: a masked step outputs the previous state h."""
        return self.flavor == "keras2" and (self.version is None or
                                            self.version <= (2, 2, 5))


KERAS3 = Semantics("keras3", None, "rnnlens's default (Keras 3.15.1)")


def _parse(text: str) -> tuple[tuple[int, ...] | None, bool]:
    match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    if not match:
        return None, False
    version = tuple(int(g) for g in match.groups() if g is not None)
    return version, "-tf" in text or "tf" in text[match.end():]


def detect(keras_version: Any, where: str) -> Semantics:
    """The semantics of a file whose saving Keras wrote ``keras_version`` (or None)."""
    if isinstance(keras_version, bytes):
        keras_version = keras_version.decode("utf-8", "replace")
    if not isinstance(keras_version, str) or not keras_version.strip():
        return Semantics("keras2", None, f"{where} records no Keras version (Keras 2 "
                                         "assumed)") if where.startswith("legacy") else KERAS3
    version, tf = _parse(keras_version)
    if version is None:
        return Semantics("keras3", None, f"{where}: unreadable version {keras_version!r:.40}")
    source = f"{where}: keras_version {keras_version[:20]}"
    if version >= (3,):
        return Semantics("keras3", version, source)
    if tf or version >= (2, 4):
        return Semantics("tf.keras", version, source)
    return Semantics("keras2", version, source)


def named(choice: Any) -> Semantics:
    """A user's override: ``"keras3"``, ``"tf.keras"``, ``"keras2"`` or a version."""
    if choice in ("keras3", "tf.keras", "keras2"):
        version = {"keras3": None, "tf.keras": (2, 15), "keras2": (2, 3, 1)}[choice]
        return Semantics(choice, version, f"semantics={choice!r} given to load_model")
    if isinstance(choice, str) and _parse(choice)[0] is not None:
        found = detect(choice, "semantics given to load_model")
        return found
    raise ValueError(f"Received semantics={choice!r}; expected 'keras3', 'tf.keras', 'keras2' "
                     "or a Keras version such as '2.2.4'.")


__all__ = ["Semantics", "KERAS3", "detect", "named"]
