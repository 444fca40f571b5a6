"""The TF-Serving signatures of a trained model, on `mmu_tf.inference.Predictor`.

Two signatures, both returning the same named outputs:

- `serving_default`: float32 images `[N, H, W, 3]`, RGB in [0, 1], any H, W
  the backbone accepts; the mask comes back at the input's size.
- `serving_bytes`: encoded images `tf.string [N]` (whole PNG, JPEG or BMP files),
  decoded, converted to RGB and resized inside the graph as at evaluation
  time; the mask comes back at each image's own size, padded with zeros to
  the largest image of the request, with `height` / `width` giving each
  image's size.

Outputs: `probabilities` [N, K], `class_id` [N] int32, `class_name` [N]
string, `mask` [N, H, W] float32 soft foreground mask in [0, 1],
`foreground_fraction` [N] float32 (the fraction of pixels with mask >= 0.5).

Both refuse what they must not answer (`mmu_tf.inference.input_checks`): an
empty batch, values outside [0, 1] or NaN, and images above the predictor's
pixel limit, read from the encoded images' headers before anything is decoded.
"""

import tensorflow as tf

from mmu_tf.inference.input_checks import check_encoded_images, check_float_images


class ServingModule(tf.Module):
    """The two serving signatures of a `Predictor` (whose model runs in float32).

    Args:
        predictor: a `mmu_tf.inference.Predictor`.
    """

    def __init__(self, predictor):
        super().__init__(name="mmu_tf_serving")
        # Unfolded: the SavedModel keeps the weights as variables, once (folded kernels would be
        # graph constants beside them); TF-Serving's own optimiser sees the batch norms.
        predictor = predictor.unfolded()
        self.predictor = predictor
        self.model = predictor.model  # tracked, so the SavedModel holds its variables
        self.class_names = tf.constant(predictor.class_names)
        self.serve_float = tf.function(
            self._serve_float, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="images")]
        )
        self.serve_bytes = tf.function(
            self._serve_bytes, input_signature=[tf.TensorSpec([None], tf.string, name="images")]
        )
        # Not a signature: lets Python clients (mmu_tf.predict) name every probability.
        self.get_class_names = tf.function(lambda: self.class_names, input_signature=[])

    def _with_class_names(self, outputs):
        return {**outputs, "class_name": self.predictor.class_name(outputs["class_id"])}

    def _serve_float(self, images):
        images = check_float_images(images, self.predictor.max_image_pixels)
        return self._with_class_names(self.predictor.predict_batch(images))

    def _serve_bytes(self, encoded_images):
        # Sizes come from the headers (checked against the limit before any decoding); masks
        # of a batch are padded to its largest image, so the output stays one tensor.
        encoded_images, sizes = check_encoded_images(encoded_images, self.predictor.max_image_pixels)
        padded_size = tf.reduce_max(sizes, axis=0)

        def predict_one(encoded):
            image = tf.io.decode_image(encoded, channels=3, expand_animations=False, dtype=tf.uint8)
            probabilities, mask = self.predictor.predict_uint8(image)
            mask = tf.image.pad_to_bounding_box(mask[..., None], 0, 0, padded_size[0], padded_size[1])[..., 0]
            return probabilities, mask

        probabilities, masks = tf.map_fn(
            predict_one,
            encoded_images,
            fn_output_signature=(tf.TensorSpec([None], tf.float32), tf.TensorSpec([None, None], tf.float32)),
        )
        outputs = self._with_class_names(self.predictor.named_outputs(probabilities, masks))
        # The padding is not part of any image: the fraction counts real pixels only.
        areas = tf.cast(sizes[:, 0] * sizes[:, 1], tf.float32)
        outputs["foreground_fraction"] = tf.reduce_sum(tf.cast(masks >= 0.5, tf.float32), axis=(1, 2)) / areas
        outputs["height"] = sizes[:, 0]
        outputs["width"] = sizes[:, 1]
        return outputs
