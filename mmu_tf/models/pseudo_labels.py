"""Pseudo pixel labels from a teacher's soft mask: confident foreground, confident background, the rest ignored."""

import tensorflow as tf

from mmu_tf.data.stain import haematoxylin_density


def confident_regions(teacher_mask, foreground_fraction, background_fraction):
    """Bool masks `(foreground, background)` of each image's highest and lowest teacher scores.

    Per image, the `foreground_fraction` of its pixels that the teacher scores
    highest and the `background_fraction` it scores lowest (by rank, so any
    monotone rescaling of the teacher's map gives the same regions; ties at a
    threshold are all taken). A pixel is never in both: a flat map gives no seeds.

    Args:
        teacher_mask: `(B, h, w)` scores, higher for foreground.
        foreground_fraction, background_fraction: floats in (0, 1), with a sum <= 1.

    Example:
    >>> foreground, background = confident_regions(tf.constant([[[0.9, 0.5, 0.2, 0.1]]]), 0.25, 0.5)
    >>> foreground.numpy().tolist(), background.numpy().tolist()
    ([[[True, False, False, False]]], [[[False, False, True, True]]])
    """
    scores = tf.cast(teacher_mask, tf.float32)
    flat = tf.reshape(scores, tf.stack([tf.shape(scores)[0], -1]))
    count = tf.shape(flat)[1]
    ascending = tf.sort(flat, axis=-1)

    def kept(fraction):
        return tf.clip_by_value(tf.cast(tf.round(fraction * tf.cast(count, tf.float32)), tf.int32), 1, count)

    foreground_threshold = tf.gather(ascending, count - kept(foreground_fraction), axis=1)[:, None, None]
    background_threshold = tf.gather(ascending, kept(background_fraction) - 1, axis=1)[:, None, None]
    foreground = (scores >= foreground_threshold) & (scores > background_threshold)
    background = (scores <= background_threshold) & (scores < foreground_threshold)
    return foreground, background


def hash32(values):
    """A 32-bit integer hash of `uint32` `values`, elementwise (Wellons's "lowbias32": xor-shifts and two products).

    Example:
    >>> hash32(tf.constant([0, 1], tf.uint32)).numpy().tolist()
    [0, 1753845952]
    """
    values = tf.bitwise.bitwise_xor(values, tf.bitwise.right_shift(values, 16))
    values = values * tf.constant(0x7FEB352D, tf.uint32)
    values = tf.bitwise.bitwise_xor(values, tf.bitwise.right_shift(values, 15))
    values = values * tf.constant(0x846CA68B, tf.uint32)
    return tf.bitwise.bitwise_xor(values, tf.bitwise.right_shift(values, 16))


def hashed_uniform(shape, seed):
    """Uniform float32 noise in [0, 1) of `shape`, a hash of each element's index and the two int32 of `seed`.

    Not `tf.random.stateless_uniform`: under XLA (what Keras compiles with on a
    GPU) that draws other numbers for the same seed than without it, even with
    `alg="philox"` (tensorflow/tensorflow#117644). Integer products and shifts
    are the same everywhere, so the same seed draws the same noise with XLA or
    without, on any replica and after a resume. 24 bits per value.

    Example:
    >>> noise = hashed_uniform([2, 3], seed=[0, 1])
    >>> noise.shape, bool(tf.reduce_all((noise >= 0) & (noise < 1)))
    (TensorShape([2, 3]), True)
    """
    seed = tf.bitcast(tf.cast(seed, tf.int32), tf.uint32)
    key = hash32(tf.bitwise.bitwise_xor(seed[0], hash32(seed[1])))
    index = tf.bitcast(tf.range(tf.reduce_prod(shape), dtype=tf.int32), tf.uint32)
    bits = tf.bitwise.right_shift(hash32(tf.bitwise.bitwise_xor(index, key)), 8)
    return tf.reshape(tf.cast(bits, tf.float32) / float(1 << 24), shape)


def sample_pixels(region, count, seed):
    """`count` pixels of each image's bool `region` `(B, h, w)`, drawn uniformly without replacement.

    All of the region where it holds fewer. `seed`: two int32 (`hashed_uniform`):
    the same seed draws the same pixels, with XLA or without, on any replica and
    after a resume.

    Example:
    >>> region = tf.constant([[[True, True, False, True]]])
    >>> int(tf.reduce_sum(tf.cast(sample_pixels(region, 2, seed=[0, 1]), tf.int32)))
    2
    """
    noise = hashed_uniform(tf.shape(region), seed)
    scores = tf.where(region, noise, -1.0)
    flat = tf.reshape(scores, tf.stack([tf.shape(scores)[0], -1]))
    kth = tf.math.top_k(flat, k=tf.minimum(count, tf.shape(flat)[1])).values[:, -1]
    return region & (scores >= kth[:, None, None])


def away_from_border(region, margin):
    """`region` without the cells within `margin` cells of the image's border.

    A teacher's map is lowest along the border (its backbone pads with zeros
    there), so its background seeds gather on the border, and a decoder taught
    by them learns where the border is rather than what the background looks like.

    Example:
    >>> away_from_border(tf.ones((1, 4, 4), tf.bool), 1).numpy()[0].astype(int).tolist()
    [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    """
    if margin <= 0:
        return region
    height, width = tf.shape(region)[1], tf.shape(region)[2]
    rows = tf.range(height)
    columns = tf.range(width)
    inside_rows = (rows >= margin) & (rows < height - margin)
    inside_columns = (columns >= margin) & (columns < width - margin)
    return region & (inside_rows[None, :, None] & inside_columns[None, None, :])


def ranked_with_prior(scores, small_images, labels, prior_weights, prior_sigma):
    """The seeds' ranking scores `(B, h, w)`: per class, the teacher's ranks mixed with the haematoxylin prior's.

    A cell's score is `(1 - w) * rank(teacher) + w * rank(density)`, ranks taken
    per image, `w = prior_weights[label]` (`mmu_tf.data.stain.haematoxylin_density`
    of `small_images`, the images on the grid, smoothed by `prior_sigma` cells).
    Empty `prior_weights`: the teacher's scores unchanged.

    Example:
    >>> teacher = tf.constant([[[0.9, 0.1]]])
    >>> ranked_with_prior(teacher, None, None, (), 1.0).numpy().tolist()
    [[[0.9, 0.1]]]
    """
    if not prior_weights:
        return scores
    weights = tf.gather(tf.constant(prior_weights, tf.float32), tf.cast(labels, tf.int32))[:, None, None]
    prior = haematoxylin_density(small_images, prior_sigma)
    return (1.0 - weights) * per_image_ranks(scores) + weights * per_image_ranks(prior)


def per_image_ranks(scores):
    """Each cell's rank among its image's cells, in [0, 1) (`(B, h, w)`): maps of any scale made comparable.

    A cell's rank is the share of its image's cells scored strictly lower, so
    tied cells (a saturated mask's ones, a flat map) share a rank: breaking the
    tie by position would make the seeds of a saturated region its last rows.

    Example:
    >>> per_image_ranks(tf.constant([[[0.3, 9.0], [0.1, 0.2]]])).numpy().tolist()
    [[[0.5, 0.75], [0.0, 0.25]]]
    >>> per_image_ranks(tf.constant([[[1.0, 1.0], [0.1, 1.0]]])).numpy().tolist()
    [[[0.25, 0.25], [0.0, 0.25]]]
    """
    shape = tf.shape(scores)
    flat = tf.reshape(tf.cast(scores, tf.float32), tf.stack([shape[0], -1]))
    lower = tf.searchsorted(tf.sort(flat, axis=-1), flat, side="left")
    return tf.reshape(tf.cast(lower, tf.float32) / tf.cast(tf.shape(flat)[1], tf.float32), shape)
