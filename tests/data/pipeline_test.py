import numpy as np
import pytest

from mmu_tf.configs.common import base_config
from mmu_tf.data.loaded_split import LoadedSplit
from mmu_tf.data.pipeline import evaluation_dataset, training_dataset
from mmu_tf.data.synthetic import make_synthetic_split


def _config(**overrides):
    config = base_config().data  # every field at configs/common.py's default
    config.update(dict(resize_mode="none", crop_size=0, flip_horizontal=True, flip_vertical=False, rotate90=False))
    config.update(overrides)
    return config


def test_training_batches_are_float_in_unit_range_and_repeatable_from_the_seed():
    split = make_synthetic_split("train", 6, image_size=32, seed=0)
    first = [batch for batch in training_dataset(split, _config(), batch_size=4, seed=3, epochs=1)]
    again = [batch for batch in training_dataset(split, _config(), batch_size=4, seed=3, epochs=1)]
    assert [tuple(images.shape) for images, _ in first] == [(4, 32, 32, 3), (2, 32, 32, 3)]
    assert 0.0 <= float(first[0][0].numpy().min()) and float(first[0][0].numpy().max()) <= 1.0
    np.testing.assert_array_equal(first[0][1].numpy(), again[0][1].numpy())
    np.testing.assert_array_equal(first[0][0].numpy(), again[0][0].numpy())


def test_a_run_resumed_at_an_epoch_sees_the_batches_of_an_uninterrupted_run():
    split = make_synthetic_split("train", 6, image_size=32, seed=0)
    config = _config(crop_size=24, flip_vertical=True, rotate90=True, brightness=0.3)
    uninterrupted = list(training_dataset(split, config, batch_size=4, seed=5, epochs=3))
    resumed = list(training_dataset(split, config, batch_size=4, seed=5, initial_epoch=2, epochs=1))
    assert len(uninterrupted) == 6 and len(resumed) == 2  # two steps per epoch, the second partial
    for (images, labels), (expected_images, expected_labels) in zip(resumed, uninterrupted[4:]):
        np.testing.assert_array_equal(images.numpy(), expected_images.numpy())
        np.testing.assert_array_equal(labels.numpy(), expected_labels.numpy())
    # Epochs differ from each other (order or augmentation).
    assert not np.array_equal(uninterrupted[0][0].numpy(), uninterrupted[2][0].numpy())
    # Without `epochs` the dataset does not end: fit is given steps_per_epoch.
    endless = training_dataset(split, config, batch_size=4, seed=5)
    assert len(list(endless.take(7))) == 7


def test_images_of_several_sizes_need_a_crop_to_train():
    images = [np.zeros((20, 30, 3), np.uint8), np.zeros((24, 24, 3), np.uint8)]
    split = LoadedSplit("train", images, [None, None], np.array([0, 1], np.int32), ["a", "b"], ["x", "y"])
    with pytest.raises(ValueError, match="--config.data.crop_size"):
        training_dataset(split, _config(), batch_size=2, seed=0)
    batches = list(training_dataset(split, _config(crop_size=16), batch_size=2, seed=0, epochs=1))
    assert tuple(batches[0][0].shape) == (2, 16, 16, 3)
    # Evaluation keeps each image whole, one per batch, in split order.
    shapes = [tuple(images.shape) for images, _ in evaluation_dataset(split, _config(), batch_size=8)]
    assert shapes == [(1, 20, 30, 3), (1, 24, 24, 3)]
