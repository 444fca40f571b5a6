"""Exports a trained workdir as a TFLite / LiteRT model (builtin ops only).

    python -m export.tflite --workdir=runs/glas --output=mmu.tflite [--quantization=none|dynamic]

The model takes float32 RGB images `[N, H, W, 3]` in [0, 1] (resize the
input tensor for other sizes) and its `serving_default` signature returns
`output_0..3` = `class_id`, `foreground_fraction`, `mask`, `probabilities`
(the sorted output names; `OUTPUT.json` beside the model maps them and lists
the class names). Run it with `ai_edge_litert.interpreter.Interpreter`.

The weights are frozen into constants before conversion: converting the
SavedModel directly keeps them as resource variables, and LiteRT then fails
with `READ_VARIABLE ... variable != nullptr`.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from export.workdir import check_workdir_flags, define_workdir_flags  # noqa: E402
from mmu_tf.workdir import load_workdir  # noqa: E402

OUTPUT_NAMES = ("class_id", "foreground_fraction", "mask", "probabilities")


def convert_to_tflite(model, quantization="none"):
    """The TFLite flatbuffer (bytes) of a trained Max-Min model."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    if quantization not in ("none", "dynamic"):
        raise ValueError(f"--quantization must be none or dynamic. Received: {quantization!r}")

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="images")])
    def serve(images):
        outputs = model(images, training=False)
        probabilities, mask = outputs["probabilities"], outputs["mask"]
        return {
            "probabilities": probabilities,
            "class_id": tf.argmax(probabilities, axis=-1, output_type=tf.int32),
            "mask": mask,
            "foreground_fraction": tf.reduce_mean(tf.cast(mask >= 0.5, tf.float32), axis=(1, 2)),
        }

    frozen = convert_variables_to_constants_v2(serve.get_concrete_function())
    # A trackable object makes the converter write a `serving_default` signature.
    converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen], tf.Module())
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization == "dynamic":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    return converter.convert()


def export_tflite(model, output, quantization="none"):
    """Writes the .tflite file and its `.json` description; returns the file's size in bytes."""
    flatbuffer = convert_to_tflite(model, quantization)
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    with open(output, "wb") as handle:
        handle.write(flatbuffer)
    class_names = model.class_names or [str(index) for index in range(model.num_classes)]
    description = {
        "input": "images: float32 [N, H, W, 3], RGB in [0, 1]",
        "outputs": {f"output_{index}": name for index, name in enumerate(OUTPUT_NAMES)},
        "class_names": class_names,
        "quantization": quantization,
    }
    with open(output + ".json", "w") as handle:
        json.dump(description, handle, indent=2)
    return len(flatbuffer)


def main(argv):
    check_workdir_flags(argv)
    try:
        model, _ = load_workdir(flags.FLAGS.workdir, flags.FLAGS.checkpoint)
        size = export_tflite(model, flags.FLAGS.output, flags.FLAGS.quantization)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    settings = flags.FLAGS
    print(f"TFLite model written to {settings.output} ({size / 2**20:.1f} MiB, quantization={settings.quantization})")


if __name__ == "__main__":
    define_workdir_flags("The .tflite file to write.")
    flags.DEFINE_enum(
        "quantization", "none", ["none", "dynamic"], "none: float32; dynamic: int8 weights, float activations."
    )
    app.run(main)
