"""Otsu's threshold splits each map of a batch at the valley between its two modes."""

import numpy as np
import tensorflow as tf

from mmu_tf.layers.otsu_threshold import otsu_threshold, peak_offset


def test_two_values_are_split_just_above_the_lower_one():
    # Bins of 0.1: values in bins 2 and 7; every cut between them has the same between-class
    # variance, and the first maximum (bin 2 in the lower class) gives the threshold 0.3.
    maps = tf.constant([[[0.25, 0.25, 0.25, 0.75]]])
    assert abs(float(otsu_threshold(maps, bins=10)[0]) - 0.3) < 1e-6


def test_the_cut_is_where_the_between_class_variance_peaks():
    # Hand-computed over bins of 0.25 (centres 0.125 .. 0.875), counts 2, 1, 0, 3 of 6 pixels:
    # cut after bin 0: w0 1/3, mu0 0.125, mu1 (0.375 + 3 * 0.875) / 4 = 0.75 -> 2/9 * 0.390625 = 0.0868;
    # after bin 1: w0 1/2, mu0 0.2083, mu1 0.875 -> 1/4 * 0.4444 = 0.1111 (the largest);
    # after bin 2: the same split (bin 2 is empty). The best cut: bin 1's upper edge, 0.5; the
    # parabola through 0.0868, 0.1111, 0.1111 peaks half a bin on, in the empty bin: 0.625.
    maps = tf.constant([[[0.1, 0.1, 0.3], [0.9, 0.9, 0.9]]])
    assert abs(float(otsu_threshold(maps, bins=4)[0]) - 0.625) < 1e-6


def test_the_peak_is_placed_by_a_parabola_through_the_best_cut_and_its_neighbours():
    # y = 1 - (x - d)^2 / 2 through x = -1, 0, 1 for d = 0.2: 0.28, 0.98, 0.68 -> d = 0.2.
    left = tf.constant([0.28, 0.9, -1.0, 1.0])
    centre = tf.constant([0.98, 1.0, 1.0, 1.0])
    right = tf.constant([0.68, 0.0, 0.5, 1.0])
    # Then: (0.9 - 0) / 2 / (0.9 - 2 + 0) = -0.409; an end (-1) and a flat top give 0.
    np.testing.assert_allclose(peak_offset(left, centre, right).numpy(), [0.2, -0.45 / 1.1, 0.0, 0.0], atol=1e-6)


def test_a_tiny_perturbation_moves_the_threshold_a_little_not_a_bin():
    # A broad bimodal map whose between-class variance is flat near its peak: scaled by
    # 1 - 2.5e-4 i (the peak moves 1.2e-4 a step, 0.03 bin), the best bin jumps (checked below,
    # so the test can fail), the threshold does not.
    rng = np.random.default_rng(1)
    values = np.clip(np.concatenate([rng.normal(0.3, 0.15, 60000), rng.normal(0.7, 0.15, 60000)]), 0, 1)
    maps = tf.constant(np.stack([values * (1 - 2.5e-4 * step) for step in range(40)]).reshape(40, 300, 400), tf.float32)
    thresholds = otsu_threshold(maps).numpy()
    between_argmax = []
    for image in maps.numpy():
        counts = np.bincount(np.minimum((image.ravel() * 256).astype(int), 255), minlength=256).astype(float)
        share, lower_sum = (
            np.cumsum(counts) / counts.sum(),
            np.cumsum(counts * (np.arange(256) + 0.5) / 256) / counts.sum(),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            between = (lower_sum[-1] * share - lower_sum) ** 2 / (share * (1 - share))
        between_argmax.append(int(np.nanargmax(between[:-1])))
    assert max(between_argmax) > min(between_argmax)  # the best bin moved
    assert np.abs(np.diff(thresholds)).max() < 0.25 / 256


def test_each_map_of_a_batch_has_its_own_threshold_and_a_constant_map_one_too():
    rng = np.random.default_rng(0)
    low = np.concatenate([rng.normal(0.2, 0.03, 200), rng.normal(0.5, 0.03, 200)])
    high = np.concatenate([rng.normal(0.5, 0.03, 200), rng.normal(0.8, 0.03, 200)])
    maps = tf.constant(np.stack([low, high, np.full(400, 0.4)]).reshape(3, 20, 20).astype("float32"))
    thresholds = otsu_threshold(maps).numpy()
    assert 0.25 < thresholds[0] < 0.45 and 0.55 < thresholds[1] < 0.75
    assert np.isfinite(thresholds[2]) and 0.0 < thresholds[2] <= 1.0
    np.testing.assert_allclose(otsu_threshold(maps[1:2]).numpy(), thresholds[1:2])
