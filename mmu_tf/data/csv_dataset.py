"""A dataset described by CSV split files: `image,mask_or_empty,label` rows.

This is how users bring their own data. Paths are relative to an image
root; the mask column may be empty (classification only, no pixel metrics);
the label is a class name from `class_names` or an integer class id. An
optional header row `image,mask,label` is skipped. CRLF line ends and
spaces around values are accepted (GlaS's own split files have both).
"""

import csv
import os

from mmu_tf.data.samples import DataError, MissingFilesError, Sample


class MissingSplitFileError(MissingFilesError):
    """The split file itself is absent (an optional split, such as `test`, may be)."""

    def __init__(self, path):
        DataError.__init__(self, f"split file not found: {path}")
        self.split, self.missing = os.path.splitext(os.path.basename(path))[0], [path]


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


def resolve_inside(root, relative_path, where, allow_outside_root=False):
    """`root/relative_path`, refused (naming `where`) when it resolves outside `root`.

    `..` components and symbolic links are resolved first, so neither
    `../../etc/passwd`, an absolute path, nor a link pointing out of the
    root reaches a file the data root does not hold.
    """
    path = os.path.join(root, relative_path)
    if allow_outside_root:
        return path
    real_root = os.path.realpath(root)
    real_path = os.path.realpath(path)
    if os.path.commonpath([real_root, real_path]) != real_root:
        raise DataError(
            f"{where}: {relative_path!r} lies outside the data root {root} (after resolving '..' and links); "
            "set --config.data.allow_outside_root=true to read it anyway"
        )
    return path


def sample_name(relative_path):
    """A sample's name: its path under the root without the extension, folders joined by '__'.

    Unique within a split, so two `a.png` in different folders get two overlays.
    """
    stem = os.path.splitext(os.path.normpath(relative_path))[0]
    return "__".join(part for part in stem.replace("\\", "/").split("/") if part not in ("", ".", ".."))


def read_csv_split(csv_path, image_root, class_names, allow_outside_root=False):
    """Lists the `Sample`s of one CSV split file.

    Args:
        csv_path: the split file.
        image_root: the folder the image and mask paths are relative to.
        class_names: the class names; a row's label is one of them (case
            insensitive) or its index.
        allow_outside_root: accept paths that resolve outside `image_root`
            (refused by default: see `resolve_inside`).

    Raises:
        DataError: the file is missing, a row is malformed, has an unknown
            label or a path outside the root, naming the file and line.
    """
    if not os.path.isfile(csv_path):
        raise MissingSplitFileError(csv_path)
    try:
        return _read_rows(csv_path, image_root, class_names, allow_outside_root)
    except UnicodeDecodeError as error:
        raise DataError(
            f"{csv_path}: not UTF-8 text ({error.reason} at byte {error.start}); save it as UTF-8"
        ) from None
    except csv.Error as error:
        raise DataError(f"{csv_path}: not a readable CSV file ({error})") from None


def _read_rows(csv_path, image_root, class_names, allow_outside_root):
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
                    name=sample_name(image),
                    image_path=resolve_inside(image_root, image, where, allow_outside_root),
                    mask_path=resolve_inside(image_root, mask, where, allow_outside_root) if mask else None,
                    label=parse_label(label, class_names, where),
                )
            )
    return samples
