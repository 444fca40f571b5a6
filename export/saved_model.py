"""Exports a trained workdir as a TF-Serving SavedModel.

    python -m export.saved_model --workdir=runs/glas --output=exported/mmu [--version=1]

Writes `OUTPUT/<version>/saved_model.pb` and `variables/`, the layout
`tensorflow/serving` loads from a model base path, with the signatures
`serving_default` (float32 images in [0, 1]) and `serving_bytes` (encoded
images); see `export/serving.py` for their inputs and outputs.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402


def load_workdir(workdir, checkpoint="best"):
    """The trained model and the evaluation resize settings of a workdir."""
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


def build_serving_module(model, data_config):
    from export.serving import ServingModule

    class_names = model.class_names or [str(index) for index in range(model.num_classes)]
    return ServingModule(
        model,
        class_names,
        resize_mode=data_config["resize_mode"],
        short_side=data_config["resize_short_side"],
        image_size=data_config["image_size"],
    )


def export_saved_model(model, data_config, output, version=1):
    """Writes the SavedModel to `output/<version>` and returns that path."""
    import tensorflow as tf

    if version < 1:
        raise ValueError(f"--version must be a positive integer. Received: {version}")
    module = build_serving_module(model, data_config)
    path = os.path.join(output, str(version))
    tf.saved_model.save(
        module,
        path,
        signatures={"serving_default": module.serve_float, "serving_bytes": module.serve_bytes},
    )
    return path


def define_flags():
    """Defines this command's flags (here, not at import, so both exporters import together)."""
    flags.DEFINE_string("workdir", None, "A training workdir (holding checkpoints/best.keras).")
    flags.DEFINE_string("output", None, "The model base path; the SavedModel goes to OUTPUT/<version>.")
    flags.DEFINE_integer("version", 1, "The model version (a positive integer, TF-Serving's folder name).")
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"], "Which checkpoint of the workdir.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.workdir or not flags.FLAGS.output:
        raise app.UsageError("--workdir and --output are required")
    try:
        model, data_config = load_workdir(flags.FLAGS.workdir, flags.FLAGS.checkpoint)
        path = export_saved_model(model, data_config, flags.FLAGS.output, flags.FLAGS.version)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"SavedModel written to {path} (signatures: serving_default, serving_bytes)")


if __name__ == "__main__":
    define_flags()
    app.run(main)
