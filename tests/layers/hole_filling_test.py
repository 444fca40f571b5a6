"""A soft mask's enclosed dips rise to their rim; nothing open to the border moves."""

import numpy as np
import tensorflow as tf

from mmu_tf.layers.hole_filling import fill_holes


def test_an_enclosed_lumen_rises_to_the_rims_lowest_pass():
    ring = np.full((1, 7, 7), 0.1, "float32")
    ring[0, 1:6, 1:6] = 0.9
    ring[0, 1, 3] = 0.6  # the rim's lowest point
    ring[0, 2:5, 2:5] = 0.2  # the lumen
    filled = fill_holes(tf.constant(ring)).numpy()
    expected = ring.copy()
    expected[0, 2:5, 2:5] = 0.6
    np.testing.assert_allclose(filled, expected, atol=1e-7)


def test_a_valley_open_to_the_border_and_the_border_stay():
    valley = np.full((1, 5, 6), 0.8, "float32")
    valley[0, 2, :4] = 0.3  # a channel from the left border into the map
    filled = fill_holes(tf.constant(valley)).numpy()
    np.testing.assert_array_equal(filled, valley)


def test_every_map_of_a_batch_fills_alone_and_the_fill_commutes_with_sigmoid():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 9, 11)).astype("float32") * 3
    filled = fill_holes(tf.constant(logits)).numpy()
    one_by_one = np.concatenate([fill_holes(tf.constant(logits[i : i + 1])).numpy() for i in range(2)])
    np.testing.assert_allclose(filled, one_by_one, atol=1e-6)
    assert (filled >= logits).all()
    np.testing.assert_allclose(fill_holes(tf.sigmoid(logits)).numpy(), tf.sigmoid(filled).numpy(), atol=1e-6)


def test_it_matches_scikit_images_reconstruction_by_erosion():
    from skimage.morphology import reconstruction

    rng = np.random.default_rng(1)
    maps = rng.random((30, 40)).astype("float32")
    seed = maps.copy()
    seed[1:-1, 1:-1] = maps.max()
    expected = reconstruction(seed, maps, method="erosion")
    np.testing.assert_allclose(fill_holes(tf.constant(maps[None])).numpy()[0], expected, atol=1e-7)


def test_it_keeps_the_dtype_and_runs_in_a_graph_on_unknown_sizes():
    function = tf.function(fill_holes, input_signature=[tf.TensorSpec([None, None, None], tf.bfloat16)])
    maps = tf.cast(tf.random.uniform((1, 6, 8)), tf.bfloat16)
    assert function(maps).dtype == tf.bfloat16
