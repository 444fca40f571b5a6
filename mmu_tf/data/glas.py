"""GlaS (Warwick QU, released 2016-07-08) as the official zip unpacks.

Layout under the data root (see ../shared/data/glas/README.md):

    Warwick QU Dataset (Released 2016_07_08)/   train_*.bmp, train_*_anno.bmp,
                                                testA_*, testB_*, Grade.csv
    splits/train.csv, valid.csv, test.csv       the paper's split

Split files are `image,mask,label` rows (no header, CRLF), labels
`benign` (0) / `malignant` (1); masks hold one id per gland instance and the
foreground is `id != 0`. When the root has no `splits/` folder (a plain
download of the release), the paper's split files shipped with this package
are used.
"""

import os

from mmu_tf.data.csv_dataset import read_csv_split
from mmu_tf.data.samples import DataError

CLASS_NAMES = ("benign", "malignant")
IMAGE_FOLDER = "Warwick QU Dataset (Released 2016_07_08)"
PACKAGED_SPLITS = os.path.join(os.path.dirname(__file__), "glas_splits")


def glas_image_folder(root):
    """The folder holding the BMPs: `root/IMAGE_FOLDER`, or `root` itself."""
    nested = os.path.join(root, IMAGE_FOLDER)
    if os.path.isdir(nested):
        return nested
    if os.path.isdir(root) and any(name.endswith("_anno.bmp") for name in os.listdir(root)):
        return root
    raise DataError(
        f"`data.root`: no GlaS release found at {root!r}: expected the folder "
        f"{IMAGE_FOLDER!r} inside it, or the BMP files themselves"
    )


def glas_split_file(root, split):
    """The split file of `split`: `root/splits/<split>.csv`, else the packaged one."""
    for folder in (os.path.join(root, "splits"), PACKAGED_SPLITS):
        path = os.path.join(folder, f"{split}.csv")
        if os.path.isfile(path):
            return path
    raise DataError(f"no split file for split {split!r} in {os.path.join(root, 'splits')} or {PACKAGED_SPLITS}")


def read_glas_split(root, split, allow_outside_root=False):
    """Lists the `Sample`s of a GlaS split (`train`, `valid` or `test`)."""
    return read_csv_split(glas_split_file(root, split), glas_image_folder(root), CLASS_NAMES, allow_outside_root)
