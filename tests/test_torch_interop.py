"""PyTorch interop (``rnnlens.interop.torch``): from_torch, to_torch, weight converters.

* every torch.nn.LSTM / GRU / RNN(tanh, relu) x num_layers 1-3 x bidirectional x
  batch_first x bias, converted with ``from_torch``, gives torch's output and final
  states (max abs diff <= 1e-5, ``oracle.assert_close``);
* every torch-expressible rnnlens layer (LSTM, GRU, SimpleRNN tanh/relu, RNN over
  cells and stacked cells, Bidirectional in every merge mode; go_backwards,
  return_sequences, return_state, use_bias, initial_state) and plain stacks of them
  in a Model, converted with ``to_torch``, give the rnnlens outputs;
* round trips: ``from_torch(to_torch(layer))`` returns the weights bit-exactly and
  the same numbers; ``to_torch(from_torch(module))`` returns torch's weights;
* the plain weight converters round-trip exactly;
* what torch cannot express raises ValueError naming the layer and the reason.

Tests that need torch skip themselves when it is not installed; the checks that the
module imports and fails clearly without torch always run.
"""

from __future__ import annotations

import importlib
import io
import itertools
import sys
import warnings
from typing import Any

import numpy as np
import pytest

from oracle import assert_close, max_abs_diff
from rnnlens.interop import torch as interop
from rnnlens.layers import (GRU, LSTM, RNN, Bidirectional, Dense, GRUCell, Input, LSTMCell,
                            SimpleRNN, SimpleRNNCell)
from rnnlens.models import Model, Sequential

try:
    import torch
except ImportError:  # pragma: no cover - the environment has torch
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")

ATOL = 1e-5
B, T, F, U = 3, 6, 4, 5
KINDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]
WORST: dict[str, Any] = {"n": 0, "diff": 0.0, "where": ""}


@pytest.fixture(scope="module", autouse=True)
def _report(request: pytest.FixtureRequest) -> Any:
    """Prints the number of numeric comparisons and the worst difference at the end."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and WORST["n"]:
        line = (f"torch interop: {WORST['n']} comparisons, worst max-abs diff "
                f"{WORST['diff']:.3e} ({WORST['where']})")
        request.config.add_cleanup(lambda: reporter.write_line(line))   # after capture ends


def check(actual: Any, expected: Any, name: str, atol: float = ATOL) -> None:
    """``assert_close`` that also records the worst difference seen."""
    __tracebackhide__ = True
    actual, expected = to_np(actual), to_np(expected)
    try:
        diff = max_abs_diff(actual, expected)
    except ValueError:
        diff = float("inf")
    WORST["n"] += 1
    if diff > WORST["diff"]:
        WORST["diff"], WORST["where"] = diff, name
    assert_close(actual, expected, atol=atol, name=name)


def to_np(value: Any) -> Any:
    """Tensors -> arrays inside nested lists / tuples (keeping list vs tuple)."""
    if isinstance(value, (list, tuple)):
        return type(value)(to_np(v) for v in value)
    if torch is not None and torch.is_tensor(value):
        return value.detach().cpu().numpy()
    return value


def shape_of(value: Any) -> Any:
    """The nesting of a result: list / tuple kept apart, leaves as 'array'."""
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [shape_of(v) for v in value])
    return "array"


def run_torch(module: Any, x: np.ndarray, **kwargs: Any) -> Any:
    with torch.no_grad():
        return to_np(module(torch.from_numpy(x), **kwargs))


def data(seed: int, batch: int = B, steps: int = T, feats: int = F) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((batch, steps, feats)).astype(np.float32)


def torch_module(kind: str, num_layers: int = 1, bidirectional: bool = False,
                 batch_first: bool = True, bias: bool = True, seed: int = 0,
                 input_size: int = F, units: int = U, **kw: Any) -> Any:
    torch.manual_seed(seed)
    common = dict(num_layers=num_layers, bidirectional=bidirectional,
                  batch_first=batch_first, bias=bias, **kw)
    if kind == "lstm":
        return torch.nn.LSTM(input_size, units, **common)
    if kind == "gru":
        return torch.nn.GRU(input_size, units, **common)
    return torch.nn.RNN(input_size, units, nonlinearity=kind.split("_")[1], **common)


def keras_layer(kind: str, units: int = U, **kw: Any) -> Any:
    if kind == "lstm":
        return LSTM(units, **kw)
    if kind == "gru":
        return GRU(units, **kw)
    return SimpleRNN(units, activation=kind.split("_")[1], **kw)


def keras_cell(kind: str, units: int = U, **kw: Any) -> Any:
    if kind == "lstm":
        return LSTMCell(units, **kw)
    if kind == "gru":
        return GRUCell(units, **kw)
    return SimpleRNNCell(units, activation=kind.split("_")[1], **kw)


def randomize(layer: Any, seed: int, scale: float = 0.5) -> None:
    """Random weights everywhere (biases included), so every weight matters."""
    rng = np.random.default_rng(seed)
    layer.set_weights([(rng.standard_normal(w.shape) * scale).astype(np.float32)
                       for w in layer.get_weights()])


def random_states(layer: Any, seed: int, batch: int = B) -> list[np.ndarray]:
    """Initial states for an RNN or Bidirectional layer, flat in Keras's order."""
    rng = np.random.default_rng(seed)
    subs = ([layer.forward_layer, layer.backward_layer] if isinstance(layer, Bidirectional)
            else [layer])
    return [rng.standard_normal((batch, s)).astype(np.float32) * 0.5
            for sub in subs for s in sub.cell.state_size]


def torch_reference(module: Any, x_batch_first: np.ndarray) -> tuple[np.ndarray, Any]:
    """torch's (output in batch-first layout, hidden) for batch-first data."""
    x = torch.from_numpy(x_batch_first)
    with torch.no_grad():
        out, hidden = module(x if module.batch_first else x.transpose(0, 1))
    out = out if module.batch_first else out.transpose(0, 1)
    return out.numpy(), to_np(hidden)


def same_weights(a: list, b: list) -> None:
    assert len(a) == len(b)
    for k, (x, y) in enumerate(zip(a, b)):
        assert x.shape == y.shape, (k, x.shape, y.shape)
        assert np.array_equal(x, y), f"weight {k} differs by {np.abs(x - y).max()}"


# ============================================================================ without torch
def test_module_imports_and_fails_clearly_without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """No torch: the module imports, converters work, torch functions raise ImportError."""
    import rnnlens.interop as package

    monkeypatch.setattr(package, "torch", interop)             # restored afterwards
    monkeypatch.setitem(sys.modules, "torch", None)            # `import torch` now fails
    for name in [m for m in sys.modules if m.startswith("rnnlens.interop.torch")]:
        monkeypatch.delitem(sys.modules, name)                 # the package and its modules
    fresh = importlib.import_module("rnnlens.interop.torch")
    for call in (lambda: fresh.from_torch(object()), lambda: fresh.to_torch(LSTM(2)),
                 lambda: fresh.KerasLikeRNN, lambda: fresh.KerasLikeModel):
        with pytest.raises(ImportError, match="pip install torch"):
            call()
    rng = np.random.default_rng(0)
    k, rk, b = (rng.standard_normal(s).astype(np.float32) for s in ((3, 8), (2, 8), (8,)))
    d = fresh.lstm_weights_keras_to_torch(k, rk, b)
    same_weights(fresh.lstm_weights_torch_to_keras(**d), [k, rk, b])
    h = rng.standard_normal((2, 3, 2))
    assert np.array_equal(fresh.states_to_torch(fresh.states_from_torch(h), "gru"), h)
    namespace: dict = {}
    exec("from rnnlens.interop.torch import *", namespace)     # works without torch
    assert "from_torch" in namespace


# ============================================================================ from_torch
FROM_TORCH_CASES = list(itertools.product(KINDS, [1, 2, 3], [False, True], [False, True],
                                          [True, False]))


@needs_torch
@pytest.mark.parametrize("kind,num_layers,bidirectional,batch_first,bias", FROM_TORCH_CASES,
                         ids=[f"{k}-L{n}-{'bi' if b else 'uni'}-{'bf' if f else 'tf'}-"
                              f"{'bias' if s else 'nobias'}"
                              for k, n, b, f, s in FROM_TORCH_CASES])
def test_from_torch_matches_module(kind: str, num_layers: int, bidirectional: bool,
                                   batch_first: bool, bias: bool) -> None:
    seed = FROM_TORCH_CASES.index((kind, num_layers, bidirectional, batch_first, bias))
    module = torch_module(kind, num_layers, bidirectional, batch_first, bias, seed=seed,
                          dropout=0.3 if num_layers > 1 else 0.0).eval()
    x = data(seed)
    out, hidden = torch_reference(module, x)
    d = 2 if bidirectional else 1

    model = from_torch_checked(module, return_state=False)
    y = model(x)
    assert isinstance(y, np.ndarray) and y.shape == (B, T, d * U)
    check(y, out, "from_torch output")

    model = from_torch_checked(module, return_state=True)
    res = model(x)
    n_states = num_layers * d * (2 if kind == "lstm" else 1)
    assert isinstance(res, list) and len(res) == 1 + n_states
    check(res[0], out, "from_torch output (return_state)")
    check(interop.states_to_torch(res[1:], module), hidden, "from_torch states")
    # the reverse helper gives Keras's order back
    flat = (interop.states_from_torch(*hidden) if kind == "lstm"
            else interop.states_from_torch(hidden))
    check(res[1:], flat, "states_from_torch")


def from_torch_checked(module: Any, return_state: bool) -> Any:
    """from_torch plus the layer structure the docs promise."""
    model = interop.from_torch(module, return_state=return_state)
    layers = [lyr for lyr in model.layers if lyr.weights]
    assert len(layers) == module.num_layers
    for layer in layers:
        assert isinstance(layer, Bidirectional) == module.bidirectional
        inner = layer.forward_layer if module.bidirectional else layer
        assert inner.return_sequences and inner.use_bias == module.bias
        if module.bidirectional:
            assert layer.merge_mode == "concat"
    return model


@needs_torch
def test_from_torch_variable_length_and_dtypes() -> None:
    """The model takes any T; float64 modules and train mode with dropout convert too."""
    module = torch_module("lstm", 2, True, seed=1, dropout=0.5).double()
    module.train()                                   # dropout is ignored: the model is eval
    model = interop.from_torch(module)
    for steps in (1, 2, 9):
        x = data(steps, steps=steps)
        module.eval()
        with torch.no_grad():
            ref = module(torch.from_numpy(x).double())[0].numpy()
        check(model(x), ref, f"float64 module, T={steps}")
    assert model(data(0)).dtype == np.float32


@needs_torch
def test_from_torch_helper_accepts_names() -> None:
    module = torch_module("lstm", 2, True, seed=3).eval()
    res = interop.from_torch(module, return_state=True)(data(3))
    h_n, c_n = interop.states_to_torch(res[1:], "lstm")
    assert h_n.shape == c_n.shape == (4, B, U)
    assert interop.states_to_torch(res[1:], "gru").shape == (8, B, U)
    with pytest.raises(ValueError, match="multiple of 2"):
        interop.states_to_torch(res[1:4], "lstm")
    with pytest.raises(ValueError, match="'lstm', 'gru', 'rnn'"):
        interop.states_to_torch(res[1:], "transformer")


@needs_torch
def test_from_torch_refuses_what_keras_cannot_express() -> None:
    with pytest.raises(ValueError, match=r"proj_size=3.*no Keras equivalent"):
        interop.from_torch(torch.nn.LSTM(4, 5, proj_size=3))
    with pytest.raises(ValueError, match="converts torch.nn.LSTM, nn.GRU and nn.RNN.*Linear"):
        interop.from_torch(torch.nn.Linear(4, 5))
    with pytest.raises(TypeError, match="received ndarray"):
        interop.from_torch(np.zeros(3))


# ============================================================================ to_torch
def layer_outputs_match(layer: Any, x: np.ndarray, name: str, states: Any = None) -> Any:
    """to_torch(layer) gives layer's outputs (also with initial states); returns the module."""
    module = interop.to_torch(layer)
    assert isinstance(module, interop.KerasLikeRNN)
    assert module.rnn.batch_first and not module.training
    got, ref = run_torch(module, x), layer(x)
    assert shape_of(got) == shape_of(ref)                    # same list / tuple nesting
    check(got, ref, name)
    if states is not None:
        got, ref = run_torch(module, x, initial_state=states), layer(x, initial_state=states)
        assert shape_of(got) == shape_of(ref)
        check(got, ref, name + " with initial_state")
    return module


def round_trip_exact(layer: Any, module: Any, x: np.ndarray) -> None:
    """from_torch(to_torch(layer)) has the same weights and computes the same numbers."""
    back = interop.from_torch(module)
    same_weights(back.get_weights(), layer.get_weights())
    ref, got = layer(x), back(x)
    assert max_abs_diff(got, ref) == 0.0
    assert shape_of(got) == shape_of(ref)


LAYER_CASES = list(itertools.product(KINDS, [True, False], [True, False], [False, True],
                                     [False, True]))


@needs_torch
@pytest.mark.parametrize("kind,use_bias,return_sequences,return_state,go_backwards",
                         LAYER_CASES,
                         ids=[f"{k}-{'bias' if b else 'nobias'}-{'seq' if s else 'last'}-"
                              f"{'state' if st else 'nostate'}-{'back' if g else 'fwd'}"
                              for k, b, s, st, g in LAYER_CASES])
def test_to_torch_layer(kind: str, use_bias: bool, return_sequences: bool,
                        return_state: bool, go_backwards: bool) -> None:
    seed = LAYER_CASES.index((kind, use_bias, return_sequences, return_state, go_backwards))
    x = data(100 + seed)
    layer = keras_layer(kind, use_bias=use_bias, return_sequences=return_sequences,
                        return_state=return_state, go_backwards=go_backwards)
    layer(x)
    randomize(layer, seed)
    module = layer_outputs_match(layer, x, f"to_torch {kind}", random_states(layer, seed))
    assert module.rnn.bias == use_bias and module.return_state == return_state
    if return_sequences and not go_backwards and not return_state:   # the plain module
        check(run_torch(module.rnn, x)[0], layer(x), "plain torch module output")
    if not return_sequences and not go_backwards:          # documented: output[:, -1]
        check(run_torch(module.rnn, x)[0][:, -1],
              layer(x)[0] if return_state else layer(x), "output[:, -1]")
    round_trip_exact(layer, module, x)


BIDI_CASES = list(itertools.product(KINDS, ["concat", "sum", "ave", "mul", None],
                                    [True, False], [False, True]))


@needs_torch
@pytest.mark.parametrize("kind,merge_mode,return_sequences,return_state", BIDI_CASES,
                         ids=[f"{k}-{m}-{'seq' if s else 'last'}-{'state' if st else 'nostate'}"
                              for k, m, s, st in BIDI_CASES])
def test_to_torch_bidirectional(kind: str, merge_mode: str | None, return_sequences: bool,
                                return_state: bool) -> None:
    seed = BIDI_CASES.index((kind, merge_mode, return_sequences, return_state))
    x = data(200 + seed)
    use_bias = seed % 3 != 0
    layer = Bidirectional(keras_layer(kind, use_bias=use_bias,
                                      return_sequences=return_sequences,
                                      return_state=return_state), merge_mode=merge_mode)
    layer(x)
    randomize(layer, seed)
    module = layer_outputs_match(layer, x, f"to_torch Bidirectional {kind} {merge_mode}",
                                 random_states(layer, seed))
    assert module.rnn.bidirectional
    if not return_sequences and merge_mode == "concat" and not return_state:
        out, hidden = run_torch(module.rnn, x)
        h_n = hidden[0] if kind == "lstm" else hidden
        check(np.concatenate([out[:, -1, :U], out[:, 0, U:]], -1), layer(x),
              "bidirectional last = cat(output[:, -1, :u], output[:, 0, u:])")
        check(np.concatenate([h_n[-2], h_n[-1]], -1), layer(x),
              "bidirectional last = cat(h_n[-2], h_n[-1])")
    round_trip_exact(layer, module, x)


@needs_torch
def test_to_torch_bidirectional_with_backward_layer() -> None:
    x = data(7)
    layer = Bidirectional(LSTM(U, return_sequences=True),
                          backward_layer=LSTM(U, return_sequences=True, go_backwards=True))
    layer(x)
    randomize(layer, 7)
    layer_outputs_match(layer, x, "custom backward_layer")


STACK_CASES = list(itertools.product(KINDS, [1, 2, 3], [False, True], [True, False],
                                     [False, True]))


@needs_torch
@pytest.mark.parametrize("kind,n_cells,go_backwards,return_sequences,return_state",
                         STACK_CASES,
                         ids=[f"{k}-{n}cells-{'back' if g else 'fwd'}-"
                              f"{'seq' if s else 'last'}-{'state' if st else 'nostate'}"
                              for k, n, g, s, st in STACK_CASES])
def test_to_torch_rnn_over_cells(kind: str, n_cells: int, go_backwards: bool,
                                 return_sequences: bool, return_state: bool) -> None:
    """RNN(cell) and RNN([cells]) (stacked cells, states nested per cell) -> one torch RNN."""
    seed = STACK_CASES.index((kind, n_cells, go_backwards, return_sequences, return_state))
    x = data(300 + seed)
    cells = [keras_cell(kind, use_bias=seed % 2 == 0) for _ in range(n_cells)]
    layer = RNN(cells if n_cells > 1 else cells[0], go_backwards=go_backwards,
                return_sequences=return_sequences, return_state=return_state)
    layer(x)
    randomize(layer, seed)
    rng = np.random.default_rng(seed)
    states: list = [rng.standard_normal((B, s)).astype(np.float32)
                    for s in layer.cell.state_size]
    if n_cells > 1:            # per-cell groups; the returned states mirror their nesting
        per = len(states) // n_cells
        groups = [states[k * per:(k + 1) * per] for k in range(n_cells)]
        states = [tuple(g) if k % 2 else (g[0] if per == 1 else list(g))
                  for k, g in enumerate(groups)]
    module = layer_outputs_match(layer, x, f"RNN over {n_cells} {kind} cells", states)
    assert module.rnn.num_layers == n_cells
    round_trip_exact(layer, module, x)


# ============================================================================ models
MODEL_CASES = list(itertools.product(KINDS, [1, 2, 3], [False, True], [False, True]))


@needs_torch
@pytest.mark.parametrize("kind,num_layers,bidirectional,return_state", MODEL_CASES,
                         ids=[f"{k}-L{n}-{'bi' if b else 'uni'}-{'state' if s else 'nostate'}"
                              for k, n, b, s in MODEL_CASES])
def test_to_torch_from_torch_model_round_trip(kind: str, num_layers: int, bidirectional: bool,
                                              return_state: bool) -> None:
    """to_torch(from_torch(module)) is the module again: one multi-layer torch RNN."""
    seed = MODEL_CASES.index((kind, num_layers, bidirectional, return_state))
    module = torch_module(kind, num_layers, bidirectional, batch_first=seed % 2 == 0,
                          bias=seed % 3 != 0, seed=seed).eval()
    x = data(400 + seed)
    model = interop.from_torch(module, return_state=return_state)
    back = interop.to_torch(model)
    rnn = back.rnn
    assert (type(rnn), rnn.num_layers, rnn.bidirectional, rnn.bias) == (
        type(module), num_layers, bidirectional, module.bias)
    assert getattr(rnn, "nonlinearity", None) == getattr(module, "nonlinearity", None)
    for name, p in module.named_parameters():
        q = getattr(rnn, name)
        if name.startswith("weight") or kind == "gru":
            assert torch.equal(p, q), name                     # bit-exact
        elif name.startswith("bias_ih"):                       # LSTM / RNN: only the sum
            other = name.replace("bias_ih", "bias_hh")
            check(q + getattr(rnn, other), p + getattr(module, other), f"bias sum {name}")
    check(run_torch(back, x), model(x), "to_torch(model)")
    out, hidden = torch_reference(module, x)
    got = run_torch(back, x)
    if return_state:
        check(got[0], out, "to_torch(from_torch(m)) output")
        check(interop.states_to_torch(got[1:], module), hidden, "to_torch(from_torch(m)) states")
    else:
        check(got, out, "to_torch(from_torch(m)) output")
    # and the weights survive one more round
    same_weights(interop.from_torch(back).get_weights(), model.get_weights())


@needs_torch
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
def test_to_torch_functional_stack(merge_mode: str | None) -> None:
    """Stacked layers; last layer return_sequences=False with any merge mode; only some
    layers' states in the outputs, in any order and nesting."""
    x = data(11)
    inp = Input(shape=(None, F))
    h1, hf1, cf1, hb1, cb1 = Bidirectional(LSTM(U, return_sequences=True,
                                                return_state=True))(inp)
    h2 = Bidirectional(LSTM(U, return_sequences=True))(h1)
    top = Bidirectional(LSTM(U, return_state=True), merge_mode=merge_mode)(h2)
    heads = list(top[:2]) if merge_mode is None else [top[0]]
    c3b = top[-1]
    model = Model(inp, [heads, (c3b, hf1), {"x": cb1}["x"]])
    randomize(model, 11)
    module = interop.to_torch(model)
    assert module.rnn.num_layers == 3 and module.rnn.bidirectional
    got = run_torch(module, x)
    assert shape_of(got) == shape_of(model(x))
    check(got, model(x), f"functional stack {merge_mode}")
    back = interop.from_torch(module)
    same_weights(back.get_weights(), model.get_weights())
    assert max_abs_diff(back(x), model(x)) == 0.0
    assert shape_of(back(x)) == shape_of(model(x))


@needs_torch
def test_to_torch_sequential_stack() -> None:
    x = data(12)
    model = Sequential([Input(shape=(None, F)), GRU(U, return_sequences=True),
                        GRU(U, return_sequences=True), GRU(U)])
    randomize(model, 12)
    module = interop.to_torch(model)
    assert module.rnn.num_layers == 3 and not module.return_sequences
    check(run_torch(module, x), model(x), "Sequential GRU stack")


@needs_torch
def test_to_torch_model_with_one_layer_and_go_backwards() -> None:
    x = data(13)
    inp = Input(shape=(None, F))
    out = SimpleRNN(U, activation="relu", go_backwards=True, return_state=True)(inp)
    model = Model(inp, list(out))
    randomize(model, 13)
    check(run_torch(interop.to_torch(model), x), model(x), "one-layer model, go_backwards")


# ============================================================================ converters
def keras_weights(kind: str, feats: int, units: int, bias: bool, seed: int) -> list:
    rng = np.random.default_rng(seed)
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    ws = [rng.standard_normal((feats, gates * units)), rng.standard_normal((units, gates * units))]
    if bias:
        ws.append(rng.standard_normal((2, 3 * units) if kind == "gru" else (gates * units,)))
    return [w.astype(np.float32) for w in ws]


CONVERTERS = {"lstm": (interop.lstm_weights_keras_to_torch, interop.lstm_weights_torch_to_keras),
              "gru": (interop.gru_weights_keras_to_torch, interop.gru_weights_torch_to_keras),
              "rnn": (interop.simple_rnn_weights_keras_to_torch,
                      interop.simple_rnn_weights_torch_to_keras)}


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("feats,units", [(1, 1), (3, 7), (8, 2)])
def test_weight_converters_round_trip_exactly(kind: str, bias: bool, feats: int,
                                              units: int) -> None:
    to_t, to_k = CONVERTERS[kind]
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind]
    ws = keras_weights(kind, feats, units, bias, seed=feats * 10 + units)
    d = to_t(*ws)
    assert set(d) == ({"weight_ih", "weight_hh", "bias_ih", "bias_hh"} if bias
                      else {"weight_ih", "weight_hh"})
    assert d["weight_ih"].shape == (gates * units, feats)
    assert d["weight_hh"].shape == (gates * units, units)
    same_weights(to_k(**d), ws)                                # Keras -> torch -> Keras
    # torch -> Keras -> torch: bit-exact for GRU and for every weight matrix; LSTM and
    # SimpleRNN have one Keras bias, so only bias_ih + bias_hh survives.
    rng = np.random.default_rng(units)
    td = {k: rng.standard_normal(v.shape).astype(np.float32) for k, v in d.items()}
    again = to_t(*to_k(**td))
    for key in ("weight_ih", "weight_hh"):
        assert np.array_equal(again[key], td[key])
    if bias and kind == "gru":
        assert np.array_equal(again["bias_ih"], td["bias_ih"])
        assert np.array_equal(again["bias_hh"], td["bias_hh"])
    elif bias:
        assert np.array_equal(again["bias_ih"] + again["bias_hh"], td["bias_ih"] + td["bias_hh"])


def test_weight_converter_gate_orders() -> None:
    """LSTM keeps i, f, c/g, o; GRU maps Keras z, r, h to torch r, z, n."""
    u = 2
    blocks = lambda n, rows: np.concatenate(  # noqa: E731
        [np.full((rows, u), k, np.float32) for k in range(n)], axis=1)
    d = interop.lstm_weights_keras_to_torch(blocks(4, 3), blocks(4, u), blocks(4, 1)[0])
    assert d["weight_ih"][:, 0].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert d["bias_ih"].tolist() == [0, 0, 1, 1, 2, 2, 3, 3] and not d["bias_hh"].any()
    g = interop.gru_weights_keras_to_torch(blocks(3, 3), blocks(3, u),
                                           np.stack([blocks(3, 1)[0], 10 + blocks(3, 1)[0]]))
    assert g["weight_ih"][:, 0].tolist() == [1, 1, 0, 0, 2, 2]          # r, z, n
    assert g["weight_hh"][:, 0].tolist() == [1, 1, 0, 0, 2, 2]
    assert g["bias_ih"].tolist() == [1, 1, 0, 0, 2, 2]
    assert g["bias_hh"].tolist() == [11, 11, 10, 10, 12, 12]


@needs_torch
def test_weight_converters_load_into_own_module() -> None:
    """The dicts load into a user's own nn module (state_dict naming) with Keras's numbers."""
    x = data(21)
    for kind, conv in (("lstm", interop.lstm_weights_keras_to_torch),
                       ("gru", interop.gru_weights_keras_to_torch),
                       ("rnn_tanh", interop.simple_rnn_weights_keras_to_torch)):
        layer = Bidirectional(keras_layer(kind, return_sequences=True))
        layer(x)
        randomize(layer, 21)
        module = torch_module(kind, bidirectional=True)
        state = {}
        for sfx, sub in (("_l0", layer.forward_layer), ("_l0_reverse", layer.backward_layer)):
            state.update({k + sfx: torch.from_numpy(v)
                          for k, v in conv(*sub.get_weights()).items()})
        module.load_state_dict(state)
        check(run_torch(module, x)[0], layer(x), f"own module {kind}")


def test_weight_converters_validate_shapes() -> None:
    k, rk, b = keras_weights("lstm", 3, 2, True, 0)
    with pytest.raises(ValueError, match=r"kernel must have shape \(F, 4u\)"):
        interop.lstm_weights_keras_to_torch(k[:, :5], rk, b)
    with pytest.raises(ValueError, match=r"recurrent_kernel must have shape \(u, 4u\)"):
        interop.lstm_weights_keras_to_torch(k, rk[:, :6], b)
    with pytest.raises(ValueError, match=r"bias must have shape \(8,\)"):
        interop.lstm_weights_keras_to_torch(k, rk, b[:6])
    with pytest.raises(ValueError, match=r"weight_hh must have shape \(4u, u\)"):
        interop.lstm_weights_torch_to_keras(k.T, rk)            # not transposed
    gk, grk, _ = keras_weights("gru", 3, 2, True, 0)
    with pytest.raises(ValueError, match="reset_after=False"):
        interop.gru_weights_keras_to_torch(gk, grk, np.zeros(6, np.float32))
    with pytest.raises(TypeError, match="numeric"):
        interop.simple_rnn_weights_keras_to_torch(np.array([["a"]]), np.zeros((1, 1)))
    # one torch bias alone counts the other as zeros
    d = interop.simple_rnn_weights_keras_to_torch(*keras_weights("rnn", 3, 2, True, 1))
    assert np.array_equal(interop.simple_rnn_weights_torch_to_keras(
        d["weight_ih"], d["weight_hh"], bias_ih=d["bias_ih"])[2], d["bias_ih"])


# ============================================================================ refusals
def built(layer: Any, x: np.ndarray | None = None) -> Any:
    layer(data(0) if x is None else x)
    return layer


UNSUPPORTED = [
    ("gru_ra0", lambda: built(GRU(3, reset_after=False, name="gru_ra0")),
     r"'gru_ra0' \(GRU\).*reset_after=False"),
    ("lstm_relu", lambda: built(LSTM(3, activation="relu", name="lstm_relu")),
     r"'lstm_relu' \(LSTM\).*activation='relu'.*tanh"),
    ("lstm_hard", lambda: built(LSTM(3, recurrent_activation="hard_sigmoid", name="lstm_hard")),
     r"'lstm_hard'.*recurrent_activation='hard_sigmoid'.*sigmoid"),
    ("gru_relu", lambda: built(GRU(3, activation="relu", name="gru_relu")),
     r"'gru_relu'.*activation='relu'"),
    ("gru_hard", lambda: built(GRU(3, recurrent_activation="hard_sigmoid", name="gru_hard")),
     r"'gru_hard'.*recurrent_activation='hard_sigmoid'"),
    ("srnn_sigmoid", lambda: built(SimpleRNN(3, activation="sigmoid", name="srnn_sigmoid")),
     r"'srnn_sigmoid'.*activation='sigmoid'.*'tanh' or 'relu'"),
    ("srnn_custom", lambda: built(SimpleRNN(3, activation=lambda v: v * 2, name="srnn_custom")),
     r"'srnn_custom'.*activation="),
    ("stateful", lambda: built(LSTM(3, stateful=True, name="keeps")), r"'keeps'.*stateful=True"),
    ("unbuilt", lambda: LSTM(3, name="fresh"), r"'fresh'.*not built"),
    ("bidi_ra0", lambda: built(Bidirectional(GRU(3, reset_after=False, name="inner"))),
     r"'forward_inner'.*reset_after=False"),
    ("bidi_backward_differs", lambda: built(Bidirectional(
        LSTM(3), backward_layer=LSTM(4, go_backwards=True), name="bd")),
     r"'bd' \(Bidirectional\).*backward_layer differs"),
    ("bidi_stacked", lambda: built(Bidirectional(RNN([LSTMCell(3), LSTMCell(3)]), name="bs")),
     r"'bs'.*stacked cells"),
    ("mixed_cells", lambda: built(RNN([LSTMCell(3), GRUCell(3)], name="mixed")),
     r"'mixed'.*stacked cells differ"),
    ("cell_ra0", lambda: built(RNN([GRUCell(3), GRUCell(3, reset_after=False)], name="cr")),
     r"'cr'.*cell 1 \(GRUCell\): reset_after=False"),
    ("dense", lambda: built(Dense(3, name="head")), r"'head' \(Dense\).*wrap this layer"),
]


@needs_torch
@pytest.mark.parametrize("make,pattern", [(m, p) for _, m, p in UNSUPPORTED],
                         ids=[i for i, _, _ in UNSUPPORTED])
def test_to_torch_refuses_with_layer_name(make: Any, pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        interop.to_torch(make())


def _model(build: Any) -> Any:
    inp = Input(shape=(None, F))
    return Model(inp, build(inp))


NOT_ONE_RNN = [
    ("dense_head", lambda: _model(lambda i: Dense(2, name="proj")(LSTM(3)(i)))),
    ("inner_sequence_out", lambda: _model(
        lambda i: [LSTM(3)(s := LSTM(3, return_sequences=True, name="l1")(i)), s])),
    ("inner_go_backwards", lambda: _model(
        lambda i: LSTM(3)(LSTM(3, return_sequences=True, go_backwards=True, name="gb")(i)))),
    ("different_units", lambda: _model(
        lambda i: LSTM(4, name="wide")(LSTM(3, return_sequences=True)(i)))),
    ("inner_merge_sum", lambda: _model(lambda i: Bidirectional(LSTM(3))(
        Bidirectional(LSTM(3, return_sequences=True), merge_mode="sum", name="bsum")(i)))),
]


@needs_torch
@pytest.mark.parametrize("make", [m for _, m in NOT_ONE_RNN], ids=[i for i, _ in NOT_ONE_RNN])
def test_to_torch_models_that_are_not_one_torch_rnn(make: Any) -> None:
    """Models one multi-layer torch RNN cannot express become a KerasLikeModel."""
    model = make()
    randomize(model, 51)
    module = interop.to_torch(model)
    assert isinstance(module, interop.KerasLikeModel)
    x = data(51)
    check(run_torch(module, x), model(x), "whole model")


@needs_torch
def test_to_torch_initial_state_wiring_and_other_objects() -> None:
    inp, h0 = Input(shape=(None, F)), Input(shape=(3,))
    c0 = Input(shape=(3,))
    model = Model([inp, h0, c0], LSTM(3)(inp, initial_state=[h0, c0]))
    randomize(model, 52)
    x, h, c = data(52), data(53)[:, 0, :3], data(54)[:, 0, :3]
    got = to_np(interop.to_torch(model)(torch.from_numpy(x), torch.from_numpy(h),
                                        torch.from_numpy(c)))
    check(got, model([x, h, c]), "initial states from inputs")
    inp = Input(shape=(None, F))
    _, h, c = LSTM(3, return_sequences=True, return_state=True)(inp)
    model = Model(inp, LSTM(3, name="seeded")(inp, initial_state=[h, c]))
    randomize(model, 55)
    check(run_torch(interop.to_torch(model), data(55)), model(data(55)), "states handed over")
    with pytest.raises(TypeError, match="rnnlens layer or model"):
        interop.to_torch(torch.nn.LSTM(2, 2))


# ============================================================================ the wrapper
@needs_torch
def test_wrapper_saves_traces_and_trains() -> None:
    x = data(31)
    layer = Bidirectional(LSTM(U, return_sequences=True, return_state=True), merge_mode="ave")
    layer(x)
    randomize(layer, 31)
    module = interop.to_torch(layer)
    assert "merge_mode='ave'" in repr(module)
    buf = io.BytesIO()
    torch.save(module, buf)
    buf.seek(0)
    loaded = torch.load(buf, weights_only=False)
    check(run_torch(loaded, x), layer(x), "torch.save / torch.load")
    with warnings.catch_warnings():               # torch's own RNN code warns when traced
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(module, torch.from_numpy(x), strict=False)
    check(run_torch(traced, data(32)), layer(data(32)), "torch.jit.trace")
    module.train()
    out = module(torch.from_numpy(x))
    (out[0].sum() + out[1].sum()).backward()
    assert module.rnn.weight_ih_l0.grad is not None
    # numpy input is accepted, too
    check(to_np(module.eval()(x)), layer(x), "numpy input")
    double = interop.to_torch(layer, dtype=torch.float64)
    assert double.rnn.weight_ih_l0.dtype == torch.float64
    with torch.no_grad():
        check(to_np(double(torch.from_numpy(x).double())), layer(x), "dtype=float64")


@needs_torch
def test_wrapper_rejects_wrong_initial_state_count() -> None:
    layer = built(LSTM(3))
    with pytest.raises(ValueError, match=r"expects 2 initial states.*h, c"):
        interop.to_torch(layer)(torch.zeros(1, 2, F), initial_state=[torch.zeros(1, 3)])


@needs_torch
def test_from_torch_of_wrapper_adds_states_on_request() -> None:
    x = data(41)
    layer = built(GRU(U, go_backwards=True), x)
    randomize(layer, 41)
    module = interop.to_torch(layer)
    model = interop.from_torch(module, return_state=True)
    h = run_torch(module.rnn, x[:, ::-1].copy())[1]
    res = model(x)
    check(res[0], layer(x), "output")
    check(interop.states_to_torch(res[1:], "gru"), h, "added states")


