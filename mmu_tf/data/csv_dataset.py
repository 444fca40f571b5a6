"""A dataset described by CSV split files: `image,mask_or_empty,label` rows.

This is how users bring their own data. Paths are relative to an image
root; the mask column may be empty (classification only, no pixel metrics);
the label is a class name from `class_names` or an integer class id. An
optional header row `image,mask,label` is skipped. CRLF line ends and
spaces around values are accepted (GlaS's own split files have both).
"""

import csv
import os

from mmu_tf.data.samples import DataError, Sample


def parse_label(value, class_names, where):
    """A class id from a name in `class_names` or an integer id; `where` names the row."""
    value = value.strip()
    lowered = [name.lower() for name in class_names]
    if value.lower() in lowered:
        return lowered.index(value.lower())
    if value.lstrip("-").isdigit() and 0 <= int(value) < len(class_names):
        return int(value)
    raise DataError(
        f"{where}: unknown label {value!r}; expected one of {list(class_names)} or 0..{len(class_names) - 1}"
    )


def read_csv_split(csv_path, image_root, class_names):
    """Lists the `Sample`s of one CSV split file.

    Args:
        csv_path: the split file.
        image_root: the folder the image and mask paths are relative to.
        class_names: the class names; a row's label is one of them (case
            insensitive) or its index.

    Raises:
        DataError: the file is missing, a row is malformed or has an
            unknown label, naming the file and line.
    """
    if not os.path.isfile(csv_path):
        raise DataError(f"split file not found: {csv_path}")
    samples = []
    with open(csv_path, newline="", encoding="utf-8-sig") as handle:
        for line_number, row in enumerate(csv.reader(handle), start=1):
            row = [value.strip() for value in row]
            if not any(row):
                continue
            where = f"{csv_path}, line {line_number}"
            if line_number == 1 and len(row) >= 3 and row[2].lower() == "label":
                continue
            if len(row) != 3 or not row[0]:
                raise DataError(f"{where}: expected 3 values 'image,mask_or_empty,label', got {row}")
            image, mask, label = row
            samples.append(
                Sample(
                    name=os.path.splitext(os.path.basename(image))[0],
                    image_path=os.path.join(image_root, image),
                    mask_path=os.path.join(image_root, mask) if mask else None,
                    label=parse_label(label, class_names, where),
                )
            )
    return samples
