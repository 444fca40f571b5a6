import keras
import numpy as np

from mmu_tf.layers import WildcatHead


def test_scores_are_the_wildcat_pooling_of_the_class_maps():
    head = WildcatHead(num_classes=2, modalities=5, kmax=0.3, kmin=0.0, alpha=1.0, dropout=0.0, hidden_units=0)
    features = np.random.default_rng(0).normal(size=(3, 6, 6, 16)).astype("float32")
    scores, class_maps = head(features)
    assert tuple(scores.shape) == (3, 2) and tuple(class_maps.shape) == (3, 6, 6, 2)
    flat = keras.ops.convert_to_numpy(class_maps).reshape(3, 36, 2)
    top = -np.sort(-flat, axis=1)[:, :11]  # round(0.3 * 36) = 11
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores), top.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_config_round_trip():
    head = WildcatHead(num_classes=3, modalities=4, kmax=0.1, kmin=0.1, alpha=0.6, dropout=0.1, hidden_units=0)
    clone = WildcatHead.from_config(head.get_config())
    assert (clone.num_classes, clone.modalities, clone.kmin, clone.alpha) == (3, 4, 0.1, 0.6)


def test_a_hidden_layer_maps_each_cell_through_relu_before_the_projection():
    head = WildcatHead(num_classes=2, modalities=1, kmax=1.0, kmin=0.0, alpha=1.0, dropout=0.0, hidden_units=3)
    features = np.random.default_rng(1).normal(size=(1, 2, 2, 4)).astype("float32")
    _, class_maps = head(features)
    hidden_kernel, hidden_bias = head.hidden.get_weights()
    kernel, bias = head.projection.get_weights()
    hidden = np.maximum(features @ hidden_kernel[0, 0] + hidden_bias, 0.0)  # one modality: no averaging
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(class_maps), hidden @ kernel[0, 0] + bias, rtol=1e-5, atol=1e-6
    )
    clone = WildcatHead.from_config(head.get_config())
    without = WildcatHead(num_classes=2, modalities=1, kmax=1.0, kmin=0.0, alpha=1.0, dropout=0.0, hidden_units=0)
    assert clone.hidden_units == 3 and without.hidden is None
