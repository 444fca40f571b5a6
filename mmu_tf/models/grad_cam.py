"""Grad-CAM (Selvaraju et al., ICCV 2017) on a global-average-pooling classifier."""

import keras
import tensorflow as tf

from mmu_tf.models.class_activation import ClassActivationModel
from mmu_tf.models.localization_map import normalized_map
from mmu_tf.models.registry import register_method


@register_method("gradcam")
@keras.saving.register_keras_serializable(package="mmu_tf")
class GradCamModel(ClassActivationModel):
    """A CAM-Avg classifier whose mask is Grad-CAM's map.

    With F the last conv block's features (B, h, w, C) and s_c the predicted
    class's score, the map is `ReLU(sum_k alpha_k F_k)` with
    `alpha_k = mean_{i,j} d s_c / d F_k[i, j]`; mask rule as every CAM method
    (min-max per image, bilinear upsampling, 0.5 threshold). Trained like CAM-Avg.

    Example:
    >>> model = GradCamModel(build_backbone("resnet18"), num_classes=2)
    >>> model(np.zeros((1, 64, 64, 3), "float32"))["mask"].shape
    TensorShape([1, 64, 64])
    """

    @classmethod
    def run_arguments(cls, config, name):
        return {}  # not the CAM family's: Grad-CAM's own pooling is fixed (avg)

    def __init__(self, backbone, num_classes, class_names=None, **kwargs):
        kwargs["pooling"] = "avg"
        super().__init__(backbone, num_classes, class_names, **kwargs)

    def call(self, images, training=False):
        normalized = self.normalization(images)
        features = self.backbone(normalized, training=training)
        with tf.GradientTape() as tape:
            tape.watch(features)
            scores = tf.cast(self.spatial_pooling(self.class_maps(features)), tf.float32)
            predicted = tf.argmax(scores, axis=-1, output_type=tf.int32)
            predicted_scores = tf.gather(scores, predicted, axis=1, batch_dims=1)
        gradients = tf.cast(tape.gradient(predicted_scores, features), tf.float32)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        grad_cam = tf.nn.relu(tf.reduce_sum(weights * tf.cast(features, tf.float32), axis=-1))
        return {
            "probabilities": tf.nn.softmax(scores, axis=-1),
            "mask": normalized_map(grad_cam, tf.shape(images)[1:3]),
        }

    def get_config(self):
        config = super().get_config()
        config.pop("pooling")
        return config
