"""Training-time resizing and augmentation, in TensorFlow ops (no Python per example).

Geometric transforms (resize, crop, flips, quarter-turn rotations) apply to
the mask too, with nearest-neighbour resizing, so a mask always lines up with
its image; colour jitter applies to the image only. Randomness is stateless,
driven by a per-example seed, so a run is repeatable from its seed.
"""

import tensorflow as tf

from mmu_tf.data.stain import stain_jitter

RESIZE_MODES = ("short_side", "fixed", "none")


def resized_shape(height, width, mode, short_side=None, image_size=None):
    """The (height, width) an image of size (height, width) is resized to.

    mode "short_side": the shorter side becomes `short_side`, aspect kept;
    "fixed": `image_size` (height, width); "none": unchanged.
    """
    if mode == "none":
        return height, width
    if mode == "fixed":
        return tf.constant(image_size[0], tf.int32), tf.constant(image_size[1], tf.int32)
    if mode != "short_side":
        raise ValueError(f"`data.resize_mode` must be short_side, fixed or none. Received: {mode!r}")
    scale = tf.cast(short_side, tf.float32) / tf.cast(tf.minimum(height, width), tf.float32)
    new_height = tf.cast(tf.round(tf.cast(height, tf.float32) * scale), tf.int32)
    new_width = tf.cast(tf.round(tf.cast(width, tf.float32) * scale), tf.int32)
    return tf.maximum(new_height, short_side), tf.maximum(new_width, short_side)


def resize(image, mask, data_config):
    """Resizes a float image (bilinear) and its bool mask (nearest) per `data_config`."""
    shape = tf.shape(image)
    height, width = resized_shape(
        shape[0],
        shape[1],
        data_config.resize_mode,
        data_config.resize_short_side,
        data_config.image_size,
    )
    if data_config.resize_mode != "none":
        image = tf.image.resize(image, (height, width), method="bilinear", antialias=True)
        image = tf.clip_by_value(image, 0.0, 1.0)
        if mask is not None:
            mask = tf.image.resize(tf.cast(mask[..., None], tf.uint8), (height, width), method="nearest")
            mask = tf.cast(mask[..., 0], tf.bool)
    return image, mask


def _uniform(seed, low, high):
    return tf.random.stateless_uniform((), seed, low, high)


def color_jitter(image, seeds, brightness, contrast, saturation, hue):
    """torchvision-style ColorJitter on a float RGB image in [0, 1].

    Brightness, contrast and saturation factors are drawn in
    [max(0, 1 - b), 1 + b]; the hue shift in [-hue, hue] (a fraction of a turn).
    """
    if brightness > 0:
        image = image * _uniform(seeds[0], max(0.0, 1.0 - brightness), 1.0 + brightness)
        image = tf.clip_by_value(image, 0.0, 1.0)
    if contrast > 0:
        factor = _uniform(seeds[1], max(0.0, 1.0 - contrast), 1.0 + contrast)
        mean = tf.reduce_mean(tf.image.rgb_to_grayscale(image))
        image = tf.clip_by_value((image - mean) * factor + mean, 0.0, 1.0)
    if saturation > 0:
        factor = _uniform(seeds[2], max(0.0, 1.0 - saturation), 1.0 + saturation)
        image = tf.clip_by_value(tf.image.adjust_saturation(image, factor), 0.0, 1.0)
    if hue > 0:
        image = tf.clip_by_value(tf.image.adjust_hue(image, _uniform(seeds[3], -hue, hue)), 0.0, 1.0)
    return image


def augment(image, mask, seed, data_config):
    """Random crop, flips, quarter turns and colour jitter of one example.

    Args:
        image: float32 (H, W, 3) in [0, 1], already resized.
        mask: bool (H, W) or None; it follows every geometric transform.
        seed: int32/int64 tensor of shape (2,), the example's stateless seed.
        data_config: the `config.data` ConfigDict (crop_size, flip_horizontal,
            flip_vertical, rotate90, stain_scale, stain_shift, brightness,
            contrast, saturation, hue). Stain jitter (`mmu_tf.data.stain.stain_jitter`)
            comes before the RGB colour jitter; the mask is untouched by both.

    Returns:
        (image, mask) transformed; mask None when given None.
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=8)
    channels = 3
    # Geometric transforms act on image and mask stacked, so they stay aligned.
    stacked = image if mask is None else tf.concat([image, tf.cast(mask[..., None], image.dtype)], -1)
    depth = channels + (0 if mask is None else 1)
    crop_size = data_config.crop_size
    if crop_size:
        stacked = tf.image.stateless_random_crop(stacked, (crop_size, crop_size, depth), seeds[0])
    if data_config.flip_horizontal:
        stacked = tf.image.stateless_random_flip_left_right(stacked, seeds[1])
    if data_config.flip_vertical:
        stacked = tf.image.stateless_random_flip_up_down(stacked, seeds[2])
    if data_config.rotate90:
        turns = tf.random.stateless_uniform((), seeds[3], 0, 4, dtype=tf.int32)
        stacked = tf.image.rot90(stacked, turns)
    image = stacked[..., :channels]
    if mask is not None:
        mask = stacked[..., channels] > 0.5
    stain_scale, stain_shift = data_config.stain_scale, data_config.stain_shift
    if stain_scale > 0 or stain_shift > 0:
        # Its own seed, folded from the example's: the other draws stay those of a run without it.
        stain_seed = tf.random.experimental.stateless_fold_in(tf.cast(seed, tf.int64), 8)
        image = stain_jitter(image, tf.cast(stain_seed, tf.int32), stain_scale, stain_shift)
    image = color_jitter(
        image,
        seeds[4:8],
        data_config.brightness,
        data_config.contrast,
        data_config.saturation,
        data_config.hue,
    )
    return image, mask
