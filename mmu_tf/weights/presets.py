"""Writes a checkpoint's weights as a local keras-hub preset in timm's format.

keras-hub loads a folder holding `config.json` (with timm's `"architecture"`)
and `model.safetensors` (tensors under timm's names) through its own timm
converters (`keras_hub.models.Backbone.from_preset(folder)`). Our part is
naming the tensors and checking them against what the converter will ask for,
so a wrong file fails here with the names at fault instead of deep inside
keras-hub.
"""

import hashlib
import json
import math
import os
import shutil
import tempfile

import numpy as np

from mmu_tf.weights.checkpoint_reader import read_checkpoint
from mmu_tf.weights.timm_names import to_timm_names

# What --architecture accepts, and the ImageNet classifier each architecture's config describes.
ARCHITECTURES = {
    "resnet18": {"num_features": 512, "classifier": "fc"},
    "resnet34": {"num_features": 512, "classifier": "fc"},
    "resnet50": {"num_features": 2048, "classifier": "fc"},
    "resnet101": {"num_features": 2048, "classifier": "fc"},
    "resnet152": {"num_features": 2048, "classifier": "fc"},
    "efficientnet_lite0": {"num_features": 1280, "classifier": "classifier"},
    "efficientnet_lite1": {"num_features": 1280, "classifier": "classifier"},
    "efficientnet_lite2": {"num_features": 1280, "classifier": "classifier"},
    "efficientnet_b0": {"num_features": 1280, "classifier": "classifier"},
    "efficientnet_b1": {"num_features": 1280, "classifier": "classifier"},
    "efficientnet_b2": {"num_features": 1408, "classifier": "classifier"},
    "efficientnet_b3": {"num_features": 1536, "classifier": "classifier"},
}
SOURCE_FILE = "source.json"  # which checkpoint a preset was converted from
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# How many differences an error message lists.
REPORTED = 5


def timm_converter(architecture):
    """keras-hub's timm converter module of `architecture` (ResNet or EfficientNet, Lite1/Lite2 registered)."""
    from keras_hub.src.utils.timm import convert_efficientnet, convert_resnet

    from mmu_tf.weights import efficientnet_lite

    efficientnet_lite.register()
    return convert_resnet if architecture.startswith("resnet") else convert_efficientnet


def timm_config(architecture):
    """The `config.json` of a timm-format preset for `architecture`, with an ImageNet classifier."""
    if architecture not in ARCHITECTURES:
        raise ValueError(f"`architecture` must be one of {sorted(ARCHITECTURES)}. Received: {architecture!r}")
    details = ARCHITECTURES[architecture]
    return {
        "architecture": architecture,
        "num_classes": 1000,
        "num_features": details["num_features"],
        "pretrained_cfg": {
            "classifier": details["classifier"],
            "input_size": [3, 224, 224],
            "interpolation": "bilinear",
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
        },
    }


class _RecordingLoader:
    """Stands in for keras-hub's SafetensorLoader: records what the converter asks for, loads nothing."""

    def __init__(self):
        self.requests = {}

    def port_weight(self, keras_variable, hf_weight_key, hook_fn=None):
        self.requests[hf_weight_key] = (tuple(keras_variable.shape), hook_fn)


def expected_weights(architecture):
    """`{timm name: (keras shape, hook)}` for every tensor the backbone of `architecture` reads."""
    config = timm_config(architecture)
    converter = timm_converter(architecture)
    backbone = converter.backbone_cls(**converter.convert_backbone_config(config))
    loader = _RecordingLoader()
    converter.convert_weights(backbone, loader, config)
    return loader.requests


def blocks_per_stage(architecture):
    """The number of blocks in each stage of an EfficientNet (None for other families)."""
    if not architecture.startswith("efficientnet"):
        return None
    backbone_config = timm_converter(architecture).convert_backbone_config(timm_config(architecture))
    return [
        int(math.ceil(depth * repeats))
        for depth, repeats in zip(
            backbone_config["stackwise_depth_coefficients"], backbone_config["stackwise_num_repeats"]
        )
    ]


def check_weights(state, architecture, source=""):
    """Raises a `ValueError` naming the first tensors that are missing, extra or of the wrong shape."""
    expected = expected_weights(architecture)
    classifier = ARCHITECTURES[architecture]["classifier"] + "."
    missing = [name for name in expected if name not in state]
    extra = [name for name in state if name not in expected and not name.startswith(classifier)]
    wrong_shape = []
    for name, (keras_shape, hook) in expected.items():
        if name in state:
            value = state[name]
            converted_shape = np.shape(hook(value, keras_shape)) if hook else np.shape(value)
            if tuple(converted_shape) != keras_shape:
                wrong_shape.append(f"{name} {tuple(value.shape)}")
    if not (missing or extra or wrong_shape):
        return
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (first: {', '.join(missing[:REPORTED])})")
    if wrong_shape:
        problems.append(f"{len(wrong_shape)} of the wrong shape (first: {', '.join(wrong_shape[:REPORTED])})")
    if extra:
        problems.append(f"{len(extra)} not in {architecture} (first: {', '.join(extra[:REPORTED])})")
    raise ValueError(
        f"{source or 'the checkpoint'} does not fit `{architecture}`: " + "; ".join(problems) + " (timm names)."
    )


def checkpoint_source(checkpoint):
    """`{"checkpoint": file name, "sha256": digest}`: what `source.json` records of a preset's origin."""
    digest = hashlib.sha256()
    with open(checkpoint, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"checkpoint": os.path.basename(checkpoint), "sha256": digest.hexdigest()}


def write_preset(checkpoint, architecture, output):
    """Converts `checkpoint` (a path, .pth or .safetensors) into a keras-hub preset folder `output`.

    The folder (`config.json`, `model.safetensors`, and `source.json` naming
    the checkpoint and its SHA-256) is written beside its final place and
    renamed into it, so a reader never sees half a preset and two writers
    cannot mix their files. Returns a summary dict (tensors, parameters,
    whether an ImageNet classifier came along).

    Example:
    >>> write_preset("resnet18.pth", "resnet18", "presets/resnet18")  # doctest: +SKIP
    """
    import safetensors.numpy

    state = to_timm_names(read_checkpoint(checkpoint), architecture, blocks_per_stage(architecture))
    check_weights(state, architecture, source=checkpoint)
    state = {name: np.ascontiguousarray(value, dtype=np.float32) for name, value in state.items()}
    parent = os.path.dirname(os.path.abspath(output))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".preset-", dir=parent)
    try:
        safetensors.numpy.save_file(state, os.path.join(staging, "model.safetensors"))
        with open(os.path.join(staging, "config.json"), "w") as handle:
            json.dump(timm_config(architecture), handle, indent=2)
        with open(os.path.join(staging, SOURCE_FILE), "w") as handle:
            json.dump(checkpoint_source(checkpoint), handle)
        # mkdtemp makes a private folder; a preset is as readable as any file the user writes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)
        for name in os.listdir(staging):
            os.chmod(os.path.join(staging, name), 0o666 & ~umask)
        if os.path.isdir(output):
            shutil.rmtree(output)
        os.replace(staging, output)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    classifier = ARCHITECTURES[architecture]["classifier"] + "."
    return {
        "tensors": len(state),
        "parameters": int(sum(value.size for name, value in state.items() if "running_" not in name)),
        "imagenet_classifier": any(name.startswith(classifier) for name in state),
    }
