import keras
import numpy as np
import pytest

from mmu_tf.layers import ClassWisePooling


def test_averages_each_class_modalities_in_wildcat_channel_order():
    # Channels: class 0 = (1, 3), class 1 = (5, 7) -> means 2 and 6.
    inputs = np.array([1.0, 3.0, 5.0, 7.0], "float32").reshape(1, 1, 1, 4)
    outputs = ClassWisePooling(num_classes=2, modalities=2)(inputs)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs), [[[[2.0, 6.0]]]])


def test_output_shape_keeps_spatial_size():
    layer = ClassWisePooling(num_classes=3, modalities=5)
    outputs = layer(np.zeros((2, 7, 5, 15), "float32"))
    assert tuple(outputs.shape) == (2, 7, 5, 3)
    assert layer.compute_output_shape((2, 7, 5, 15)) == (2, 7, 5, 3)


def test_config_round_trip():
    layer = ClassWisePooling(num_classes=2, modalities=4, name="pool")
    clone = ClassWisePooling.from_config(layer.get_config())
    assert (clone.num_classes, clone.modalities, clone.name) == (2, 4, "pool")


def test_wrong_channel_count_is_rejected():
    with pytest.raises(ValueError, match="expects num_classes \\* modalities = 6"):
        ClassWisePooling(num_classes=2, modalities=3)(np.zeros((1, 2, 2, 5), "float32"))


@pytest.mark.parametrize("kwargs", [{"num_classes": 0, "modalities": 1}, {"num_classes": 2, "modalities": 0}])
def test_invalid_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError, match="must be >= 1"):
        ClassWisePooling(**kwargs)
