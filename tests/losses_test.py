import math

import numpy as np
import pytest
import tensorflow as tf

from mmu_tf import losses

# p = softmax([0, log 3]) = (0.25, 0.75)
LOGITS = tf.constant([[0.0, math.log(3.0)]])


def test_negative_entropy_by_hand():
    expected = 0.25 * math.log(0.25) + 0.75 * math.log(0.75)
    np.testing.assert_allclose(losses.negative_entropy(LOGITS).numpy(), [expected], rtol=1e-6)


def test_uniform_cross_entropy_by_hand():
    expected = -(math.log(0.25) + math.log(0.75)) / 2
    np.testing.assert_allclose(losses.uniform_cross_entropy(LOGITS).numpy(), [expected], rtol=1e-6)


def test_both_regularisers_are_minimal_at_the_uniform_posterior():
    uniform = tf.zeros((1, 3))
    np.testing.assert_allclose(losses.negative_entropy(uniform).numpy(), [-math.log(3)], rtol=1e-6)
    np.testing.assert_allclose(losses.uniform_cross_entropy(uniform).numpy(), [math.log(3)], rtol=1e-6)
    assert losses.negative_entropy(LOGITS).numpy()[0] > -math.log(2)


@pytest.mark.parametrize("function", [losses.negative_entropy, losses.uniform_cross_entropy, losses.cross_entropy])
def test_saturated_logits_give_finite_values_and_gradients(function):
    logits = tf.Variable([[1e4, -1e4], [-3e4, 3e4]])
    with tf.GradientTape() as tape:
        if function is losses.cross_entropy:
            value = function(tf.constant([1, 0]), logits)
        else:
            value = function(logits)
    assert np.all(np.isfinite(value.numpy()))
    assert np.all(np.isfinite(tape.gradient(value, logits).numpy()))


def test_losses_are_float32_for_bfloat16_logits():
    logits = tf.cast(LOGITS, tf.bfloat16)
    assert losses.negative_entropy(logits).dtype == tf.float32
    assert losses.uniform_cross_entropy(logits).dtype == tf.float32
    assert losses.cross_entropy(tf.constant([1]), logits).dtype == tf.float32


def test_cross_entropy_by_hand():
    np.testing.assert_allclose(losses.cross_entropy(tf.constant([1]), LOGITS).numpy(), [-math.log(0.75)], rtol=1e-6)


# psi_t with t = 5: the switch point is -1/t^2 = -0.04.
@pytest.mark.parametrize(
    "z, expected",
    [
        (-1.0, 0.0),  # log branch: -(1/5) log 1
        (-0.5, -0.2 * math.log(0.5)),  # log branch
        (0.0, -0.2 * math.log(1 / 25) + 0.2),  # linear branch
        (1.0, 5.0 - 0.2 * math.log(1 / 25) + 0.2),  # linear branch
    ],
)
def test_extended_log_barrier_branches_by_hand(z, expected):
    np.testing.assert_allclose(losses.extended_log_barrier(tf.constant([z]), 5.0).numpy(), [expected], rtol=1e-6)


def test_extended_log_barrier_is_continuous_with_continuous_slope_at_the_switch():
    t = 5.0
    switch = -1.0 / t**2
    z = tf.Variable([switch - 1e-4, switch, switch + 1e-4])
    with tf.GradientTape() as tape:
        values = losses.extended_log_barrier(z, t)
    values, slopes = values.numpy(), tape.gradient(values, z).numpy()
    np.testing.assert_allclose(values, -(1 / t) * math.log(1 / t**2) + t * (z.numpy() - switch), atol=1e-4)
    np.testing.assert_allclose(slopes, t, rtol=3e-3)  # d/dz of both branches is t at the switch


def test_extended_log_barrier_is_finite_everywhere():
    z = tf.Variable([-1e9, -1.0, -1e-30, 0.0, 1e-30, 1e3])
    with tf.GradientTape() as tape:
        values = losses.extended_log_barrier(z, tf.constant(10.0))
    assert np.all(np.isfinite(values.numpy()))
    assert np.all(np.isfinite(tape.gradient(values, z).numpy()))


def test_mask_sizes_raw_and_normalised():
    mask = tf.constant([[[1.0, 0.0], [0.5, 0.5]]])
    foreground, background = losses.mask_sizes(mask)
    np.testing.assert_allclose([foreground.numpy()[0], background.numpy()[0]], [2.0, 2.0])
    foreground, background = losses.mask_sizes(mask, normalize=True)
    np.testing.assert_allclose([foreground.numpy()[0], background.numpy()[0]], [0.5, 0.5])


def test_mask_sizes_do_not_overflow_float16():
    # 416 * 416 = 173,056 pixels > float16's maximum 65,504.
    foreground, background = losses.mask_sizes(tf.ones((1, 416, 416), tf.float16))
    assert foreground.dtype == tf.float32
    np.testing.assert_allclose(foreground.numpy(), [173056.0])
    np.testing.assert_allclose(background.numpy(), [0.0])


def test_size_balance_is_finite_for_an_empty_region():
    mask = tf.Variable(tf.zeros((2, 8, 8)))
    with tf.GradientTape() as tape:
        value = losses.size_balance(mask, 5.0)
    assert np.all(np.isfinite(value.numpy()))
    assert np.all(np.isfinite(tape.gradient(value, mask).numpy()))


def test_size_balance_by_hand():
    half = tf.fill((1, 2, 2), 0.5)
    np.testing.assert_allclose(
        losses.size_balance(half, 5.0, normalize=True).numpy(), [2 * -0.2 * math.log(0.5)], rtol=1e-6
    )


def test_partial_cross_entropy_averages_each_seed_region_and_ignores_the_rest():
    logits = tf.constant([[[math.log(3.0), 0.0, 5.0, -math.log(3.0)]]])  # p = 0.75, 0.5, -, 0.25
    foreground = [[[True, True, False, False]]]
    background = [[[False, False, False, True]]]
    # Foreground: mean(-log 0.75, -log 0.5); background: -log(1 - 0.25); pixel 3 (logit 5) ignored.
    expected = (-math.log(0.75) - math.log(0.5)) / 2 - math.log(0.75)
    np.testing.assert_allclose(
        losses.partial_binary_cross_entropy(logits, foreground, background).numpy(), [expected], rtol=1e-6
    )
    nothing = [[[False] * 4]]
    np.testing.assert_allclose(losses.partial_binary_cross_entropy(logits, nothing, nothing).numpy(), [0.0])


def test_bilateral_smoothness_weighs_disagreements_by_distance_and_colour():
    probabilities = tf.constant([[[1.0, 0.0, 0.0]]])
    image = np.zeros((1, 1, 3, 3), "float32")
    image[0, 0, 2] = 0.1  # the third pixel's colour differs by 0.1 in each channel
    # radius 2: pairs (0,1) d=1 disagreement 1; (0,2) d=2, colour 0.03, disagreement 1; (1,2): 0.
    expected = (math.exp(-1 / 2) + math.exp(-4 / 2 - 0.03 / (2 * 0.1**2))) / 3
    value = losses.bilateral_smoothness(probabilities, image, radius=2, sigma_xy=1.0, sigma_rgb=0.1)
    np.testing.assert_allclose(value.numpy(), [expected], rtol=1e-5)
    # A uniform mask has no disagreement, whatever the image.
    flat = losses.bilateral_smoothness(tf.ones((1, 4, 4)), np.random.rand(1, 4, 4, 3), radius=2)
    np.testing.assert_allclose(flat.numpy(), [0.0], atol=1e-7)
    assert len(losses.window_offsets(2)) == (5 * 5 - 1) // 2


def test_refinement_terms_are_finite_for_saturated_logits():
    logits = tf.Variable([[[1e4, -1e4], [3e4, -3e4]]])
    seeds = tf.constant([[[True, False], [True, False]]])
    with tf.GradientTape() as tape:
        value = losses.partial_binary_cross_entropy(logits, seeds, ~seeds) + losses.bilateral_smoothness(
            tf.sigmoid(logits), np.zeros((1, 2, 2, 3), "float32"), radius=1
        )
    assert np.all(np.isfinite(value.numpy())) and np.all(np.isfinite(tape.gradient(value, logits).numpy()))
