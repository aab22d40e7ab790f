"""``from_torch``: a torch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` (or a :class:`KerasLikeRNN`)
as an rnnlens ``Model`` with the same numbers."""

from __future__ import annotations

from typing import Any

from rnnlens.interop.torch.rnn import _restructure, _Spec, wrapper_class
from rnnlens.interop.torch.weights import _GATES, _N_STATES, _TO_KERAS, _flat, _import_torch


def _spec_from_module(module: Any, return_state: bool) -> _Spec:
    torch = _import_torch()
    wrapper = wrapper_class()
    spec_flags: dict = {}
    if isinstance(module, wrapper):
        spec_flags = {"go_backwards": module.go_backwards,
                      "return_sequences": module.return_sequences,
                      "merge_mode": module.merge_mode, "structure": module.structure,
                      "stacked_cells": module.stacked_cells,
                      "nest_like_initial_state": module.nest_like_initial_state}
        module = module.rnn
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"from_torch expects a torch.nn.LSTM, GRU or RNN module, received "
                        f"{type(module).__name__}.")
    if not isinstance(module, torch.nn.RNNBase) or getattr(module, "mode", None) not in _GATES:
        raise ValueError(f"from_torch converts torch.nn.LSTM, nn.GRU and nn.RNN, received "
                         f"{type(module).__name__}. Convert its recurrent submodules instead.")
    name = type(module).__name__
    if getattr(module, "proj_size", 0):
        raise ValueError(f"Cannot convert {name}(proj_size={module.proj_size}): an LSTM with "
                         "projections has no Keras equivalent (Keras's LSTM has no "
                         "projection). Use proj_size=0.")
    mode = module.mode
    d = 2 if module.bidirectional else 1
    weights = []
    for layer in range(module.num_layers):
        for direction in range(d):
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            params = {k: getattr(module, f"{k}{sfx}") for k in ("weight_ih", "weight_hh")}
            if module.bias:
                params.update({k: getattr(module, f"{k}{sfx}") for k in ("bias_ih", "bias_hh")})
            weights.append(_TO_KERAS[mode](**params))
    if not spec_flags:
        n = module.num_layers * d * _N_STATES[mode]
        spec_flags = {"structure": [0, *range(1, n + 1)] if return_state else 0}
    elif return_state:                     # add the states if the wrapper returns none
        heads_n = 2 if spec_flags["merge_mode"] is None else 1
        structure = spec_flags["structure"]
        if not any(k >= heads_n for k in _flat(structure)):
            n = module.num_layers * d * _N_STATES[mode]
            head = list(structure) if isinstance(structure, (list, tuple)) else [structure]
            spec_flags["structure"] = [*head, *range(heads_n, heads_n + n)]
    return _Spec(mode, module.input_size, module.hidden_size, module.num_layers,
                 bool(module.bidirectional), bool(module.bias), weights, **spec_flags)


def _new_layer(spec: Any, return_sequences: bool, return_state: bool, go_backwards: bool) -> Any:
    from rnnlens.layers import GRU, LSTM, SimpleRNN

    kw = dict(use_bias=spec.bias, return_sequences=return_sequences,
              return_state=return_state, go_backwards=go_backwards)
    if spec.mode == "LSTM":
        return LSTM(spec.units, **kw)
    if spec.mode == "GRU":
        return GRU(spec.units, reset_after=True, **kw)
    return SimpleRNN(spec.units, activation="relu" if spec.mode == "RNN_RELU" else "tanh", **kw)


def _new_cell(spec: Any) -> Any:
    from rnnlens.layers import GRUCell, LSTMCell, SimpleRNNCell

    if spec.mode == "LSTM":
        return LSTMCell(spec.units, use_bias=spec.bias)
    if spec.mode == "GRU":
        return GRUCell(spec.units, use_bias=spec.bias, reset_after=True)
    return SimpleRNNCell(spec.units, use_bias=spec.bias,
                         activation="relu" if spec.mode == "RNN_RELU" else "tanh")


def _model_from_spec(spec: _Spec) -> Any:
    from rnnlens.layers import RNN, Bidirectional, Input
    from rnnlens.models import Model

    n = _N_STATES[spec.mode]
    heads_n = 2 if spec.merge_mode is None else 1
    wanted = {k - heads_n for k in _flat(spec.structure) if k >= heads_n}
    d = spec.directions
    per_layer = d * n                                      # states of one layer
    inp = Input(shape=(None, spec.input_size))
    flat: list[Any] = [None] * (heads_n + spec.num_layers * per_layer)
    if spec.stacked_cells:
        layer = RNN([_new_cell(spec) for _ in range(spec.num_layers)],
                    return_sequences=spec.return_sequences, return_state=bool(wanted),
                    go_backwards=spec.go_backwards)
        res = layer(inp)
        if wanted:
            flat[0] = res[0]
            flat[1:] = _flat(list(res[1:]))
        else:
            flat[0] = res
        layer.set_weights([w for ws in spec.weights for w in ws])
    else:
        x = inp
        for li in range(spec.num_layers):
            last = li == spec.num_layers - 1
            has_state = any(li * per_layer <= k < (li + 1) * per_layer for k in wanted)
            layer = _new_layer(spec, return_sequences=spec.return_sequences if last else True,
                               return_state=has_state,
                               go_backwards=spec.go_backwards and last)
            if d == 2:
                layer = Bidirectional(layer, merge_mode=spec.merge_mode if last else "concat")
            res = layer(x)
            parts = list(res) if (has_state or (last and heads_n == 2)) else [res]
            h = heads_n if last else 1
            if has_state:
                flat[heads_n + li * per_layer: heads_n + (li + 1) * per_layer] = parts[h:]
            if last:
                flat[:heads_n] = parts[:heads_n]
            x = parts[0]
            layer.set_weights([w for ws in spec.weights[li * d:(li + 1) * d] for w in ws])
    return Model(inp, _restructure(spec.structure, flat))


def from_torch(module: Any, return_state: bool = False) -> Any:
    """A torch ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN`` as an rnnlens ``Model``.

    Any ``num_layers``, ``bidirectional``, ``batch_first`` either way, ``bias`` on
    or off, ``nn.RNN`` with ``nonlinearity`` "tanh" or "relu". Each torch layer
    becomes one rnnlens layer (``LSTM``, ``GRU(reset_after=True)``, ``SimpleRNN``)
    with ``return_sequences=True``; a bidirectional layer becomes
    ``Bidirectional(..., merge_mode="concat")``. Biases: LSTM and SimpleRNN get
    ``bias_ih + bias_hh``; GRU gets ``[bias_ih; bias_hh]`` (reordered); ``bias=False``
    gives ``use_bias=False`` layers. torch's ``dropout`` between layers only acts in
    training mode and is not carried over: the model matches ``module.eval()``.

    A :class:`KerasLikeRNN` (from :func:`to_torch`) converts back into the
    equivalent rnnlens layer(s) with its flags (``go_backwards``,
    ``return_sequences``, merge mode) and its output structure, so
    ``from_torch(to_torch(layer))`` returns the layer's weights bit-exactly and the
    same outputs; ``return_state=True`` then appends all final states only if the
    wrapper returns none.

    Args:
        module: the torch module (on any device, any float dtype; the model
            computes in float32).
        return_state: also return the final states.

    Returns:
        A ``Model`` taking (B, T, F) batch-first input whose output is torch's
        ``output`` in batch-first layout (B, T, num_directions * u) - i.e.
        ``output.transpose(0, 1)`` when the module is not ``batch_first``. With
        ``return_state=True`` the model returns a list ``[output, *states]`` with the
        states in Keras's order: for each layer, and direction (forward, then
        backward), ``h`` (and ``c`` for an LSTM). ``states_to_torch(outputs[1:],
        module)`` turns them into torch's ``h_n`` (``, c_n``).

    Raises:
        ImportError: torch is not installed.
        TypeError: ``module`` is not a torch RNN module.
        ValueError: an LSTM with ``proj_size != 0``.
    """
    return _model_from_spec(_spec_from_module(module, return_state))


__all__ = ["from_torch"]
