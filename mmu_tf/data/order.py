"""The order a split is read in, epoch by epoch and worker by worker: the same for every kind of split.

Epoch `e`'s permutation depends only on `(seed, e)`, so a run resumed at
epoch `e` reads what an uninterrupted one would, in memory or from shards.
"""

import tensorflow as tf


def epoch_seed(seed, epoch):
    """The int64 seed of epoch `epoch` of a run seeded `seed` (both may be tensors)."""
    return tf.constant(seed, tf.int64) * 1_000_003 + epoch


def epoch_order(seed, size):
    """The permutation (int64 indices) of a split of `size` examples drawn from the epoch's `seed`.

    Example:
    >>> sorted(epoch_order(epoch_seed(0, 1), 4).numpy().tolist())
    [0, 1, 2, 3]
    """
    # Stateless: tf.data's shuffle cannot take this seed tensor when the global seed is 0.
    return tf.cast(tf.argsort(tf.random.stateless_uniform([size], tf.stack([seed, 0]))), tf.int64)


def worker_share(order, count, index):
    """Worker `index`'s share of an epoch's order: every `count`-th example from `index`.

    A split with fewer examples than workers is repeated first, so that no
    worker's share is empty (a worker with nothing to read would end the epoch,
    or the run, for all of them).

    Example:
    >>> [worker_share(tf.constant([7, 8, 9], tf.int64), 2, index).numpy().tolist() for index in (0, 1)]
    [[7, 9], [8]]
    >>> [worker_share(tf.constant([7], tf.int64), 2, index).numpy().tolist() for index in (0, 1)]
    [[7], [7]]
    """
    size = tf.size(order, out_type=tf.int64)
    repeats = tf.maximum((count + size - 1) // size, 1)
    return tf.tile(order, tf.reshape(repeats, [1]))[index::count]
