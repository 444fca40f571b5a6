"""Choosing the Keras dtype policy: `config.precision` = auto | float32 | bfloat16 | float16."""

import functools

import keras
import tensorflow as tf

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
PRECISIONS = ("auto", *POLICIES)


@functools.lru_cache(maxsize=1)
def cpu_has_bf16_units():
    """Whether the CPU advertises bf16 arithmetic (AVX512-BF16 or AMX-BF16)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision):
    """The Keras policy name for `precision`.

    `auto`: bfloat16 on GPUs of compute capability >= 8 and on CPUs with bf16
    units; float16 (with loss scaling) on older GPUs; float32 otherwise.
    """
    if precision != "auto":
        if precision not in POLICIES:
            raise ValueError(f"`--config.precision` must be auto, {', '.join(POLICIES)}. Received: {precision!r}")
        return POLICIES[precision]
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability", (0, 0))
        return "mixed_bfloat16" if capability >= (8, 0) else "mixed_float16"
    return "mixed_bfloat16" if cpu_has_bf16_units() else "float32"


def set_precision(precision):
    """Sets the global policy from `config.precision`; returns the policy name."""
    policy = resolve_precision(precision)
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
