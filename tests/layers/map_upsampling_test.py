"""Maps go back over the pixels they were computed from."""

import keras
import numpy as np
import tensorflow as tf

from mmu_tf.layers.map_upsampling import map_stride, upsample_maps
from mmu_tf.models import build_backbone


def test_a_hot_cell_lands_on_pixel_stride_times_its_index():
    maps = np.zeros((1, 4, 5), "float32")
    maps[0, 2, 3] = 1.0
    upsampled = upsample_maps(tf.constant(maps), (128, 150)).numpy()[0]
    assert upsampled.shape == (128, 150)
    assert np.unravel_index(np.argmax(upsampled), upsampled.shape) == (64, 96)
    # Halfway to the next cell, half the value; beyond the last cell, the last value.
    assert upsampled[64, 112] == 0.5 and upsampled[80, 96] == 0.5
    assert upsampled[127, 149] == 0.0


def test_channels_and_strides_are_kept():
    maps = tf.random.uniform((2, 13, 13, 3))
    assert tuple(upsample_maps(maps, (416, 416)).shape) == (2, 416, 416, 3)
    assert int(map_stride(416, 13)) == 32 and int(map_stride(432, 14)) == 32 and int(map_stride(416, 26)) == 16
    np.testing.assert_allclose(upsample_maps(maps, (416, 416))[:, ::32, ::32], maps, atol=1e-6)


def test_a_resnet_cell_is_centred_on_pixel_32_times_its_index():
    # The centre of mass of |d feature / d input| of cell (i, j), over cells and seeds: within a few
    # pixels of (32 i, 32 j), not of (32 i + 15.5, 32 j + 15.5) where half-pixel resizing puts it.
    offsets = []
    for seed in range(2):
        keras.utils.set_random_seed(seed)
        backbone = build_backbone("resnet18")
        images = tf.constant(np.random.default_rng(seed).random((1, 256, 256, 3)).astype("float32"))
        rows, columns = np.mgrid[:256, :256]
        for i, j in [(2, 2), (3, 4), (4, 3), (5, 5)]:
            with tf.GradientTape() as tape:
                tape.watch(images)
                response = tf.reduce_sum(backbone(images, training=False)[0, i, j])
            weight = tf.reduce_sum(tf.abs(tape.gradient(response, images)), axis=-1)[0].numpy()
            offsets.append(
                ((weight * rows).sum() / weight.sum() - 32 * i, (weight * columns).sum() / weight.sum() - 32 * j)
            )
    assert np.all(np.abs(np.mean(offsets, axis=0)) < 6.0), np.mean(offsets, axis=0)
