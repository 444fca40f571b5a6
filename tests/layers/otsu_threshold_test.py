"""Otsu's threshold splits each map of a batch at the valley between its two modes."""

import numpy as np
import tensorflow as tf

from mmu_tf.layers.otsu_threshold import otsu_threshold


def test_two_values_are_split_just_above_the_lower_one():
    # Bins of 0.1: values in bins 2 and 7; every cut between them has the same between-class
    # variance, and the first maximum (bin 2 in the lower class) gives the threshold 0.3.
    maps = tf.constant([[[0.25, 0.25, 0.25, 0.75]]])
    assert abs(float(otsu_threshold(maps, bins=10)[0]) - 0.3) < 1e-6


def test_the_cut_is_where_the_between_class_variance_peaks():
    # Hand-computed over bins of 0.25 (centres 0.125 .. 0.875), counts 2, 1, 0, 3 of 6 pixels:
    # cut after bin 0: w0 1/3, mu0 0.125, mu1 (0.375 + 3 * 0.875) / 4 = 0.75 -> 2/9 * 0.390625 = 0.0868;
    # after bin 1: w0 1/2, mu0 0.2083, mu1 0.875 -> 1/4 * 0.4444 = 0.1111 (the largest);
    # after bin 2: the same split (bin 2 is empty). Threshold: bin 1's upper edge, 0.5.
    maps = tf.constant([[[0.1, 0.1, 0.3], [0.9, 0.9, 0.9]]])
    assert abs(float(otsu_threshold(maps, bins=4)[0]) - 0.5) < 1e-6


def test_each_map_of_a_batch_has_its_own_threshold_and_a_constant_map_one_too():
    rng = np.random.default_rng(0)
    low = np.concatenate([rng.normal(0.2, 0.03, 200), rng.normal(0.5, 0.03, 200)])
    high = np.concatenate([rng.normal(0.5, 0.03, 200), rng.normal(0.8, 0.03, 200)])
    maps = tf.constant(np.stack([low, high, np.full(400, 0.4)]).reshape(3, 20, 20).astype("float32"))
    thresholds = otsu_threshold(maps).numpy()
    assert 0.25 < thresholds[0] < 0.45 and 0.55 < thresholds[1] < 0.75
    assert np.isfinite(thresholds[2]) and 0.0 < thresholds[2] <= 1.0
    np.testing.assert_allclose(otsu_threshold(maps[1:2]).numpy(), thresholds[1:2])
