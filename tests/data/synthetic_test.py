import numpy as np

from mmu_tf.data.synthetic import make_synthetic_split


def test_same_seed_gives_the_same_data_and_splits_differ():
    first = make_synthetic_split("train", 4, image_size=48, seed=1)
    again = make_synthetic_split("train", 4, image_size=48, seed=1)
    valid = make_synthetic_split("valid", 4, image_size=48, seed=1)
    np.testing.assert_array_equal(np.stack(first.images), np.stack(again.images))
    assert not np.array_equal(np.stack(first.images), np.stack(valid.images))


def test_classes_are_balanced_and_masks_cover_part_of_the_image():
    split = make_synthetic_split("train", 20, image_size=64, seed=0)
    assert split.labels.sum() == 10 and split.has_masks
    fractions = [mask.mean() for mask in split.masks]
    assert 0.05 < min(fractions) and max(fractions) < 0.9
    assert split.images[0].dtype == np.uint8 and split.images[0].shape == (64, 64, 3)
