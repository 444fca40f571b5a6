"""tf.data pipelines over a split held in memory.

The decoded images of a split (`LoadedSplit`) go into one ragged tensor, so
the pipeline is pure TensorFlow: no Python runs per example. The
deterministic resize is done once and cached; shuffling and the per-example
augmentation seeds come from the run's seed.
"""

import numpy as np
import tensorflow as tf

from mmu_tf.data.augment import augment, resize, resized_shape
from mmu_tf.data.shards import ShardedSplit

AUTOTUNE = tf.data.AUTOTUNE


def _ragged(arrays):
    flat = np.concatenate([array.reshape(-1) for array in arrays])
    return tf.RaggedTensor.from_row_lengths(flat, [array.size for array in arrays])


def loaded_examples(split, with_masks=True):
    """Dataset of `(image uint8 (H, W, 3), label, mask bool (H, W), has_mask, name)` of a `LoadedSplit`.

    The same elements as `ShardedSplit.examples()`, from memory. An image
    without a mask (or every image, `with_masks=False`) gets an empty mask
    and `has_mask` False.
    """
    columns = {
        "image": _ragged(split.images),
        "shape": np.array([image.shape[:2] for image in split.images], np.int32),
        "label": np.asarray(split.labels),
        "name": np.array(split.names),
    }
    masks = split.masks if with_masks and split.masks else [None] * len(split)
    columns["has_mask"] = np.array([mask is not None for mask in masks])
    if columns["has_mask"].any():
        columns["mask"] = _ragged(
            [
                np.zeros(image.shape[:2], np.uint8) if mask is None else mask.astype(np.uint8)
                for image, mask in zip(split.images, masks)
            ]
        )

    def unflatten(example):
        height, width = example["shape"][0], example["shape"][1]
        image = tf.reshape(example["image"], (height, width, 3))
        if "mask" in example:
            mask = tf.reshape(example["mask"], (height, width)) > 0
        else:
            mask = tf.zeros((height, width), tf.bool)
        return image, example["label"], mask, example["has_mask"], example["name"]

    return tf.data.Dataset.from_tensor_slices(columns).map(unflatten)


def examples_dataset(split, with_masks=False):
    """Dataset of `(image uint8 (H, W, 3), label, mask bool (H, W) or absent)`."""
    if with_masks and not split.has_masks:
        raise ValueError(f"split {split.name!r} has images without masks")
    return loaded_examples(split, with_masks).map(
        lambda image, label, mask, has_mask, name: (image, label, mask if with_masks else None)
    )


def resize_uint8(image, mask, data_config):
    """The deterministic resize of `data_config`, from and back to uint8 (as cached in memory)."""
    image, mask = resize(tf.cast(image, tf.float32) / 255.0, mask, data_config)
    # Cached as uint8: a quarter of the memory of float32.
    return tf.cast(tf.round(image * 255.0), tf.uint8), mask


def _resized(split, data_config, with_masks):
    def resize_example(image, label, mask):
        image, mask = resize_uint8(image, mask, data_config)
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


def training_dataset(
    split, data_config, batch_size, seed, with_masks=False, initial_epoch=0, epochs=None, workers=(1, 0)
):
    """Shuffled, augmented batches `(images float32 [0, 1], labels[, masks])`, epoch after epoch.

    Epoch `e`'s order and augmentation depend only on `(seed, e)`, so a run
    resumed at epoch `e` sees exactly the batches an uninterrupted run would.
    Each epoch ends with its own (possibly partial) batch: `ceil(N / batch_size)`
    steps. `epochs=None` repeats without end (give `fit` its `steps_per_epoch`).

    Needs one training size: `data.crop_size`, `data.resize_mode="fixed"`, or
    images that all have the same size. A `ShardedSplit` is streamed (see
    `_streamed_training_dataset`).

    `workers=(count, index)`: the batches of worker `index` of `count`, each
    reading its own share of every epoch (the shares are disjoint and hold the
    split; a streamed worker reads only its shard files). Shares may differ by
    a batch: give `fit` its `steps_per_epoch` and keep `epochs=None`.
    """
    count, index = workers
    if not 0 <= index < count:
        raise ValueError(f"workers must be (count, index) with 0 <= index < count. Received: {workers}")
    if isinstance(split, ShardedSplit):
        return _streamed_training_dataset(
            split, data_config, batch_size, seed, with_masks, initial_epoch, epochs, workers
        )
    if not data_config.get("crop_size") and not has_uniform_size(split, data_config):
        raise ValueError(
            f"split {split.name!r} has images of different sizes: set --config.data.crop_size "
            "or --config.data.resize_mode=fixed so training batches have one size"
        )
    _check_crop(split, data_config)
    fetch = _in_memory(_resized(split, data_config, with_masks), with_masks)
    size = len(split)

    def one_epoch(epoch):
        epoch_seed = _epoch_seed(seed, epoch)
        order = _worker_share(_epoch_order(epoch_seed, size), count, index)
        positions = tf.data.Dataset.range(tf.size(order, out_type=tf.int64))
        examples = tf.data.Dataset.zip(tf.data.Dataset.from_tensor_slices(order), positions)

        def augment_example(example_index, position):
            image, label, mask = fetch(example_index)
            return _augmented(image, label, mask, tf.stack([epoch_seed, position]), data_config)

        return examples.map(augment_example, num_parallel_calls=AUTOTUNE, deterministic=True).batch(batch_size)

    return _epoch_after_epoch(one_epoch, initial_epoch, epochs)


def _check_crop(split, data_config):
    """Fails naming the flag when the random crop is larger than a resized training image."""
    crop = data_config.get("crop_size")
    if not crop:
        return
    mode = data_config.resize_mode
    short_side, image_size = data_config.get("resize_short_side"), data_config.get("image_size")
    # One size per distinct image size (a split's images mostly share a few).
    sizes = {image.shape[:2] for image in split.images}
    sides = [min(int(side) for side in resized_shape(*size, mode, short_side, image_size)) for size in sizes]
    if crop > min(sides):
        raise ValueError(
            f"--config.data.crop_size={crop} is larger than the smallest training image of split {split.name!r} "
            f"after resizing ({min(sides)} pixels a side): lower it, or raise --config.data.resize_short_side"
        )


def _epoch_seed(seed, epoch):
    return tf.constant(seed, tf.int64) * 1_000_003 + epoch


def _worker_share(order, count, index):
    """Worker `index`'s share of an epoch's order: every `count`-th example from `index`.

    A split with fewer examples than workers is repeated first, so that no
    worker's share is empty (a worker with nothing to read would end the epoch,
    or the run, for all of them).

    Example:
    >>> [_worker_share(tf.constant([7, 8, 9], tf.int64), 2, index).numpy().tolist() for index in (0, 1)]
    [[7, 9], [8]]
    >>> [_worker_share(tf.constant([7], tf.int64), 2, index).numpy().tolist() for index in (0, 1)]
    [[7], [7]]
    """
    size = tf.size(order, out_type=tf.int64)
    repeats = tf.maximum((count + size - 1) // size, 1)
    return tf.tile(order, tf.reshape(repeats, [1]))[index::count]


def _epoch_order(epoch_seed, size):
    """The epoch's permutation of the split (int64 indices), the same in memory and streamed."""
    # Stateless: tf.data's shuffle cannot take this seed tensor when the global seed is 0.
    return tf.cast(tf.argsort(tf.random.stateless_uniform([size], tf.stack([epoch_seed, 0]))), tf.int64)


def _augmented(image, label, mask, seed, data_config):
    """`(image float32, label[, mask])` of a resized uint8 example, augmented with its stateless seed."""
    image, mask = augment(tf.cast(image, tf.float32) / 255.0, mask, seed, data_config)
    return (image, label) if mask is None else (image, label, mask)


def _epoch_after_epoch(one_epoch, initial_epoch, epochs):
    """`one_epoch(e)` for e from `initial_epoch`, `epochs` of them (None: without end), prefetched."""
    last_epoch = initial_epoch + epochs if epochs is not None else tf.int64.max
    return tf.data.Dataset.range(initial_epoch, last_epoch).flat_map(one_epoch).prefetch(AUTOTUNE)


def _streamed_training_dataset(split, data_config, batch_size, seed, with_masks, initial_epoch, epochs, workers):
    """Training batches streamed from shards: nothing but a shuffle buffer is held in memory.

    When `data.shuffle_buffer` covers the split, each epoch holds the split's
    encoded records and draws the in-memory permutation: the batches, hence the
    trained weights, are those of the in-memory split. Otherwise epoch `e` reads
    the shards in an order drawn from `(seed, e)`, interleaved, through a shuffle
    buffer of `data.shuffle_buffer` encoded records (seeded). Either way the
    per-example augmentation seeds are `(seed, e, position)`: deterministic, so a
    resumed run sees the batches an uninterrupted one would.
    """
    if not data_config.get("crop_size") and data_config.resize_mode != "fixed":
        raise ValueError(
            "streaming from --config.data.shards needs one training size: set --config.data.crop_size "
            "or --config.data.resize_mode=fixed"
        )
    buffer = int(data_config.get("shuffle_buffer", 1024))
    count, index = workers

    def one_epoch(epoch):
        epoch_seed = _epoch_seed(seed, epoch)
        if buffer >= len(split) or len(split) < count:
            examples = split.permuted_examples(_worker_share(_epoch_order(epoch_seed, len(split)), count, index))
        else:
            examples = split.examples(order_seed=epoch_seed, shuffle_buffer=buffer, shuffle_seed=seed, workers=workers)
        examples = examples.enumerate()

        def augment_example(position, example):
            image, label, mask, has_mask, _ = example
            if with_masks:
                tf.debugging.assert_equal(has_mask, True, message="a training example has no mask")
            image, mask = resize_uint8(image, mask if with_masks else None, data_config)
            return _augmented(image, label, mask, tf.stack([epoch_seed, position]), data_config)

        return examples.map(augment_example, num_parallel_calls=AUTOTUNE, deterministic=True).batch(batch_size)

    return _epoch_after_epoch(one_epoch, initial_epoch, epochs)


def has_uniform_size(split, data_config):
    """Whether every image of `split` has the same size after resizing (a `ShardedSplit`: when resized to one)."""
    if data_config.resize_mode == "fixed":
        return True
    return not isinstance(split, ShardedSplit) and len({image.shape for image in split.images}) == 1


def evaluation_dataset(split, data_config, batch_size, with_masks=False):
    """Batches `(images float32 [0, 1], labels[, masks bool])` in split order, resized, not augmented.

    Images of different sizes go one per batch (the model is fully convolutional).
    """
    batch_size = batch_size if has_uniform_size(split, data_config) else 1
    if isinstance(split, ShardedSplit):
        dataset = _streamed_evaluation(split, data_config, with_masks)
    else:
        dataset = _resized(split, data_config, with_masks=with_masks)
        dataset = dataset.map(lambda image, *rest: (tf.cast(image, tf.float32) / 255.0, *rest))
    # Split over several workers (Keras's validation under multi_worker) by example, not by file:
    # a split in fewer shard files than workers cannot be shared by file. A worker left with
    # nothing gets empty batches, which `MethodModel.test_step` counts for nothing.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.batch(batch_size).prefetch(AUTOTUNE).with_options(options)


def _streamed_evaluation(split, data_config, with_masks):
    def prepare(image, label, mask, has_mask, name):
        image, mask = resize_uint8(image, mask if with_masks else None, data_config)
        image = tf.cast(image, tf.float32) / 255.0
        return (image, label) if mask is None else (image, label, mask)

    return split.examples().map(prepare, num_parallel_calls=AUTOTUNE, deterministic=True)


def original_and_model_inputs(split, data_config):
    """Unbatched `(model input float32, image uint8, label, mask bool, has_mask, name)`, in split order.

    The model input is resized as at evaluation; the rest is at the image's
    own size, for scoring. Works for a `LoadedSplit` and a `ShardedSplit`.
    """
    examples = split.examples() if isinstance(split, ShardedSplit) else loaded_examples(split)

    def prepare(image, label, mask, has_mask, name):
        resized, _ = resize_uint8(image, None, data_config)
        return tf.cast(resized, tf.float32) / 255.0, image, label, mask, has_mask, name

    return examples.map(prepare, num_parallel_calls=AUTOTUNE, deterministic=True)
