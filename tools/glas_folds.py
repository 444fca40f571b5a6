r"""Writes a k-fold partition of GlaS train + valid (85 images) as split files, stratified by class.

    python -m tools.glas_folds --folds=3 --seed=0 --output=mmu_tf/data/glas_splits

18 validation images cannot separate methods a few points apart; the folds let a
config be scored on every one of the 85 images with labels here, each held out
once (`--config.data.train_split=fold0_train --config.data.valid_split=fold0_valid`).
Writes `fold<i>_train.csv` and `fold<i>_valid.csv` in the paper's split format
(image, mask, class); the test images are never included.
"""

import csv
import os
import sys

import numpy as np
from absl import app, flags

from mmu_tf.data.glas import PACKAGED_SPLITS


def define_flags():
    flags.DEFINE_integer("folds", 3, "Number of folds.")
    flags.DEFINE_integer("seed", 0, "Seed of the shuffle within each class.")
    flags.DEFINE_string("output", PACKAGED_SPLITS, "Folder for the fold split files.")


def fold_rows(rows, folds, seed):
    """`[(train rows, valid rows)]` per fold: each class shuffled by `seed`, dealt round-robin to the folds.

    Example:
    >>> rows = [(f"{index}.bmp", f"{index}_anno.bmp", "ab"[index % 2]) for index in range(6)]
    >>> [len(valid) for _, valid in fold_rows(rows, 3, seed=0)]
    [2, 2, 2]
    """
    if folds < 2:
        raise ValueError(f"--folds must be >= 2. Received: {folds}")
    rng = np.random.default_rng(seed)
    assignment = {}
    position = 0
    for label in sorted({row[2] for row in rows}):
        members = sorted(row for row in rows if row[2] == label)
        for index in rng.permutation(len(members)):
            assignment[members[index]] = position % folds
            position += 1
    return [
        ([row for row in rows if assignment[row] != fold], [row for row in rows if assignment[row] == fold])
        for fold in range(folds)
    ]


def main(argv):
    del argv
    rows = []
    for split in ("train", "valid"):
        with open(os.path.join(PACKAGED_SPLITS, f"{split}.csv"), newline="") as handle:
            rows += [tuple(row) for row in csv.reader(handle) if row]
    os.makedirs(flags.FLAGS.output, exist_ok=True)
    for fold, parts in enumerate(fold_rows(rows, flags.FLAGS.folds, flags.FLAGS.seed)):
        for part, part_rows in zip(("train", "valid"), parts):
            path = os.path.join(flags.FLAGS.output, f"fold{fold}_{part}.csv")
            with open(path, "w", newline="") as handle:
                csv.writer(handle, lineterminator="\n").writerows(sorted(part_rows))
            print(f"{path}: {len(part_rows)} images")
    return 0


if __name__ == "__main__":
    define_flags()
    sys.exit(app.run(main))
