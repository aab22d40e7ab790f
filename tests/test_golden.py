"""Compare rnnlens with the Keras golden fixtures in tests/golden/ (see make_golden.py).

Keras is not needed here: the fixtures hold the Keras numbers. Each fixture is rebuilt
with the Keras-compatible rnnlens API, given the stored weights, run the same way, and
compared with ``oracle.assert_close`` (atol 1e-5).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from make_golden import build_family_layer, build_graph, graph_inputs_shapes, nest_init
from oracle import assert_close

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
FIXTURES = sorted(GOLDEN_DIR.glob("*.npz"))
ATOL = 1e-5

try:  # Imported lazily so that a missing library fails each test, not the whole collection.
    import rnnlens.layers as rnnlens_layers
    from rnnlens.layers import (
        GRU,
        LSTM,
        RNN,
        Bidirectional,
        Concatenate,
        Dense,
        Embedding,
        GRUCell,
        Input,
        LSTMCell,
        Masking,
        RepeatVector,
        SimpleRNN,
        SimpleRNNCell,
        TimeDistributed,
    )
    from rnnlens.models import Model, Sequential

    _IMPORT_ERROR: Exception | None = None
except Exception as exc:  # noqa: BLE001
    _IMPORT_ERROR = exc


# ---------------------------------------------------------------------------- helpers
def _api() -> SimpleNamespace:
    """The rnnlens classes that ``build_graph`` needs; fail if rnnlens does not import."""
    if _IMPORT_ERROR is not None:
        pytest.fail(f"rnnlens API does not import: {_IMPORT_ERROR!r}")
    return SimpleNamespace(Input=Input, LSTM=LSTM, Dense=Dense, TimeDistributed=TimeDistributed,
                           RepeatVector=RepeatVector, Concatenate=Concatenate, Model=Model,
                           Sequential=Sequential, GRU=GRU, SimpleRNN=SimpleRNN,
                           Bidirectional=Bidirectional, Embedding=Embedding, Masking=Masking,
                           RNN=RNN, LSTMCell=LSTMCell, GRUCell=GRUCell,
                           SimpleRNNCell=SimpleRNNCell)


def _field(d: Any, key: str) -> Any:
    """Decode one JSON string field."""
    return json.loads(str(d[key]))


def _weights(d: Any) -> list[np.ndarray]:
    return [d[f"w_{i}"] for i in range(int(d["n_weights"]))]


def _outputs(d: Any, prefix: str = "") -> list[np.ndarray]:
    return [d[f"{prefix}out_{i}"] for i in range(int(d[f"{prefix}n_out"]))]


def _flatten(out: Any) -> list[Any]:
    """Flatten nested lists and tuples of outputs."""
    if isinstance(out, (list, tuple)):
        return [a for item in out for a in _flatten(item)]
    return [out]


def _check_return_structure(out: Any, return_state: bool, name: str) -> None:
    """Keras returns one array, or a tuple ``(output, h, c)`` when return_state=True."""
    if return_state:
        assert isinstance(out, tuple) and len(out) == 3, (
            f"{name}: return_state=True must return a tuple (output, h, c), got {type(out).__name__}"
        )
    else:
        assert not isinstance(out, (list, tuple)), (
            f"{name}: return_state=False must return one array, got {type(out).__name__}"
        )


def _call_kwargs(d: Any, initial_state: bool, mask: bool) -> dict[str, Any]:
    """The call kwargs, passed only when the Keras call passed them."""
    kwargs: dict[str, Any] = {"training": False}
    if initial_state:
        kwargs["initial_state"] = [d["h0"], d["c0"]]
    if mask:
        kwargs["mask"] = d["mask"]
    return kwargs


# ---------------------------------------------------------------------------- runners
def run_layer(d: Any, name: str) -> tuple[list[Any], list[np.ndarray]]:
    """``LSTM(**config)``, build, set_weights, call eagerly; return (actual, expected)."""
    api = _api()
    config, call = _field(d, "config"), _field(d, "call")
    x = d["x"]
    layer = api.LSTM(**config)
    layer.build((None, x.shape[1], x.shape[2]))
    layer.set_weights(_weights(d))
    out = layer(x, **_call_kwargs(d, call["initial_state"], call["mask"]))
    _check_return_structure(out, config.get("return_state", False), name)
    return _flatten(out), _outputs(d)


def run_model(d: Any, name: str) -> tuple[list[Any], list[np.ndarray]]:
    """Build the graph with rnnlens, set_weights, predict; return (actual, expected)."""
    graph, call = _field(d, "graph"), _field(d, "call")
    model = build_graph(graph, _api())
    model.set_weights(_weights(d))
    xs = [d[f"x_{i}"] for i in range(call["n_inputs"])]
    expected_shapes = graph_inputs_shapes(graph, xs[0].shape[0])
    assert [x.shape for x in xs] == expected_shapes, f"{name}: fixture inputs look wrong"
    pred = model.predict(xs if len(xs) > 1 else xs[0], batch_size=call["batch_size"])
    return _flatten(pred), _outputs(d)


def run_stateful(d: Any, name: str) -> tuple[list[Any], list[np.ndarray]]:
    """Replay the stored sequence of stateful calls; return all outputs of all calls."""
    api = _api()
    config, calls = _field(d, "config"), _field(d, "calls")
    layer = api.LSTM(**config)
    layer.build(d[calls[0]["x"]].shape)  # stateful: the batch size must be static
    layer.set_weights(_weights(d))
    actual: list[Any] = []
    expected: list[np.ndarray] = []
    for i, c in enumerate(calls):
        if c["reset_before"]:
            layer.reset_state()
        out = layer(d[c["x"]], **_call_kwargs(d, c["initial_state"], False))
        _check_return_structure(out, config.get("return_state", False), f"{name} call {i}")
        actual.append(_flatten(out))
        expected.append(_outputs(d, f"call{i}_"))
    return actual, expected


def _family_layer(d: Any, build_shape: tuple) -> Any:
    _api()
    layer = build_family_layer(_field(d, "spec"), rnnlens_layers)
    layer.build(build_shape)
    layer.set_weights(_weights(d))
    return layer


def run_family(d: Any, name: str) -> tuple[list[Any], list[np.ndarray]]:
    """A GRU / SimpleRNN / Bidirectional / RNN(cells) layer from ``spec``, one eager call
    with the stored mask and (nested) initial states."""
    call = _field(d, "call")
    x = d["x"]
    layer = _family_layer(d, (None, x.shape[1], x.shape[2]))
    kwargs: dict[str, Any] = {"training": False}
    if call["init"] is not None:
        kwargs["initial_state"] = nest_init(call["init"], d)
    if call["mask"]:
        kwargs["mask"] = d["mask"]
    out = layer(x, **kwargs)
    return _flatten(out), _outputs(d)


def run_family_stateful(d: Any, name: str) -> tuple[list[Any], list[np.ndarray]]:
    """Replay the stored stateful calls of a family layer."""
    calls, init = _field(d, "calls"), _field(d, "call")["init"]
    layer = _family_layer(d, d[calls[0]["x"]].shape)
    actual: list[Any] = []
    expected: list[np.ndarray] = []
    for i, c in enumerate(calls):
        if c["reset_before"]:
            layer.reset_state()
        kwargs: dict[str, Any] = {"training": False}
        if c["initial_state"]:
            kwargs["initial_state"] = nest_init(init, d)
        actual.append(_flatten(layer(d[c["x"]], **kwargs)))
        expected.append(_outputs(d, f"call{i}_"))
    return actual, expected


RUNNERS = {"layer": run_layer, "model": run_model, "stateful": run_stateful,
           "family": run_family, "family_stateful": run_family_stateful}


# ---------------------------------------------------------------------------- tests
def test_fixtures_exist() -> None:
    """The fixtures are committed; regenerate with `make fixtures` if this fails."""
    assert len(FIXTURES) >= 80, f"only {len(FIXTURES)} fixtures in {GOLDEN_DIR}"
    kinds = set()
    for path in FIXTURES:
        with np.load(path, allow_pickle=False) as d:
            kinds.add(_field(d, "kind"))
    assert kinds == set(RUNNERS), f"fixture kinds {sorted(kinds)} vs runners {sorted(RUNNERS)}"


def test_fixtures_are_small() -> None:
    """The whole folder stays well under 1 MB."""
    total = sum(p.stat().st_size for p in FIXTURES)
    assert total < 700 * 1024, f"tests/golden holds {total / 1024:.0f} KiB"


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_golden(path: Path) -> None:
    """rnnlens matches Keras to 1e-5 on every output of the fixture."""
    with np.load(path, allow_pickle=False) as d:
        kind = _field(d, "kind")
        actual, expected = RUNNERS[kind](d, path.stem)
        assert_close(actual, expected, atol=ATOL, name=path.stem)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_golden_output_types(path: Path) -> None:
    """Like Keras, the outputs are float32 NumPy arrays."""
    with np.load(path, allow_pickle=False) as d:
        actual, _ = RUNNERS[_field(d, "kind")](d, path.stem)
    for i, a in enumerate(_flatten(actual)):
        assert isinstance(a, np.ndarray), f"{path.stem} output {i}: {type(a).__name__}, not ndarray"
        assert a.dtype == np.float32, f"{path.stem} output {i}: dtype {a.dtype}, not float32"
