"""tf.data pipelines over a split held in memory.

The decoded images of a split (`LoadedSplit`) go into one ragged tensor, so
the pipeline is pure TensorFlow: no Python runs per example. The
deterministic resize is done once and cached; shuffling and the per-example
augmentation seeds come from the run's seed.
"""

import numpy as np
import tensorflow as tf

from mmu_tf.data.augment import augment, resize

AUTOTUNE = tf.data.AUTOTUNE


def _ragged(arrays):
    flat = np.concatenate([array.reshape(-1) for array in arrays])
    return tf.RaggedTensor.from_row_lengths(flat, [array.size for array in arrays])


def examples_dataset(split, with_masks=False):
    """Dataset of `(image uint8 (H, W, 3), label, mask bool (H, W) or absent)`."""
    shapes = np.array([image.shape[:2] for image in split.images], np.int32)
    columns = {"image": _ragged(split.images), "shape": shapes, "label": split.labels}
    if with_masks:
        if not split.has_masks:
            raise ValueError(f"split {split.name!r} has images without masks")
        columns["mask"] = _ragged([mask.astype(np.uint8) for mask in split.masks])

    def unflatten(example):
        height, width = example["shape"][0], example["shape"][1]
        image = tf.reshape(example["image"], (height, width, 3))
        mask = tf.reshape(example["mask"], (height, width)) > 0 if with_masks else None
        return image, example["label"], mask

    return tf.data.Dataset.from_tensor_slices(columns).map(unflatten)


def _resized(split, data_config, with_masks):
    def resize_example(image, label, mask):
        image, mask = resize(tf.cast(image, tf.float32) / 255.0, mask, data_config)
        # Cached as uint8: a quarter of the memory of float32.
        image = tf.cast(tf.round(image * 255.0), tf.uint8)
        return (image, label) if mask is None else (image, label, mask)

    return examples_dataset(split, with_masks).map(resize_example, num_parallel_calls=AUTOTUNE).cache()


def training_dataset(split, data_config, batch_size, seed, with_masks=False):
    """Shuffled, augmented batches `(images float32 [0, 1], labels[, masks])`.

    Needs one training size: `data.crop_size`, `data.resize_mode="fixed"`, or
    images that all have the same size.
    """
    if not data_config.get("crop_size") and not has_uniform_size(split, data_config):
        raise ValueError(
            f"split {split.name!r} has images of different sizes: set --config.data.crop_size "
            "or --config.data.resize_mode=fixed so training batches have one size"
        )
    dataset = _resized(split, data_config, with_masks)
    dataset = dataset.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    example_seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
    dataset = tf.data.Dataset.zip(dataset, example_seeds)

    def augment_example(example, example_seed):
        image, label = example[0], example[1]
        mask = example[2] if with_masks else None
        image, mask = augment(tf.cast(image, tf.float32) / 255.0, mask, example_seed, data_config)
        return (image, label) if mask is None else (image, label, mask)

    dataset = dataset.map(augment_example, num_parallel_calls=AUTOTUNE, deterministic=True)
    return dataset.batch(batch_size).prefetch(AUTOTUNE)


def has_uniform_size(split, data_config):
    """Whether every image of `split` has the same size after resizing."""
    return data_config.resize_mode == "fixed" or len({image.shape for image in split.images}) == 1


def evaluation_dataset(split, data_config, batch_size):
    """Batches `(images float32 [0, 1], labels)` in split order, resized, not augmented.

    Images of different sizes go one per batch (the model is fully convolutional).
    """
    batch_size = batch_size if has_uniform_size(split, data_config) else 1
    dataset = _resized(split, data_config, with_masks=False)
    dataset = dataset.map(lambda image, label: (tf.cast(image, tf.float32) / 255.0, label))
    return dataset.batch(batch_size).prefetch(AUTOTUNE)
