"""H&E colour space: scikit-image's rgb2hed, an exact inverse, and stain jitter that moves stains only."""

import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.configs.common import base_config
from mmu_tf.data.augment import augment
from mmu_tf.data.stain import haematoxylin_density, hed_to_rgb, rgb_to_hed, stain_jitter


def _tissue(seed=0, size=(16, 20)):
    return (np.random.default_rng(seed).random((*size, 3)) * 0.8 + 0.1).astype(np.float32)


def test_concentrations_are_scikit_images_rgb2hed_up_to_its_scale():
    color = pytest.importorskip("skimage.color", reason="scikit-image computes the reference")
    image = _tissue()
    ours = np.maximum(rgb_to_hed(image).numpy(), 0.0) / -np.log(1e-6)  # rgb2hed: log base 1e-6, clipped at 0
    np.testing.assert_allclose(ours, color.rgb2hed(image), atol=1e-6)
    np.testing.assert_allclose(hed_to_rgb(rgb_to_hed(image)).numpy(), image, atol=1e-5)


def test_stain_jitter_scales_and_shifts_each_concentration_by_one_draw_per_image():
    image = _tissue()
    jittered = stain_jitter(image, seed=[3, 4], scale=0.2, shift=0.1)
    np.testing.assert_array_equal(jittered.numpy(), stain_jitter(image, seed=[3, 4], scale=0.2, shift=0.1).numpy())
    before, after = rgb_to_hed(image).numpy().reshape(-1, 3), rgb_to_hed(jittered).numpy().reshape(-1, 3)
    unclipped = (jittered.numpy().reshape(-1, 3) > 1 / 255).all(axis=1) & (jittered.numpy().reshape(-1, 3) < 1).all(
        axis=1
    )
    for stain in range(3):
        factor, offset = np.polyfit(before[unclipped, stain], after[unclipped, stain], 1)
        assert 0.8 <= factor <= 1.2 and -0.1 <= offset <= 0.1
        np.testing.assert_allclose(after[unclipped, stain], factor * before[unclipped, stain] + offset, atol=1e-4)
    np.testing.assert_allclose(stain_jitter(image, seed=[3, 4], scale=0.0, shift=0.0).numpy(), image, atol=1e-5)


def test_augmentation_jitters_stains_leaves_the_mask_and_the_other_draws_alone():
    image = tf.constant(_tissue(size=(32, 32)))
    mask = tf.constant(np.random.default_rng(1).random((32, 32)) > 0.5)
    base = {"crop_size": 24, "flip_horizontal": True, "flip_vertical": True, "rotate90": True}
    plain_config, stained_config = base_config().data, base_config().data
    plain_config.update(base)
    stained_config.update({**base, "stain_scale": 0.2})
    plain = augment(image, mask, tf.constant([5, 6]), plain_config)
    stained = augment(image, mask, tf.constant([5, 6]), stained_config)
    np.testing.assert_array_equal(stained[1].numpy(), plain[1].numpy())  # same crop, flips, turns; mask untouched
    assert not np.allclose(stained[0].numpy(), plain[0].numpy())
    # The jitter is a per-stain affine map of the concentrations: undone, the same pixels.
    assert (
        np.corrcoef(rgb_to_hed(stained[0]).numpy()[..., 0].ravel(), rgb_to_hed(plain[0]).numpy()[..., 0].ravel())[0, 1]
        > 0.99
    )


def test_haematoxylin_density_is_higher_where_nuclei_are_and_works_on_any_size():
    image = np.full((1, 12, 12, 3), 0.9, np.float32)
    image[0, 4:8, 4:8] = (0.35, 0.25, 0.55)  # a purple (haematoxylin) patch
    density = haematoxylin_density(image, sigma=1.0).numpy()[0]
    assert density[6, 6] > density[0, 0] and density.shape == (12, 12)
    assert haematoxylin_density(np.ones((1, 2, 3, 3), np.float32), sigma=3.0).shape == (1, 2, 3)
