"""The tutorial notebook ``examples/return_sequences_and_states.ipynb`` runs without error.

nbclient executes it cell by cell in a Jupyter kernel on this interpreter (a
kernel spec written to a temporary folder, so nothing is installed), in a
temporary working directory (``plot_model`` writes its SVG files there). Any
error fails the test. The committed file must carry no outputs. Checked on the
executed copy: the figures (PNG), the inline explainer pages and model views
(iframes) and the ``plot_model`` drawings (SVG) are there.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "return_sequences_and_states.ipynb"


def test_committed_without_outputs() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 15
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None, cell["source"][:80]


def test_notebook_executes(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    spec = tmp_path / "kernels" / "rnnlens-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rnnlens test", "language": "python"}))
    work = tmp_path / "run"
    work.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    manager = KernelManager(kernel_name="rnnlens-test",
                            kernel_spec_manager=KernelSpecManager(
                                kernel_dirs=[str(tmp_path / "kernels")]))
    client = NotebookClient(nb, km=manager, timeout=120, allow_errors=False,
                            resources={"metadata": {"path": str(work)}})
    start = time.perf_counter()
    client.execute()                                   # raises CellExecutionError on any error
    elapsed = time.perf_counter() - start
    assert elapsed < 60, f"the notebook took {elapsed:.1f} s"
    outputs: list[Any] = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = [k for o in outputs for k in o.get("data", {})]
    assert kinds.count("image/png") >= 9                 # the matplotlib figures
    pages = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert sum("rnnlens-data" in p and "<iframe" in p for p in pages) >= 8
    assert any('class="rnnlens-summary"' in p for p in pages)        # a model's view
    assert kinds.count("image/svg+xml") == 3                         # plot_model
    for name in ("stacked.svg", "time_distributed.svg", "encoder_decoder.svg"):
        assert (work / name).read_text().lstrip().startswith(("<?xml", "<svg", "<!DOCTYPE"))
