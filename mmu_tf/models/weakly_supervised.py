"""What every baseline of paper Table 1 shares: a classifier whose map, normalised, is the mask."""

import keras
import tensorflow as tf

from mmu_tf import losses
from mmu_tf.distribution import scale_for_replicas
from mmu_tf.layers.map_upsampling import upsample_maps
from mmu_tf.layers.soft_mask import min_max_per_sample
from mmu_tf.models.base import MethodModel


def normalized_map(maps, image_size, epsilon=1e-6):
    """Per-sample min-max normalisation of maps (B, h, w) to [0, 1], upsampled (`upsample_maps`) to `image_size`.

    The one rule every baseline uses to turn its localisation map into the
    soft mask the evaluation thresholds at 0.5.
    """
    return upsample_maps(min_max_per_sample(maps, epsilon), image_size)


class WeaklySupervisedModel(MethodModel):
    """Base of the baselines: ImageNet normalisation, cross-entropy training, the shared outputs.

    A subclass implements `scores_and_map(normalized_images, training)`,
    returning the logits (B, K) and its localisation map: per class (B, h, w, K),
    in which case the predicted class's map is used, or one map (B, h, w).
    `call` returns `{"probabilities": (B, K), "mask": (B, H, W)}` with the
    mask given by `normalized_map`, like `MaxMinModel`, so the evaluation,
    export and predict code serve every method.

    A method with more than the cross-entropy overrides `compute_losses` and
    names what it logs besides `loss` and `accuracy` in `extra_metrics`.
    Arguments: those of `MethodModel`.
    """

    extra_metrics = ()

    def __init__(self, backbone, num_classes, class_names=None, **kwargs):
        super().__init__(backbone, num_classes, class_names, **kwargs)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.extra_trackers = [keras.metrics.Mean(name=name) for name in self.extra_metrics]

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

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_metric, *self.extra_trackers]

    def compute_losses(self, images, labels, masks=None, training=False):
        """`(loss, logits (B, K) float32, {name in extra_metrics: value})` of a batch.

        Here the cross-entropy of the class scores alone.
        """
        scores, _ = self.scores_and_map(self.normalization(images), training=training)
        scores = tf.cast(scores, tf.float32)
        return tf.reduce_mean(losses.cross_entropy(labels, scores)), scores, {}

    def _logs(self, loss, labels, scores, extras):
        self.loss_tracker.update_state(loss)
        self.accuracy_metric.update_state(labels, scores)
        for tracker in self.extra_trackers:
            if tracker.name in extras:
                tracker.update_state(extras[tracker.name])
        return self.logs_for_replicas({metric.name: metric.result() for metric in self.metrics})

    def train_step(self, data):
        images, labels = data[0], data[1]
        masks = data[2] if len(data) > 2 else None
        with tf.GradientTape() as tape:
            loss, scores, extras = self.compute_losses(images, labels, masks, training=True)
            scaled_loss = self.optimizer.scale_loss(scale_for_replicas(loss))
        gradients = tape.gradient(scaled_loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        return self._logs(loss, labels, scores, extras)

    def test_step(self, data):
        images, labels = data[0], data[1]
        masks = data[2] if len(data) > 2 else None
        loss, scores, extras = self.compute_losses(images, labels, masks, training=False)
        return self._logs(loss, labels, scores, extras)
