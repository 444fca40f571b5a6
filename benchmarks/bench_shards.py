r"""Streams a large generated sharded split through the training pipeline: throughput and memory.

    python -m benchmarks.bench_shards --shards=runs/shards_20k --examples=20000 --output=runs/shards_20k.json

Writes (once) `--examples` Camelyon16-like 512x512 patches (JPEG, as patch
datasets usually store them; `--unique` distinct pictures cycled, since the
content does not change the cost), then streams one epoch through the
Camelyon16-P512 training pipeline (random 416 crop, quarter turns, flips,
colour jitter, batches of 8) and records the resident memory as it goes:
flat memory means nothing accumulates per example.
"""

import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from mmu_tf.bench import _process_status_mb  # noqa: E402


def _rss_mb():
    resident = _process_status_mb("VmRSS")
    return float("nan") if resident is None else resident


def generated_records(count, unique, size, seed=0):
    """`(serialised example, has mask)` of `count` patches cycling through `unique` rendered ones."""
    import cv2
    import numpy as np

    from mmu_tf.data.shards import serialize_example
    from mmu_tf.data.synthetic import render_example

    rendered = []
    for index in range(unique):
        tumor = index % 2
        image, mask = render_example(np.random.default_rng([seed, index]), tumor, size)
        image_bytes = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])[1]
        mask_bytes = cv2.imencode(".png", mask.astype(np.uint8) * 255)[1].tobytes() if tumor else b""
        rendered.append((image_bytes.tobytes(), mask_bytes, tumor))
    for index in range(count):
        image_bytes, mask_bytes, tumor = rendered[index % unique]
        yield serialize_example(image_bytes, mask_bytes, tumor, f"patch_{index:06d}", size, size), bool(mask_bytes)


def define_flags():
    """Defines this command's flags (at run time, so importing the module defines none)."""
    flags.DEFINE_string("shards", "runs/shards_bench", "Folder of the generated shards (written when absent).")
    flags.DEFINE_integer("examples", 20000, "Patches in the generated split.")
    flags.DEFINE_integer("unique", 64, "Distinct rendered patches.")
    flags.DEFINE_integer("size", 512, "Patch side.")
    flags.DEFINE_integer("batch_size", 8, "Training batch size.")
    flags.DEFINE_string("output", "", "Optional JSON file for the figures.")


def main(argv):
    del argv
    from mmu_tf.configs import camelyon16_p512
    from mmu_tf.data.pipeline import training_dataset
    from mmu_tf.data.shards import ShardedSplit, write_shards

    options = flags.FLAGS
    if options.examples < 1 or options.unique < 1 or options.size < 32 or options.batch_size < 1:
        raise app.UsageError("--examples, --unique and --batch_size must be >= 1 and --size >= 32")
    if not os.path.isfile(os.path.join(options.shards, "train.json")):
        start = time.perf_counter()
        write_shards(
            generated_records(options.examples, options.unique, options.size),
            options.shards,
            "train",
            ["normal", "tumor"],
            examples_per_shard=1000,
        )
        print(f"Wrote {options.examples} examples in {time.perf_counter() - start:.0f} s")
    config = camelyon16_p512.get_config()
    split = ShardedSplit(options.shards, "train", "background")
    dataset = training_dataset(split, config.data, options.batch_size, seed=0, epochs=1)
    samples, seen = [], 0
    checkpoints = {int(len(split) * fraction) for fraction in (0.01, 0.1, 0.25, 0.5, 0.75, 1.0)}
    start = time.perf_counter()
    for images, _ in dataset:
        before = seen
        seen += int(images.shape[0])
        if any(before < mark <= seen for mark in checkpoints):
            samples.append(
                {"examples": seen, "seconds": round(time.perf_counter() - start, 1), "rss_mb": round(_rss_mb())}
            )
            print(samples[-1], flush=True)
    seconds = time.perf_counter() - start
    result = {
        "examples": seen,
        "seconds": round(seconds, 1),
        "examples_per_s": round(seen / seconds, 1),
        "rss_mb_samples": samples,
        "shards_mb": round(sum(os.path.getsize(path) for path in split.files) / 2**20),
    }
    print(json.dumps(result, indent=2))
    if options.output:
        with open(options.output, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    define_flags()
    app.run(main)
