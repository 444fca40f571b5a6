"""Exports a trained workdir as a TF-Serving SavedModel.

    python -m export.saved_model --workdir=runs/glas --output=exported/mmu [--version=1]

Writes `OUTPUT/<version>/saved_model.pb` and `variables/`, the layout
`tensorflow/serving` loads from a model base path, with the signatures
`serving_default` (float32 images in [0, 1]) and `serving_bytes` (encoded
images); see `export/serving.py` for their inputs and outputs.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from export.workdir import check_workdir_flags, define_workdir_flags  # noqa: E402
from mmu_tf.workdir import load_workdir  # noqa: E402


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


def main(argv):
    check_workdir_flags(argv)
    try:
        model, data_config = load_workdir(flags.FLAGS.workdir, flags.FLAGS.checkpoint)
        path = export_saved_model(model, data_config, flags.FLAGS.output, flags.FLAGS.version)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"SavedModel written to {path} (signatures: serving_default, serving_bytes)")


if __name__ == "__main__":
    define_workdir_flags("The model base path; the SavedModel goes to OUTPUT/<version>.")
    flags.DEFINE_integer("version", 1, "The model version (a positive integer, TF-Serving's folder name).")
    app.run(main)
