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
* :mod:`.conv_recurrent`: ``ConvLSTM1D`` / ``ConvLSTM2D`` / ``ConvLSTM3D`` as a ``Scan``
  (the input convolution for all steps, the recurrent one per step), every flag, masks.
* :mod:`.masks`: ``Embedding`` (``mask_zero`` too), ``Masking``, masks carried through
  every layer as rnnlens / Keras propagate them, ``mask=`` arguments from the graph,
  and the mask ops a Keras 3 file records (``NotEqual``, ``Equal``, ``Any``,
  ``ExpandDims``, ``ZerosLike``, ``OnesLike``, ``LogicalOr``, ``LogicalAnd``,
  ``Concatenate``).
* :mod:`.core`: ``Dense``, ``TimeDistributed`` (around Dense, recurrent layers, or any
  exported layer: steps folded into the batch), ``Activation``, ``ReLU``,
  ``LeakyReLU``, ``PReLU``, ``ELU``, ``Softmax`` (masks too), ``Identity``, and the
  identities at inference ``Dropout``, ``SpatialDropout1D/2D/3D``, ``GaussianNoise``,
  ``GaussianDropout``, ``AlphaDropout``, ``ActivityRegularization``.
* :mod:`.reshaping`: ``RepeatVector``, ``Flatten``, ``Reshape``, ``Permute``,
  ``ZeroPadding1D/2D/3D``, ``Cropping1D/2D/3D``, ``UpSampling1D/2D/3D`` (UpSampling2D's
  bilinear / bicubic / lanczos as rnnlens's resize matrices).
* :mod:`.merging`: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
  ``Minimum`` (masked values as Keras 3.15.1), ``Concatenate``, ``Dot`` (with
  ``normalize``).
* :mod:`.conv`: ``Conv1D/2D/3D`` (valid / same / causal, strides, dilation, groups),
  ``SeparableConv1D/2D``, ``DepthwiseConv1D/2D``, ``Conv1D/2D/3DTranspose``,
  ``MaxPooling1D/2D/3D``, ``AveragePooling1D/2D/3D``, ``GlobalMaxPooling1D/2D/3D``,
  ``GlobalAveragePooling1D/2D/3D`` (1-D: the masked mean), both data formats, known or
  unknown spatial sizes.
* :mod:`.norm`: ``BatchNormalization`` (inference), ``LayerNormalization`` (ONNX's
  operator from opset 17 for trailing axes, operations otherwise; ``rms_scaling``),
  ``UnitNormalization``.
* :mod:`.attention`: ``Attention``, ``AdditiveAttention`` and ``MultiHeadAttention``
  (MatMul, Softmax, the Keras masks, causal / sliding-window / ``attention_mask``
  masks, the returned scores).
* :mod:`.op_nodes` / :mod:`.op_shapes`: the Keras op nodes of functional graphs
  (``ops.exp(h)``, ``h * 2 + 1``, ``h[:, -1]``, ``ops.sum(h, axis=1)``, reshape,
  transpose, concatenate / stack, matmul, where, clip, cast, softmax, ...; 119 op
  classes, listed in ``docs/op_export.md``); any other op is a ValueError naming the
  node and the op.
* Models used as layers are inlined.

Activations (:mod:`.activations`): every named Keras activation, in every layer that
has one (``Dense``, ``Activation``, convolutions, recurrent layers through the Scan).

What is not exported, and why (each a ValueError naming the layer and the setting):

* user code: ``Lambda``, user cells (``RNN(MyCell())``), user activation functions and
  any layer class not listed above (subclasses included) - ONNX cannot run Python;
* ``stateful=True`` - a file keeps no states between runs (pass the states as inputs
  and outputs instead); stacked cells (``RNN([cell, cell])``) - stack layers instead;
* randomness and batch statistics: ``training=True`` calls of layers whose output then
  depends on random numbers (dropout, noise, attention dropout, recurrent dropout) or
  on the batch (trainable BatchNormalization);
* ``MultiHeadAttention`` on inputs of rank above 3 or with other ``attention_axes``
  (rnnlens's einsum permutations are not written out), UpSampling2D's smooth
  interpolations on unknown spatial sizes (the resize matrices need the sizes);
* the preprocessing layers (``TextVectorization``, ``StringLookup``, ``IntegerLookup``,
  ``Hashing`` work on strings and vocabularies; ``Normalization`` and
  ``Discretization`` are not written), and the cells on their own;
* layers other engineers are adding while this was written (``EinsumDense``,
  ``GroupNormalization``, ``RMSNormalization``, ``ReversibleEmbedding``, adaptive
  pooling, grouped-query attention) - not exported yet.

Embedding ids outside ``[0, input_dim)``, which rnnlens refuses, are not checked in the
file (see :mod:`.masks`).

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
