"""Choosing the Keras dtype policy: `config.precision` = auto | float32 | bfloat16 | float16."""

import functools

import keras
import tensorflow as tf

POLICIES = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


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
