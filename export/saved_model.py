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

from absl import flags  # noqa: E402

from mmu_tf.cli import run_main  # noqa: E402
from mmu_tf.export.flags import check_workdir_flags, define_workdir_flags, ensure_writable_folder  # noqa: E402


def export_saved_model(predictor, output, version=1, overwrite=False):
    """Writes the SavedModel of a `Predictor` to `output/<version>` and returns that path.

    An existing version is the model being served: it is replaced only with
    `overwrite`. The SavedModel is written beside its place and renamed into
    it, so TF-Serving never loads half a model.
    """
    import shutil
    import tempfile

    import tensorflow as tf

    from mmu_tf.export.serving import ServingModule

    if version < 1:
        raise ValueError(f"--version must be a positive integer. Received: {version}")
    path = os.path.join(output, str(version))
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"--output: {path} exists (a version being served?); pass --overwrite or a new --version")
    ensure_writable_folder(output, "--output")
    remove_stale_staging(output)
    module = ServingModule(predictor)
    staging = tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{version}-", dir=output)
    try:
        tf.saved_model.save(
            module, staging, signatures={"serving_default": module.serve_float, "serving_bytes": module.serve_bytes}
        )
        # mkdtemp's folder is private (0700): a server running as another user could not read the model.
        # The umask's permissions, as any folder the user creates (0755 under the usual 022).
        umask = os.umask(0)
        os.umask(umask)
        for folder, _, _ in os.walk(staging):
            os.chmod(folder, 0o777 & ~umask)
        if os.path.exists(path):
            shutil.rmtree(path)
        os.replace(staging, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return path


# Exports are written in `OUTPUT/.staging-<version>-<random>` and renamed into place.
STAGING_PREFIX = ".staging-"


def remove_stale_staging(output):
    """Removes the staging folders of exports that were killed before their rename (nothing serves them)."""
    import shutil

    for name in os.listdir(output):
        folder = os.path.join(output, name)
        if name.startswith(STAGING_PREFIX) and os.path.isdir(folder):
            shutil.rmtree(folder, ignore_errors=True)


def main(argv):
    check_workdir_flags(argv)
    from mmu_tf.inference import Predictor

    try:
        ensure_writable_folder(flags.FLAGS.output, "--output")
        predictor = Predictor.from_workdir(flags.FLAGS.workdir, flags.FLAGS.checkpoint, flags.FLAGS.max_image_pixels)
        path = export_saved_model(predictor, flags.FLAGS.output, flags.FLAGS.version, flags.FLAGS.overwrite)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"SavedModel written to {path} (signatures: serving_default, serving_bytes; float32)")


def define_flags():
    define_workdir_flags("The model base path; the SavedModel goes to OUTPUT/<version>.")
    flags.DEFINE_integer("version", 1, "The model version (a positive integer, TF-Serving's folder name).")
    flags.DEFINE_bool("overwrite", False, "Replace OUTPUT/<version> if it exists (it may be the model being served).")


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
