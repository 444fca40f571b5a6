"""Throughput of the Max-Min training step and inference, against a plain ResNet-18.

    python -m mmu_tf.bench --output=bench.json [--precision=float32] [--quick]

Every number of one run is measured in that run, on the same machine, so the
ratios (the Max-Min step in plain-classifier steps, inference in plain
forwards) hold even when absolute speeds are noisy. Random weights and
random images: speed does not depend on them.
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

_OUTPUT = flags.DEFINE_string("output", "bench.json", "Where to write the JSON results.")
_PRECISION = flags.DEFINE_list("precision", ["float32"], "Precisions to measure: float32, bfloat16, float16, auto.")
_BATCH = flags.DEFINE_integer("batch_size", 4, "Training batch size.")
_SIZE = flags.DEFINE_integer("size", 416, "Training and inference image side.")
_QUICK = flags.DEFINE_bool("quick", False, "Fewer timed steps (a rough figure in about a minute per precision).")


def _time_per_call(function, repeats, warmup=2):
    for _ in range(warmup):
        function()
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def measure(precision, batch_size, size, repeats):
    import keras
    import numpy as np
    import tensorflow as tf

    from mmu_tf.models import MaxMinModel, build_backbone
    from mmu_tf.precision import set_precision

    policy = set_precision(precision)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((batch_size, size, size, 3), np.float32))
    labels = tf.constant(np.arange(batch_size) % 2)

    model = MaxMinModel(build_backbone("resnet18"), num_classes=2)
    model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9, nesterov=True))
    maxmin_step = _time_per_call(lambda: model.train_on_batch(images, labels), repeats)

    backbone = build_backbone("resnet18")
    inputs = keras.Input((None, None, 3))
    logits = keras.layers.Dense(2, dtype="float32")(keras.layers.GlobalAveragePooling2D()(backbone(inputs)))
    plain = keras.Model(inputs, logits)
    plain.compile(
        optimizer=keras.optimizers.SGD(1e-3, momentum=0.9, nesterov=True),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    plain_step = _time_per_call(lambda: plain.train_on_batch(images, labels), repeats)

    infer = tf.function(lambda batch: model(batch, training=False))
    forward = tf.function(lambda batch: plain(batch, training=False))
    one_416 = images[:1]
    one_775 = tf.constant(rng.random((1, 522, 775, 3), np.float32))
    infer_416 = _time_per_call(lambda: infer(one_416)["mask"].numpy(), repeats * 2)
    infer_775 = _time_per_call(lambda: infer(one_775)["mask"].numpy(), repeats * 2)
    forward_416 = _time_per_call(lambda: forward(one_416).numpy(), repeats * 2)
    return {
        "policy": policy,
        "batch_size": batch_size,
        "train_shape": [batch_size, size, size, 3],
        "maxmin_train_images_per_s": batch_size / maxmin_step,
        "plain_train_images_per_s": batch_size / plain_step,
        "train_cost_in_backbone_steps": maxmin_step / plain_step,
        "infer_images_per_s_416": 1.0 / infer_416,
        "infer_images_per_s_775x522": 1.0 / infer_775,
        "plain_forward_images_per_s_416": 1.0 / forward_416,
        "infer_cost_in_backbone_forwards": infer_416 / forward_416,
    }


def main(argv):
    del argv
    repeats = 3 if _QUICK.value else 8
    results = {}
    for precision in _PRECISION.value:
        results[precision] = measure(precision, _BATCH.value, _SIZE.value, repeats)
        row = results[precision]
        print(
            f"{precision:>9} ({row['policy']}): Max-Min train {row['maxmin_train_images_per_s']:.2f} img/s, "
            f"plain train {row['plain_train_images_per_s']:.2f} img/s "
            f"(ratio {row['train_cost_in_backbone_steps']:.2f}); inference 416x416 "
            f"{row['infer_images_per_s_416']:.2f} img/s, 775x522 {row['infer_images_per_s_775x522']:.2f} img/s, "
            f"plain forward 416 {row['plain_forward_images_per_s_416']:.2f} img/s "
            f"(ratio {row['infer_cost_in_backbone_forwards']:.2f})"
        )
    with open(_OUTPUT.value, "w") as handle:
        json.dump(results, handle, indent=2)
    print(f"Wrote {_OUTPUT.value}")


if __name__ == "__main__":
    app.run(main)
