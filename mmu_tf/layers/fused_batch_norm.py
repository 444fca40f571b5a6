"""Batch normalisation in one fused TensorFlow kernel, for backbones that compute in 16 bits.

Keras 3's `BatchNormalization` upcasts its input to float32, computes the
moments and the normalisation with separate element-wise ops, and casts the
result back: under `mixed_bfloat16` that is a float32 copy of every
activation map, two casts and several float32 passes over it, at each of a
backbone's batch norms, forward and backward (ResNet-18's Max-Min step:
60 batch norms, 400 casts). TensorFlow's `FusedBatchNormV3` takes the 16-bit
tensor with float32 statistics, scale and offset, and accumulates in float32
inside the kernel: the same numerics the upcast buys, without the copies.

`fuse_batch_norm(backbone)` swaps the computation of each of its batch norms
for the fused kernel; the layers, their weights and their configs stay
Keras's, so checkpoints load anywhere. Used under 16-bit policies only
(`mmu_tf.models.backbones.build_backbone`); in float32 Keras's own path is kept.
"""

import types

import keras
import tensorflow as tf

# FusedBatchNormV3 refuses a smaller epsilon; TensorFlow's own wrapper raises it the same way.
MINIMUM_EPSILON = 1.001e-5


def fused_call(layer, inputs, training=None, mask=None):
    """`BatchNormalization.call` through `FusedBatchNormV3`; same outputs and moving-statistics updates.

    A layer synchronised over replicas (`mmu_tf.distribution.synchronize_batch_norm`,
    which may run after the swap) trains through Keras's own call, which
    averages the batch statistics over the replicas: the fused kernel computes
    them on this replica's share alone. Read at each call, not at the swap.
    """
    synchronized_training = bool(training) and layer.trainable and layer.synchronized
    if mask is not None or inputs.shape.rank != 4 or synchronized_training:
        return keras.layers.BatchNormalization.call(layer, inputs, training=training, mask=mask)
    channels = inputs.shape[-1]
    scale = tf.cast(layer.gamma, tf.float32) if layer.scale else tf.ones([channels], tf.float32)
    offset = tf.cast(layer.beta, tf.float32) if layer.center else tf.zeros([channels], tf.float32)
    epsilon = max(float(layer.epsilon), MINIMUM_EPSILON)
    if training and layer.trainable:
        outputs, batch_mean, batch_variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, scale, offset, epsilon=epsilon, data_format="NHWC", is_training=True
        )
        # The kernel returns the unbiased variance; Keras keeps the biased one in its moving average.
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), tf.float32)
        batch_variance = batch_variance * (count - 1.0) / tf.maximum(count, 1.0)
        momentum = layer.momentum
        layer.moving_mean.assign(layer.moving_mean * momentum + batch_mean * (1.0 - momentum))
        layer.moving_variance.assign(layer.moving_variance * momentum + batch_variance * (1.0 - momentum))
    else:
        outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
            inputs,
            scale,
            offset,
            mean=tf.cast(layer.moving_mean, tf.float32),
            variance=tf.cast(layer.moving_variance, tf.float32),
            epsilon=epsilon,
            data_format="NHWC",
            is_training=False,
        )
    return tf.cast(outputs, layer.compute_dtype)


def fusable(layer):
    """Whether `fused_call` can stand for this layer's own `call` (channels last, no renorm)."""
    return isinstance(layer, keras.layers.BatchNormalization) and layer.axis in (-1, 3) and not layer.renorm


def fuse_batch_norm(model):
    """Makes every fusable batch norm of `model` compute with `FusedBatchNormV3`; returns `model`.

    Example:
    >>> backbone = fuse_batch_norm(build_backbone("resnet18"))  # doctest: +SKIP
    """
    for layer in model._flatten_layers(include_self=False):
        if fusable(layer):
            layer.call = types.MethodType(fused_call, layer)
    return model
