r"""Writes a split of any dataset config to sharded TFRecord files.

    python -m mmu_tf.data.make_shards --config=configs/glas.py --split=train --output=shards/glas
    python train_main.py --config=configs/glas.py --config.data.shards=shards/glas --workdir=runs/glas_shards

Reads one image at a time (GlaS, CSV datasets; generated data is made in
memory first), so a split larger than memory converts. Writes
OUTPUT/<split>-NNNNN.tfrecord and OUTPUT/<split>.json. Run it once per split.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from mmu_tf.cli import run_main  # noqa: E402


def split_records(data_config, split):
    """`(records iterator, class names)` of a split, reading files one at a time where they exist."""
    from mmu_tf.data import glas
    from mmu_tf.data.datasets import list_samples, load_dataset_split
    from mmu_tf.data.shards import records_from_arrays, records_from_samples

    if data_config.name == "synthetic":
        loaded = load_dataset_split(data_config, split)
        return records_from_arrays(loaded.images, loaded.masks, loaded.labels, loaded.names), loaded.class_names
    samples = list_samples(data_config, split)
    class_names = glas.CLASS_NAMES if data_config.name == "glas" else data_config.class_names
    return records_from_samples(samples), class_names


def define_flags():
    """Defines this command's flags (at run time, so importing the module defines none)."""
    config_flags.DEFINE_config_file(
        "config",
        os.path.join(
            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "configs", "demo.py"
        ),
        "The dataset config (its data section names the dataset and its root).",
        lock_config=True,
    )
    flags.DEFINE_string("split", None, "The split to convert (train, valid, test, or a CSV split's name).")
    flags.DEFINE_string("output", None, "The shards' folder.")
    flags.DEFINE_integer("examples_per_shard", 1000, "Examples per TFRecord file.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.split or not flags.FLAGS.output:
        raise app.UsageError("--split and --output are required")
    if flags.FLAGS.examples_per_shard < 1:
        raise app.UsageError("--examples_per_shard must be >= 1")
    from mmu_tf.data.samples import DataError
    from mmu_tf.data.shards import write_shards

    output = flags.FLAGS.output
    if os.path.exists(output) and not os.path.isdir(output):
        raise app.UsageError(f"--output: {output} is a file, not a folder")
    data_config = flags.FLAGS.config.data
    if data_config.shards:
        raise app.UsageError("--config.data.shards is set: convert from the dataset's own files, not from shards")
    try:
        records, class_names = split_records(data_config, flags.FLAGS.split)
        metadata = write_shards(
            records, flags.FLAGS.output, flags.FLAGS.split, class_names, flags.FLAGS.examples_per_shard
        )
    except DataError as error:
        raise app.UsageError(str(error)) from error
    except OSError as error:
        raise app.UsageError(f"--output: cannot write the shards in {output} ({error.strerror or error})") from None
    print(
        f"Wrote {metadata['count']} examples ({metadata['examples_with_masks']} with masks) of split "
        f"{flags.FLAGS.split!r} in {len(metadata['shards'])} shards to {flags.FLAGS.output}"
    )


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
