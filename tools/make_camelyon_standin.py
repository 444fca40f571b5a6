r"""Writes a generated stand-in for Camelyon16-P512: the real patches' folder and CSV conventions.

    python -m tools.make_camelyon_standin --output=data/camelyon_standin --patches=64 --size=512

OUTPUT/images/<split>_NNNN.png patches, OUTPUT/masks/<split>_NNNN.png for the
tumor patches only, and OUTPUT/{train,valid,test}.csv with a header
`image,mask,label` and rows `images/x.png,masks/x.png,tumor` or
`images/y.png,,normal`. The pictures are the embedded synthetic histology
(tumor: the malignant-looking class with its gland mask; normal: the benign
one, whose truth is all background by the Camelyon16 rule), not real lymph node.
"""

import csv
import os

from absl import app, flags


def write_standin(folder, patches_per_split, size, seed=0, splits=("train", "valid", "test")):
    """Writes the stand-in dataset; returns the CSV paths."""
    import cv2
    import numpy as np

    from mmu_tf.data.synthetic import render_example

    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    os.makedirs(os.path.join(folder, "masks"), exist_ok=True)
    paths = []
    for split_index, split in enumerate(splits):
        rows = [("image", "mask", "label")]
        for index in range(patches_per_split):
            tumor = index % 2 == 1
            image, mask = render_example(np.random.default_rng([seed, split_index, index]), int(tumor), size)
            name = f"{split}_{index:04d}.png"
            cv2.imwrite(os.path.join(folder, "images", name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
            mask_path = ""
            if tumor:
                mask_path = f"masks/{name}"
                cv2.imwrite(os.path.join(folder, mask_path), mask.astype(np.uint8) * 255)
            rows.append((f"images/{name}", mask_path, "tumor" if tumor else "normal"))
        path = os.path.join(folder, f"{split}.csv")
        with open(path, "w", newline="") as handle:
            csv.writer(handle).writerows(rows)
        paths.append(path)
    return paths


def define_flags():
    """Defines this command's flags (at run time, so importing the module defines none)."""
    flags.DEFINE_string("output", None, "The dataset folder to write.")
    flags.DEFINE_integer("patches", 64, "Patches per split (half tumor, half normal).")
    flags.DEFINE_integer("size", 512, "Patch side in pixels.")
    flags.DEFINE_integer("seed", 0, "Random seed.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.output:
        raise app.UsageError("--output is required")
    if flags.FLAGS.patches < 2 or flags.FLAGS.size < 32:
        raise app.UsageError("--patches must be >= 2 and --size >= 32")
    for path in write_standin(flags.FLAGS.output, flags.FLAGS.patches, flags.FLAGS.size, flags.FLAGS.seed):
        print(f"Wrote {path}")


if __name__ == "__main__":
    define_flags()
    app.run(main)
