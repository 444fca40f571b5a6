"""A split held in memory, read through the same methods as a `ShardedSplit` streamed from shards.

Both kinds answer `len()`, `name`, `class_names`, `has_masks`,
`first_names(count)`, `image_sizes()`, `examples()` (split order) and
`epoch_examples(...)` (one worker's share of one epoch); the pipeline reads
any split through them and never asks which kind it has.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from mmu_tf.data.order import epoch_order, worker_share


def _ragged(arrays):
    flat = np.concatenate([array.reshape(-1) for array in arrays])
    return tf.RaggedTensor.from_row_lengths(flat, [array.size for array in arrays])


@dataclasses.dataclass
class LoadedSplit:
    """A split in memory: uint8 RGB images (H, W, 3), bool masks (H, W) or None.

    Example:
    >>> images = [np.zeros((2, 3, 3), np.uint8), np.ones((4, 4, 3), np.uint8)]
    >>> split = LoadedSplit("train", images, [None, np.ones((4, 4), bool)], np.array([0, 1]), ["a", "b"], ["x", "y"])
    >>> [(name.decode(), bool(has_mask)) for *_, has_mask, name in split.examples().as_numpy_iterator()]
    [('a', False), ('b', True)]
    >>> sorted(split.image_sizes())
    [(2, 3), (4, 4)]
    """

    name: str
    images: list
    masks: list
    labels: np.ndarray
    names: list
    class_names: list
    _fetch_function: object = dataclasses.field(default=None, init=False, repr=False, compare=False)

    def __len__(self):
        return len(self.images)

    @property
    def has_masks(self):
        return bool(self.masks) and all(mask is not None for mask in self.masks)

    def first_names(self, count):
        """The names of the first `count` examples, in split order."""
        return list(self.names[:count])

    def image_sizes(self):
        """The distinct `(height, width)` of the split's images (a `ShardedSplit` answers None: unknown)."""
        return {tuple(image.shape[:2]) for image in self.images}

    def examples(self):
        """Dataset of `(image uint8 (H, W, 3), label, mask bool (H, W), has_mask, name)`, in split order.

        The elements of `ShardedSplit.examples()`, from memory: an image
        without a mask gets an all-False mask and `has_mask` False.
        """
        return self.permuted_examples(tf.range(len(self), dtype=tf.int64))

    def epoch_examples(self, seed, shuffle_buffer=0, shuffle_seed=0, workers=(1, 0)):
        """Worker `workers[1]`'s share of the epoch drawn from `seed` (see `mmu_tf.data.order`).

        The whole split is at hand, so the order is always the full
        permutation; `shuffle_buffer` and `shuffle_seed` (a streamed split's)
        have nothing to do here.
        """
        del shuffle_buffer, shuffle_seed
        count, index = workers
        return self.permuted_examples(worker_share(epoch_order(seed, len(self)), count, index))

    def permuted_examples(self, permutation):
        """The examples of `examples()` in the order of `permutation` (int64 indices into split order)."""
        fetch = self._fetch()
        return tf.data.Dataset.from_tensor_slices(permutation).map(fetch)

    def _fetch(self):
        """`fetch(index)` -> one example, over the split in a few flat tensors (no Python per example)."""
        if self._fetch_function is None:
            # Eager, once: called while tf.data traces an epoch, the pixels must be captured
            # tensors, not constants written into every traced graph.
            with tf.init_scope():
                self._fetch_function = self._build_fetch()
        return self._fetch_function

    def _build_fetch(self):
        images = _ragged(self.images)
        image_values, image_starts = images.flat_values, images.row_splits
        shapes = tf.constant(np.array([image.shape[:2] for image in self.images], np.int32))
        labels = tf.constant(np.asarray(self.labels))
        names = tf.constant(np.array(self.names))
        masks = self.masks if self.masks else [None] * len(self)
        has_masks = tf.constant(np.array([mask is not None for mask in masks]))
        mask_values = mask_starts = None
        if any(mask is not None for mask in masks):
            ragged = _ragged(
                [
                    np.zeros(image.shape[:2], np.uint8) if mask is None else mask.astype(np.uint8)
                    for image, mask in zip(self.images, masks)
                ]
            )
            mask_values, mask_starts = ragged.flat_values, ragged.row_splits

        def fetch(index):
            height, width = shapes[index][0], shapes[index][1]
            image = tf.reshape(image_values[image_starts[index] : image_starts[index + 1]], (height, width, 3))
            if mask_values is None:
                mask = tf.zeros((height, width), tf.bool)
            else:
                mask = tf.reshape(mask_values[mask_starts[index] : mask_starts[index + 1]], (height, width)) > 0
            return image, labels[index], mask, has_masks[index], names[index]

        return fetch
