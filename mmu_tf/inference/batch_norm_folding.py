"""Batch normalisation folded into the convolution before it, for inference.

At inference a batch norm is a fixed affine map per channel,
`y = gamma * (x - mean) / sqrt(variance + epsilon) + beta`. After a convolution
`x = w * input + b` it is the same convolution with the kernel scaled per output
channel and a new bias:

    scale  = gamma / sqrt(variance + epsilon)
    w'     = w * scale                       (per output channel)
    b'     = (b - mean) * scale + beta       (b = 0 for a convolution without bias)

So a backbone's batch norms cost nothing at inference: each pair runs as one
convolution with a bias, and the batch norm passes its input through. Under
a 16-bit policy the folded kernels are computed once, in float32, and kept in
the compute dtype, so the convolutions also stop casting their float32
kernels at every call (ResNet-18 at 775x522 under `mixed_bfloat16`: the casts
were 20 % and the batch norms 13 % of the inference op time on a 2-core
AVX512-BF16 CPU; docs/results.md).

`folded_batch_norm(model)` is a context: inside it, every convolution of
`model` whose only consumer is a channels-last batch norm computes with the
folded weights (read from the model when the context is entered), and that
batch norm is the identity, *whatever `training` says*; on leaving, the
layers' own calls are back. `mmu_tf.inference.Predictor` traces its
`tf.function` inside it, so the folded weights become constants of that
graph: a predictor reads the model's weights when it traces, and a model
trained further needs a new predictor.

Example:
>>> import numpy as np, tensorflow as tf
>>> from mmu_tf.models import build_backbone
>>> backbone = build_backbone("resnet10")
>>> images = tf.constant(np.random.default_rng(0).random((1, 64, 64, 3)), tf.float32)
>>> plain = backbone(images, training=False)
>>> with folded_batch_norm(backbone) as pairs:
...     folded = backbone(images, training=False)
>>> len(pairs), bool(np.allclose(plain, folded, atol=1e-4))
(12, True)
"""

import contextlib
import types

import keras
import tensorflow as tf

CONVOLUTIONS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)


def _producer(tensor):
    history = getattr(tensor, "_keras_history", None)
    return None if history is None else history.operation


def convolution_batch_norm_pairs(model):
    """`[(convolution, batch_norm)]`: each batch norm of `model` whose input is a convolution read by it alone.

    Both layers channels last, the convolution without activation, the batch
    norm over the last axis and without renormalisation, every call of the
    batch norm on that convolution's output.
    """
    pairs = []
    for layer in model._flatten_layers(include_self=False):
        if not isinstance(layer, keras.layers.BatchNormalization) or layer.renorm or layer.axis not in (-1, 3):
            continue
        nodes = layer._inbound_nodes
        producers = {id(_producer(tensor)): _producer(tensor) for node in nodes for tensor in node.input_tensors}
        if not nodes or len(producers) != 1:
            continue
        convolution = next(iter(producers.values()))
        if not isinstance(convolution, CONVOLUTIONS) or convolution.data_format != "channels_last":
            continue
        if convolution.activation not in (None, keras.activations.linear):
            continue  # the batch norm reads the activation's output: not an affine map of the convolution
        if all(node.operation is layer for node in convolution._outbound_nodes):
            pairs.append((convolution, layer))
    return pairs


def folded_weights(convolution, batch_norm):
    """The folded `(kernel, bias)` of one pair (module docstring), in the convolution's compute dtype."""
    kernel = tf.convert_to_tensor(convolution.kernel.value, tf.float32)
    channels = batch_norm.moving_mean.shape[-1]
    gamma = tf.cast(batch_norm.gamma, tf.float32) if batch_norm.scale else tf.ones([channels])
    beta = tf.cast(batch_norm.beta, tf.float32) if batch_norm.center else tf.zeros([channels])
    scale = gamma * tf.math.rsqrt(tf.cast(batch_norm.moving_variance, tf.float32) + batch_norm.epsilon)
    bias = tf.cast(convolution.bias, tf.float32) if convolution.use_bias else tf.zeros([channels])
    bias = (bias - tf.cast(batch_norm.moving_mean, tf.float32)) * scale + beta
    if isinstance(convolution, keras.layers.DepthwiseConv2D):
        # Depthwise kernels are (h, w, in, multiplier); output channel i * multiplier + m.
        kernel = kernel * tf.reshape(scale, kernel.shape[2:])
    else:
        kernel = kernel * scale
    dtype = convolution.compute_dtype
    return tf.cast(kernel, dtype), tf.cast(bias, dtype)


def _folded_convolution_call(layer, inputs, kernel, bias):
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        outputs = keras.ops.depthwise_conv(
            inputs,
            kernel,
            strides=layer.strides,
            padding=layer.padding,
            dilation_rate=layer.dilation_rate,
            data_format=layer.data_format,
        )
    else:
        outputs = layer.convolution_op(inputs, kernel)
    return tf.nn.bias_add(outputs, bias)


def _identity_call(layer, inputs, training=None, mask=None):
    del layer, training, mask
    return inputs


@contextlib.contextmanager
def folded_batch_norm(model):
    """Within it, `model`'s convolution + batch norm pairs run folded; yields the pairs.

    For inference only: a folded batch norm neither normalises by the batch
    nor updates its statistics, even when called with `training=True`.
    """
    pairs = convolution_batch_norm_pairs(model)
    # Entered while a tf.function traces: the weights are read eagerly, once, and captured as constants.
    with tf.init_scope():
        weights = [folded_weights(convolution, batch_norm) for convolution, batch_norm in pairs]
    # The instance's own `call` where one was set (mmu_tf.layers.fused_batch_norm sets one), else none.
    saved = [(layer, layer.__dict__.get("call")) for pair in pairs for layer in pair]
    try:
        for (convolution, batch_norm), (kernel, bias) in zip(pairs, weights):
            convolution.call = types.MethodType(
                lambda layer, inputs, kernel=kernel, bias=bias: _folded_convolution_call(layer, inputs, kernel, bias),
                convolution,
            )
            batch_norm.call = types.MethodType(_identity_call, batch_norm)
        yield pairs
    finally:
        for layer, call in saved:
            if call is None:
                layer.__dict__.pop("call", None)
            else:
                layer.call = call
