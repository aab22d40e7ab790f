"""PyTorch interop: whole models and recurrent layers to torch, torch RNNs to rnnlens.

* ``to_torch(model)``: ONE ``torch.nn.Module`` computing what ``model(x)`` computes,
  same outputs and states in the same nesting, masks included (float32, within 1e-5
  in the tests):

  - a model that is a plain chain of identical recurrent layers (and a single
    recurrent layer) becomes a :class:`KerasLikeRNN` around one multi-layer torch RNN
    (:mod:`.rnn`), ``.rnn`` being the plain ``nn.LSTM`` / ``nn.GRU`` / ``nn.RNN``;
  - any other model of supported layers becomes a :class:`KerasLikeModel`
    (:mod:`.model`): Embedding (``mask_zero``), Masking, LSTM / GRU / SimpleRNN /
    Bidirectional stacks with every flag (masks applied step by step, right-, left- or
    middle-padded), Dense, TimeDistributed, Dropout & friends (identities), Activation,
    the merges, RepeatVector, Flatten / Reshape / Permute, Layer- / Batch- /
    UnitNormalization, Conv1D and 1-D pooling, nested models, the mask ops of
    Keras 3 files and the op nodes of :mod:`.ops` / :mod:`.op_shapes` (``ops.exp(h)``,
    ``h[:, -1]``, reductions, reshapes, ...; ``docs/op_export.md``). Anything else is a
    ValueError naming the layer (or op) and its class.

* ``from_torch(module)`` (:mod:`.from_torch`): a torch ``nn.LSTM`` / ``GRU`` / ``RNN``
  (any ``num_layers``, ``bidirectional``, ``batch_first``, ``bias``) as an rnnlens
  ``Model``; ``from_torch(to_torch(layer))`` gives the layer's weights back bit-exactly.
* Plain weight and state converters (:mod:`.weights`; NumPy only):
  ``lstm_weights_keras_to_torch`` and friends, ``states_to_torch`` /
  ``states_from_torch``.

torch is optional: it is imported inside the functions that need it, and a missing
torch raises an ImportError that says how to install it. The module classes
(``KerasLikeRNN``, ``KerasLikeModel``, ...) subclass ``torch.nn.Module`` and are made
on first access.
"""

from __future__ import annotations

from typing import Any

from rnnlens.interop.torch.from_torch import from_torch
from rnnlens.interop.torch.weights import (_import_torch, gru_weights_keras_to_torch,
                                           gru_weights_torch_to_keras,
                                           lstm_weights_keras_to_torch,
                                           lstm_weights_torch_to_keras,
                                           simple_rnn_weights_keras_to_torch,
                                           simple_rnn_weights_torch_to_keras,
                                           states_from_torch, states_to_torch)

# The module classes are left out of ``__all__`` on purpose: they are made on first
# access (they subclass torch.nn.Module), and ``import *`` must work without torch.
__all__ = [
    "from_torch", "to_torch", "states_to_torch", "states_from_torch",
    "lstm_weights_keras_to_torch", "lstm_weights_torch_to_keras",
    "gru_weights_keras_to_torch", "gru_weights_torch_to_keras",
    "simple_rnn_weights_keras_to_torch", "simple_rnn_weights_torch_to_keras",
]


def to_torch(layer_or_model: Any, dtype: Any = None) -> Any:
    """An rnnlens model (or recurrent layer) as one torch module with the same outputs.

    Args:
        layer_or_model: a built rnnlens ``Model`` / ``Sequential``, or a built
            ``LSTM``, ``GRU`` (``reset_after=True``), ``SimpleRNN`` (tanh / relu),
            ``RNN`` over those cells or ``Bidirectional`` of them.
        dtype: the torch dtype of the parameters (default ``torch.float32``).

    Returns:
        In eval mode: for a layer, or a model that is a plain chain of identical
        recurrent layers, a :class:`KerasLikeRNN` (one multi-layer torch RNN, see
        :func:`rnnlens.interop.torch.rnn.rnn_to_torch`); for any other model, a
        :class:`KerasLikeModel` whose ``forward(*inputs)`` returns what ``model(x)``
        returns.

    Raises:
        ImportError: torch is not installed.
        TypeError: ``layer_or_model`` is not an rnnlens layer or model.
        ValueError: naming the layer and its class, for what cannot be converted.
    """
    _import_torch()
    from rnnlens.interop.torch.model import model_to_torch
    from rnnlens.interop.torch.rnn import _refuse, rnn_to_torch
    from rnnlens.layers import RNN, Bidirectional
    from rnnlens.models import Model

    if isinstance(layer_or_model, Model):
        try:
            return rnn_to_torch(layer_or_model, dtype)
        except ValueError:
            return model_to_torch(layer_or_model, dtype)
    if isinstance(layer_or_model, (RNN, Bidirectional)):
        return rnn_to_torch(layer_or_model, dtype)
    if hasattr(layer_or_model, "name") and hasattr(layer_or_model, "weights"):
        raise _refuse(layer_or_model, "to_torch converts models and recurrent layers; wrap "
                      "this layer in a model: Model(inputs, layer(inputs)).")
    raise TypeError(f"to_torch expects an rnnlens layer or model, received "
                    f"{type(layer_or_model).__name__}.")


_CLASSES = {"KerasLikeRNN": ("rnn", "wrapper_class"),
            "KerasLikeModel": ("model", "classes")}


def __getattr__(name: str) -> Any:
    # the module classes subclass torch.nn.Module, so they are made on first use
    if name in _CLASSES:
        import importlib

        module, factory = _CLASSES[name]
        made = getattr(importlib.import_module(f"rnnlens.interop.torch.{module}"), factory)()
        return made if isinstance(made, type) else getattr(made, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
