"""Loading a split named in the config: synthetic, GlaS, or a CSV dataset."""

import os

from mmu_tf.data import glas, synthetic
from mmu_tf.data.csv_dataset import read_csv_split
from mmu_tf.data.samples import DataError, load_split
from mmu_tf.data.shards import ShardedSplit

DATASETS = ("synthetic", "glas", "csv")
# What a listed image without a mask file means: no pixel truth, or all background (Camelyon16).
MISSING_MASKS = ("none", "background")


def list_samples(data_config, split):
    """The `Sample`s of a file-backed split (GlaS or CSV)."""
    outside = bool(data_config.allow_outside_root)
    if data_config.name == "glas":
        return read_glas_split_checked(data_config.root, split, outside)
    if data_config.name == "csv":
        if not data_config.root:
            raise DataError("`--config.data.root` must name the folder holding <split>.csv for data.name=csv")
        return read_csv_split(
            os.path.join(data_config.root, f"{split}.csv"), data_config.root, data_config.class_names, outside
        )
    raise DataError(f"`--config.data.name` must be one of {DATASETS}. Received: {data_config.name!r}")


def read_glas_split_checked(root, split, allow_outside_root=False):
    if not root or not os.path.isdir(root):
        raise DataError(f"`--config.data.root`: GlaS folder not found: {root!r}")
    return glas.read_glas_split(root, split, allow_outside_root)


def load_dataset_split(data_config, split, seed=0):
    """A `LoadedSplit` for `split`, every file read and checked; a `ShardedSplit` with `data.shards`.

    Raises `DataError` (or its `MissingFilesError`) naming the file and problem.
    """
    missing_mask = data_config.missing_mask
    if missing_mask not in MISSING_MASKS:
        raise DataError(f"`--config.data.missing_mask` must be one of {MISSING_MASKS}. Received: {missing_mask!r}")
    if data_config.shards:
        return ShardedSplit(data_config.shards, split, missing_mask)
    if data_config.name == "synthetic":
        count = data_config.num_images.get(split)
        if count is None:
            raise DataError(f"synthetic data has no split {split!r}; it has {sorted(data_config.num_images)}")
        return synthetic.make_synthetic_split(split, count, data_config.synthetic_size, seed)
    class_names = glas.CLASS_NAMES if data_config.name == "glas" else data_config.class_names
    return load_split(
        split,
        list_samples(data_config, split),
        class_names,
        missing_mask=missing_mask,
        max_pixels=data_config.max_image_pixels,
    )
