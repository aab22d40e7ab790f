"""Build one of frugally-deep's test models with Keras and cache what the tests compare.

Run as ``python -m peer.build_cache NAME DIRECTORY SEED KEY`` from ``tests/`` (the test
module starts one process per missing model, so TensorFlow's state, Keras's automatic
layer names and the global seeds of the test process stay untouched). It writes:

- ``NAME.keras``: the model as the peer's generator builds (and fits) it;
- ``NAME.npz``: the peer's test inputs ``x0, x1, ...`` and, for each call ``c`` of
  ``predict`` on the model loaded back from the file, its outputs ``c{c}_y0, ...`` (two
  calls in a row for a model with a stateful layer, one otherwise);
- ``NAME.json`` (last, so a half-written entry is never taken as complete): the cache
  key, the Keras output names, whether the model is stateful, and the build time.

Keras's oracle predictions come from the model *loaded from the file*, so that a
stateful model starts from the state the file holds, as rnnlens's loaded model does.

The generator's own ``fit`` and ``predict`` calls (training on dummy data, and the
prediction it takes output shapes from) run eagerly here: tracing the exhaustive model's
train step takes TensorFlow minutes, and eager training of 2 samples takes seconds. The
trained weights may differ from a traced run by rounding, which does not matter: the
oracle is Keras's (traced) ``predict`` on whatever the file holds.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


def _predict(model: Any, inputs: list) -> list:
    out = model.predict(inputs[0] if len(inputs) == 1 else inputs, verbose=0)
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _is_stateful(model: Any) -> bool:
    return any(getattr(layer, "stateful", False)
               for layer in model._flatten_layers(include_self=False, recursive=True))


@contextlib.contextmanager
def _eager(keras: Any) -> Iterator[None]:
    """``Model.fit`` / ``Model.predict`` run eagerly inside (``run_eagerly`` is not a
    compile argument here, so the saved ``compile_config`` stays the generator's)."""
    own = {m: keras.Model.__dict__.get(m) for m in ("fit", "predict")}

    def eager(method: Any) -> Any:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            self.run_eagerly = True
            try:
                return method(self, *args, **kwargs)
            finally:
                self.run_eagerly = False
        return run

    for m in own:
        setattr(keras.Model, m, eager(getattr(keras.Model, m)))
    try:
        yield
    finally:
        for m, method in own.items():
            if method is None:
                delattr(keras.Model, m)          # it was inherited (from the trainer)
            else:
                setattr(keras.Model, m, method)


def build(name: str, directory: Path, seed: int, key: str) -> None:
    """Build, save, reload and predict one peer model; write its cache entry."""
    import keras

    from peer import frugally_deep_models as fd

    start = time.perf_counter()
    with _eager(keras):
        model = fd.build_model(name, seed)
    inputs = fd.generate_test_inputs(model, seed)
    tmp = directory / f"{name}.tmp.keras"
    model.save(tmp)
    del model
    keras.backend.clear_session()
    loaded = keras.models.load_model(tmp)
    stateful = _is_stateful(loaded)
    calls = [_predict(loaded, inputs) for _ in range(2 if stateful else 1)]
    arrays = {f"x{i}": x for i, x in enumerate(inputs)}
    for c, outs in enumerate(calls):
        arrays.update({f"c{c}_y{i}": np.asarray(y) for i, y in enumerate(outs)})
    np.savez(directory / f"{name}.tmp.npz", **arrays)
    os.replace(tmp, directory / f"{name}.keras")
    os.replace(directory / f"{name}.tmp.npz", directory / f"{name}.npz")
    manifest = {
        "key": key, "name": name, "stateful": stateful, "calls": len(calls),
        "inputs": len(inputs), "outputs": len(calls[0]),
        "output_names": [t._keras_history.operation.name for t in loaded.outputs],
        "build_seconds": round(time.perf_counter() - start, 1),
    }
    (directory / f"{name}.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    build(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
