"""``rnnlens explain MODEL_FILE [INPUT] -o page.html`` and ``rnnlens tour --html page.html``.

The model file is loaded safely (``rnnlens.models.load_model``: nothing in it
runs). INPUT is a ``.npy`` (one input; memory-mapped, so only the traced rows
are read) or an ``.npz`` with one array per input name (or, failing names, in
input order). Without INPUT the page explains a random input of the model's
input shapes: standard-normal floats (integer inputs: ids in [0, the smallest
``Embedding.input_dim`` of the model) or [0, 2)), ``RANDOM_SAMPLES`` samples
and ``--steps`` steps where the time axis is not fixed; the page says so.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

RANDOM_SAMPLES = 8
RANDOM_STEPS = 20


def load_input(path: str, model: Any) -> Any:
    """The arrays of an .npy / .npz input file (never unpickled)."""
    if not os.path.isfile(path):
        raise ValueError(f"input file {path} does not exist (or is not a file).")
    names = [t.name for t in model.inputs]
    try:
        data = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"{path} is not a NumPy .npy / .npz file without objects: {err}") \
            from None
    if isinstance(data, np.ndarray):
        if len(names) != 1:
            raise ValueError(f"the model has {len(names)} inputs {names}; pass an .npz with "
                             "one array per input name.")
        return data
    with data:
        if all(n in data.files for n in names):
            return [data[n] for n in names]
        if len(data.files) == len(names):
            return [data[f] for f in data.files]
        raise ValueError(f"{path} holds arrays {data.files}; the model's inputs are {names}.")


def random_input(model: Any, samples: int, steps: int, seed: int) -> tuple[list, str]:
    """Random data of the model's input shapes, and the sentence that says what it is."""
    rng = np.random.default_rng(seed)
    vocab = [int(layer.input_dim) for layer in model.layers
             if type(layer).__name__ == "Embedding"]
    arrays, shapes = [], []
    for t in model.inputs:
        dims = [samples] + [steps if d is None and k == 1 else (1 if d is None else int(d))
                            for k, d in enumerate(t.shape[1:], 1)]
        if "int" in str(t.dtype):
            arrays.append(rng.integers(0, min(vocab) if vocab else 2, size=dims))
        else:
            arrays.append(rng.standard_normal(dims).astype(np.float32))
        shapes.append(f"{t.name} {tuple(dims)}")
    text = (f"x is random (no input file was given): standard-normal values (integer inputs: "
            f"random ids) of shape {', '.join(shapes)}, seed {seed}.")
    return arrays, text


def explain_file(model_path: str, input_path: str | None, output: str | None, *,
                 max_samples: int, max_steps: int, max_units: int, sample: Any = None,
                 seed: int = 0, steps: int = RANDOM_STEPS, semantics: str | None = None,
                 attribution: bool = True) -> str:
    """Writes the page for a model file; returns the line to print."""
    from rnnlens.explain.build import explain
    from rnnlens.models import load_model

    model = load_model(model_path, semantics=semantics)
    notes = [f"Model file: {os.path.basename(model_path)}."]
    if input_path is None:
        x, text = random_input(model, min(max_samples, RANDOM_SAMPLES), steps, seed)
        notes.append(text)
    else:
        x = load_input(input_path, model)
        notes.append(f"Input file: {os.path.basename(input_path)}.")
    page = explain(model, x, sample=sample, max_samples=max_samples, max_steps=max_steps,
                   max_units=max_units, notes=notes, attribution=attribution)
    if output is None:
        output = os.path.splitext(os.path.basename(model_path.rstrip("/\\")))[0] + ".html"
    page.save(output)
    return f"wrote {output} ({page.size / 1e6:.2f} MB): {model.name}"


def tour_page(path: str, shown: list[tuple[str, Any, Any]]) -> str:
    """One page with every model the tour ran; returns the line the tour prints.

    ``shown`` holds (title, model or layer, x); a plain function in place of the
    model builds it (so the tour creates no extra layer unless a page is asked for).
    """
    import types

    from rnnlens.explain.build import explain
    from rnnlens.explain.page import combine

    pages = [explain(model() if isinstance(model, types.FunctionType) else model, x,
                     title=title) for title, model, x in shown]
    page = combine(pages)
    page.save(path)
    return f"\nWrote {path} ({page.size / 1e3:.0f} kB): the tour's {len(pages)} models, " \
           "inside, in one page (open it in a browser)."
