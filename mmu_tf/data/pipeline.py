"""tf.data pipelines over any split: in memory (`LoadedSplit`) or streamed from shards (`ShardedSplit`).

Both are read through the same methods (`examples()`, `epoch_examples()`,
`image_sizes()`, `has_masks`); everything here is TensorFlow, no Python runs
per example. The epoch's order and the per-example augmentation seeds come
from the run's seed (`mmu_tf.data.order`), so a split gives the same batches
in memory and streamed (with a shuffle buffer that covers it).
"""

import tensorflow as tf

from mmu_tf.data.augment import augment, resize, resized_shape
from mmu_tf.data.order import epoch_seed

AUTOTUNE = tf.data.AUTOTUNE


def resize_uint8(image, mask, data_config):
    """The deterministic resize of `data_config`, from and back to uint8 (as a streamed image arrives)."""
    image, mask = resize(tf.cast(image, tf.float32) / 255.0, mask, data_config)
    return tf.cast(tf.round(image * 255.0), tf.uint8), mask


def training_dataset(
    split, data_config, batch_size, seed, with_masks=False, initial_epoch=0, epochs=None, workers=(1, 0)
):
    """Shuffled, augmented batches `(images float32 [0, 1], labels[, masks])`, epoch after epoch.

    Epoch `e`'s order and augmentation depend only on `(seed, e)`, so a run
    resumed at epoch `e` sees exactly the batches an uninterrupted run would.
    Each epoch ends with its own (possibly partial) batch: `ceil(N / batch_size)`
    steps. `epochs=None` repeats without end (give `fit` its `steps_per_epoch`).

    Needs one training size: `data.crop_size`, `data.resize_mode="fixed"`, or
    images that all have the same size (a streamed split: a crop or a fixed
    resize). A streamed split holds nothing but its shuffle buffer of encoded
    records (`data.shuffle_buffer`; see `ShardedSplit.epoch_examples`).

    `workers=(count, index)`: the batches of worker `index` of `count`, each
    reading its own share of every epoch (the shares are disjoint and hold the
    split; a streamed worker reads only its shard files). Shares may differ by
    a batch: give `fit` its `steps_per_epoch` and keep `epochs=None`.
    """
    count, index = workers
    if not 0 <= index < count:
        raise ValueError(f"workers must be (count, index) with 0 <= index < count. Received: {workers}")
    if not data_config.crop_size and not has_uniform_size(split, data_config):
        raise ValueError(
            f"split {split.name!r} has images of different sizes (or, streamed from shards, sizes known only "
            "once read): set --config.data.crop_size or --config.data.resize_mode=fixed so training batches "
            "have one size"
        )
    _check_masks(split, with_masks)
    _check_crop(split, data_config)
    buffer = int(data_config.shuffle_buffer)

    def one_epoch(epoch):
        seed_of_epoch = epoch_seed(seed, epoch)
        examples = split.epoch_examples(seed_of_epoch, shuffle_buffer=buffer, shuffle_seed=seed, workers=workers)

        def augment_example(position, example):
            image, label, mask, has_mask, _ = example
            if with_masks:
                tf.debugging.assert_equal(has_mask, True, message="a training example has no mask")
            image, mask = resize_uint8(image, mask if with_masks else None, data_config)
            return _augmented(image, label, mask, tf.stack([seed_of_epoch, position]), data_config)

        return (
            examples.enumerate().map(augment_example, num_parallel_calls=AUTOTUNE, deterministic=True).batch(batch_size)
        )

    return _epoch_after_epoch(one_epoch, initial_epoch, epochs)


def _check_masks(split, with_masks):
    if with_masks and not split.has_masks:
        raise ValueError(f"split {split.name!r} has images without masks")


def _check_crop(split, data_config):
    """Fails naming the flag when the random crop is larger than a resized training image."""
    crop = data_config.crop_size
    if not crop:
        return
    mode = data_config.resize_mode
    short_side, image_size = data_config.resize_short_side, data_config.image_size
    # One size per distinct image size (a split's images mostly share a few); unknown when streamed.
    sizes = split.image_sizes()
    if not sizes:
        return
    sides = [min(int(side) for side in resized_shape(*size, mode, short_side, image_size)) for size in sizes]
    if crop > min(sides):
        raise ValueError(
            f"--config.data.crop_size={crop} is larger than the smallest training image of split {split.name!r} "
            f"after resizing ({min(sides)} pixels a side): lower it, or raise --config.data.resize_short_side"
        )


def _augmented(image, label, mask, seed, data_config):
    """`(image float32, label[, mask])` of a resized uint8 example, augmented with its stateless seed."""
    image, mask = augment(tf.cast(image, tf.float32) / 255.0, mask, seed, data_config)
    return (image, label) if mask is None else (image, label, mask)


def _epoch_after_epoch(one_epoch, initial_epoch, epochs):
    """`one_epoch(e)` for e from `initial_epoch`, `epochs` of them (None: without end), prefetched."""
    last_epoch = initial_epoch + epochs if epochs is not None else tf.int64.max
    return tf.data.Dataset.range(initial_epoch, last_epoch).flat_map(one_epoch).prefetch(AUTOTUNE)


def has_uniform_size(split, data_config):
    """Whether every image of `split` has the same size after resizing (a streamed split: when resized to one)."""
    if data_config.resize_mode == "fixed":
        return True
    sizes = split.image_sizes()
    return sizes is not None and len(sizes) == 1


def evaluation_dataset(split, data_config, batch_size, with_masks=False):
    """Batches `(images float32 [0, 1], labels[, masks bool])` in split order, resized, not augmented.

    Images of different sizes go one per batch (the model is fully convolutional).
    """
    batch_size = batch_size if has_uniform_size(split, data_config) else 1
    _check_masks(split, with_masks)

    def prepare(image, label, mask, has_mask, name):
        image, mask = resize_uint8(image, mask if with_masks else None, data_config)
        image = tf.cast(image, tf.float32) / 255.0
        return (image, label) if mask is None else (image, label, mask)

    dataset = split.examples().map(prepare, num_parallel_calls=AUTOTUNE, deterministic=True)
    # Split over several workers (Keras's validation under multi_worker) by example, not by file:
    # a split in fewer shard files than workers cannot be shared by file. A worker left with
    # nothing gets empty batches, which `MethodModel.test_step` counts for nothing.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.batch(batch_size).prefetch(AUTOTUNE).with_options(options)


def original_and_model_inputs(split, data_config):
    """Unbatched `(model input float32, image uint8, label, mask bool, has_mask, name)`, in split order.

    The model input is resized as at evaluation; the rest is at the image's
    own size, for scoring, of any split.
    """
    examples = split.examples()

    def prepare(image, label, mask, has_mask, name):
        resized, _ = resize_uint8(image, None, data_config)
        return tf.cast(resized, tf.float32) / 255.0, image, label, mask, has_mask, name

    return examples.map(prepare, num_parallel_calls=AUTOTUNE, deterministic=True)
