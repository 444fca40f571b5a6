"""Sharded TFRecord splits: write any split to shards, stream it back without holding it in memory.

A split NAME in folder DIR is `DIR/NAME-00000.tfrecord, ...` plus `DIR/NAME.json`
(class names, example count, shard files, whether every example has a mask).
Each record holds the encoded image (PNG or JPEG bytes, as the source had
them when it was one of those, else PNG), the encoded mask (PNG, empty when
the example has none), the label, the name, and the image's height and width.
"""

import json
import os

import cv2
import numpy as np
import tensorflow as tf

from mmu_tf.data.order import epoch_order, worker_share
from mmu_tf.data.samples import DataError, MissingFilesError, read_image, read_mask

KEEP_ENCODED = (".png", ".jpg", ".jpeg")


def _feature(value):
    if isinstance(value, bytes):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[value]))
    return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))


def _png(array):
    ok, encoded = cv2.imencode(".png", array)
    if not ok:
        raise DataError("could not encode a PNG")
    return encoded.tobytes()


def serialize_example(image_bytes, mask_bytes, label, name, height, width):
    """One `tf.train.Example`, serialised."""
    features = {
        "image": _feature(image_bytes),
        "mask": _feature(mask_bytes),
        "label": _feature(label),
        "name": _feature(name.encode("utf-8")),
        "height": _feature(height),
        "width": _feature(width),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def records_from_arrays(images, masks, labels, names):
    """`(serialised example, has mask)` of in-memory RGB uint8 images and bool masks (or None)."""
    for image, mask, label, name in zip(images, masks, labels, names):
        mask_bytes = b"" if mask is None else _png(np.asarray(mask, np.uint8) * 255)
        image_bytes = _png(cv2.cvtColor(np.asarray(image, np.uint8), cv2.COLOR_RGB2BGR))
        yield serialize_example(image_bytes, mask_bytes, label, name, image.shape[0], image.shape[1]), mask is not None


def records_from_samples(samples):
    """`(serialised example, has mask)` of file-backed `Sample`s, one file read at a time (each checked)."""
    for sample in samples:
        image = read_image(sample.image_path)
        if os.path.splitext(sample.image_path)[1].lower() in KEEP_ENCODED:
            with open(sample.image_path, "rb") as handle:
                image_bytes = handle.read()
        else:
            image_bytes = _png(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        mask_bytes = b""
        if sample.mask_path is not None:
            mask_bytes = _png(read_mask(sample.mask_path, image.shape).astype(np.uint8) * 255)
        record = serialize_example(image_bytes, mask_bytes, sample.label, sample.name, image.shape[0], image.shape[1])
        yield record, bool(mask_bytes)


def write_shards(records, folder, split, class_names, examples_per_shard=1000, progress=True):
    """Writes `(serialised example, has mask)` pairs to `folder/split-NNNNN.tfrecord` and `folder/split.json`.

    Returns the metadata written to the JSON file.
    """
    from tqdm import tqdm

    if examples_per_shard < 1:
        raise ValueError(f"examples_per_shard must be >= 1 (got {examples_per_shard})")
    os.makedirs(folder, exist_ok=True)
    shards, count, with_masks, writer = [], 0, 0, None
    for record, has_mask in tqdm(records, desc=f"shards {split}", unit="example", disable=not progress):
        if count % examples_per_shard == 0:
            if writer is not None:
                writer.close()
            shards.append(f"{split}-{len(shards):05d}.tfrecord")
            writer = tf.io.TFRecordWriter(os.path.join(folder, shards[-1]))
        writer.write(record)
        count += 1
        with_masks += bool(has_mask)
    if writer is not None:
        writer.close()
    if count == 0:
        raise DataError(f"split {split!r} is empty: nothing to write")
    metadata = {
        "split": split,
        "count": count,
        "class_names": list(class_names),
        "shards": shards,
        "examples_with_masks": with_masks,
    }
    with open(os.path.join(folder, f"{split}.json"), "w") as handle:
        json.dump(metadata, handle, indent=2)
    return metadata


_SPEC = {
    "image": tf.io.FixedLenFeature([], tf.string),
    "mask": tf.io.FixedLenFeature([], tf.string),
    "label": tf.io.FixedLenFeature([], tf.int64),
    "name": tf.io.FixedLenFeature([], tf.string),
    "height": tf.io.FixedLenFeature([], tf.int64),
    "width": tf.io.FixedLenFeature([], tf.int64),
}


class ShardedSplit:
    """A split streamed from shards: the methods of `LoadedSplit` (`mmu_tf.data.loaded_split`), no images held.

    Args:
        folder: the shards' folder.
        name: the split's name.
        missing_mask: "none" (an example without mask has no pixel metrics) or
            "background" (Camelyon16: a normal patch's truth is all background).
    """

    def __init__(self, folder, name, missing_mask="none"):
        path = os.path.join(folder, f"{name}.json")
        if not os.path.isfile(path):
            # Missing files, like a split whose images are absent: optional splits are skipped.
            raise MissingFilesError(name, [path])
        with open(path) as handle:
            self.metadata = json.load(handle)
        self.folder = folder
        self.name = name
        self.class_names = list(self.metadata["class_names"])
        self.files = [os.path.join(folder, shard) for shard in self.metadata["shards"]]
        missing = [path for path in self.files if not os.path.isfile(path)]
        if missing:
            raise MissingFilesError(name, missing)
        self.missing_mask = missing_mask

    def __len__(self):
        return int(self.metadata["count"])

    @property
    def has_masks(self):
        return self.missing_mask == "background" or self.metadata["examples_with_masks"] == len(self)

    def first_names(self, count):
        """The names of the first `count` examples, in split order."""
        return [name.numpy().decode("utf-8") for *_, name in self.examples().take(count)]

    def image_sizes(self):
        """None: the sizes of streamed images are known only once they are read (`LoadedSplit` knows them)."""
        return None

    def epoch_examples(self, seed, shuffle_buffer=0, shuffle_seed=0, workers=(1, 0)):
        """Worker `workers[1]`'s share of the epoch drawn from `seed` (see `mmu_tf.data.order`).

        When `shuffle_buffer` covers the split (or the split is smaller than
        the workers), the epoch holds the split's encoded records and reads
        them in the in-memory permutation: the order, hence the trained
        weights, of a `LoadedSplit`. Otherwise the shards in an order drawn
        from `seed`, interleaved, through a shuffle buffer of `shuffle_buffer`
        encoded records seeded by `shuffle_seed`.
        """
        count, index = workers
        if shuffle_buffer >= len(self) or len(self) < count:
            return self.permuted_examples(worker_share(epoch_order(seed, len(self)), count, index))
        return self.examples(order_seed=seed, shuffle_buffer=shuffle_buffer, shuffle_seed=shuffle_seed, workers=workers)

    def examples(self, order_seed=None, cycle_length=4, shuffle_buffer=0, shuffle_seed=0, workers=(1, 0)):
        """Dataset of `(image uint8 (H, W, 3), label, mask bool (H, W), has_mask, name)`.

        In shard order, or, with `order_seed` (an int64 scalar, a tensor
        allowed), the shards in a seeded order read `cycle_length` at a time,
        interleaved, then through a shuffle buffer of `shuffle_buffer` records
        (seeded by `shuffle_seed`). The buffer holds the encoded records, not
        decoded images: its memory is the files', not the pixels'.
        Deterministic either way. `workers=(count, index)`: this worker's share,
        every `count`-th shard file from `index` (every `count`-th record when
        there are fewer files than workers); the shares of all workers are
        disjoint and hold the whole split.
        """
        count, index = workers
        files = tf.constant(self.files)
        if order_seed is not None:
            seed = tf.stack([tf.cast(order_seed, tf.int64), tf.constant(1, tf.int64)])
            files = tf.gather(files, tf.argsort(tf.random.stateless_uniform([len(self.files)], seed)))
        by_file = count > 1 and len(self.files) >= count
        if by_file:
            files = files[index::count]
        files = tf.data.Dataset.from_tensor_slices(files)
        records = files.interleave(
            tf.data.TFRecordDataset,
            # In order: one file after the other; shuffled: `cycle_length` files at a time.
            cycle_length=1 if order_seed is None else min(cycle_length, len(self.files)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )
        if count > 1 and not by_file:
            records = records.shard(count, index)
        if shuffle_buffer > 1:
            records = records.shuffle(shuffle_buffer, seed=shuffle_seed)
        return records.map(self._parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def permuted_examples(self, permutation):
        """The examples of `examples()`, in the order of `permutation` (int64 indices into split order).

        Exactly the order a `LoadedSplit` gets from the same permutation (a
        part of one: a worker's share). Holds every encoded record at once (the
        files' size, not the pixels'), as a shuffle buffer as large as the split would.
        """
        every_record = tf.data.TFRecordDataset(self.files).batch(len(self))
        records = every_record.map(lambda serialized: tf.gather(serialized, permutation)).unbatch()
        return records.map(self._parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)

    def _parse(self, serialized):
        example = tf.io.parse_single_example(serialized, _SPEC)
        image = tf.io.decode_image(example["image"], channels=3, expand_animations=False)
        shape = tf.stack([example["height"], example["width"]])
        image = tf.reshape(image, tf.concat([shape, [3]], 0))
        has_mask = tf.strings.length(example["mask"]) > 0
        mask = tf.cond(
            has_mask,
            lambda: tf.reshape(tf.io.decode_png(example["mask"], channels=1), shape) > 0,
            lambda: tf.zeros(shape, tf.bool),
        )
        # Camelyon16: a patch without a mask file is all background, a truth like any other.
        return image, example["label"], mask, has_mask | (self.missing_mask == "background"), example["name"]
