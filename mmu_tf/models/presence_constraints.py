"""PN: constrained-CNN losses with presence / non-presence size bounds (Kervadec et al., MedIA 2019)."""

import keras
import tensorflow as tf

from mmu_tf import losses
from mmu_tf.layers.map_upsampling import upsample_maps
from mmu_tf.layers.wildcat_head import wildcat_from_config
from mmu_tf.models.class_activation import ClassActivationModel
from mmu_tf.models.registry import register_method


@register_method("pn")
@keras.saving.register_keras_serializable(package="mmu_tf")
class PresenceConstraintModel(ClassActivationModel):
    """PN: a per-pixel segmentation whose class sizes are bounded by the image label only.

    The WILDCAT head (paper §4.1b) gives the class maps A_k (B, h, w, K) and
    the class scores; a per-pixel softmax over the class maps is the
    segmentation S. With s_k the size of class k in input pixels (`sum S_k`
    times the pixels per cell), the image's class must be present,
    `s_y >= 1`, and every other class absent, `s_k <= 0`; violations cost
    the quadratic penalty of Kervadec et al. (`losses.size_penalty`). Loss:
    `CE + lambda * sum_k penalty(s_k)`, lambda = 1e-5 as in the paper. With
    image labels only, nothing bounds the present class from above: pushing
    the absent classes out fills the image with the present one, the large
    regions the paper reports for PN (§5).

    Mask rule (a segmentation, not a CAM): the predicted class's per-pixel
    probability S_c, upsampled bilinearly, not min-max normalised, 0.5
    threshold.

    Args:
        penalty_weight: lambda.

    Example:
    >>> from mmu_tf.configs.common import base_config
    >>> settings = PresenceConstraintModel.run_arguments(base_config(), "pn")  # penalty_weight, wildcat
    >>> model = PresenceConstraintModel(build_backbone("resnet18"), num_classes=2, **settings)
    >>> model(np.zeros((1, 64, 64, 3), "float32"))["mask"].shape
    TensorShape([1, 64, 64])
    """

    loss_terms = ("size_penalty",)

    @classmethod
    def run_arguments(cls, config, name):
        return {"penalty_weight": config.method.pn_penalty_weight, "wildcat": wildcat_from_config(config.model)}

    def __init__(self, backbone, num_classes, class_names=None, *, penalty_weight, **kwargs):
        kwargs["pooling"] = "wildcat"
        super().__init__(backbone, num_classes, class_names, **kwargs)
        self.penalty_weight = float(penalty_weight)

    def segmentation(self, normalized_images, training=False):
        """`(scores (B, K), S (B, h, w, K) float32)`: the class scores and the per-pixel softmax."""
        features = self.backbone(normalized_images, training=training)
        scores, class_maps = self.head(features, training=training)
        return tf.cast(scores, tf.float32), tf.nn.softmax(tf.cast(class_maps, tf.float32), axis=-1)

    def class_sizes(self, segmentation, image_size):
        """Sizes of the K classes in input pixels (B, K), float32."""
        cells = tf.cast(tf.shape(segmentation)[1] * tf.shape(segmentation)[2], tf.float32)
        pixels_per_cell = tf.cast(image_size[0] * image_size[1], tf.float32) / cells
        return tf.reduce_sum(segmentation, axis=(1, 2)) * pixels_per_cell

    def compute_losses(self, images, labels, masks=None, training=False):
        scores, segmentation = self.segmentation(self.normalization(images), training=training)
        present = tf.one_hot(tf.cast(labels, tf.int32), self.num_classes) > 0
        # Present: [1, inf); absent: [0, 0].
        lower = tf.where(present, 1.0, 0.0)
        upper = tf.where(present, float("inf"), 0.0)
        sizes = self.class_sizes(segmentation, tf.shape(images)[1:3])
        penalty = tf.reduce_mean(tf.reduce_sum(losses.size_penalty(sizes, lower, upper), axis=-1))
        loss = tf.reduce_mean(losses.cross_entropy(labels, scores)) + self.penalty_weight * penalty
        return loss, {"size_penalty": penalty}, {"accuracy": scores}

    def call(self, images, training=False):
        scores, segmentation = self.segmentation(self.normalization(images), training=training)
        predicted = tf.argmax(scores, axis=-1, output_type=tf.int32)
        foreground = tf.gather(segmentation, predicted, axis=3, batch_dims=1)
        mask = upsample_maps(foreground, tf.shape(images)[1:3])
        return {"probabilities": tf.nn.softmax(scores, axis=-1), "mask": tf.clip_by_value(mask, 0.0, 1.0)}

    def get_config(self):
        config = {**super().get_config(), "penalty_weight": self.penalty_weight}
        config.pop("pooling")
        return config
