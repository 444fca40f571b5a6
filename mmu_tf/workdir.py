"""Reading a training workdir: its checkpoint and the data config it was trained with."""

import os

from mmu_tf.configs.common import base_config
from mmu_tf.resume import saved_config


def load_workdir(workdir, checkpoint="best", float32=True):
    """The trained model and the data config of a workdir (`config.json`'s `data`, as a ConfigDict).

    The data config is the run's `config.data` as training read it: the saved
    values over `mmu_tf.configs.common.base_config()`, so a field added to the
    code after the run has its default, and the data code reads a loaded
    workdir exactly as it reads a training config.

    Args:
        workdir: a folder written by `train_main.py`.
        checkpoint: "best" (selected on validation accuracy) or "last".
        float32: rebuild a model trained under a 16-bit policy in float32 with
            its weights (`mmu_tf.precision.as_float32`), so predictions and
            exports are the same on every machine (and not emulated bfloat16
            on a CPU without bf16 units).

    Raises:
        FileNotFoundError: naming the missing checkpoint or config file.

    Example:
    >>> model, data_config = load_workdir("runs/demo")  # doctest: +SKIP
    >>> data_config.resize_mode  # doctest: +SKIP
    'none'
    """
    import keras

    import mmu_tf.models  # noqa: F401  (registers the classes the checkpoint names)

    path = os.path.join(workdir, "checkpoints", f"{checkpoint}.keras")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--workdir: no checkpoint at {path}; train first with train_main.py")
    config_path = os.path.join(workdir, "config.json")
    if not os.path.isfile(config_path):
        raise FileNotFoundError(f"--workdir: no config.json in {workdir}")
    try:
        data_config = saved_config(workdir, base_config()).data
    except ValueError as error:
        raise FileNotFoundError(str(error)) from None
    model = keras.saving.load_model(path, compile=False)
    if float32:
        from mmu_tf.precision import as_float32

        model = as_float32(model)
    return model, data_config
