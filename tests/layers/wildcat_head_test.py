import keras
import numpy as np

from mmu_tf.layers import WildcatHead


def test_scores_are_the_wildcat_pooling_of_the_class_maps():
    head = WildcatHead(num_classes=2, modalities=5, kmax=0.3, kmin=0.0, dropout=0.0)
    features = np.random.default_rng(0).normal(size=(3, 6, 6, 16)).astype("float32")
    scores, class_maps = head(features)
    assert tuple(scores.shape) == (3, 2) and tuple(class_maps.shape) == (3, 6, 6, 2)
    flat = keras.ops.convert_to_numpy(class_maps).reshape(3, 36, 2)
    top = -np.sort(-flat, axis=1)[:, :11]  # round(0.3 * 36) = 11
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores), top.mean(axis=1), rtol=1e-5, atol=1e-6)


def test_config_round_trip():
    head = WildcatHead(num_classes=3, modalities=4, kmax=0.1, kmin=0.1, alpha=0.6, dropout=0.1)
    clone = WildcatHead.from_config(head.get_config())
    assert (clone.num_classes, clone.modalities, clone.kmin, clone.alpha) == (3, 4, 0.1, 0.6)
