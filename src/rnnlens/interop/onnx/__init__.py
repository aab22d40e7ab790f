"""Export an rnnlens model to ONNX, with ONNX's own operators.

``to_onnx(model, path)`` writes a file that ONNX Runtime runs with rnnlens's
numbers (max abs difference ~1e-6 in float32)::

    from rnnlens.interop.onnx import to_onnx
    to_onnx(model, "model.onnx")
    import onnxruntime as ort
    sess = ort.InferenceSession("model.onnx")
    outs = sess.run(None, {"input_layer": x})      # one array per model output

What it exports (one module per family, each a table ``EMITTERS`` of layer class ->
emitter; :mod:`.export` walks the graph and dispatches):

* :mod:`.recurrent`: ``LSTM``, ``GRU`` (``reset_after`` True or False), ``SimpleRNN``,
  ``RNN`` around a built-in cell, ``CuDNNLSTM`` / ``CuDNNGRU`` (Keras 2 files), with
  ``return_sequences``, ``return_state``, ``go_backwards``, ``use_bias``,
  ``zero_output_for_mask`` and initial states taken from the graph; ``Bidirectional``
  with every merge mode, initial states and a custom ``backward_layer``. Two paths:

  - no mask, activations ONNX's operators have (tanh, sigmoid, relu, hard_sigmoid,
    linear, softsign, softplus, elu, leaky_relu): ONNX's own ``LSTM`` / ``GRU`` /
    ``RNN`` operator (one ``direction="bidirectional"`` operator for a Bidirectional
    of equal halves);
  - a Keras mask, or any other Keras activation: the loop written out as a ``Scan``
    (:mod:`.scan`) with ``Where`` per step, exactly rnnlens's masking (states carried
    over masked steps, the previous output or zeros repeated), so right-, left- and
    middle-padded batches all match. ONNX's ``sequence_lens`` is not used: it only
    describes right padding.

  ``unroll`` and ``dropout`` / ``recurrent_dropout`` at inference change no numbers
  and are accepted.
* :mod:`.masks`: ``Embedding`` (``mask_zero`` too), ``Masking``, masks carried through
  every layer as Keras propagates them, ``mask=`` arguments from the graph, and the
  mask ops a Keras 3 file records (``NotEqual``, ``Any``, ...).
* :mod:`.core`: ``Dense``, ``TimeDistributed`` (around Dense, recurrent layers, or any
  exported layer: steps folded into the batch), ``Activation``, ``Identity``, and
  the identities at inference ``Dropout``, ``SpatialDropout1D/2D/3D``,
  ``GaussianNoise``, ``GaussianDropout``, ``AlphaDropout``, ``ActivityRegularization``.
* :mod:`.reshaping`: ``RepeatVector``, ``Flatten``, ``Reshape``, ``Permute``,
  ``ZeroPadding1D``, ``Cropping1D``, ``UpSampling1D``.
* :mod:`.merging`: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
  ``Minimum`` (masked values as Keras 3.15.1), ``Concatenate``, ``Dot`` (with
  ``normalize``).
* :mod:`.conv`: ``Conv1D`` (valid / same / causal, strides, dilation, groups),
  ``SeparableConv1D``, ``DepthwiseConv1D``, ``Conv1DTranspose``, ``MaxPooling1D``,
  ``AveragePooling1D``, ``GlobalMaxPooling1D``, ``GlobalAveragePooling1D`` (masked
  mean), both data formats.
* :mod:`.norm`: ``BatchNormalization`` (inference), ``LayerNormalization`` (ONNX's
  operator from opset 17 for trailing axes, operations otherwise; ``rms_scaling``),
  ``UnitNormalization``.
* Models used as layers are inlined.

Activations (:mod:`.activations`): every named Keras activation, in every layer that
has one (``Dense``, ``Activation``, convolutions, recurrent layers through the Scan).
A user callable is refused with a ValueError naming the layer and the argument, as
are ``stateful`` layers, layers called with ``training=True`` whose output would then
be random or use batch statistics (dropout and noise with a rate above 0, trainable
BatchNormalization), user cells, stacked cells, ``Lambda`` and any layer class not
listed above.

The file's inputs carry the names of the model's ``Input`` layers, its outputs
the names of the model's output tensors (``lstm``; a ``return_state`` layer's
states are ``lstm_1``, ``lstm_2``, ...; a repeated name gets a ``_<k>``
suffix), in ``model.outputs`` order. The batch axis is symbolic (``batch``), and
so is the time axis of an ``Input`` whose time steps are None (``time``, or
``<input>_time`` when several inputs have one).

``onnx`` is imported only when ``to_onnx`` runs; it is an optional dependency.
"""

from rnnlens.interop.onnx.export import MIN_OPSET, to_onnx

__all__ = ["to_onnx", "MIN_OPSET"]
