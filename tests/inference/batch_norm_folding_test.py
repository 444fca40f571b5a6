"""Batch norm folded into its convolution: hand-computed weights, which pairs fold, the layers restored, Predictor."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.inference import Predictor
from mmu_tf.inference.batch_norm_folding import convolution_batch_norm_pairs, folded_batch_norm, folded_weights
from mmu_tf.layers.fused_batch_norm import fused_call
from mmu_tf.models import MaxMinModel, build_backbone
from mmu_tf.precision import set_precision
from tests.conftest import TEST_BACKBONE, method_arguments


def set_statistics(layer, mean, variance, gamma, beta):
    layer.moving_mean.assign(np.asarray(mean, np.float32))
    layer.moving_variance.assign(np.asarray(variance, np.float32))
    layer.gamma.assign(np.asarray(gamma, np.float32))
    layer.beta.assign(np.asarray(beta, np.float32))


def randomize_statistics(model, seed=0):
    """Batch norm statistics far from the initial identity, so that folding them is visible."""
    rng = np.random.default_rng(seed)
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            channels = layer.moving_mean.shape[-1]
            set_statistics(
                layer,
                rng.normal(0, 0.2, channels),
                rng.uniform(0.5, 2.0, channels),
                rng.uniform(0.5, 1.5, channels),
                rng.normal(0, 0.2, channels),
            )


def one_by_one_model(use_bias):
    inputs = keras.Input((2, 2, 1))
    convolution = keras.layers.Conv2D(2, 1, use_bias=use_bias, name="convolution")
    batch_norm = keras.layers.BatchNormalization(epsilon=0.0, name="batch_norm")
    model = keras.Model(inputs, batch_norm(convolution(inputs)))
    convolution.kernel.assign(np.array([[[[2.0, -1.0]]]], np.float32))
    if use_bias:
        convolution.bias.assign(np.array([1.0, 0.5], np.float32))
    set_statistics(batch_norm, mean=[1.0, 2.0], variance=[4.0, 0.25], gamma=[3.0, 1.0], beta=[0.5, -1.0])
    return model, convolution, batch_norm


def test_folded_weights_are_the_hand_computed_ones():
    # scale = gamma / sqrt(variance) = (3 / 2, 1 / 0.5) = (1.5, 2); kernel' = (2 * 1.5, -1 * 2) = (3, -2).
    # Without bias: bias' = -mean * scale + beta = (-1.5 + 0.5, -4 - 1) = (-1, -5).
    # With bias (1, 0.5): bias' = ((1 - 1) * 1.5 + 0.5, (0.5 - 2) * 2 - 1) = (0.5, -4).
    for use_bias, expected_bias in ((False, [-1.0, -5.0]), (True, [0.5, -4.0])):
        model, convolution, batch_norm = one_by_one_model(use_bias)
        kernel, bias = folded_weights(convolution, batch_norm)
        np.testing.assert_allclose(kernel.numpy().ravel(), [3.0, -2.0])
        np.testing.assert_allclose(bias.numpy(), expected_bias)
        # An input pixel 1 gives conv (2, -1) + bias, then the batch norm: the same as kernel' * 1 + bias'.
        image = tf.ones((1, 2, 2, 1))
        plain = model(image, training=False).numpy()
        with folded_batch_norm(model) as pairs:
            folded = model(image, training=False).numpy()
        assert pairs == [(convolution, batch_norm)]
        np.testing.assert_allclose(folded, plain, atol=1e-6)
        np.testing.assert_allclose(folded[0, 0, 0], np.array([3.0, -2.0]) + expected_bias, atol=1e-6)


def test_depthwise_kernels_fold_per_output_channel():
    inputs = keras.Input((5, 5, 2))
    depthwise = keras.layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", use_bias=False)
    batch_norm = keras.layers.BatchNormalization()
    model = keras.Model(inputs, batch_norm(depthwise(inputs)))
    randomize_statistics(model)
    images = tf.constant(np.random.default_rng(1).random((2, 5, 5, 2)), tf.float32)
    plain = model(images, training=False).numpy()
    with folded_batch_norm(model) as pairs:
        folded = model(images, training=False).numpy()
    assert len(pairs) == 1
    np.testing.assert_allclose(folded, plain, atol=1e-5)


def test_only_a_convolution_read_by_its_batch_norm_alone_and_without_activation_folds():
    inputs = keras.Input((4, 4, 3))
    shared = keras.layers.Conv2D(4, 1, name="shared")(inputs)
    branch = keras.layers.BatchNormalization(name="after_shared")(shared)
    two_readers = keras.layers.Add()([branch, shared])
    activated = keras.layers.Conv2D(4, 1, activation="relu", name="activated")(two_readers)
    after_activation = keras.layers.BatchNormalization(name="after_activation")(activated)
    after_add = keras.layers.BatchNormalization(name="after_add")(keras.layers.Add()([after_activation, shared]))
    plain = keras.layers.Conv2D(4, 1, name="plain")(after_add)
    folds = keras.layers.BatchNormalization(name="folds")(plain)
    model = keras.Model(inputs, folds)
    assert [(conv.name, norm.name) for conv, norm in convolution_batch_norm_pairs(model)] == [("plain", "folds")]


def test_inside_the_context_the_batch_norm_is_the_identity_and_on_leaving_the_layers_are_back():
    set_precision("bfloat16")
    try:
        backbone = build_backbone(TEST_BACKBONE)  # 16 bits: its batch norms call the fused kernel
    finally:
        set_precision("float32")
    randomize_statistics(backbone)
    batch_norms = [norm for _, norm in convolution_batch_norm_pairs(backbone)]
    assert batch_norms and all(norm.call.__func__ is fused_call for norm in batch_norms)
    images = tf.constant(np.random.default_rng(2).random((2, 64, 64, 3)), tf.float32)
    with folded_batch_norm(backbone):
        moving_means = [norm.moving_mean.numpy() for norm in batch_norms]
        backbone(images, training=True)  # folded: neither the batch's statistics nor an update
        assert all(np.array_equal(norm.moving_mean.numpy(), mean) for norm, mean in zip(batch_norms, moving_means))
    assert all(norm.call.__func__ is fused_call for norm in batch_norms)
    backbone(images, training=True)
    assert not np.array_equal(batch_norms[0].moving_mean.numpy(), moving_means[0])


@pytest.mark.parametrize("policy, tolerance", [("float32", 1e-5), ("bfloat16", 0.05)])
def test_the_predictor_folds_and_agrees_with_the_unfolded_model(policy, tolerance):
    set_precision(policy)
    try:
        keras.utils.set_random_seed(0)
        model = MaxMinModel(build_backbone(TEST_BACKBONE), num_classes=2, **method_arguments("maxmin"))
        model(tf.zeros((1, 64, 64, 3)), training=False)
        randomize_statistics(model)
        folded, unfolded = Predictor(model), Predictor(model, fold_batch_norm=False)
        assert folded.unfolded().fold_batch_norm is False and unfolded.unfolded() is unfolded
        images = np.random.default_rng(3).random((2, 72, 96, 3)).astype(np.float32)
        expected, result = unfolded.predict_images(images), folded.predict_images(images)
    finally:
        set_precision("float32")
    np.testing.assert_allclose(result["mask"], expected["mask"], atol=tolerance)
    np.testing.assert_allclose(result["probabilities"], expected["probabilities"], atol=tolerance)
    # The folded graph normalises nothing: no batch norm op, no rsqrt of a variance.
    assert not {"FusedBatchNormV3", "Rsqrt"} & traced_operation_types(folded)
    assert {"FusedBatchNormV3", "Rsqrt"} & traced_operation_types(unfolded)


def traced_operation_types(predictor):
    """The op types of `predict_batch`'s traced graph, the functions it calls included."""
    graph = predictor.predict_batch.get_concrete_function().graph
    types = {operation.type for operation in graph.get_operations()}
    for function in graph._functions.values():
        types |= {node.op for node in function.definition.node_def}
    return types
