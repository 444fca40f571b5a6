"""The lower bound of paper Table 1: every pixel foreground."""

import keras
import tensorflow as tf

from mmu_tf.models.localization_map import LocalizationMapModel
from mmu_tf.models.registry import register_method


@register_method("all_ones")
@keras.saving.register_keras_serializable(package="mmu_tf")
class AllOnesModel(LocalizationMapModel):
    """The all-ones mask, and the class prior as its classifier.

    No backbone: the mask is 1 everywhere (F1- = 0 by construction, F1+ the
    Dice of the whole image), and the class scores are one trainable logit
    per class, shared by every image, so cross-entropy training learns the
    training set's class frequencies and the prediction is the majority
    class. It trains in seconds through the same `train_main.py`.

    Example:
    >>> model = AllOnesModel(num_classes=2)
    >>> float(model(np.zeros((1, 8, 8, 3), "float32"))["mask"].numpy().min())
    1.0
    """

    @classmethod
    def from_run_config(cls, config, class_names, name):
        return cls(num_classes=len(class_names), class_names=list(class_names))

    def __init__(self, num_classes, class_names=None, **kwargs):
        super().__init__(None, num_classes, class_names, **kwargs)
        self.class_logits = self.add_weight(shape=(self.num_classes,), initializer="zeros", name="class_logits")

    def build(self, input_shape):
        # Nothing to build but the (unused) input normalisation of the base class.
        self.normalization.build(input_shape)
        self.built = True

    def scores_and_map(self, normalized_images, training=False):
        batch = tf.shape(normalized_images)[0]
        scores = tf.tile(tf.cast(self.class_logits, tf.float32)[None], [batch, 1])
        return scores, tf.ones(tf.shape(normalized_images)[:3], tf.float32)

    def call(self, images, training=False):
        scores, ones = self.scores_and_map(images, training=training)
        return {"probabilities": tf.nn.softmax(scores, axis=-1), "mask": ones}

    def get_config(self):
        config = super().get_config()
        config.pop("backbone")
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("backbone", None)  # checkpoints written when the constructor took (and ignored) one
        return cls(**config)
