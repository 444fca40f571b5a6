"""The one way to run a trained model: images in; class, probabilities and the mask at each image's size out.

Evaluation, `predict`, `predict_wsi`, the SavedModel signatures and the TFLite
export all go through `Predictor`, so what a model returns (the resize, the
mask brought back to the image's size, the class names, the checks on the
input) is written once.
"""

import contextlib

import ml_collections
import numpy as np
import tensorflow as tf

from mmu_tf.data.augment import resize
from mmu_tf.data.samples import DEFAULT_MAX_IMAGE_PIXELS
from mmu_tf.inference.batch_norm_folding import folded_batch_norm
from mmu_tf.inference.input_checks import check_float_images_numpy
from mmu_tf.inference.xla import inference_jit_compile

# A model that runs at the image's own resolution (`data.resize_mode="none"`) needs memory in
# proportion to the image (a 5000 x 5000 request to the demo model peaked at 9.1 GB): such a model
# accepts at most this many pixels unless told otherwise (2048 x 2048). A model that resizes first
# (short_side, fixed) keeps the training limit: only the decoded image grows with the request.
FULL_RESOLUTION_PIXELS = 2048 * 2048


def default_pixel_limit(data_config):
    """The largest image a model of this training `data` config accepts by default (exports, whole slides)."""
    limit = int(data_config.max_image_pixels)
    return min(limit, FULL_RESOLUTION_PIXELS) if data_config.resize_mode == "none" else limit


def resize_settings(resize_mode="none", resize_short_side=None, image_size=None):
    """The evaluation resize of a training config's `data` section, as `evaluation_input` reads it.

    "none" (the default: images as given) needs neither size; "short_side"
    needs `resize_short_side`, "fixed" `image_size` (the config's values).
    """
    needed = {"short_side": ("resize_short_side", resize_short_side), "fixed": ("image_size", image_size)}
    if resize_mode in needed and needed[resize_mode][1] is None:
        raise ValueError(f"resize_mode={resize_mode!r} needs `{needed[resize_mode][0]}`")
    return ml_collections.ConfigDict(
        {
            "resize_mode": resize_mode,
            "resize_short_side": None if resize_short_side is None else int(resize_short_side),
            "image_size": None if image_size is None else tuple(int(side) for side in image_size),
        }
    )


def evaluation_input(image, settings):
    """One uint8 image (H, W, 3) as the model sees it at evaluation: resized, rounded to uint8, in [0, 1].

    The rounding is the evaluation pipeline's (which caches resized images as
    uint8), so every entry point feeds the model the same pixels.
    """
    resized, _ = resize(tf.cast(image, tf.float32) / 255.0, None, settings)
    return tf.round(resized * 255.0) / 255.0


class Predictor:
    """Wraps a trained model (any method of `mmu_tf.models`) with its class names and evaluation resize.

    Args:
        model: a trained model returning `{"probabilities": (N, K), "mask": (N, H, W)}`.
        class_names: K names in class-id order (default: the model's own, else "0".."K-1").
        resize_mode, resize_short_side, image_size: the evaluation resize of the
            model's training config (`data.resize_mode`, ...): "none", "short_side"
            or "fixed".
        max_image_pixels: the largest image (in pixels) accepted by the
            checking entry points.
        jit_compile: compile `predict_batch` with XLA (once per input shape:
            see `mmu_tf.inference.xla.inference_jit_compile` for when it pays).
        fold_batch_norm: run each convolution + batch norm pair of the model as
            one convolution (`mmu_tf.inference.batch_norm_folding`): the same
            outputs, faster. The folded weights are read when `predict_batch`
            traces, so a model trained further needs a new predictor. Exports
            keep the unfolded graph, whose SavedModel holds the weights as variables.

    Example:
    >>> predictor = Predictor.from_workdir("runs/demo")  # doctest: +SKIP
    >>> prediction = predictor.predict_image(uint8_rgb_image)  # doctest: +SKIP
    >>> prediction["class_name"], prediction["mask"].shape  # doctest: +SKIP
    ('malignant', (522, 775))
    """

    def __init__(
        self,
        model,
        class_names=None,
        resize_mode="none",
        resize_short_side=None,
        image_size=None,
        max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS,
        jit_compile=False,
        fold_batch_norm=True,
    ):
        self.model = model
        self.fold_batch_norm = bool(fold_batch_norm)
        if class_names is None:
            class_names = getattr(model, "class_names", None) or [str(index) for index in range(model.num_classes)]
        self.class_names = list(class_names)
        self.resize_settings = resize_settings(resize_mode, resize_short_side, image_size)
        self.max_image_pixels = int(max_image_pixels)
        self._class_name_table = tf.constant(self.class_names)
        self.jit_compile = bool(jit_compile)
        self.predict_batch = tf.function(
            self._predict_batch,
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="images")],
            reduce_retracing=True,
            jit_compile=self.jit_compile,
        )
        self.predict_uint8 = tf.function(
            self._predict_uint8, input_signature=[tf.TensorSpec([None, None, 3], tf.uint8, name="image")]
        )

    @classmethod
    def from_workdir(cls, workdir, checkpoint="best", max_image_pixels=None, jit_compile="off", fixed_shape=False):
        """The predictor of a training workdir's checkpoint (in float32, see `load_workdir`)."""
        from mmu_tf.workdir import load_workdir

        model, data_config = load_workdir(workdir, checkpoint)
        return cls.from_data_config(model, data_config, max_image_pixels, jit_compile, fixed_shape)

    @classmethod
    def from_data_config(cls, model, data_config, max_image_pixels=None, jit_compile="off", fixed_shape=False):
        """The predictor of `model` with the resize of its training config's `data` section (a ConfigDict).

        `jit_compile`: a setting of `mmu_tf.inference.xla` ("auto", "on", "off"),
        for inputs of one shape when `fixed_shape` or the resize is "fixed".
        """
        if max_image_pixels is None:
            max_image_pixels = default_pixel_limit(data_config)
        return cls(
            model,
            resize_mode=data_config.resize_mode,
            resize_short_side=data_config.resize_short_side,
            image_size=data_config.image_size,
            max_image_pixels=max_image_pixels,
            jit_compile=inference_jit_compile(jit_compile, fixed_shape or data_config.resize_mode == "fixed"),
        )

    def unfolded(self):
        """This predictor with `fold_batch_norm=False` (itself when it already is): its graph reads the variables."""
        if not self.fold_batch_norm:
            return self
        return Predictor(
            self.model,
            class_names=self.class_names,
            max_image_pixels=self.max_image_pixels,
            jit_compile=self.jit_compile,
            fold_batch_norm=False,
            **self.resize_settings,
        )

    # === In the graph ===

    def named_outputs(self, probabilities, mask):
        """`probabilities`, `class_id`, `mask` and `foreground_fraction` (mask >= 0.5) of a batch."""
        return {
            "probabilities": probabilities,
            "class_id": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
            "mask": mask,
            "foreground_fraction": tf.reduce_mean(tf.cast(mask >= 0.5, tf.float32), axis=(1, 2)),
        }

    def class_name(self, class_id):
        """The names (tf.string) of class ids; kept out of `predict_batch` (TFLite has no string ops)."""
        return tf.gather(self._class_name_table, class_id)

    def _predict_batch(self, images):
        """Float images `[N, H, W, 3]` in [0, 1], already at the model's input size -> `named_outputs`."""
        with folded_batch_norm(self.model) if self.fold_batch_norm else contextlib.nullcontext():
            outputs = self.model(images, training=False)
        return self.named_outputs(tf.cast(outputs["probabilities"], tf.float32), tf.cast(outputs["mask"], tf.float32))

    def _predict_uint8(self, image):
        """One uint8 image (H, W, 3) of any size -> `(probabilities (K,), soft mask (H, W) at its own size)`."""
        outputs = self.predict_batch(evaluation_input(image, self.resize_settings)[None])
        mask = tf.image.resize(outputs["mask"][..., None], tf.shape(image)[:2], method="bilinear")[0, ..., 0]
        return outputs["probabilities"][0], mask

    # === In Python ===

    def predict_image(self, image):
        """One uint8 RGB image (H, W, 3) -> dict of numpy `probabilities`, `class_id`, `class_name`, `mask`."""
        probabilities, mask = (value.numpy() for value in self.predict_uint8(tf.constant(image, tf.uint8)))
        class_id = int(np.argmax(probabilities))
        return {
            "probabilities": probabilities,
            "class_id": class_id,
            "class_name": self.class_names[class_id],
            "mask": mask,
        }

    def predict_images(self, images):
        """Checked float images `[N, H, W, 3]` in [0, 1] at the model's size -> numpy `named_outputs`."""
        images = check_float_images_numpy(images, self.max_image_pixels)
        return {name: value.numpy() for name, value in self.predict_batch(tf.constant(images)).items()}
