"""The serving functions shared by every exported form of a trained model.

Two signatures, both returning the same named outputs:

- `serving_default`: float32 images `[N, H, W, 3]`, RGB in [0, 1], any H, W
  the backbone accepts; the mask comes back at the input's size.
- `serving_bytes`: encoded images `tf.string [N]` (PNG, JPEG, BMP, GIF),
  decoded, converted to RGB and resized inside the graph as at evaluation
  time; the mask comes back at each image's own size, padded with zeros to
  the largest image of the request, with `height` / `width` giving each
  image's size.

Outputs: `probabilities` [N, K], `class_id` [N] int32, `class_name` [N]
string, `mask` [N, H, W] float32 soft foreground mask in [0, 1],
`foreground_fraction` [N] float32 (the fraction of pixels with mask >= 0.5).
"""

import tensorflow as tf

from mmu_tf.data.augment import resized_shape


def resize_for_model(image, resize_mode, short_side, image_size):
    """Resizes one float image (H, W, 3) as the evaluation pipeline does."""
    if resize_mode == "none":
        return image
    shape = tf.shape(image)
    size = resized_shape(shape[0], shape[1], resize_mode, short_side, image_size)
    return tf.image.resize(image, size, method="bilinear", antialias=True)


class ServingModule(tf.Module):
    """Wraps a trained Max-Min model with the two serving signatures.

    Args:
        model: a trained `MaxMinModel`.
        class_names: the K class names, in class-id order.
        resize_mode, short_side, image_size: the evaluation resize of its
            config (`data.resize_mode`, `data.resize_short_side`, `data.image_size`).
    """

    def __init__(self, model, class_names, resize_mode="none", short_side=432, image_size=(416, 416)):
        super().__init__(name="mmu_tf_serving")
        self.model = model
        self.class_names = tf.constant(list(class_names))
        self.resize_mode = resize_mode
        self.short_side = int(short_side)
        self.image_size = tuple(int(side) for side in image_size)
        self.serve_float = tf.function(
            self._serve_float, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="images")]
        )
        self.serve_bytes = tf.function(
            self._serve_bytes, input_signature=[tf.TensorSpec([None], tf.string, name="images")]
        )
        # Not a signature: lets Python clients (mmu_tf.predict) name every probability.
        self.get_class_names = tf.function(lambda: self.class_names, input_signature=[])

    def _outputs(self, probabilities, mask):
        class_id = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
        return {
            "probabilities": probabilities,
            "class_id": class_id,
            "class_name": tf.gather(self.class_names, class_id),
            "mask": mask,
            "foreground_fraction": tf.reduce_mean(tf.cast(mask >= 0.5, tf.float32), axis=(1, 2)),
        }

    def _serve_float(self, images):
        # Checked at run time: a client that bypasses the signature's shape (a
        # rank-3 image) gets this message rather than a failure deep in the model.
        images = tf.ensure_shape(images, [None, None, None, 3], name="images_must_be_N_H_W_3")
        # 0-255 pixels sent as floats are the usual client mistake: fail with what to do,
        # not with a confident answer on the wrong scale.
        in_range = tf.logical_and(tf.reduce_all(images >= 0.0), tf.reduce_all(images <= 1.0))
        check = tf.debugging.Assert(
            in_range,
            [
                "images must be float32 RGB in [0, 1]: divide 0-255 pixels by 255. Min and max:",
                tf.reduce_min(images),
                tf.reduce_max(images),
            ],
        )
        with tf.control_dependencies([check]):
            images = tf.identity(images)
        outputs = self.model(images, training=False)
        return self._outputs(outputs["probabilities"], outputs["mask"])

    def _decode(self, encoded):
        return tf.io.decode_image(encoded, channels=3, expand_animations=False, dtype=tf.uint8)

    def _serve_bytes(self, encoded_images):
        # Decoded once for the sizes, then again per image: masks of a batch
        # are padded to its largest image, so the output stays one tensor.
        sizes = tf.map_fn(
            lambda encoded: tf.shape(self._decode(encoded))[:2],
            encoded_images,
            fn_output_signature=tf.TensorSpec([2], tf.int32),
        )
        padded_size = tf.reduce_max(sizes, axis=0)

        def predict_one(encoded):
            image = self._decode(encoded)
            size = tf.shape(image)[:2]
            resized = resize_for_model(
                tf.cast(image, tf.float32) / 255.0, self.resize_mode, self.short_side, self.image_size
            )
            outputs = self.model(resized[None], training=False)
            mask = tf.image.resize(outputs["mask"][..., None], size, method="bilinear")[0]
            mask = tf.image.pad_to_bounding_box(mask, 0, 0, padded_size[0], padded_size[1])[..., 0]
            return outputs["probabilities"][0], mask

        probabilities, masks = tf.map_fn(
            predict_one,
            encoded_images,
            fn_output_signature=(tf.TensorSpec([None], tf.float32), tf.TensorSpec([None, None], tf.float32)),
        )
        outputs = self._outputs(probabilities, masks)
        # The padding is not part of any image: the fraction counts real pixels only.
        areas = tf.cast(sizes[:, 0] * sizes[:, 1], tf.float32)
        outputs["foreground_fraction"] = tf.reduce_sum(tf.cast(masks >= 0.5, tf.float32), axis=(1, 2)) / areas
        outputs["height"] = sizes[:, 0]
        outputs["width"] = sizes[:, 1]
        return outputs
