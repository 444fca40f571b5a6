r"""Per-image latency and size of every deployable form of a model, on this machine.

    python -m benchmarks.export_latency --workdir=runs/glas --output=latency.json [--repeats=10]

Measures, at 416x416 and at 775x522 (width x height, GlaS's size), batch 1:
the Keras model called eagerly, the Keras model inside a `tf.function`, the
SavedModel's `serving_default` signature, and the TFLite float32 and dynamic
range quantised models under `ai_edge_litert` (XNNPACK, all cores). Without
`--workdir` a randomly initialised model is used: speed does not depend on
the weights. Prints a Markdown table and writes the figures as JSON.
"""

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

# (height, width)
SHAPES = {"416x416": (416, 416), "775x522": (522, 775)}
FORMATS = ("keras_eager", "keras_compiled", "saved_model", "tflite_float", "tflite_dynamic")


def _seconds_per_call(function, repeats):
    """Mean seconds of `function()` over `repeats` calls, after one untimed call."""
    function()  # warm-up: tracing, allocation
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def _folder_bytes(path):
    return sum(os.path.getsize(os.path.join(folder, name)) for folder, _, names in os.walk(path) for name in names)


def _build_forms(model, data_config, folder, formats):
    """Writes the deployable `formats` under `folder`; returns `{format: (function of images, size in bytes)}`."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    from mmu_tf.export.saved_model import export_saved_model
    from mmu_tf.export.tflite import export_tflite
    from mmu_tf.inference import Predictor

    predictor = Predictor.from_data_config(model, data_config)
    keras_path = os.path.join(folder, "model.keras")
    model.save(keras_path)

    def keras_eager():
        return (lambda images: model(images, training=False)["mask"].numpy()), os.path.getsize(keras_path)

    def keras_compiled():
        compiled = tf.function(lambda images: model(images, training=False))
        return (lambda images: compiled(images)["mask"].numpy()), os.path.getsize(keras_path)

    def saved_model():
        path = export_saved_model(predictor, os.path.join(folder, "saved_model"))
        serving = tf.saved_model.load(path).signatures["serving_default"]
        return (lambda images: serving(images=images)["mask"].numpy()), _folder_bytes(path)

    def tflite(quantization):
        path = os.path.join(folder, f"model_{quantization}.tflite")
        export_tflite(predictor, path, quantization)
        runner = Interpreter(model_path=path, num_threads=os.cpu_count()).get_signature_runner("serving_default")
        return (lambda images: runner(images=images)), os.path.getsize(path)

    builders = {
        "keras_eager": keras_eager,
        "keras_compiled": keras_compiled,
        "saved_model": saved_model,
        "tflite_float": lambda: tflite("none"),
        "tflite_dynamic": lambda: tflite("dynamic"),
    }
    return {name: builders[name]() for name in formats}


def measure(model, data_config, repeats, shapes=SHAPES, formats=FORMATS):
    """`{format: {"size_mb": ..., "<shape>_ms": ...}}` for every format and shape (`{name: (height, width)}`)."""
    import numpy as np

    rng = np.random.default_rng(0)
    images = {name: rng.random((1, height, width, 3), np.float32) for name, (height, width) in shapes.items()}
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, (function, size) in _build_forms(model, data_config, folder, formats).items():
            results[name] = {"size_mb": size / 2**20}
            for shape, batch in images.items():
                results[name][f"{shape}_ms"] = 1000 * _seconds_per_call(lambda f=function, b=batch: f(b), repeats)
    return results


def format_table(results, shapes=SHAPES):
    header = "| form | size (MiB) | " + " | ".join(f"{shape} (ms/image)" for shape in shapes) + " |"
    lines = [header, "|" + "---|" * (2 + len(shapes))]
    for name, row in results.items():
        cells = " | ".join(f"{row[f'{shape}_ms']:.0f}" for shape in shapes)
        lines.append(f"| {name} | {row['size_mb']:.1f} | {cells} |")
    return "\n".join(lines)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if flags.FLAGS.repeats < 1:
        raise app.UsageError("--repeats must be at least 1")
    if flags.FLAGS.workdir:
        from mmu_tf.workdir import load_workdir

        try:
            model, data_config = load_workdir(flags.FLAGS.workdir)
        except FileNotFoundError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)
    else:
        import keras
        import numpy as np

        from mmu_tf.configs.common import base_config
        from mmu_tf.models import MaxMinModel, build_backbone

        keras.utils.set_random_seed(0)
        config = base_config()
        model = MaxMinModel(
            build_backbone("resnet18"),
            num_classes=2,
            class_names=["benign", "malignant"],
            **MaxMinModel.run_arguments(config, "maxmin"),
        )
        model(np.zeros((1, 64, 64, 3), np.float32))  # builds the weights
        data_config = config.data  # resize_mode "none"
    results = measure(model, data_config, flags.FLAGS.repeats)
    print(format_table(results))
    with open(flags.FLAGS.output, "w") as handle:
        json.dump({"cpu_count": os.cpu_count(), "repeats": flags.FLAGS.repeats, "results": results}, handle, indent=2)
    print(f"Wrote {flags.FLAGS.output}")


def define_flags():
    flags.DEFINE_string("workdir", None, "A training workdir; default: a random ResNet-18 Max-Min model.")
    flags.DEFINE_string("output", "latency.json", "Where to write the JSON results.")
    flags.DEFINE_integer("repeats", 5, "Timed calls per format and shape (after one warm-up call).")


if __name__ == "__main__":
    define_flags()
    app.run(main)
