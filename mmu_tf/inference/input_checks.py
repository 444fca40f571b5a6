"""What an image must be before a model sees it: the checks of every inference entry point.

Float inputs must be `[N, H, W, 3]` with N, H, W >= 1, finite, in [0, 1], and at
most `max_image_pixels` pixels per image. Encoded inputs (PNG, JPEG, BMP) have
their size read from the header and checked before they are decoded, so a small
file declaring a huge image (a decompression bomb) costs nothing, and must end
as their format ends (a truncated file is refused by its index, not by the
decoder's failure of the whole request). GIF is refused: TensorFlow's decoder
decodes every frame of an animation, each at its own size, whatever the header says.

Two implementations of the same rules: TensorFlow ops for graphs that can
refuse a request (the SavedModel signatures) and numpy for the LiteRT
wrapper (TFLite has no builtin op that fails a call).
"""

import numpy as np
import tensorflow as tf

RANGE_HINT = "images must be float32 RGB in [0, 1] (divide 0-255 pixels by 255), without NaN"


class InputError(ValueError):
    """An input a model must not be run on; the message says which and why."""


def check_float_images(images, max_image_pixels):
    """Graph-side checks of float images `[N, H, W, 3]`; returns `images`, failing the call otherwise."""
    images = tf.ensure_shape(images, [None, None, None, 3], name="images_must_be_N_H_W_3")
    shape = tf.shape(images)
    pixels = tf.cast(shape[1], tf.int64) * tf.cast(shape[2], tf.int64)
    checks = [
        tf.debugging.Assert(
            tf.reduce_all(shape[:3] >= 1), ["images must hold at least one image of at least 1x1 pixels; shape:", shape]
        ),
        tf.debugging.Assert(
            pixels <= max_image_pixels,
            ["images of", shape[1], "x", shape[2], "pixels exceed the limit of", max_image_pixels, "pixels"],
        ),
        # NaN fails both comparisons, so it is refused here too.
        tf.debugging.Assert(
            tf.logical_and(tf.reduce_all(images >= 0.0), tf.reduce_all(images <= 1.0)),
            [RANGE_HINT + ". Min and max:", tf.reduce_min(images), tf.reduce_max(images)],
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(images)


def _read_integer(encoded, offset, length, little_endian):
    raw = tf.io.decode_raw(tf.strings.substr(encoded, offset, length), tf.uint8)
    raw = tf.cast(raw, tf.int64)
    weights = tf.constant([256**index for index in range(length)], tf.int64)
    if not little_endian:
        weights = tf.reverse(weights, [0])
    return tf.reduce_sum(raw * weights)


def encoded_image_size(encoded):
    """`(height, width)` int64 of a PNG, JPEG or BMP from its header, without decoding; (-1, -1) otherwise.

    (-1, -1) too for a file that does not end as its format ends (PNG: the IEND
    chunk; JPEG: the end-of-image marker; BMP: the size its header declares),
    the mark of a truncated upload, and for GIF (see the module docstring).
    """
    length = tf.strings.length(encoded)
    magic = tf.strings.substr(encoded, 0, 4)

    def unknown():
        return tf.constant(-1, tf.int64), tf.constant(-1, tf.int64)

    def whole(complete, size):
        return tf.cond(complete, lambda: size, unknown)

    def png():
        # The last 12 bytes of every PNG: the empty IEND chunk and its CRC.
        complete = tf.equal(tf.strings.substr(encoded, length - 12, 12), b"\0\0\0\0IEND\xaeB`\x82")
        return whole(complete, (_read_integer(encoded, 20, 4, False), _read_integer(encoded, 16, 4, False)))

    def jpeg():
        complete = tf.equal(tf.strings.substr(encoded, length - 2, 2), b"\xff\xd9")

        def shape():
            extracted = tf.cast(tf.image.extract_jpeg_shape(encoded), tf.int64)
            return extracted[0], extracted[1]

        return tf.cond(complete, shape, unknown)

    def bmp():
        height = _read_integer(encoded, 22, 4, True)
        # A top-down BMP stores its height negated (two's complement).
        height = tf.where(height >= 2**31, 2**32 - height, height)
        complete = _read_integer(encoded, 2, 4, True) <= tf.cast(length, tf.int64)
        return whole(complete, (height, _read_integer(encoded, 18, 4, True)))

    long_enough = length >= 26
    return tf.case(
        [
            (tf.logical_and(long_enough, tf.equal(magic, b"\x89PNG")), png),
            (tf.logical_and(long_enough, tf.equal(tf.strings.substr(magic, 0, 2), b"\xff\xd8")), jpeg),
            (tf.logical_and(long_enough, tf.equal(tf.strings.substr(magic, 0, 2), b"BM")), bmp),
        ],
        default=unknown,
        exclusive=True,
    )


def check_encoded_images(encoded_images, max_image_pixels):
    """Graph-side checks of a batch of encoded images; returns `(encoded_images, sizes)` once they pass.

    Fails the call, naming the request's image index, for an empty batch, a
    file that is not a whole PNG, JPEG or BMP (GIF, truncated), and an image
    whose header declares more than `max_image_pixels` pixels; nothing is decoded here.
    Both outputs depend on the checks, so whatever decodes the returned
    images runs after them (`sizes`: their `(height, width)`, [N, 2] int32).
    """
    count = tf.shape(encoded_images)[0]
    not_empty = tf.debugging.Assert(count >= 1, ["images: the request holds no image"])
    with tf.control_dependencies([not_empty]):
        sizes = tf.map_fn(
            lambda encoded: tf.stack(encoded_image_size(encoded)),
            encoded_images,
            fn_output_signature=tf.TensorSpec([2], tf.int64),
        )
    indices = tf.range(count)
    known = tf.reduce_all(sizes >= 1, axis=1)
    pixels = sizes[:, 0] * sizes[:, 1]
    checks = [
        tf.debugging.Assert(
            tf.reduce_all(known),
            [
                "images at these request indices are not whole PNG, JPEG or BMP files (GIF is not accepted; "
                "a truncated file is refused):",
                tf.boolean_mask(indices, ~known),
            ],
        ),
        tf.debugging.Assert(
            tf.reduce_all(pixels <= max_image_pixels),
            [
                "images at these request indices declare more pixels than the limit of",
                max_image_pixels,
                ":",
                tf.boolean_mask(indices, pixels > max_image_pixels),
            ],
        ),
    ]
    with tf.control_dependencies(checks):
        # The images too, not only the sizes: a lowered decoding loop starts each body op when its
        # own inputs are ready, so a tensor merely captured by the loop would not order them.
        return tf.identity(encoded_images), tf.cast(tf.identity(sizes), tf.int32)


def check_float_images_numpy(images, max_image_pixels):
    """The same rules as `check_float_images`, in numpy; returns float32 images or raises `InputError`."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise InputError(f"images must be [N, H, W, 3]; got shape {images.shape}")
    if min(images.shape[:3]) < 1:
        raise InputError(f"images must hold at least one image of at least 1x1 pixels; got shape {images.shape}")
    if images.shape[1] * images.shape[2] > max_image_pixels:
        raise InputError(
            f"images of {images.shape[2]}x{images.shape[1]} pixels exceed the limit of {max_image_pixels:,} pixels"
        )
    if not np.issubdtype(images.dtype, np.floating):
        raise InputError(f"{RANGE_HINT}; got dtype {images.dtype}")
    images = images.astype(np.float32, copy=False)
    finite = np.isfinite(images)
    if not np.all(finite) or images.min() < 0.0 or images.max() > 1.0:
        found = images[finite]
        extent = f"min {found.min():.4g}, max {found.max():.4g}" if found.size else "no finite value"
        raise InputError(f"{RANGE_HINT}; got {extent}, {int((~finite).sum())} NaN or infinite value(s)")
    return images
