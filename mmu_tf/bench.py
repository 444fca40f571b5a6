"""Throughput of the Max-Min training step, inference and the input pipeline, against a plain ResNet-18.

    python -m mmu_tf.bench --output=bench.json [--precision=float32] [--quick] [--jit_compile=off --jit_compile=on]

Every number of one run is measured in that run, on the same machine, so the
ratios (the Max-Min step in plain-classifier steps, inference in plain
forwards, the pipeline in training steps) hold even when absolute speeds are
noisy. Random weights and random images: speed does not depend on them.
Inference runs through `mmu_tf.inference.Predictor`, as every command runs
it (batch norms folded into the convolutions); `unfolded_*` is the same
without the folding.

The pipeline figure is the GlaS protocol's training pipeline (short side
432, random 416 crop, flips, colour jitter) over GlaS-sized (775x522) BMP
files: `decode_images_per_s` reads the files (once per run: the split is held
in memory), `pipeline_images_per_s` is an epoch's resize and augmentation,
batches of `--batch_size`; `stain_pipeline_images_per_s` the same with the H&E
stain jitter on (scale and shift 0.05). `peak_rss_mb` is the process's peak
resident memory during the Max-Min training steps.
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402


def _time_per_call(function, repeats, warmup=2):
    for _ in range(warmup):
        function()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def _reset_peak_rss():
    # Writing 5 to clear_refs resets VmHWM (Linux >= 4.0); elsewhere the peak covers the whole run.
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _process_status_mb(field):
    """`field` of /proc/self/status (`VmRSS`, `VmHWM`) in MiB; None without /proc (not Linux)."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _peak_rss_mb():
    peak = _process_status_mb("VmHWM")
    if peak is not None:
        return peak
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_pipeline(batch_size, num_images=16, epochs=4, stain=0.0):
    """`(decode images/s, pipeline images/s)` for GlaS-like BMPs through the GlaS training pipeline.

    `stain`: the H&E jitter's scale and shift (`config.data.stain_scale` / `stain_shift`); 0: off.
    """
    import tempfile

    import cv2
    import numpy as np

    from mmu_tf.configs import glas  # the GlaS protocol's pipeline settings
    from mmu_tf.data.loaded_split import LoadedSplit
    from mmu_tf.data.pipeline import training_dataset
    from mmu_tf.data.samples import read_image

    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for index in range(num_images):
            path = os.path.join(folder, f"train_{index}.bmp")
            cv2.imwrite(path, rng.integers(0, 256, (522, 775, 3), dtype=np.uint8))
            paths.append(path)
        start = time.perf_counter()
        images = [read_image(path) for path in paths]
        decode_seconds = time.perf_counter() - start
    split = LoadedSplit("bench", images, [None] * num_images, np.arange(num_images) % 2, paths, ["a", "b"])
    data_config = glas.get_config().data
    data_config.stain_scale = data_config.stain_shift = stain
    dataset = training_dataset(split, data_config, batch_size, seed=0, epochs=1 + epochs)
    steps = -(-num_images // batch_size)
    iterator = iter(dataset)
    for _ in range(steps):  # the first epoch traces the pipeline's functions
        next(iterator)
    start = time.perf_counter()
    for _ in iterator:
        pass
    return num_images / decode_seconds, epochs * num_images / (time.perf_counter() - start)


def measure(precision, batch_size, size, repeats, backbone="resnet18", jit_compile=False):
    import keras
    import numpy as np
    import tensorflow as tf

    from mmu_tf.configs.common import base_config
    from mmu_tf.inference import Predictor
    from mmu_tf.inference.batch_norm_folding import folded_batch_norm
    from mmu_tf.models import MaxMinModel, build_backbone
    from mmu_tf.precision import set_precision

    policy = set_precision(precision, backbone)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((batch_size, size, size, 3), np.float32))
    labels = tf.constant(np.arange(batch_size) % 2)

    # GlaS's Max-Min settings (the defaults of configs/common.py).
    model = MaxMinModel(build_backbone(backbone), num_classes=2, **MaxMinModel.run_arguments(base_config(), "maxmin"))
    model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9, nesterov=True), jit_compile=jit_compile)
    _reset_peak_rss()
    maxmin_step = _time_per_call(lambda: model.train_on_batch(images, labels), repeats)
    peak_rss_mb = _peak_rss_mb()

    plain_backbone = build_backbone(backbone)
    inputs = keras.Input((None, None, 3))
    logits = keras.layers.Dense(2, dtype="float32")(keras.layers.GlobalAveragePooling2D()(plain_backbone(inputs)))
    plain = keras.Model(inputs, logits)
    plain.compile(
        optimizer=keras.optimizers.SGD(1e-3, momentum=0.9, nesterov=True),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    plain_step = _time_per_call(lambda: plain.train_on_batch(images, labels), repeats)

    # Inference as every command runs it (the Predictor: batch norms folded), and unfolded.
    predictor = Predictor(model, jit_compile=jit_compile)
    infer, unfolded = predictor.predict_batch, predictor.unfolded().predict_batch

    def plain_forward(batch):
        with folded_batch_norm(plain):  # as the Predictor runs Max-Min, so the ratio compares like with like
            return plain(batch, training=False)

    forward = tf.function(plain_forward, jit_compile=jit_compile)
    one_416 = images[:1]
    one_775 = tf.constant(rng.random((1, 522, 775, 3), np.float32))
    infer_416 = _time_per_call(lambda: infer(one_416)["mask"].numpy(), repeats * 2)
    infer_775 = _time_per_call(lambda: infer(one_775)["mask"].numpy(), repeats * 2)
    unfolded_416 = _time_per_call(lambda: unfolded(one_416)["mask"].numpy(), repeats * 2)
    unfolded_775 = _time_per_call(lambda: unfolded(one_775)["mask"].numpy(), repeats * 2)
    forward_416 = _time_per_call(lambda: forward(one_416).numpy(), repeats * 2)
    decode_per_s, pipeline_per_s = measure_pipeline(batch_size)
    _, stain_pipeline_per_s = measure_pipeline(batch_size, stain=0.05)
    return {
        "policy": policy,
        "backbone": backbone,
        "jit_compile": jit_compile,
        "parameters": model.count_params(),
        "batch_size": batch_size,
        "train_shape": [batch_size, size, size, 3],
        "maxmin_train_images_per_s": batch_size / maxmin_step,
        "plain_train_images_per_s": batch_size / plain_step,
        "train_cost_in_backbone_steps": maxmin_step / plain_step,
        "infer_images_per_s_416": 1.0 / infer_416,
        "infer_images_per_s_775x522": 1.0 / infer_775,
        "unfolded_infer_images_per_s_416": 1.0 / unfolded_416,
        "unfolded_infer_images_per_s_775x522": 1.0 / unfolded_775,
        "plain_forward_images_per_s_416": 1.0 / forward_416,
        "infer_cost_in_backbone_forwards": infer_416 / forward_416,
        "decode_images_per_s": decode_per_s,
        "pipeline_images_per_s": pipeline_per_s,
        "pipeline_to_train_ratio": pipeline_per_s * maxmin_step / batch_size,
        "stain_pipeline_images_per_s": stain_pipeline_per_s,
        "peak_rss_mb": peak_rss_mb,
    }


def main(argv):
    del argv
    repeats = 3 if flags.FLAGS.quick else 8
    results = {}
    for backbone in flags.FLAGS.backbone:
        for precision in flags.FLAGS.precision:
            for jit_compile in flags.FLAGS.jit_compile:
                key = f"{backbone}/{precision}" + ("/xla" if jit_compile == "on" else "")
                results[key] = measure(
                    precision, flags.FLAGS.batch_size, flags.FLAGS.size, repeats, backbone, jit_compile == "on"
                )
                print(describe(key, results[key]))
    with open(flags.FLAGS.output, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"Wrote {flags.FLAGS.output}")


def describe(key, row):
    """One line of a measurement, every figure of it."""
    return (
        f"{key} ({row['policy']}, {row['parameters']:,} parameters): "
        f"Max-Min train {row['maxmin_train_images_per_s']:.2f} img/s, "
        f"plain train {row['plain_train_images_per_s']:.2f} img/s "
        f"(ratio {row['train_cost_in_backbone_steps']:.2f}); inference 416x416 "
        f"{row['infer_images_per_s_416']:.2f} img/s, 775x522 {row['infer_images_per_s_775x522']:.2f} img/s "
        f"(batch norms unfolded: {row['unfolded_infer_images_per_s_416']:.2f}, "
        f"{row['unfolded_infer_images_per_s_775x522']:.2f}), "
        f"plain forward 416 {row['plain_forward_images_per_s_416']:.2f} img/s "
        f"(ratio {row['infer_cost_in_backbone_forwards']:.2f}); pipeline {row['pipeline_images_per_s']:.1f} img/s "
        f"({row['pipeline_to_train_ratio']:.1f}x the training step; with stain jitter "
        f"{row['stain_pipeline_images_per_s']:.1f} img/s; "
        f"decode {row['decode_images_per_s']:.1f} img/s); "
        f"peak RSS {row['peak_rss_mb']:.0f} MB"
    )


def define_flags():
    flags.DEFINE_string("output", "bench.json", "Where to write the JSON results.")
    flags.DEFINE_list("precision", ["float32"], "Precisions to measure: float32, bfloat16, float16, auto.")
    flags.DEFINE_integer("batch_size", 4, "Training batch size.")
    flags.DEFINE_integer("size", 416, "Training and inference image side.")
    flags.DEFINE_bool("quick", False, "Fewer timed steps (a rough figure in about a minute per precision).")
    flags.DEFINE_list(
        "backbone",
        ["resnet18"],
        "Backbones to measure (random weights), comma-separated: resnet18, resnet10, efficientnet_lite0/1/2.",
    )
    flags.DEFINE_multi_enum(
        "jit_compile",
        ["off"],
        ["off", "on"],
        "XLA for the steps and the forward passes: off, on, or both (--jit_compile=off --jit_compile=on; "
        "keys with /xla). Timed after the compilation (the warm-up calls).",
    )


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
