"""Seeds from a teacher's mask: by rank, never both, away from the border, drawn reproducibly."""

import numpy as np
import tensorflow as tf

from mmu_tf.models.pseudo_labels import (
    away_from_border,
    confident_regions,
    hash32,
    hashed_uniform,
    per_image_ranks,
    sample_pixels,
)


def test_confident_regions_take_each_images_top_and_bottom_shares_by_rank():
    scores = tf.constant([[[0.9, 0.8, 0.5, 0.4, 0.3, 0.1, 0.0, 0.2, 0.6, 0.7]], [[5.0] * 5 + [1.0] * 5]])
    foreground, background = (region.numpy()[:, 0] for region in confident_regions(scores, 0.2, 0.3))
    # Image 0: top 2 are 0.9 and 0.8; bottom 3 are 0.0, 0.1, 0.2.
    assert np.flatnonzero(foreground[0]).tolist() == [0, 1]
    assert np.flatnonzero(background[0]).tolist() == [5, 6, 7]
    # Image 1: ties at the thresholds are all taken (five 5s, five 1s); any rescaling, same regions.
    assert foreground[1].sum() == 5 and background[1].sum() == 5 and not (foreground[1] & background[1]).any()
    again = confident_regions(tf.sigmoid(scores * 3.0), 0.2, 0.3)
    np.testing.assert_array_equal(again[0].numpy()[:, 0], foreground)


def test_a_flat_teacher_gives_no_seeds():
    foreground, background = confident_regions(tf.fill((1, 4, 4), 0.5), 0.2, 0.3)
    assert not foreground.numpy().any() and not background.numpy().any()


def test_border_cells_never_seed():
    region = away_from_border(tf.ones((1, 5, 6), tf.bool), 2).numpy()[0]
    assert np.flatnonzero(region.any(axis=1)).tolist() == [2] and np.flatnonzero(region.any(axis=0)).tolist() == [2, 3]
    np.testing.assert_array_equal(away_from_border(tf.ones((1, 2, 2), tf.bool), 0).numpy(), True)


def test_sampled_seeds_are_a_subset_of_the_count_asked_and_repeat_with_the_seed():
    region = tf.constant(np.random.default_rng(0).random((2, 8, 8)) > 0.5)
    drawn = sample_pixels(region, 5, seed=[3, 4]).numpy()
    assert (drawn <= region.numpy()).all() and drawn.sum(axis=(1, 2)).tolist() == [5, 5]
    np.testing.assert_array_equal(sample_pixels(region, 5, seed=[3, 4]).numpy(), drawn)
    assert not np.array_equal(sample_pixels(region, 5, seed=[3, 5]).numpy(), drawn)
    # Asking for more than the region holds gives the whole region.
    np.testing.assert_array_equal(sample_pixels(region, 64, seed=[0, 0]).numpy(), region.numpy())


def test_ranks_are_the_share_of_cells_scored_lower_and_ties_share_one():
    scores = tf.constant([[[0.5, 2.0, 2.0], [0.1, 2.0, 0.5]], [[3.0, 3.0, 3.0], [3.0, 3.0, 3.0]]])
    # Image 0: 0.1 has none below; both 0.5 have one; the three 2.0 have three. Image 1 is flat.
    expected = [[[1 / 6, 3 / 6, 3 / 6], [0.0, 3 / 6, 1 / 6]], [[0.0] * 3, [0.0] * 3]]
    np.testing.assert_allclose(per_image_ranks(scores).numpy(), expected, atol=1e-7)


def test_ranking_a_map_keeps_its_seeds_ties_included():
    # A saturated teacher: its ones tie. Seeds from its ranks are its own seeds (the same cells,
    # not the tie broken by position), so one teacher and the same teacher twice seed alike.
    scores = tf.constant([[[1.0, 1.0, 1.0, 0.2], [1.0, 0.7, 0.0, 0.0], [0.3, 0.0, 1.0, 0.0]]])
    for ranked, direct in zip(
        confident_regions(per_image_ranks(scores), 0.25, 0.25), confident_regions(scores, 0.25, 0.25)
    ):
        np.testing.assert_array_equal(ranked.numpy(), direct.numpy())


def _lowbias32(value):
    # The hash by hand, in Python integers taken modulo 2^32.
    value ^= value >> 16
    value = (value * 0x7FEB352D) % 2**32
    value ^= value >> 15
    value = (value * 0x846CA68B) % 2**32
    return value ^ (value >> 16)


def test_the_hash_is_lowbias32_and_the_noise_its_top_24_bits():
    values = [0, 1, 2, 12345, 2**31, 2**32 - 1]
    assert hash32(tf.constant(values, tf.uint32)).numpy().tolist() == [_lowbias32(value) for value in values]
    seed = (7, -3)
    key = _lowbias32(seed[0] ^ _lowbias32(seed[1] % 2**32))
    expected = [(_lowbias32(index ^ key) >> 8) / 2**24 for index in range(6)]
    np.testing.assert_array_equal(hashed_uniform([2, 3], seed).numpy().ravel(), np.float32(expected))


def test_the_same_seed_draws_the_same_pixels_with_xla_and_without():
    # tf.random.stateless_uniform does not (tensorflow/tensorflow#117644): these draws once differed.
    region = tf.constant(np.random.default_rng(0).random((2, 8, 8)) > 0.3)

    def draw(step):
        return sample_pixels(region, 6, tf.stack([1, 2 * step]))

    eager = draw(tf.constant(5)).numpy()
    np.testing.assert_array_equal(tf.function(draw, jit_compile=True)(tf.constant(5)).numpy(), eager)
    assert eager.reshape(2, -1).sum(axis=1).tolist() == [6, 6]
