"""Reading a training workdir: its checkpoint and the data config it was trained with."""

import json
import os


def load_workdir(workdir, checkpoint="best", float32=True):
    """The trained model and the data config (`config.json`'s `data`) of a workdir.

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
    >>> data_config["resize_mode"]  # doctest: +SKIP
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
    with open(config_path) as handle:
        data_config = json.load(handle)["data"]
    model = keras.saving.load_model(path, compile=False)
    if float32:
        from mmu_tf.precision import as_float32

        model = as_float32(model)
    return model, data_config
