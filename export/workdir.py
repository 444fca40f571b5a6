"""What every exporter reads: a training workdir's checkpoint and config, and the shared flags."""

import json
import os

from absl import app, flags


def define_workdir_flags(output_help):
    """Defines --workdir, --output and --checkpoint (called by each command, not at import)."""
    flags.DEFINE_string("workdir", None, "A training workdir (holding checkpoints/best.keras).")
    flags.DEFINE_string("output", None, output_help)
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"], "Which checkpoint of the workdir.")


def check_workdir_flags(argv):
    """Rejects stray arguments and missing --workdir / --output."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.workdir or not flags.FLAGS.output:
        raise app.UsageError("--workdir and --output are required")


def load_workdir(workdir, checkpoint="best"):
    """The trained model and the data config (`config.json`'s `data`) of a workdir."""
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
    return model, data_config
