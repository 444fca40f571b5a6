"""Area downsampling written as two small matrix products: `tf.image.resize(method="area")` that XLA compiles.

TensorFlow's `ResizeArea` kernel has no XLA implementation, so a model that
calls it cannot train where Keras turns XLA on (every GPU). Area resizing is
separable: output cell i along an axis averages the input pixels its box
`[i * s, (i + 1) * s)` covers (`s` = input size / output size), each weighted by
the length it overlaps the box. `area_downsample` builds those overlap
weights from the shapes (integer arithmetic XLA sees as constants) and applies
them with `tf.einsum`: the values of `ResizeArea` up to float rounding.
"""

import tensorflow as tf


def area_weights(input_size, output_size):
    """`(output_size, input_size)` float32: row i holds the overlaps of cell i's box with each pixel, over s.

    Example:
    >>> area_weights(3, 2).numpy().round(4).tolist()
    [[0.6667, 0.3333, 0.0], [0.0, 0.3333, 0.6667]]
    """
    scale = tf.cast(input_size, tf.float32) / tf.cast(output_size, tf.float32)
    starts = tf.cast(tf.range(output_size), tf.float32)[:, None] * scale
    pixels = tf.cast(tf.range(input_size), tf.float32)[None, :]
    overlap = tf.minimum(starts + scale, pixels + 1.0) - tf.maximum(starts, pixels)
    return tf.maximum(overlap, 0.0) / scale


def area_downsample(images, size):
    """`images` `(B, H, W, C)` resized to `size` `(h, w)` by area averaging, in float32.

    Example:
    >>> images = tf.reshape(tf.range(16, dtype=tf.float32), (1, 4, 4, 1))
    >>> area_downsample(images, (2, 2))[0, ..., 0].numpy().tolist()
    [[2.5, 4.5], [10.5, 12.5]]
    """
    images = tf.cast(images, tf.float32)
    shape = tf.shape(images)
    rows = area_weights(shape[1], size[0])
    columns = area_weights(shape[2], size[1])
    return tf.einsum("yh,bhwc,xw->byxc", rows, images, columns)
