"""docs/layers.md lists every layer class Keras 3.15.1 exports and what rnnlens does with it.

The table is computed here from the code: whether ``rnnlens.layers`` has the class,
whether it has a hand-written backward pass (so models containing it train), and
whether ONNX export and PyTorch conversion take it (their emitter / converter
tables). A layer rnnlens lacks must have a reason in ``UNSUPPORTED``. Set
``RNNLENS_UPDATE_DOCS=1`` to rewrite the page after adding layers.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from oracle import keras_available

DOC = Path(__file__).resolve().parent.parent / "docs" / "layers.md"

#: Keras layers rnnlens does not provide, and why.
UNSUPPORTED = {
    "FlaxLayer": "wraps a JAX / Flax module: it runs another framework's code",
    "JaxLayer": "wraps a JAX function: it runs another framework's code",
    "TorchModuleWrapper": "wraps a torch.nn.Module: it runs another framework's code "
                          "(rnnlens.interop.from_torch converts recurrent modules instead)",
    "TFSMLayer": "wraps a TensorFlow SavedModel's graph functions: it runs TensorFlow "
                 "(rnnlens.models.load_model reads Keras SavedModels instead)",
}

HEADER = ("| Keras layer | rnnlens | trains (backward) | ONNX export | PyTorch (`to_torch`) |\n"
          "|---|---|---|---|---|")


def keras_layer_classes(K: Any) -> list[str]:
    names = []
    for name in sorted(dir(K.layers)):
        obj = getattr(K.layers, name)
        if isinstance(obj, type) and issubclass(obj, K.layers.Layer) and name != "Layer":
            names.append(name)
    return names


def table(K: Any) -> str:
    import rnnlens
    from rnnlens.interop.onnx.export import emitters
    from rnnlens.interop.torch.model import converters
    from rnnlens.layers.base import Layer

    onnx, torch = set(emitters()), set(converters())
    rows = []
    for name in keras_layer_classes(K):
        cls = getattr(rnnlens.layers, name, None)
        if not isinstance(cls, type):
            rows.append(f"| `{name}` | no: {UNSUPPORTED.get(name, '?')} | | | |")
            continue
        trains = "yes" if cls.backward is not Layer.backward else "—"
        rows.append(f"| `{name}` | yes | {trains} | {'yes' if cls in onnx else '—'} | "
                    f"{'yes' if cls in torch else '—'} |")
    return "\n".join([HEADER, *rows])


@pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 is not importable")
def test_every_missing_layer_has_a_reason() -> None:
    import keras

    import rnnlens

    missing = [n for n in keras_layer_classes(keras) if not hasattr(rnnlens.layers, n)]
    assert sorted(missing) == sorted(n for n in UNSUPPORTED if n in missing), (
        f"Keras layers rnnlens lacks without a reason in UNSUPPORTED: "
        f"{sorted(set(missing) - set(UNSUPPORTED))}")


@pytest.mark.skipif(not keras_available(), reason="Keras 3.15.1 is not importable")
def test_doc_table_is_current() -> None:
    import keras

    want = table(keras)
    text = DOC.read_text() if DOC.exists() else ""
    if os.environ.get("RNNLENS_UPDATE_DOCS") == "1":
        pattern = re.escape(HEADER.splitlines()[0]) + r".*?(?=\n\n|\n?\Z)"
        text = re.sub(pattern, want, text, count=1, flags=re.S) if HEADER.splitlines()[0] \
            in text else text + "\n" + want + "\n"
        DOC.write_text(text)
    assert want in text, ("docs/layers.md is out of date (RNNLENS_UPDATE_DOCS=1 rewrites "
                          "it); its table should read:\n" + want)
