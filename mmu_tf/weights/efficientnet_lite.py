"""EfficientNet-Lite1 and Lite2 for keras-hub's timm converter, which knows Lite0 only.

EfficientNet-Lite (Tan & Le's TensorFlow release; timm's `efficientnet_lite1/2`)
scales width and depth as EfficientNet-B1/B2 do, with Lite0's differences: no
squeeze-and-excitation, ReLU6, and a fixed stem (32 filters), head (1280) and
first and last stage (one block each, unscaled). keras-hub's
`EfficientNetBackbone` expresses all of it per stage; its timm converter
(`keras_hub.src.utils.timm.convert_efficientnet`) picks a variant's settings
from the module's `VARIANT_MAP` in both `convert_backbone_config` and
`convert_weights`, and offers no registration call: `register()` adds the two
variants to that map (keras-hub pinned in setup.py to the versions this was
tested with). The checkpoints' shapes are checked against the backbone before
anything loads (`mmu_tf.weights.presets.check_weights`).
"""

import keras
import keras_hub

# Width and depth coefficients of EfficientNet-B1 and B2 (timm's `efficientnet_lite1/2`).
SCALING = {"lite1": (1.0, 1.1), "lite2": (1.1, 1.2)}
HEAD_FILTERS = 1280


def variant_settings(width, depth):
    """keras-hub `EfficientNetBackbone` settings of an EfficientNet-Lite scaled by `width` and `depth`.

    Example:
    >>> variant_settings(1.1, 1.2)["stackwise_depth_coefficients"]
    [1.0, 1.2, 1.2, 1.2, 1.2, 1.2, 1.0]
    """
    return {
        "stackwise_width_coefficients": [width] * 7,
        # The first and last stages keep their one block.
        "stackwise_depth_coefficients": [1.0] + [depth] * 5 + [1.0],
        "stackwise_squeeze_and_excite_ratios": [0] * 7,
        "activation": "relu6",
        # keras-hub scales the head by the last stage's width; Lite keeps 1280 filters.
        "num_features": HEAD_FILTERS / width,
    }


def register():
    """Adds `lite1` and `lite2` to keras-hub's timm EfficientNet variants (idempotent)."""
    from keras_hub.src.utils.timm import convert_efficientnet

    for variant, (width, depth) in SCALING.items():
        convert_efficientnet.VARIANT_MAP.setdefault(variant, variant_settings(width, depth))


@keras.saving.register_keras_serializable(package="mmu_tf")
class EfficientNetLiteBackbone(keras_hub.models.EfficientNetBackbone):
    """keras-hub's `EfficientNetBackbone` with `num_features` (the head's width) in its config.

    keras-hub's `get_config` leaves `num_features` out, so a Lite2 (width 1.1,
    head 1280 filters) saved and loaded again came back with a 1408-filter head
    and no weights for it. This class keeps the value, so a checkpoint reloads
    as it was saved.

    Example:
    >>> from mmu_tf.models import build_backbone
    >>> backbone = build_backbone(pretrained="efficientnet_lite2_imagenet")
    >>> type(backbone).__name__, backbone.get_layer("top_conv").filters
    ('EfficientNetLiteBackbone', 1280)
    """

    def __init__(self, num_features=HEAD_FILTERS, **kwargs):
        super().__init__(num_features=num_features, **kwargs)
        self.num_features = num_features

    def get_config(self):
        return {**super().get_config(), "num_features": self.num_features}


def with_head_in_config(backbone):
    """`backbone` as an `EfficientNetLiteBackbone` (same weights) when it is a keras-hub
    `EfficientNetBackbone` scaled in width (whose head keras-hub's config would not reproduce); else itself."""
    if type(backbone) is not keras_hub.models.EfficientNetBackbone or backbone.stackwise_width_coefficients[-1] == 1:
        return backbone
    head_filters = backbone.get_layer("top_conv").filters
    config = {**backbone.get_config(), "num_features": head_filters / backbone.stackwise_width_coefficients[-1]}
    rebuilt = EfficientNetLiteBackbone.from_config(config)
    if rebuilt.get_layer("top_conv").filters != head_filters:
        raise ValueError(f"EfficientNet head of {head_filters} filters: its width cannot be expressed in the config")
    rebuilt.set_weights(backbone.get_weights())
    return rebuilt
