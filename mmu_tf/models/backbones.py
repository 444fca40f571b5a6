"""The feature extractor f shared by the localizer and the classifier (paper §3.3a)."""

import os

import keras
import keras_hub

from mmu_tf.layers.fused_batch_norm import fuse_batch_norm
from mmu_tf.weights import efficientnet_lite  # also registers EfficientNetLiteBackbone for loading
from mmu_tf.weights.imagenet import PACKAGED_CHECKPOINTS, packaged_preset

# keras-hub's `resnet_18_imagenet` architecture (11,186,112 parameters,
# output stride 32, 512 channels), for random initialisation without a download.
RESNET18_ARCHITECTURE = {
    "input_conv_filters": [64],
    "input_conv_kernel_sizes": [7],
    "stackwise_num_filters": [64, 128, 256, 512],
    "stackwise_num_blocks": [2, 2, 2, 2],
    "stackwise_num_strides": [1, 2, 2, 2],
    "block_type": "basic_block",
    "use_pre_activation": False,
}
# ResNet-10: the same with one basic block per stage (4.9 M parameters). Its graph traces in
# about two thirds of ResNet-18's time: quick experiments, and the test suite's end-to-end runs.
RESNET10_ARCHITECTURE = {**RESNET18_ARCHITECTURE, "stackwise_num_blocks": [1, 1, 1, 1]}


def _efficientnet_lite(architecture):
    """keras-hub's translation of timm's `architecture` (Lite0: 4.0 M parameters without the ImageNet
    classifier, output stride 32, 1280 channels): the network its ImageNet checkpoint fits."""
    from mmu_tf.weights.presets import timm_config, timm_converter

    converter = timm_converter(architecture)
    return keras_hub.models.EfficientNetBackbone(**converter.convert_backbone_config(timm_config(architecture)))


# --config.model.backbone -> a function building it with random weights.
ARCHITECTURES = {
    "resnet18": lambda: keras_hub.models.ResNetBackbone(**RESNET18_ARCHITECTURE, image_shape=(None, None, 3)),
    "resnet10": lambda: keras_hub.models.ResNetBackbone(**RESNET10_ARCHITECTURE, image_shape=(None, None, 3)),
    "efficientnet_lite0": lambda: _efficientnet_lite("efficientnet_lite0"),
    "efficientnet_lite1": lambda: _efficientnet_lite("efficientnet_lite1"),
    "efficientnet_lite2": lambda: _efficientnet_lite("efficientnet_lite2"),
}

# ImageNet statistics, the input normalisation of the keras-hub ResNet presets.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def imagenet_normalization(name="normalization"):
    """A layer computing `(x - mean) / std` with ImageNet statistics, for RGB inputs in [0, 1]."""
    import keras

    return keras.layers.Rescaling(
        scale=[1.0 / std for std in IMAGENET_STD],
        offset=[-mean / std for mean, std in zip(IMAGENET_MEAN, IMAGENET_STD)],
        name=name,
    )


def with_backbone_deserialized(config):
    """A model config whose serialised `backbone` entry is a Keras model again (for `from_config`)."""
    import keras

    return {**config, "backbone": keras.saving.deserialize_keras_object(config["backbone"])}


def freeze_batch_norm(backbone):
    """Runs every batch normalisation of `backbone` on its stored statistics, with gamma and beta fixed.

    In Keras 3 a non-trainable `BatchNormalization` normalises with its moving
    mean and variance even while training. For a pretrained backbone this keeps
    the ImageNet statistics: batches of 4 images, and the masked images X+ and
    X- with their own statistics, would otherwise renormalise (and so undo part
    of) the masking. Returns `backbone`.
    """
    for layer in backbone._flatten_layers(include_self=False):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False
    return backbone


# The config field of each keras-hub backbone class that holds its stages' strides.
STRIDE_FIELDS = {"ResNetBackbone": "stackwise_num_strides", "EfficientNetBackbone": "stackwise_strides"}


def with_output_stride(backbone, output_stride):
    """`backbone` at output stride 32 or 16: for 16, the same network with its last stride-2 stage at stride 1.

    The weights do not depend on the strides, so they are copied over: a
    pretrained backbone stays pretrained, and its maps have twice the
    resolution (26 x 26 cells for a 416 x 416 image instead of 13 x 13), at the
    cost of running the last stages on four times as many cells.
    """
    if output_stride == 32:
        return backbone
    field = STRIDE_FIELDS.get(type(backbone).__name__)
    if output_stride != 16 or field is None:
        raise ValueError(
            f"`model.output_stride` must be 32 or 16 (16 for {sorted(STRIDE_FIELDS)}). Received: {output_stride}"
        )
    config = backbone.get_config()
    strides = list(config[field])
    last = max(index for index, stride in enumerate(strides) if stride == 2)
    strides[last] = 1
    rebuilt = type(backbone).from_config({**config, field: strides})
    rebuilt.set_weights(backbone.get_weights())
    return rebuilt


# --config.model.feature_level: the pyramid level the heads read. "P5" is the backbone's own output.
FEATURE_LEVELS = ("P5", "P4")


def at_feature_level(backbone, feature_level):
    """`backbone` ending at pyramid level `feature_level`: "P5" (stride 32, as is) or "P4" (stride 16).

    For "P4" the network is cut after its stride-16 stage (ResNet's third stage,
    EfficientNet's fifth), as a functional model sharing the layers and weights
    up to there; the later stages are dropped. The heads then read 16-pixel
    cells with the pretrained features of that depth, unlike `with_output_stride`,
    which runs the last stage at a resolution it was not trained at.

    Example:
    >>> cut = at_feature_level(build_backbone("resnet18"), "P4")
    >>> cut(np.zeros((1, 416, 416, 3))).shape
    TensorShape([1, 26, 26, 256])
    """
    if feature_level not in FEATURE_LEVELS:
        raise ValueError(f"`model.feature_level` must be one of {FEATURE_LEVELS}. Received: {feature_level!r}")
    if feature_level == "P5":
        return backbone
    pyramid = getattr(backbone, "pyramid_outputs", None) or {}
    if feature_level not in pyramid:
        raise ValueError(f"`model.feature_level`: this backbone has no pyramid level {feature_level!r}")
    return keras.Model(backbone.inputs, pyramid[feature_level], name=f"{backbone.name}_{feature_level.lower()}")


def backbone_from_config(model_config, feature_level=None):
    """The backbone a run's `config.model` describes (`feature_level`: its own unless given)."""
    return build_backbone(
        model_config.backbone,
        model_config.pretrained,
        model_config.frozen_batch_norm,
        model_config.output_stride,
        feature_level or model_config.feature_level,
    )


def build_backbone(
    architecture="resnet18", pretrained="", frozen_batch_norm=False, output_stride=32, feature_level="P5"
):
    """Returns a keras-hub backbone taking images of any size, with a `pyramid_outputs` dict (P2..P5).

    Args:
        architecture: a name in `ARCHITECTURES`, used when `pretrained` is empty
            (random initialisation).
        pretrained: "" for random initialisation; a name in
            `mmu_tf.weights.imagenet.PACKAGED_CHECKPOINTS` (an ImageNet checkpoint
            shipped by a pip package, converted on first use and cached: e.g.
            "efficientnet_lite0_imagenet"); a keras-hub preset name (e.g.
            "resnet_18_imagenet", downloaded on first use); or the path of a local
            preset directory (as written by `python -m mmu_tf.import_weights`
            or `backbone.save_to_preset`).
        frozen_batch_norm: bool, see `freeze_batch_norm`.
        output_stride: 32 (the network as published) or 16, see `with_output_stride`.
        feature_level: "P5" (the network's output) or "P4" (cut after its
            stride-16 stage), see `at_feature_level`.

    Example:
    >>> backbone = build_backbone("resnet18")
    >>> backbone(np.zeros((1, 416, 416, 3))).shape
    TensorShape([1, 13, 13, 512])
    """
    if pretrained in PACKAGED_CHECKPOINTS:
        pretrained = packaged_preset(pretrained)
    if pretrained:
        looks_like_path = os.sep in pretrained or pretrained.startswith(".")
        if looks_like_path and not os.path.isdir(pretrained):
            raise ValueError(
                f"`model.pretrained`: no preset directory at {pretrained!r}. Give a keras-hub "
                "preset name (e.g. 'resnet_18_imagenet') or an existing local preset directory."
            )
        efficientnet_lite.register()  # before keras-hub's timm converter reads a Lite1/Lite2 preset
        try:
            backbone = efficientnet_lite.with_head_in_config(keras_hub.models.Backbone.from_preset(pretrained))
        except Exception as error:  # keras-hub raises many kinds for a bad preset.
            raise ValueError(
                f"`model.pretrained`: could not load the keras-hub preset {pretrained!r} "
                f"({type(error).__name__}: {error}). A preset name needs network access to "
                "Kaggle/Hugging Face on first use; otherwise pass a local preset directory."
            ) from error
    elif architecture not in ARCHITECTURES:
        raise ValueError(f"`model.backbone` must be one of {sorted(ARCHITECTURES)}. Received: {architecture!r}")
    else:
        backbone = ARCHITECTURES[architecture]()
    if feature_level != "P5" and output_stride != 32:
        raise ValueError(
            f"`model.feature_level` {feature_level!r} needs `model.output_stride` 32. Received: {output_stride}"
        )
    backbone = with_output_stride(backbone, output_stride)
    if keras.mixed_precision.global_policy().compute_dtype != "float32":
        # 16-bit activations normalised in one kernel, not through a float32 copy of each map.
        fuse_batch_norm(backbone)
    backbone = freeze_batch_norm(backbone) if frozen_batch_norm else backbone
    return at_feature_level(backbone, feature_level)
