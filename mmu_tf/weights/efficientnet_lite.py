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
