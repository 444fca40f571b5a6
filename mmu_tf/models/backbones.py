"""The feature extractor f shared by the localizer and the classifier (paper §3.3a)."""

import os

import keras_hub

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

ARCHITECTURES = {"resnet18": RESNET18_ARCHITECTURE}

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


def build_backbone(architecture="resnet18", pretrained=""):
    """Returns a keras-hub `ResNetBackbone` taking images of any size.

    Args:
        architecture: a name in `ARCHITECTURES`, used when `pretrained` is empty
            (random initialisation).
        pretrained: "" for random initialisation, a keras-hub preset name
            (e.g. "resnet_18_imagenet", downloaded on first use) or the path of
            a local preset directory (as written by `backbone.save_to_preset`).

    Example:
    >>> backbone = build_backbone("resnet18")
    >>> backbone(np.zeros((1, 416, 416, 3))).shape
    TensorShape([1, 13, 13, 512])
    """
    if pretrained:
        looks_like_path = os.sep in pretrained or pretrained.startswith(".")
        if looks_like_path and not os.path.isdir(pretrained):
            raise ValueError(
                f"`model.pretrained`: no preset directory at {pretrained!r}. Give a keras-hub "
                "preset name (e.g. 'resnet_18_imagenet') or an existing local preset directory."
            )
        try:
            return keras_hub.models.Backbone.from_preset(pretrained)
        except Exception as error:  # keras-hub raises many kinds for a bad preset.
            raise ValueError(
                f"`model.pretrained`: could not load the keras-hub preset {pretrained!r} "
                f"({type(error).__name__}: {error}). A preset name needs network access to "
                "Kaggle/Hugging Face on first use; otherwise pass a local preset directory."
            ) from error
    if architecture not in ARCHITECTURES:
        raise ValueError(f"`model.backbone` must be one of {sorted(ARCHITECTURES)}. Received: {architecture!r}")
    return keras_hub.models.ResNetBackbone(**ARCHITECTURES[architecture], image_shape=(None, None, 3))
