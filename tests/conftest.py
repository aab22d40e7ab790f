"""Shared test plumbing: the Keras-parity recorder and its end-of-run summary.

Every numeric parity check in test_parity_keras.py goes through the ``parity`` fixture,
which calls ``oracle.assert_close`` and records the max-abs difference it saw. At the end
of the run ``pytest_terminal_summary`` prints::

    keras parity: N comparisons, worst max-abs diff X (in <test id> / <tensor>)

Suites that compare by kind (ONNX Runtime or torch outputs against ``predict``) record
through ``record_kind`` instead and get one line each::

    <suite>: N comparisons; worst max-abs diff per kind: <kind> X, ...
"""

from __future__ import annotations

import os
from typing import Any, Callable

import pytest
from hypothesis import settings

from oracle import assert_close, max_abs_diff

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# Property tests draw their examples from fixed seeds by default ("ci"), so a run here
# sees exactly the examples CI sees; RNNLENS_HYPOTHESIS=explore draws fresh ones (and
# remembers failures in .hypothesis/), for hunting new counterexamples.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("RNNLENS_HYPOTHESIS", "ci"))

#: Module-level collector of parity comparisons (one dict for the whole session).
PARITY: dict[str, Any] = {"n": 0, "worst": 0.0, "where": "", "failed": 0,
                          "worst_ok": 0.0, "where_ok": ""}


#: Per-kind collector for ``record_kind``: {suite: {"n": count, "worst": {kind: diff}}}.
BY_KIND: dict[str, dict[str, Any]] = {}


def _diff(actual: Any, expected: Any) -> float:
    try:
        return max_abs_diff(actual, expected)
    except ValueError:          # structure / shape mismatch: assert_close reports it
        return float("inf")


def record_parity(actual: Any, expected: Any, name: str, test_id: str = "",
                  atol: float = 1e-5) -> None:
    """``oracle.assert_close`` plus bookkeeping of the worst difference seen."""
    PARITY["n"] += 1
    diff = _diff(actual, expected)
    if diff > PARITY["worst"]:
        PARITY["worst"], PARITY["where"] = diff, f"{test_id} / {name}"
    if diff > atol:
        PARITY["failed"] += 1
    elif diff > PARITY["worst_ok"]:
        PARITY["worst_ok"], PARITY["where_ok"] = diff, f"{test_id} / {name}"
    assert_close(actual, expected, atol=atol, name=name)


def record_kind(suite: str, kind: str, actual: Any, expected: Any, name: str = "",
                atol: float = 1e-5) -> None:
    """``oracle.assert_close`` plus the worst difference per ``kind`` within ``suite``."""
    tally = BY_KIND.setdefault(suite, {"n": 0, "worst": {}})
    tally["n"] += 1
    worst = tally["worst"]
    worst[kind] = max(worst.get(kind, 0.0), _diff(actual, expected))
    assert_close(actual, expected, atol=atol, name=name or kind)


@pytest.fixture
def parity(request: pytest.FixtureRequest) -> Callable[..., None]:
    """``parity(actual, expected, name="...")``: assert_close at 1e-5, recorded."""

    def check(actual: Any, expected: Any, name: str = "", atol: float = 1e-5) -> None:
        record_parity(actual, expected, name or request.node.name, request.node.nodeid, atol)

    return check


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: Any) -> None:
    for suite, tally in sorted(BY_KIND.items()):
        parts = ", ".join(f"{k} {v:.2e}" for k, v in sorted(tally["worst"].items()))
        terminalreporter.write_line(f"{suite}: {tally['n']} comparisons; worst max-abs diff "
                                    f"per kind: {parts}")
    if PARITY["n"] == 0:
        return
    terminalreporter.write_sep("-", "keras parity")
    terminalreporter.write_line(
        f"keras parity: {PARITY['n']} comparisons, worst max-abs diff {PARITY['worst']:.3e}"
        f" ({PARITY['failed']} above 1e-5; worst in {PARITY['where']})"
    )
    terminalreporter.write_line(
        f"keras parity: worst max-abs diff among comparisons within 1e-5: "
        f"{PARITY['worst_ok']:.3e} ({PARITY['where_ok']})"
    )
