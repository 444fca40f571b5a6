"""CAM-Avg, CAM-Max, CAM-LSE and WILDCAT: a 1x1-conv class-map classifier with a choice of pooling."""

import keras

from mmu_tf.layers import LogSumExpPooling, WildcatHead
from mmu_tf.layers.wildcat_head import wildcat_from_config, wildcat_settings
from mmu_tf.models.localization_map import LocalizationMapModel
from mmu_tf.models.registry import register_method

POOLINGS = ("avg", "max", "lse", "wildcat")


@register_method("cam_avg", "cam_max", "cam_lse", "wildcat")
@keras.saving.register_keras_serializable(package="mmu_tf")
class ClassActivationModel(LocalizationMapModel):
    """Class activation maps pooled into class scores; the predicted class's map is the mask.

    - `pooling="avg"`: CAM (Zhou et al., CVPR 2016), global average pooling;
    - `"max"`: global max pooling (Oquab et al., CVPR 2015);
    - `"lse"`: log-sum-exp pooling with sharpness `lse_sharpness` (Pinheiro & Collobert, CVPR 2015);
    - `"wildcat"`: the WILDCAT head (Durand et al., CVPR 2017) the Max-Min model uses, alone:
      no mask, KL or size terms (paper Table 1 and Table 4's first row).

    `wildcat`: the WILDCAT head's settings as one dict (`WILDCAT_KEYS`), needed
    by `pooling="wildcat"` and by the subclasses built on that head;
    `lse_sharpness`, needed by `pooling="lse"`. Each is None where unused.

    A 1x1 convolution maps the backbone features to one map per class
    (equivalent to CAM's global pooling followed by a linear layer). Mask rule
    (every CAM method): the predicted class's map, min-max normalised per
    image, upsampled bilinearly, thresholded at 0.5 by the evaluation.

    Example:
    >>> model = ClassActivationModel(build_backbone("resnet18"), num_classes=2, pooling="lse", lse_sharpness=10.0)
    >>> model(np.zeros((1, 64, 64, 3), "float32"))["mask"].shape
    TensorShape([1, 64, 64])
    """

    # --config.method.name -> the spatial pooling of the class maps.
    METHOD_POOLINGS = {"cam_avg": "avg", "cam_max": "max", "cam_lse": "lse", "wildcat": "wildcat"}

    @classmethod
    def run_arguments(cls, config, name):
        return {
            "pooling": cls.METHOD_POOLINGS[name],
            "lse_sharpness": config.method.lse_sharpness,
            "wildcat": wildcat_from_config(config.model),
        }

    def __init__(self, backbone, num_classes, class_names=None, *, pooling, lse_sharpness=None, wildcat=None, **kwargs):
        super().__init__(backbone, num_classes, class_names, **kwargs)
        if pooling not in POOLINGS:
            raise ValueError(f"`pooling` must be one of {POOLINGS}. Received: {pooling!r}")
        needed = {"lse": ("lse_sharpness", lse_sharpness), "wildcat": ("wildcat", wildcat)}
        if pooling in needed and needed[pooling][1] is None:
            raise ValueError(f"`pooling={pooling!r}` needs `{needed[pooling][0]}`")
        self.pooling = pooling
        self.lse_sharpness = None if lse_sharpness is None else float(lse_sharpness)
        self.wildcat = None if wildcat is None else wildcat_settings(wildcat)
        if pooling == "wildcat":
            self.head = WildcatHead(num_classes, **self.wildcat, name="head")
        else:
            self.class_maps = keras.layers.Conv2D(num_classes, 1, name="class_maps")
            self.spatial_pooling = {
                "avg": lambda: keras.layers.GlobalAveragePooling2D(name="pooling"),
                "max": lambda: keras.layers.GlobalMaxPooling2D(name="pooling"),
                "lse": lambda: LogSumExpPooling(lse_sharpness, name="pooling"),
            }[pooling]()

    def scores_and_map(self, normalized_images, training=False):
        features = self.backbone(normalized_images, training=training)
        if self.pooling == "wildcat":
            return self.head(features, training=training)
        maps = self.class_maps(features)
        return self.spatial_pooling(maps), maps

    def get_config(self):
        return {
            **super().get_config(),
            "pooling": self.pooling,
            "lse_sharpness": self.lse_sharpness,
            "wildcat": self.wildcat,
        }
