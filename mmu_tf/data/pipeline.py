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


def _in_memory(dataset, with_masks):
    """Runs `dataset` once and returns `fetch(index) -> (image, label, mask or None)` over its examples."""
    images, labels, masks = [], [], []
    for example in dataset.as_numpy_iterator():
        images.append(example[0])
        labels.append(example[1])
        if with_masks:
            masks.append(example[2].astype(np.uint8))
    shapes = tf.constant(np.array([image.shape[:2] for image in images], np.int32))
    labels = tf.constant(np.array(labels))

    def flat(arrays):
        ragged = _ragged(arrays)
        return ragged.flat_values, ragged.row_splits

    image_values, image_starts = flat(images)
    mask_values, mask_starts = flat(masks) if with_masks else (None, None)

    def fetch(index):
        height, width = shapes[index][0], shapes[index][1]
        image = tf.reshape(image_values[image_starts[index] : image_starts[index + 1]], (height, width, 3))
        mask = None
        if with_masks:
            mask = tf.reshape(mask_values[mask_starts[index] : mask_starts[index + 1]], (height, width)) > 0
        return image, labels[index], mask

    return fetch


def training_dataset(split, data_config, batch_size, seed, with_masks=False, initial_epoch=0, epochs=None):
    """Shuffled, augmented batches `(images float32 [0, 1], labels[, masks])`, epoch after epoch.

    Epoch `e`'s order and augmentation depend only on `(seed, e)`, so a run
    resumed at epoch `e` sees exactly the batches an uninterrupted run would.
    Each epoch ends with its own (possibly partial) batch: `ceil(N / batch_size)`
    steps. `epochs=None` repeats without end (give `fit` its `steps_per_epoch`).

    Needs one training size: `data.crop_size`, `data.resize_mode="fixed"`, or
    images that all have the same size.
    """
    if not data_config.get("crop_size") and not has_uniform_size(split, data_config):
        raise ValueError(
            f"split {split.name!r} has images of different sizes: set --config.data.crop_size "
            "or --config.data.resize_mode=fixed so training batches have one size"
        )
    fetch = _in_memory(_resized(split, data_config, with_masks), with_masks)
    size = len(split)

    def one_epoch(epoch):
        epoch_seed = tf.constant(seed, tf.int64) * 1_000_003 + epoch
        # A stateless permutation: tf.data's shuffle cannot take this seed
        # tensor when the global seed is 0.
        order = tf.argsort(tf.random.stateless_uniform([size], tf.stack([epoch_seed, 0])))
        positions = tf.data.Dataset.range(size)
        examples = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(tf.cast(order, tf.int64)), positions)

        def augment_example(index, position):
            image, label, mask = fetch(index)
            image, mask = augment(
                tf.cast(image, tf.float32) / 255.0, mask, tf.stack([epoch_seed, position]), data_config
            )
            return (image, label) if mask is None else (image, label, mask)

        return examples.map(augment_example, num_parallel_calls=AUTOTUNE, deterministic=True).batch(batch_size)

    last_epoch = initial_epoch + epochs if epochs is not None else tf.int64.max
    return tf.data.Dataset.range(initial_epoch, last_epoch).flat_map(one_epoch).prefetch(AUTOTUNE)


def has_uniform_size(split, data_config):
    """Whether every image of `split` has the same size after resizing."""
    return data_config.resize_mode == "fixed" or len({image.shape for image in split.images}) == 1


def evaluation_dataset(split, data_config, batch_size, with_masks=False):
    """Batches `(images float32 [0, 1], labels[, masks bool])` in split order, resized, not augmented.

    Images of different sizes go one per batch (the model is fully convolutional).
    """
    batch_size = batch_size if has_uniform_size(split, data_config) else 1
    dataset = _resized(split, data_config, with_masks=with_masks)
    dataset = dataset.map(lambda image, *rest: (tf.cast(image, tf.float32) / 255.0, *rest))
    return dataset.batch(batch_size).prefetch(AUTOTUNE)
