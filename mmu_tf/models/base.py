"""What every model of this package shares, Max-Min and the baselines alike."""

import keras

from mmu_tf.distribution import MultiWorkerFitMixin
from mmu_tf.layers.wildcat_head import WILDCAT_DEFAULTS
from mmu_tf.models.backbones import imagenet_normalization, with_backbone_deserialized


class MethodModel(MultiWorkerFitMixin, keras.Model):
    """A classifier of histology images that also returns a foreground mask.

    Takes float RGB images in [0, 1] (the ImageNet normalisation is inside)
    and returns at least `{"probabilities": (B, K), "mask": (B, H, W)}`, so
    evaluation, export and inference serve every method alike.

    What a training run needs to know of a method, the method says itself:
    `selection_metric` (the validation log that selects its checkpoint),
    `needs_masks` (whether its training batches carry the true masks: only the
    fully supervised U-Net) and `training_callbacks(method_config)` (the
    schedules it runs between epochs: Max-Min's t and sigma).

    Args:
        backbone: a Keras model mapping images to features (B, h, w, C).
        num_classes: int, K.
        class_names: optional K names, kept for deployment.
    """

    selection_metric = "val_accuracy"
    needs_masks = False

    def __init__(self, backbone, num_classes, class_names=None, **kwargs):
        super().__init__(**kwargs)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"`class_names` must have {num_classes} names. Received: {list(class_names)}")
        self.backbone = backbone
        self.num_classes = int(num_classes)
        self.class_names = list(class_names) if class_names is not None else None
        self.normalization = imagenet_normalization()

    def training_callbacks(self, method_config):
        """Callbacks this method runs between epochs, from the run's `config.method`; none by default."""
        del method_config
        return []

    def training_state(self):
        """A short description of the method's own training state (logged when a run resumes); "" by default."""
        return ""

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "class_names": self.class_names,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Checkpoints written before the WILDCAT settings became one `wildcat` dict.
        flat = {key: config.pop(key) for key in WILDCAT_DEFAULTS if key in config}
        if flat:
            config["wildcat"] = {**flat, **(config.get("wildcat") or {})}
        return cls(**with_backbone_deserialized(config))
