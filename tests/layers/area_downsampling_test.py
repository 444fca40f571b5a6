import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.layers.area_downsampling import area_downsample, area_weights


def test_weights_by_hand_each_row_sums_to_one():
    # 5 pixels into 2 cells: boxes [0, 2.5) and [2.5, 5).
    np.testing.assert_allclose(
        area_weights(5, 2).numpy(), [[0.4, 0.4, 0.2, 0.0, 0.0], [0.0, 0.0, 0.2, 0.4, 0.4]], atol=1e-6
    )
    np.testing.assert_allclose(area_weights(417, 105).numpy().sum(1), 1.0, atol=1e-5)


@pytest.mark.parametrize("size, target", [((416, 416), (104, 104)), ((433, 641), (109, 161)), ((7, 5), (3, 2))])
def test_it_gives_tensorflows_area_resize(size, target):
    images = np.random.default_rng(0).random((2, *size, 3)).astype("float32")
    expected = tf.image.resize(images, target, method="area").numpy()
    np.testing.assert_allclose(area_downsample(images, target).numpy(), expected, atol=2e-5)


def test_it_compiles_under_xla_for_shapes_known_only_when_called():
    @tf.function(jit_compile=True, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    def quarter(images):
        return area_downsample(images, ((tf.shape(images)[1] + 3) // 4, (tf.shape(images)[2] + 3) // 4))

    images = np.ones((1, 18, 10, 3), "float32")
    np.testing.assert_allclose(quarter(images).numpy(), np.ones((1, 5, 3, 3)), atol=1e-6)
