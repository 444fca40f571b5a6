"""Filling a soft mask's holes: each region it encloses raised to the level of its rim.

A decoder trained on seeds can learn what is most distinctive about glands, the
nucleus-dense epithelium, and leave the pale lumen and goblet cells it encloses
low: a ring where the gland is a disc. `fill_holes` is grayscale morphological
reconstruction by erosion from the map's border (Soille, *Morphological Image
Analysis*, §6.3.7): every pixel takes the lowest level at which it is joined to
the border by a path of pixels at or below that level, or its own value if
higher. A dip enclosed by a rim at 0.8 rises to 0.8; a valley open to the
border stays where it is; nothing is lowered.

Written as a `tf.while_loop` of 3 x 3 erosions (max pooling of the negated map,
8-connectivity) that stops when the map no longer changes, so it runs in a
SavedModel, under XLA and in TFLite (WHILE, MAX_POOL_2D, MAXIMUM builtins).
"""

import tensorflow as tf

EROSIONS_PER_CHECK = 8


def fill_holes(maps, max_iterations=None):
    """Maps `(B, h, w)` -> the same maps with every enclosed dip raised to its rim's level.

    Args:
        maps: float maps (probabilities or logits: the fill commutes with any
            increasing function, so `fill_holes(sigmoid(z)) == sigmoid(fill_holes(z))`).
        max_iterations: the most erosion steps (default `h * w`, enough for any
            map: each step moves the fill front by one cell); it stops earlier
            once the map is stable.

    Example:
    >>> ring = tf.constant([[[0.1, 0.1, 0.1, 0.1, 0.1],
    ...                      [0.1, 0.9, 0.8, 0.9, 0.1],
    ...                      [0.1, 0.8, 0.2, 0.9, 0.1],
    ...                      [0.1, 0.9, 0.9, 0.9, 0.1],
    ...                      [0.1, 0.1, 0.1, 0.1, 0.1]]])
    >>> round(float(fill_holes(ring)[0, 2, 2]), 6)  # the lumen rises to the rim's lowest pass, 0.8
    0.8
    >>> round(float(fill_holes(ring)[0, 0, 0]), 6)  # the border is never raised
    0.1
    """
    maps = tf.convert_to_tensor(maps)
    values = tf.cast(maps, tf.float32)
    height, width = tf.shape(values)[1], tf.shape(values)[2]
    if max_iterations is None:
        max_iterations = height * width
    # The marker: the map on the border, the map's maximum inside (every hole starts full).
    # (Indexing with None is a strided slice TFLite lacks: expand_dims instead, here and below.)
    rows = tf.expand_dims(tf.range(height), 1)
    columns = tf.expand_dims(tf.range(width), 0)
    border = (rows == 0) | (rows == height - 1) | (columns == 0) | (columns == width - 1)
    highest = tf.reduce_max(values, axis=(1, 2), keepdims=True)
    marker = tf.where(tf.expand_dims(border, 0), values, highest)

    def erode(marker):
        # Max pooling ignores its padding, so a border cell erodes over its in-map neighbours only.
        pooled = tf.nn.max_pool2d(-tf.expand_dims(marker, -1), ksize=3, strides=1, padding="SAME")
        neighbourhood_min = -tf.squeeze(pooled, -1)
        return tf.maximum(neighbourhood_min, values)

    def not_done(iteration, marker, change):
        return tf.logical_and(iteration < max_iterations, change > 0.0)

    def step(iteration, marker, change):
        # Several erosions between convergence checks: the loop's own overhead dominates a step.
        eroded = marker
        for _ in range(EROSIONS_PER_CHECK):
            eroded = erode(eroded)
        return iteration + EROSIONS_PER_CHECK, eroded, tf.reduce_max(marker - eroded)

    _, filled, _ = tf.while_loop(not_done, step, (tf.constant(0), marker, tf.constant(1.0)))
    return tf.cast(filled, maps.dtype)
