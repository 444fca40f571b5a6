"""Exports a trained workdir as a TFLite / LiteRT model (builtin ops only).

    python -m export.tflite --workdir=runs/glas --output=mmu.tflite [--quantization=none|dynamic]

The model takes float32 RGB images `[N, H, W, 3]` in [0, 1] (resize the
input tensor for other sizes) and its `serving_default` signature returns
`class_id`, `foreground_fraction`, `mask` and `probabilities` by those names
(LiteRT's signature runner reads them by name; `OUTPUT.json` beside the model
lists them, the class names, the resize and the pixel limit). Run it with
`mmu_tf.inference.litert.LiteRTModel`, which checks the input first (a TFLite
graph cannot refuse 0-255 pixels or NaN), or with LiteRT's `Interpreter` directly.

The weights are frozen into constants before conversion: converting the
SavedModel directly keeps them as resource variables, and LiteRT then fails
with `READ_VARIABLE ... variable != nullptr`. Freezing flattens the outputs to
a list (the signature would say `output_0..3`), so the frozen function is
wrapped in one that names them again and saved, without variables, as the
SavedModel the converter reads: its signature keeps the names.
"""

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402

from mmu_tf.cli import run_main  # noqa: E402
from mmu_tf.export.flags import check_workdir_flags, define_workdir_flags, ensure_writable_folder  # noqa: E402

OUTPUT_NAMES = ("class_id", "foreground_fraction", "mask", "probabilities")


def convert_to_tflite(predictor, quantization="none"):
    """The TFLite flatbuffer (bytes) of a `Predictor`'s `predict_batch` (builtin ops only)."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    if quantization not in ("none", "dynamic"):
        raise ValueError(f"--quantization must be none or dynamic. Received: {quantization!r}")
    # Control flow (the refined mask's hole filling is a while loop) stays as functional While ops,
    # which the converter maps to TFLite's WHILE; lowered to Switch/Merge it cannot convert them.
    function = predictor.predict_batch.get_concrete_function()
    frozen = convert_variables_to_constants_v2(function, lower_control_flow=False)
    # The frozen function returns the outputs flattened, in sorted-name order: named again here.
    module = tf.Module()
    module.serve = tf.function(
        lambda images: dict(zip(OUTPUT_NAMES, frozen(images))),
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="images")],
    )
    with tempfile.TemporaryDirectory() as folder:
        tf.saved_model.save(module, folder, signatures={"serving_default": module.serve.get_concrete_function()})
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantization == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


def export_tflite(predictor, output, quantization="none"):
    """Writes the .tflite file and its `.json` description; returns the file's size in bytes."""
    flatbuffer = convert_to_tflite(predictor, quantization)
    ensure_writable_folder(os.path.dirname(os.path.abspath(output)), "--output")
    with open(output, "wb") as handle:
        handle.write(flatbuffer)
    description = {
        "input": "images: float32 [N, H, W, 3], RGB in [0, 1]",
        "outputs": list(OUTPUT_NAMES),
        "class_names": predictor.class_names,
        "max_image_pixels": predictor.max_image_pixels,
        "resize": predictor.resize_settings.to_dict(),
        "quantization": quantization,
    }
    with open(output + ".json", "w") as handle:
        json.dump(description, handle, indent=2)
    return len(flatbuffer)


def main(argv):
    check_workdir_flags(argv)
    from mmu_tf.inference import Predictor

    try:
        ensure_writable_folder(os.path.dirname(os.path.abspath(flags.FLAGS.output)), "--output")
        predictor = Predictor.from_workdir(flags.FLAGS.workdir, flags.FLAGS.checkpoint, flags.FLAGS.max_image_pixels)
        size = export_tflite(predictor, flags.FLAGS.output, flags.FLAGS.quantization)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    settings = flags.FLAGS
    print(f"TFLite model written to {settings.output} ({size / 2**20:.1f} MiB, quantization={settings.quantization})")


def define_flags():
    define_workdir_flags("The .tflite file to write.")
    flags.DEFINE_enum(
        "quantization", "none", ["none", "dynamic"], "none: float32; dynamic: int8 weights, float activations."
    )


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
