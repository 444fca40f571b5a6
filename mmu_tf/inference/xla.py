"""When a model runs under XLA: the `jit_compile` setting shared by training and the inference commands.

Keras compiles the training and validation steps with `jit_compile="auto"`,
which turns XLA on wherever a GPU (or another accelerator) is visible and off on
a CPU. Inference goes through `mmu_tf.inference.Predictor`, which is not a
Keras `predict` and follows the same rule with one more condition: XLA compiles
a program for each input shape it meets, so on images of varying sizes (GlaS
after a short-side resize, a folder of slides' crops) it would compile again
for each new size, seconds each. `auto` therefore turns XLA on for inference
only where every input has one shape (a fixed resize, whole-slide tiles).
"""

# --config.jit_compile and the commands' --jit_compile.
JIT_COMPILE_SETTINGS = ("auto", "on", "off")


def accelerator_visible():
    """Whether TensorFlow sees a device other than the CPU (Keras's test for `jit_compile="auto"`)."""
    import tensorflow as tf  # here: the commands read this module's settings for their --help

    return any(device.device_type != "CPU" for device in tf.config.list_physical_devices())


def training_jit_compile(setting):
    """Keras's `compile(jit_compile=...)` for a `jit_compile` setting: "auto" stays Keras's own rule.

    Example:
    >>> training_jit_compile("on"), training_jit_compile("auto")
    (True, 'auto')
    """
    check_setting(setting, "--config.jit_compile")
    return {"auto": "auto", "on": True, "off": False}[setting]


def inference_jit_compile(setting, fixed_shape):
    """Whether inference compiles with XLA: "on" / "off" as asked; "auto": an accelerator and one input shape.

    Args:
        setting: one of `JIT_COMPILE_SETTINGS`.
        fixed_shape: whether every input the predictor will see has the same
            shape (`data.resize_mode="fixed"`, whole-slide tiles).

    Example:
    >>> inference_jit_compile("on", fixed_shape=False), inference_jit_compile("off", fixed_shape=True)
    (True, False)
    """
    check_setting(setting, "--jit_compile")
    if setting == "auto":
        return bool(fixed_shape) and accelerator_visible()
    return setting == "on"


def check_setting(setting, flag):
    if setting not in JIT_COMPILE_SETTINGS:
        raise ValueError(f"{flag} must be one of {JIT_COMPILE_SETTINGS} (got {setting!r})")
