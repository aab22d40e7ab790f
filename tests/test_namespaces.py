"""``import rnnlens as keras``: every Keras namespace rnnlens implements is reachable,
lazily, and docs/keras_namespaces.md lists exactly the public Keras names it still lacks.

The test walks ``dir(keras.<namespace>)`` for each namespace and compares the names
rnnlens lacks with the table in the doc, so the README's promise cannot drift from the
code. ``import rnnlens`` itself must stay NumPy-only (checked in a subprocess).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from oracle import keras_available

DOC = Path(__file__).resolve().parent.parent / "docs" / "keras_namespaces.md"
NAMESPACES = ["activations", "backend", "callbacks", "config", "constraints",
              "initializers", "layers", "losses", "metrics", "models", "ops", "optimizers",
              "optimizers.schedules", "preprocessing", "preprocessing.sequence", "random",
              "regularizers", "saving", "utils"]


@pytest.fixture(scope="module")
def K() -> Any:
    if not keras_available():
        pytest.skip("Keras 3.15.1 is not importable")
    import keras  # noqa: PLC0415

    return keras


def _get(root: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        root = getattr(root, part)
    return root


def missing_names(K: Any) -> dict[str, tuple[int, list[str]]]:
    import rnnlens

    out = {}
    for ns in NAMESPACES:
        names = sorted(n for n in dir(_get(K, ns)) if not n.startswith("_"))
        ours = _get(rnnlens, ns)
        out[ns] = (len(names), [n for n in names if not hasattr(ours, n)])
    return out


def documented() -> dict[str, list[str]]:
    rows = re.findall(r"^\| `([\w.]+)` \| (\d+) \| (\d+) \| ([^|]*)\|", DOC.read_text(), re.M)
    return {ns: [n.strip(" `") for n in missing.split(",") if n.strip(" `")]
            for ns, _, _, missing in rows}


def test_doc_lists_exactly_what_is_missing(K: Any) -> None:
    """Set RNNLENS_UPDATE_DOCS=1 to rewrite the table after adding names."""
    found = missing_names(K)
    table = "\n".join(f"| `{ns}` | {total} | {total - len(miss)} | "
                      f"{', '.join(f'`{n}`' for n in miss)} |"
                      for ns, (total, miss) in found.items())
    if os.environ.get("RNNLENS_UPDATE_DOCS") == "1":
        text = re.sub(r"(^\| `[\w.]+` \| \d+ \| \d+ \|[^\n]*\n)+", table + "\n",
                      DOC.read_text(), count=1, flags=re.M)
        DOC.write_text(text)
    assert documented() == {ns: miss for ns, (_, miss) in found.items()}, (
        "docs/keras_namespaces.md is out of date (RNNLENS_UPDATE_DOCS=1 rewrites it); "
        "its table should read:\n" + table)


def test_every_namespace_is_reachable_from_the_top_and_import_stays_numpy_only() -> None:
    code = ("import sys, rnnlens as keras\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]\n"
            "assert not heavy, heavy\n"
            f"for ns in {NAMESPACES!r}:\n"
            "    obj = keras\n"
            "    for part in ns.split('.'):\n"
            "        obj = getattr(obj, part)\n"
            "from rnnlens import ops, layers\n"
            "from rnnlens.layers import Dropout, LSTM\n"
            "assert keras.ops.exp is ops.exp and keras.layers.Dropout is Dropout\n"
            "heavy = [m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_lazy_modules_are_not_imported_by_import_rnnlens() -> None:
    code = ("import sys, rnnlens\n"
            "lazy = [m for m in ('rnnlens.ops', 'rnnlens.optimizers', 'rnnlens.losses', "
            "'rnnlens.metrics', 'rnnlens.callbacks', 'rnnlens.saving', 'numpy.random') "
            "if m in sys.modules]\n"
            "assert not lazy, lazy\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
