"""ERASE: adversarial erasing (Wei et al., CVPR 2017), online, on the WILDCAT head."""

import keras
import tensorflow as tf

from mmu_tf import losses
from mmu_tf.layers.wildcat_head import wildcat_from_config
from mmu_tf.models.class_activation import ClassActivationModel
from mmu_tf.models.localization_map import normalized_map
from mmu_tf.models.registry import register_method


def erase_top_region(normalized_images, heat_map, erase_fraction=0.2):
    """Erases the pixels whose heat is in the top `erase_fraction` of its range.

    `heat_map` (B, H, W) is min-max normalised per image, so the region is
    `heat >= 1 - erase_fraction` (paper §4.1b: "the top 20% of the maximum
    activation"). Erased pixels are set to 0 in ImageNet-normalised space,
    the mean colour, as Wei et al. fill them with the mean pixel value.

    Returns `(erased_images, region)`, region bool (B, H, W).

    Example:
    >>> images = np.ones((1, 2, 2, 3), "float32")
    >>> heat = np.array([[[0.0, 0.5], [0.85, 1.0]]], "float32")
    >>> erased, region = erase_top_region(images, heat, 0.2)
    >>> region.numpy()[0].tolist()
    [[False, False], [True, True]]
    """
    region = tf.cast(heat_map, tf.float32) >= 1.0 - erase_fraction
    erased = tf.where(tf.expand_dims(region, -1), tf.zeros_like(normalized_images), normalized_images)
    return erased, region


@register_method("erase")
@keras.saving.register_keras_serializable(package="mmu_tf")
class ErasingModel(ClassActivationModel):
    """ERASE: a WILDCAT classifier trained again on its images with the most discriminative region erased.

    Wei et al. train a sequence of classifiers, each on images erased by the
    previous ones, and merge the mined regions. This is the online form
    (one network, one training): each step computes the true class's map of
    X, erases its top region (`erase_top_region`, 20% by default) giving X',
    and minimises `CE(f(X)) + CE(f(X'))`; the erasing is not differentiated.
    At inference the predicted class's maps of X and of X' (erased with the
    predicted class's map) are each min-max normalised and upsampled, and the
    mask is their union, `max(map(X), map(X'))`; the class comes from X.
    Two backbone passes in training and inference. The paper uses the
    WILDCAT pooling for ERASE (§4.1b).

    Args:
        erase_fraction: the top fraction of the map's range to erase.

    Example:
    >>> from mmu_tf.configs.common import base_config
    >>> settings = ErasingModel.run_arguments(base_config(), "erase")  # erase_fraction, wildcat
    >>> model = ErasingModel(build_backbone("resnet18"), num_classes=2, **settings)
    >>> model(np.zeros((1, 64, 64, 3), "float32"))["mask"].shape
    TensorShape([1, 64, 64])
    """

    loss_terms = ("cross_entropy_erased",)

    @classmethod
    def run_arguments(cls, config, name):
        return {"erase_fraction": config.method.erase_fraction, "wildcat": wildcat_from_config(config.model)}

    def __init__(self, backbone, num_classes, class_names=None, *, erase_fraction, **kwargs):
        if not 0.0 < erase_fraction < 1.0:
            raise ValueError(f"`erase_fraction` must be in (0, 1). Received: {erase_fraction}")
        kwargs["pooling"] = "wildcat"
        super().__init__(backbone, num_classes, class_names, **kwargs)
        self.erase_fraction = float(erase_fraction)

    def _class_heat(self, maps, classes, image_size):
        class_map = tf.gather(tf.cast(maps, tf.float32), classes, axis=3, batch_dims=1)
        return normalized_map(class_map, image_size)

    def compute_losses(self, images, labels, masks=None, training=False):
        normalized = self.normalization(images)
        scores, maps = self.scores_and_map(normalized, training=training)
        heat = tf.stop_gradient(self._class_heat(maps, tf.cast(labels, tf.int32), tf.shape(images)[1:3]))
        erased, _ = erase_top_region(normalized, heat, self.erase_fraction)
        erased_scores, _ = self.scores_and_map(erased, training=training)
        scores = tf.cast(scores, tf.float32)
        erased_loss = tf.reduce_mean(losses.cross_entropy(labels, erased_scores))
        loss = tf.reduce_mean(losses.cross_entropy(labels, scores)) + erased_loss
        return loss, {"cross_entropy_erased": erased_loss}, {"accuracy": scores}

    def call(self, images, training=False):
        normalized = self.normalization(images)
        image_size = tf.shape(images)[1:3]
        scores, maps = self.scores_and_map(normalized, training=training)
        scores = tf.cast(scores, tf.float32)
        predicted = tf.argmax(scores, axis=-1, output_type=tf.int32)
        first = self._class_heat(maps, predicted, image_size)
        erased, _ = erase_top_region(normalized, first, self.erase_fraction)
        _, erased_maps = self.scores_and_map(erased, training=training)
        mask = tf.maximum(first, self._class_heat(erased_maps, predicted, image_size))
        return {"probabilities": tf.nn.softmax(scores, axis=-1), "mask": mask}

    def get_config(self):
        config = {**super().get_config(), "erase_fraction": self.erase_fraction}
        config.pop("pooling")
        return config
