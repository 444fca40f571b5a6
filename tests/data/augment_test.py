import numpy as np
import tensorflow as tf

from mmu_tf.configs.common import base_config
from mmu_tf.data.augment import augment, resize, resized_shape


def _config(**overrides):
    # A run's data config (every field at configs/common.py's default), flips and rotations on.
    config = base_config().data
    config.update(dict(resize_mode="none", crop_size=0, flip_horizontal=True, flip_vertical=True, rotate90=True))
    config.update(overrides)
    return config


def _image_encoding_its_mask(height, width, seed=0):
    mask = np.random.default_rng(seed).random((height, width)) > 0.6
    image = np.zeros((height, width, 3), np.float32)
    image[..., 0] = mask  # channel 0 is the mask itself
    image[..., 1] = np.linspace(0, 1, width)[None]  # a gradient makes flips visible
    return tf.constant(image), tf.constant(mask)


def test_mask_follows_crop_flips_and_rotations():
    image, mask = _image_encoding_its_mask(40, 30)
    config = _config(crop_size=24)
    changed = 0
    for seed in range(12):
        out_image, out_mask = augment(image, mask, tf.constant([seed, 7]), config)
        assert out_image.shape == (24, 24, 3) and out_mask.shape == (24, 24)
        np.testing.assert_array_equal(out_image.numpy()[..., 0] > 0.5, out_mask.numpy())
        changed += not np.array_equal(out_mask.numpy(), mask.numpy()[:24, :24])
    assert changed > 0


def test_same_seed_same_result_and_colour_stays_in_range():
    image = tf.random.stateless_uniform((16, 16, 3), (1, 2))
    config = _config(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.05)
    first, _ = augment(image, None, tf.constant([3, 4]), config)
    second, _ = augment(image, None, tf.constant([3, 4]), config)
    other, _ = augment(image, None, tf.constant([5, 6]), config)
    np.testing.assert_array_equal(first.numpy(), second.numpy())
    assert not np.allclose(first.numpy(), other.numpy())
    assert 0.0 <= first.numpy().min() and first.numpy().max() <= 1.0


def test_short_side_resize_keeps_the_aspect_and_resizes_the_mask_nearest():
    assert [int(v) for v in resized_shape(522, 775, "short_side", 432)] == [432, 641]
    image, mask = _image_encoding_its_mask(52, 78)
    out_image, out_mask = resize(image, mask, _config(resize_mode="short_side", resize_short_side=26))
    assert out_image.shape == (26, 39, 3) and out_mask.dtype == tf.bool and out_mask.shape == (26, 39)
