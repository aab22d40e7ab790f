"""Weight and state conversion between Keras / rnnlens and torch's recurrent modules.

These need only NumPy (torch tensors are accepted as inputs).

Layouts (u units, F input features; torch stores ``weight @ x``, Keras ``x @ kernel``)::

    LSTM  Keras kernel (F, 4u), recurrent_kernel (u, 4u), bias (4u,)   gates i, f, c, o
          torch weight_ih (4u, F), weight_hh (4u, u), bias_ih/bias_hh (4u,)  gates i, f, g, o
          -> same gate order; kernel = weight_ih.T; bias = bias_ih + bias_hh.
    GRU   Keras kernel (F, 3u), recurrent_kernel (u, 3u), bias (2, 3u)   gates z, r, h
          (reset_after=True: bias rows [input bias; recurrent bias])
          torch weight_ih (3u, F), weight_hh (3u, u), bias_ih/bias_hh (3u,)  gates r, z, n
          -> swap the first two blocks; bias[0] <-> bias_ih, bias[1] <-> bias_hh.
          Both compute n = tanh(x W_n + b_in + r * (h U_n + b_hn)) and
          h' = (1 - z) * n + z * h, i.e. torch's GRU *is* Keras's reset_after=True.
    RNN   Keras kernel (F, u), recurrent_kernel (u, u), bias (u,)
          torch weight_ih (u, F), weight_hh (u, u), bias_ih/bias_hh (u,)
          -> kernel = weight_ih.T; bias = bias_ih + bias_hh.

Keras has one bias where torch has two for LSTM and SimpleRNN, so Keras -> torch
puts the bias in ``bias_ih`` and zeros in ``bias_hh``, and torch -> Keras sums
them: Keras -> torch -> Keras is bit-exact, torch -> Keras -> torch keeps the
weights bit-exact and the bias *sum* (the numbers the network computes) but not
the split. GRU round-trips bit-exactly both ways.

States: rnnlens returns final states per layer in Keras's order - for each layer
(and direction: forward, then backward) ``h`` (and ``c`` for an LSTM). torch
returns ``h_n`` (and ``c_n``) of shape (num_layers * num_directions, B, u) with
index ``layer * num_directions + direction``. :func:`states_to_torch` and
:func:`states_from_torch` convert between the two.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

# torch's ``mode`` string -> (gates per unit, states per layer)
_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
_N_STATES = {"LSTM": 2, "GRU": 1, "RNN_TANH": 1, "RNN_RELU": 1}


def _import_torch() -> Any:
    try:
        import torch
    except ImportError as err:  # pragma: no cover - exercised by a test that hides torch
        raise ImportError(
            "rnnlens.interop.torch needs PyTorch for this function, and it is not "
            "installed. Install it with `pip install torch` (or `pip install "
            "rnnlens[torch]`). The weight converters (lstm_weights_keras_to_torch, ...) "
            "work without it."
        ) from err
    return torch


# ============================================================================ weights
def _array(x: Any, what: str) -> np.ndarray:
    """A NumPy array from an array or a torch tensor (detached, on the CPU)."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{what} must be a numeric array, received dtype {arr.dtype}.")
    return arr


def _blocks(arr: np.ndarray, order: Sequence[int], u: int, axis: int) -> np.ndarray:
    """The u-wide blocks of ``arr`` along ``axis`` in ``order`` (a copy)."""
    parts = [np.take(arr, np.arange(k * u, (k + 1) * u), axis=axis) for k in order]
    return np.ascontiguousarray(np.concatenate(parts, axis=axis))


def _check_keras(kind: str, gates: int, kernel: Any, recurrent_kernel: Any
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    k = _array(kernel, f"{kind} kernel")
    rk = _array(recurrent_kernel, f"{kind} recurrent_kernel")
    if rk.ndim != 2 or rk.shape[1] != gates * rk.shape[0]:
        raise ValueError(f"{kind} recurrent_kernel must have shape (u, {gates}u), received "
                         f"{rk.shape}.")
    u = rk.shape[0]
    if k.ndim != 2 or k.shape[1] != gates * u:
        raise ValueError(f"{kind} kernel must have shape (F, {gates}u) = (F, {gates * u}) to "
                         f"match recurrent_kernel {rk.shape}, received {k.shape}.")
    return k, rk, u


def _check_torch(kind: str, gates: int, weight_ih: Any, weight_hh: Any, bias_ih: Any,
                 bias_hh: Any) -> tuple[np.ndarray, np.ndarray, Any, Any, int]:
    wi = _array(weight_ih, f"{kind} weight_ih")
    wh = _array(weight_hh, f"{kind} weight_hh")
    if wh.ndim != 2 or wh.shape[0] != gates * wh.shape[1]:
        raise ValueError(f"{kind} weight_hh must have shape ({gates}u, u), received "
                         f"{wh.shape}. (LSTMs with proj_size are not supported.)")
    u = wh.shape[1]
    if wi.ndim != 2 or wi.shape[0] != gates * u:
        raise ValueError(f"{kind} weight_ih must have shape ({gates}u, F) = ({gates * u}, F) "
                         f"to match weight_hh {wh.shape}, received {wi.shape}.")
    biases = []
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        if b is not None:
            b = _array(b, f"{kind} {name}")
            if b.shape != (gates * u,):
                raise ValueError(f"{kind} {name} must have shape ({gates * u},), received "
                                 f"{b.shape}.")
        biases.append(b)
    bi, bh = biases
    if (bi is None) != (bh is None):          # one bias given: the other is zero
        bi = np.zeros_like(bh) if bi is None else bi
        bh = np.zeros_like(bi) if bh is None else bh
    return wi, wh, bi, bh, u


def _single_bias_to_torch(kind: str, gates: int, u: int, kernel: np.ndarray,
                          recurrent_kernel: np.ndarray, bias: Any) -> dict:
    out = {"weight_ih": np.ascontiguousarray(kernel.T),
           "weight_hh": np.ascontiguousarray(recurrent_kernel.T)}
    if bias is not None:
        b = _array(bias, f"{kind} bias")
        if b.shape != (gates * u,):
            raise ValueError(f"{kind} bias must have shape ({gates * u},), received {b.shape}.")
        out["bias_ih"] = b.copy()
        out["bias_hh"] = np.zeros_like(b)
    return out


def _single_bias_to_keras(wi: np.ndarray, wh: np.ndarray, bi: Any, bh: Any) -> list:
    weights = [np.ascontiguousarray(wi.T), np.ascontiguousarray(wh.T)]
    if bi is not None:
        weights.append(bi + bh)
    return weights


def lstm_weights_keras_to_torch(kernel: Any, recurrent_kernel: Any, bias: Any = None) -> dict:
    """Keras LSTM weights -> torch ``nn.LSTM`` weights of one layer and direction.

    Args:
        kernel: (F, 4u), gate blocks i, f, c, o.
        recurrent_kernel: (u, 4u), same blocks.
        bias: (4u,) or None (``use_bias=False``).

    Returns:
        ``{"weight_ih": (4u, F), "weight_hh": (4u, u), "bias_ih": (4u,), "bias_hh": (4u,)}``
        (gate blocks i, f, g, o: the same order). The bias goes to ``bias_ih`` and
        ``bias_hh`` is zeros; without a bias the two bias keys are left out, which
        matches an ``nn.LSTM(bias=False)``. Load it with
        ``getattr(module, "weight_ih_l0").copy_(torch.as_tensor(d["weight_ih"]))``
        and so on (suffix ``_reverse`` for the backward direction).
    """
    k, rk, u = _check_keras("LSTM", 4, kernel, recurrent_kernel)
    return _single_bias_to_torch("LSTM", 4, u, k, rk, bias)


def lstm_weights_torch_to_keras(weight_ih: Any, weight_hh: Any, bias_ih: Any = None,
                                bias_hh: Any = None) -> list[np.ndarray]:
    """torch ``nn.LSTM`` weights of one layer / direction -> Keras's ``get_weights()`` list.

    Args:
        weight_ih: (4u, F); weight_hh: (4u, u); bias_ih, bias_hh: (4u,) or None
            (gate blocks i, f, g, o). Arrays or tensors.

    Returns:
        ``[kernel (F, 4u), recurrent_kernel (u, 4u), bias (4u,)]`` with
        ``bias = bias_ih + bias_hh``; ``[kernel, recurrent_kernel]`` when both biases
        are None (for ``LSTM(use_bias=False)``). Ready for ``layer.set_weights``.
    """
    wi, wh, bi, bh, _ = _check_torch("LSTM", 4, weight_ih, weight_hh, bias_ih, bias_hh)
    return _single_bias_to_keras(wi, wh, bi, bh)


def gru_weights_keras_to_torch(kernel: Any, recurrent_kernel: Any, bias: Any = None) -> dict:
    """Keras GRU (``reset_after=True``) weights -> torch ``nn.GRU`` weights.

    Args:
        kernel: (F, 3u), gate blocks z, r, h.
        recurrent_kernel: (u, 3u), same blocks.
        bias: (2, 3u) = [input bias; recurrent bias], or None (``use_bias=False``).
            A (3u,) bias belongs to ``reset_after=False``, which torch cannot
            express: ValueError.

    Returns:
        ``{"weight_ih": (3u, F), "weight_hh": (3u, u), "bias_ih": (3u,), "bias_hh": (3u,)}``
        in torch's gate order r, z, n (biases left out when ``bias`` is None).
    """
    k, rk, u = _check_keras("GRU", 3, kernel, recurrent_kernel)
    order = (1, 0, 2)                          # Keras z, r, h -> torch r, z, n
    out = {"weight_ih": _blocks(k, order, u, 1).T.copy(),
           "weight_hh": _blocks(rk, order, u, 1).T.copy()}
    if bias is not None:
        b = _array(bias, "GRU bias")
        if b.shape == (3 * u,):
            raise ValueError(
                f"GRU bias of shape {b.shape} belongs to a GRU with reset_after=False, which "
                "applies the reset gate before the recurrent matrix multiply; torch.nn.GRU "
                "only implements reset_after=True (bias of shape (2, 3u)).")
        if b.shape != (2, 3 * u):
            raise ValueError(f"GRU bias must have shape (2, {3 * u}) (reset_after=True), "
                             f"received {b.shape}.")
        out["bias_ih"] = _blocks(b[0], order, u, 0)
        out["bias_hh"] = _blocks(b[1], order, u, 0)
    return out


def gru_weights_torch_to_keras(weight_ih: Any, weight_hh: Any, bias_ih: Any = None,
                               bias_hh: Any = None) -> list[np.ndarray]:
    """torch ``nn.GRU`` weights (gate blocks r, z, n) -> Keras ``reset_after=True`` weights.

    Returns:
        ``[kernel (F, 3u), recurrent_kernel (u, 3u), bias (2, 3u)]`` in Keras's gate
        order z, r, h, with ``bias = [bias_ih; bias_hh]`` (reordered);
        ``[kernel, recurrent_kernel]`` when both biases are None. A missing one of
        the two biases counts as zeros.
    """
    wi, wh, bi, bh, u = _check_torch("GRU", 3, weight_ih, weight_hh, bias_ih, bias_hh)
    order = (1, 0, 2)                          # torch r, z, n -> Keras z, r, h
    weights = [_blocks(wi, order, u, 0).T.copy(), _blocks(wh, order, u, 0).T.copy()]
    if bi is not None:
        weights.append(np.stack([_blocks(bi, order, u, 0), _blocks(bh, order, u, 0)]))
    return weights


def simple_rnn_weights_keras_to_torch(kernel: Any, recurrent_kernel: Any,
                                      bias: Any = None) -> dict:
    """Keras SimpleRNN weights -> torch ``nn.RNN`` weights.

    Args:
        kernel: (F, u); recurrent_kernel: (u, u); bias: (u,) or None.

    Returns:
        ``{"weight_ih": (u, F), "weight_hh": (u, u), "bias_ih": (u,), "bias_hh": (u,)}``;
        the bias goes to ``bias_ih``, ``bias_hh`` is zeros (left out without a bias).
    """
    k, rk, u = _check_keras("SimpleRNN", 1, kernel, recurrent_kernel)
    return _single_bias_to_torch("SimpleRNN", 1, u, k, rk, bias)


def simple_rnn_weights_torch_to_keras(weight_ih: Any, weight_hh: Any, bias_ih: Any = None,
                                      bias_hh: Any = None) -> list[np.ndarray]:
    """torch ``nn.RNN`` weights -> Keras SimpleRNN ``[kernel, recurrent_kernel, bias]``.

    ``bias = bias_ih + bias_hh``; ``[kernel, recurrent_kernel]`` when both are None.
    """
    wi, wh, bi, bh, _ = _check_torch("SimpleRNN", 1, weight_ih, weight_hh, bias_ih, bias_hh)
    return _single_bias_to_keras(wi, wh, bi, bh)


_TO_TORCH = {"LSTM": lstm_weights_keras_to_torch, "GRU": gru_weights_keras_to_torch,
             "RNN_TANH": simple_rnn_weights_keras_to_torch,
             "RNN_RELU": simple_rnn_weights_keras_to_torch}
_TO_KERAS = {"LSTM": lstm_weights_torch_to_keras, "GRU": gru_weights_torch_to_keras,
             "RNN_TANH": simple_rnn_weights_torch_to_keras,
             "RNN_RELU": simple_rnn_weights_torch_to_keras}


# ============================================================================ states
def _mode_of(kind: Any) -> str:
    """torch's mode string from "lstm" / "gru" / "rnn", a torch RNN module or a KerasLikeRNN."""
    rnn = getattr(kind, "rnn", kind)
    mode = getattr(rnn, "mode", None)
    if isinstance(mode, str) and mode in _GATES:
        return mode
    if isinstance(kind, str):
        key = kind.strip().lower().replace("_", "")
        found = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN_TANH", "simplernn": "RNN_TANH",
                 "rnntanh": "RNN_TANH", "rnnrelu": "RNN_RELU"}.get(key)
        if found:
            return found
    raise ValueError(f"Expected 'lstm', 'gru', 'rnn' or a torch RNN module, received {kind!r}.")


def _flat(structure: Any) -> list:
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in _flat(item)]
    return [structure]


def states_to_torch(states: Sequence[Any], kind: Any) -> Any:
    """Keras-ordered final states -> torch's ``h_n`` (and ``c_n``), as NumPy arrays.

    Args:
        states: the states an rnnlens model or layer returns after its output,
            e.g. ``outputs[1:]`` of ``from_torch(module, return_state=True)``:
            for each layer, and direction (forward then backward), ``h`` (and ``c``
            for an LSTM), each (B, u). Nested lists (stacked cells) are flattened.
        kind: "lstm", "gru", "rnn", or the torch module.

    Returns:
        ``h_n`` of shape (num_layers * num_directions, B, u), or ``(h_n, c_n)`` for
        an LSTM, exactly as torch returns them (batch axis second, whatever
        ``batch_first`` is).
    """
    n = _N_STATES[_mode_of(kind)]
    flat = [_array(s, "state") for s in _flat(list(states))]
    if not flat or len(flat) % n:
        raise ValueError(f"Expected a non-empty multiple of {n} states "
                         f"({'h, c' if n == 2 else 'h'} per layer and direction), "
                         f"received {len(flat)}.")
    h_n = np.stack(flat[0::n])
    return (h_n, np.stack(flat[1::n])) if n == 2 else h_n


def states_from_torch(h_n: Any, c_n: Any = None) -> list[np.ndarray]:
    """torch's ``h_n`` (and ``c_n``) -> the flat Keras-ordered list of states.

    For one layer this is what an rnnlens layer (or Bidirectional) takes as
    ``initial_state``: ``[h, c]`` or ``[h_fwd, c_fwd, h_bwd, c_bwd]``.
    """
    h = _array(h_n, "h_n")
    if h.ndim != 3:
        raise ValueError(f"h_n must have shape (num_layers * num_directions, B, u), "
                         f"received {h.shape}.")
    if c_n is None:
        return [h[k].copy() for k in range(h.shape[0])]
    c = _array(c_n, "c_n")
    if c.shape != h.shape:
        raise ValueError(f"c_n has shape {c.shape}, expected h_n's shape {h.shape}.")
    return [s[k].copy() for k in range(h.shape[0]) for s in (h, c)]


__all__ = [
    "states_to_torch", "states_from_torch",
    "lstm_weights_keras_to_torch", "lstm_weights_torch_to_keras",
    "gru_weights_keras_to_torch", "gru_weights_torch_to_keras",
    "simple_rnn_weights_keras_to_torch", "simple_rnn_weights_torch_to_keras",
]
