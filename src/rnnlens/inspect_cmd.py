"""``rnnlens inspect FILE`` and ``rnnlens predict FILE INPUT``."""

from __future__ import annotations

import os
import sys
from typing import Any

import numpy as np


def describe_outputs(model: Any) -> list[list[str]]:
    """One row per model output: name, shape, and whether it is a sequence or a state."""
    from rnnlens.layers import RNN, Bidirectional
    from rnnlens.layers.base import format_shape

    rows = []
    for k, t in enumerate(model.outputs):
        layer, index = t.layer, t.tensor_index
        kind = "sequence: one output per step" if _per_step(t, {}) else "tensor"
        if isinstance(layer, (RNN, Bidirectional)):
            n_heads = 2 if isinstance(layer, Bidirectional) and layer.merge_mode is None else 1
            if index < n_heads:
                kind = ("sequence: an output at every step" if layer.return_sequences
                        else "last output (the final hidden state)")
            else:
                kind = "state: " + _state_name(layer, index - n_heads)
        rows.append([f"output {k}", f"{layer.name}[{index}]", format_shape(t.shape), kind])
    return rows


def _per_step(t: Any, memo: dict) -> bool:
    """Whether symbolic tensor ``t`` holds one value per time step of a sequence.

    Sources are recurrent layers with ``return_sequences`` and ``TimeDistributed``; a
    layer whose output keeps the rank and axis 1 of a per-step input (``Dense`` on
    (B, T, u), ``Activation``, ``Concatenate``, ...) passes it on; nested models are
    followed to their own outputs.
    """
    from rnnlens.layers import RNN, Bidirectional, InputLayer, TimeDistributed

    key = id(t)
    if key in memo:
        return memo[key]
    memo[key] = False                                   # cycles cannot occur; be safe
    layer = t.layer
    if isinstance(layer, (RNN, Bidirectional)):
        n_heads = 2 if isinstance(layer, Bidirectional) and layer.merge_mode is None else 1
        found = bool(layer.return_sequences) and t.tensor_index < n_heads
    elif isinstance(layer, TimeDistributed):
        found = True
    elif isinstance(layer, InputLayer):
        found = False
    elif hasattr(layer, "outputs") and getattr(layer, "layers", None) is not None:
        inner = list(layer.outputs or [])
        found = t.tensor_index < len(inner) and _per_step(inner[t.tensor_index], memo)
    else:
        found = any(_per_step(src, memo) and src.ndim == t.ndim and t.ndim >= 3
                    and src.shape[1] == t.shape[1] for src in t.node.input_tensors)
    memo[key] = found
    return found


def _state_name(layer: Any, k: int) -> str:
    from rnnlens.layers import Bidirectional

    sub = layer.forward_layer if isinstance(layer, Bidirectional) else layer
    names = list(getattr(sub, "state_names", None) or
                 [f"s{j}" for j in range(len(sub.cell.state_size))])
    direction = ""
    if isinstance(layer, Bidirectional):
        direction = " (forward)" if k < len(names) else " (backward)"
        k %= len(names)
    meaning = {"h": "final hidden state h", "c": "final cell state c"}
    return meaning.get(names[k], names[k]) + direction


def describe_file(model: Any) -> list[str]:
    """Which Keras saved the file, and every definition chosen for that version."""
    info = getattr(model, "keras_file_info", None)
    if not info:
        return []
    version = info.get("keras_version")
    version = ".".join(map(str, version)) if version else "unknown"
    flavor = {"keras3": "Keras 3", "tf.keras": "tf.keras (Keras 2 in TensorFlow)",
              "keras2": "standalone Keras 2"}.get(info.get("semantics"), "?")
    lines = [f"Saved by: {flavor}, version {version} ({info.get('source')})."]
    choices = info.get("choices") or []
    if choices:
        lines.append("Computed with that version's definitions:")
        lines += [f"  - {c}" for c in choices]
    else:
        lines.append("No definition this model uses differs from Keras 3.15.1's.")
    return lines


def inspect(path: str, semantics: str | None = None) -> int:
    from rnnlens.models import load_model
    from rnnlens.tour import table

    model = load_model(path, semantics=semantics)
    for line in describe_file(model):
        print(line)
    print()
    model.summary()
    print("\nInputs: " + ", ".join(f"{t.name} {t.shape} {t.dtype}" for t in model.inputs))
    print("Outputs:")
    for line in table(describe_outputs(model), ["", "from", "shape", "what it is"]):
        print(line)
    return 0


def _load_input(path: str, model: Any) -> Any:
    if not os.path.exists(path):
        raise ValueError(f"Input file {path} does not exist.")
    data = np.load(path, allow_pickle=False)        # never unpickle
    if isinstance(data, np.ndarray):
        return data
    with data:
        names = [t.name for t in model.inputs]
        if all(n in data.files for n in names):
            return [data[n] for n in names]
        if len(data.files) == len(names):
            return [data[f] for f in data.files]
        raise ValueError(f"{path} holds arrays {data.files}; the model's inputs are {names}.")


def predict(path: str, input_path: str, output: str | None, batch_size: int,
            semantics: str | None = None) -> int:
    from rnnlens.models import load_model

    model = load_model(path, semantics=semantics)
    x = _load_input(input_path, model)
    verbose = 1 if sys.stdout.isatty() or output else 0
    result = model.predict(x, batch_size=batch_size, verbose=verbose)
    outs = result if isinstance(result, (list, tuple)) else [result]
    names = [f"output_{k}_{t.layer.name}_{t.tensor_index}"    # unique, and says whence
             for k, t in enumerate(model.outputs)]
    if output:
        np.savez(output, **dict(zip(names, outs)))
        print(f"wrote {len(outs)} output(s) to {output}: " +
              ", ".join(f"{n} {o.shape}" for n, o in zip(names, outs)))
    else:
        with np.printoptions(precision=5, suppress=True, threshold=200):
            for n, o in zip(names, outs):
                print(f"{n} {o.shape}:\n{o}")
    return 0
