"""The fused batch norm computes what Keras's does: outputs, gradients, moving statistics."""

import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from benchmarks.profile_step import graph_op_counts
from mmu_tf.layers.fused_batch_norm import fused_call
from mmu_tf.models import build_backbone


def _pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    keras_layer = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.9)
    keras_layer.build(shape)
    keras_layer.gamma.assign(rng.uniform(0.5, 1.5, shape[-1]))
    keras_layer.beta.assign(rng.normal(size=shape[-1]))
    keras_layer.moving_mean.assign(rng.normal(size=shape[-1]))
    keras_layer.moving_variance.assign(rng.uniform(0.5, 2.0, shape[-1]))
    fused_layer = keras.layers.BatchNormalization(epsilon=1e-3, momentum=0.9)
    fused_layer.build(shape)
    fused_layer.set_weights(keras_layer.get_weights())
    fused_layer.call = types.MethodType(fused_call, fused_layer)
    return keras_layer, fused_layer


@pytest.mark.parametrize("training", [False, True])
def test_fused_batch_norm_matches_keras_outputs_gradients_and_statistics(training):
    # float32 on both sides: the same arithmetic up to summation order.
    rng = np.random.default_rng(1)
    images = tf.constant(rng.normal(3.0, 2.0, (2, 8, 8, 4)).astype("float32"))
    weights = tf.constant(rng.normal(size=(2, 8, 8, 4)).astype("float32"))
    results = []
    for layer in _pair(images.shape):
        with tf.GradientTape() as tape:
            tape.watch(images)
            loss = tf.reduce_sum(layer(images, training=training) * weights)
        gradients = tape.gradient(loss, [images, layer.gamma, layer.beta])
        results.append([layer(images, training=False), *gradients, layer.moving_mean, layer.moving_variance])
    for expected, actual in zip(*results):
        np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=1e-4, atol=1e-5)


def test_16_bit_backbones_use_the_fused_kernel_and_train_to_finite_values():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        backbone = build_backbone("resnet18")
        images = tf.random.uniform((2, 64, 64, 3))
        counts = graph_op_counts(tf.function(lambda x: backbone(x, training=True)), images)
        assert counts["FusedBatchNormV3 bfloat16"] == 20  # every batch norm of ResNet-18
        assert counts["Cast bfloat16 -> float32"] == 0  # no float32 copy of any activation map
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.cast(backbone(images, training=True), tf.float32))
        gradients = tape.gradient(loss, backbone.trainable_variables)
        assert all(np.all(np.isfinite(gradient.numpy())) for gradient in gradients)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    # In float32 Keras's own batch norm is kept.
    backbone = build_backbone("resnet18")
    counts = graph_op_counts(tf.function(lambda x: backbone(x)), tf.zeros((1, 64, 64, 3)))
    assert not any(key.startswith("FusedBatchNorm") for key in counts)
