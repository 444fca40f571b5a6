"""Deep MIL: attention-based multiple-instance learning (Ilse, Tomczak & Welling, ICML 2018)."""

import keras
import tensorflow as tf

from mmu_tf.models.localization_map import LocalizationMapModel
from mmu_tf.models.registry import register_method


@register_method("deep_mil")
@keras.saving.register_keras_serializable(package="mmu_tf")
class DeepMilModel(LocalizationMapModel):
    """The cells of the backbone's feature map are the instances; gated attention pools them.

    Each cell's feature h_n (C,) is embedded, `e_n = ReLU(W h_n)` (D,), scored
    by the gated attention of Ilse et al. (Eq. 9),
    `a_n = softmax_n(w^T (tanh(V e_n) * sigmoid(U e_n)))`, the bag is
    `z = sum_n a_n e_n`, and a linear layer classifies z. The attention map
    a (h, w) is the localisation, class-agnostic; mask rule: min-max per
    image, bilinear upsampling, 0.5 threshold (as every CAM method).

    Args:
        embedding_size: D.
        attention_size: the rows of V and U.

    Example:
    >>> model = DeepMilModel(build_backbone("resnet18"), num_classes=2, embedding_size=256, attention_size=128)
    >>> model(np.zeros((1, 64, 64, 3), "float32"))["mask"].shape
    TensorShape([1, 64, 64])
    """

    @classmethod
    def run_arguments(cls, config, name):
        return {
            "embedding_size": config.method.mil_embedding_size,
            "attention_size": config.method.mil_attention_size,
        }

    def __init__(self, backbone, num_classes, class_names=None, *, embedding_size, attention_size, **kwargs):
        super().__init__(backbone, num_classes, class_names, **kwargs)
        self.embedding_size = int(embedding_size)
        self.attention_size = int(attention_size)
        self.embedding = keras.layers.Dense(embedding_size, activation="relu", name="embedding")
        self.attention_tanh = keras.layers.Dense(attention_size, activation="tanh", name="attention_tanh")
        self.attention_gate = keras.layers.Dense(attention_size, activation="sigmoid", name="attention_gate")
        self.attention_score = keras.layers.Dense(1, name="attention_score")
        self.classifier = keras.layers.Dense(num_classes, name="classifier")

    def scores_and_map(self, normalized_images, training=False):
        features = self.backbone(normalized_images, training=training)
        embedded = self.embedding(features)  # (B, h, w, D)
        logits = self.attention_score(self.attention_tanh(embedded) * self.attention_gate(embedded))[..., 0]
        shape = tf.shape(logits)
        attention = tf.nn.softmax(tf.reshape(tf.cast(logits, tf.float32), (shape[0], -1)), axis=-1)
        bag = tf.einsum(
            "bn,bnd->bd", attention, tf.reshape(tf.cast(embedded, tf.float32), (shape[0], -1, self.embedding_size))
        )
        scores = self.classifier(tf.cast(bag, embedded.dtype))
        return scores, tf.reshape(attention, shape)

    def get_config(self):
        return {**super().get_config(), "embedding_size": self.embedding_size, "attention_size": self.attention_size}
