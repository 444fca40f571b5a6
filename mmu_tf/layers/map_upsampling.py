"""Upsampling a backbone's maps to the image, each cell put back over the pixels it was computed from.

A convolution of stride 2 with symmetric padding (k = 3, padding 1; k = 7,
padding 3; a 1 x 1 without padding) centres its output j on input pixel 2j.
Through the five stride-2 stages of a ResNet or an EfficientNet, cell i of the
final map is centred on image pixel 32 i (16 i at output stride 16), not on
32 i + 15.5, which is where `tf.image.resize`'s half-pixel convention puts
it. Upsampling with that convention shifts every map 15.5 pixels down and to
the right of what it describes. Measured on GlaS valid with a Max-Min model:
the pixel AUC of its masks rose from 65.1 to 66.6 when the masks were moved
16 pixels up and left (see README, results).

`upsample_maps` maps cell i to pixel `stride * i` exactly: a bilinear resize
with aligned corners to `stride * (n - 1) + 1` pixels, then the last row and
column repeated to the image's size. Both ops are TFLite builtins.
"""

import math

import tensorflow as tf


def map_stride(image_size, map_size):
    """The power of two nearest to image side / map side: the backbone's output stride (e.g. 32)."""
    ratio = tf.cast(image_size, tf.float32) / tf.cast(map_size, tf.float32)
    return tf.cast(tf.round(tf.pow(2.0, tf.round(tf.math.log(ratio) / math.log(2.0)))), tf.int32)


def _extend_to(upsampled, axis, size):
    """Crops `upsampled` (B, H, W, C) along `axis` to `size`, or repeats its last slice up to it."""
    current = tf.shape(upsampled)[axis]
    missing = tf.maximum(size - current, 0)
    last = tf.gather(upsampled, [current - 1], axis=axis)
    repeats = [1, 1, 1, 1]
    repeats[axis] = missing
    extended = tf.concat([upsampled, tf.tile(last, repeats)], axis=axis)
    return tf.gather(extended, tf.range(size), axis=axis)


def upsample_maps(maps, image_size):
    """Maps (B, h, w) or (B, h, w, C) of a stride-s backbone -> (B, H, W[, C]), cell i on pixel s * i.

    Args:
        maps: the backbone-resolution maps (float).
        image_size: `(H, W)` of the image the maps were computed from.

    Example:
    >>> maps = tf.constant([[[0.0, 1.0], [2.0, 3.0]]])  # 2 x 2 cells of a stride-32 backbone
    >>> upsampled = upsample_maps(maps, (64, 64))
    >>> [float(upsampled[0, 0, 0]), float(upsampled[0, 0, 16]), float(upsampled[0, 0, 32]), float(upsampled[0, 0, 63])]
    [0.0, 0.5, 1.0, 1.0]
    """
    squeeze = maps.shape.rank == 3
    if squeeze:
        maps = maps[..., None]
    height, width = image_size[0], image_size[1]
    map_shape = tf.shape(maps)
    stride = map_stride(height, map_shape[1])
    target = tf.stack([stride * (map_shape[1] - 1) + 1, stride * (map_shape[2] - 1) + 1])
    upsampled = tf.compat.v1.image.resize_bilinear(maps, target, align_corners=True)
    upsampled = _extend_to(_extend_to(upsampled, 1, height), 2, width)
    upsampled = tf.cast(upsampled, maps.dtype)
    return upsampled[..., 0] if squeeze else upsampled
