"""The CAM-style baselines of paper Table 1: a classifier whose localisation map, normalised, is the mask."""

import tensorflow as tf

from mmu_tf import losses
from mmu_tf.layers.map_upsampling import upsample_maps
from mmu_tf.layers.soft_mask import min_max_per_sample
from mmu_tf.models.base import MethodModel


def normalized_map(maps, image_size, epsilon=1e-6):
    """Per-sample min-max normalisation of maps (B, h, w) to [0, 1], upsampled (`upsample_maps`) to `image_size`.

    The one rule every baseline uses to turn its localisation map into the
    soft mask the evaluation thresholds at 0.5.
    """
    return upsample_maps(min_max_per_sample(maps, epsilon), image_size)


class LocalizationMapModel(MethodModel):
    """Base of the CAM-style baselines: one classifier whose localisation map, normalised, is the mask.

    A subclass implements `scores_and_map(normalized_images, training)`,
    returning the logits (B, K) and its localisation map: per class (B, h, w, K),
    in which case the predicted class's map is used, or one map (B, h, w).
    `call` returns `{"probabilities": (B, K), "mask": (B, H, W)}` with the
    mask given by `normalized_map`, like `MaxMinModel`, so the evaluation,
    export and predict code serve every method.

    Trained on the cross-entropy of the class scores; a method with more
    overrides `compute_losses` and names its logged terms in `loss_terms`.
    Arguments: those of `MethodModel`.
    """

    def scores_and_map(self, normalized_images, training=False):
        raise NotImplementedError

    def localization_map(self, scores, maps):
        """The map (B, h, w) the mask is made of: by default the predicted class's map."""
        if maps.shape.rank == 3:
            return maps
        predicted = tf.argmax(scores, axis=-1, output_type=tf.int32)
        return tf.gather(tf.cast(maps, tf.float32), predicted, axis=3, batch_dims=1)

    def call(self, images, training=False):
        normalized = self.normalization(images)
        scores, maps = self.scores_and_map(normalized, training=training)
        scores = tf.cast(scores, tf.float32)
        mask = normalized_map(self.localization_map(scores, maps), tf.shape(images)[1:3])
        return {"probabilities": tf.nn.softmax(scores, axis=-1), "mask": mask}

    def compute_losses(self, images, labels, masks=None, training=False):
        """The cross-entropy of the class scores alone (see `MethodModel`)."""
        scores, _ = self.scores_and_map(self.normalization(images), training=training)
        scores = tf.cast(scores, tf.float32)
        return tf.reduce_mean(losses.cross_entropy(labels, scores)), {}, {"accuracy": scores}
