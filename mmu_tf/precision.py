"""Choosing the Keras dtype policy: `config.precision` = auto | float32 | bfloat16 | float16."""

import functools
import json
import os

import keras
import tensorflow as tf

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
PRECISIONS = ("auto", *POLICIES)
# Backbone families that `auto` keeps in float32 on a CPU. Measured with `mmu_tf.bench --quick` on two
# kinds of bf16 CPU (AVX512-BF16 without AMX, and AMX; docs/results.md): in bfloat16, EfficientNet-Lite0
# trains at 0.89x and infers at 0.87-0.95x its float32 speed (Lite1 1.10x / 0.79x, Lite2 0.90x / 0.96x),
# while ResNet-18 trains 1.7-2.5x and infers 1.4-2.1x faster.
FLOAT32_ON_CPU_FAMILIES = ("efficientnet",)


@functools.lru_cache(maxsize=1)
def cpu_has_bf16_units():
    """Whether the CPU advertises bf16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def backbone_family(backbone):
    """The lower-case architecture name behind `backbone`: a config name ("resnet18"), a packaged
    checkpoint ("efficientnet_lite0_imagenet"), or a keras-hub preset directory (its class name)."""
    config_path = os.path.join(backbone, "config.json")
    if os.path.isfile(config_path):
        try:
            with open(config_path) as handle:
                return str(json.load(handle).get("class_name", "")).lower()
        except (OSError, ValueError):
            return ""
    return backbone.lower()


def resolve_precision(precision, backbone=""):
    """The Keras policy name for `precision`, for a model on `backbone` (see `backbone_family`).

    `auto`: bfloat16 on GPUs of compute capability >= 8; float16 (with loss
    scaling) on older GPUs; on CPUs with bf16 units, bfloat16 except for the
    backbones measured slower in it (`FLOAT32_ON_CPU_FAMILIES`); float32
    otherwise.

    Example:
    >>> resolve_precision("bfloat16")
    'mixed_bfloat16'
    >>> resolve_precision("auto", backbone="efficientnet_lite0_imagenet") in ("float32", "mixed_bfloat16")
    True
    """
    if precision != "auto":
        if precision not in POLICIES:
            raise ValueError(f"`--config.precision` must be auto, {', '.join(POLICIES)}. Received: {precision!r}")
        return POLICIES[precision]
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"
    if not cpu_has_bf16_units():
        return "float32"
    family = backbone_family(backbone)
    return "float32" if any(name in family for name in FLOAT32_ON_CPU_FAMILIES) else "mixed_bfloat16"


def set_precision(precision, backbone=""):
    """Sets the global policy from `config.precision` for a model on `backbone`; returns the policy name."""
    policy = resolve_precision(precision, backbone)
    keras.mixed_precision.set_global_policy(policy)
    return policy


def _with_float32_policies(config):
    """A copy of a serialised Keras config whose mixed dtype policies are float32."""
    if isinstance(config, dict):
        if config.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and isinstance(config.get("config"), dict):
            name = config["config"].get("name", "")
            if name.startswith("mixed_"):
                return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _with_float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_with_float32_policies(value) for value in config]
    if config in ("mixed_bfloat16", "mixed_float16"):
        return "float32"
    return config


def uses_mixed_precision(model):
    """Whether any layer of `model` computes in a 16-bit dtype."""
    return any(layer.dtype_policy.compute_dtype != "float32" for layer in model._flatten_layers(include_self=True))


def as_float32(model, sample_shape=(1, 64, 64, 3)):
    """`model` itself when it computes in float32; otherwise the same model rebuilt in float32, same weights.

    A model trained under `mixed_bfloat16` or `mixed_float16` keeps float32
    variables; only its computations are 16-bit. Exports (SavedModel, TFLite)
    must be float32 graphs: TFLite has no builtin bfloat16 kernels and a
    served model should answer the same on every machine. The rebuilt model
    is called once on zeros of `sample_shape` to create its weights.
    """
    if not uses_mixed_precision(model):
        return model
    config = _with_float32_policies(keras.saving.serialize_keras_object(model))
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")
    try:
        rebuilt = keras.saving.deserialize_keras_object(config)
        rebuilt(tf.zeros(sample_shape, tf.float32), training=False)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    rebuilt.set_weights(model.get_weights())
    return rebuilt
