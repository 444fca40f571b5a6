r"""Compares two training workdirs: every logged value, every metric, every overlay picture.

    python -m tools.compare_workdirs --first=runs/before --second=runs/after

Made to show that a change of code leaves a run's output unchanged: train the
same config with the same `--config.seed` on both versions of the code (with
`TF_DETERMINISTIC_OPS=1`), then compare. Prints one line per part:

- history: the largest absolute difference over every value of history.csv;
- metrics/<split>.json: the largest absolute difference over every number in
  the file (per-image entries included), keys present in one file only, and
  text values that differ;
- overlays: how many pictures are pixel-identical, the largest pixel
  difference, and how many are in one workdir only (or of other sizes).

A metrics file or picture that only one workdir holds counts as a difference.

Exits 0 when everything is identical, 1 when anything differs, 2 on a bad
workdir (one line naming it).
"""

import csv
import json
import os
import sys

import cv2
import numpy as np
from absl import app, flags


def define_flags():
    flags.DEFINE_string("first", None, "A workdir written by train_main.py.")
    flags.DEFINE_string("second", None, "Another workdir, to compare with --first.")
    flags.mark_flags_as_required(["first", "second"])


def flatten(value, prefix=""):
    """Yields `(path, leaf)` for every leaf of nested dicts and lists.

    Example:
    >>> list(flatten({"a": [1, {"b": 2}]}))
    [('a[0]', 1), ('a[1].b', 2)]
    """
    if isinstance(value, dict):
        for key, item in value.items():
            yield from flatten(item, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{index}]")
    else:
        yield prefix, value


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compare_history(first, second):
    """(epochs of each, largest |difference| over the values both logged, columns logged by one only)."""
    rows, columns = [], []
    for workdir in (first, second):
        with open(os.path.join(workdir, "history.csv")) as handle:
            reader = csv.DictReader(handle)
            rows.append(list(reader))
            columns.append(set(reader.fieldnames or ()))
    largest = 0.0
    for row_first, row_second in zip(*rows):
        for key in columns[0] & columns[1]:
            largest = max(largest, abs(float(row_first[key]) - float(row_second[key])))
    return len(rows[0]), len(rows[1]), largest, len(columns[0] ^ columns[1])


def compare_metrics(first_file, second_file):
    """{'numbers', 'largest', 'largest_at', 'only_in_one', 'text_differs'} for two metrics JSON files."""
    leaves = []
    for path in (first_file, second_file):
        with open(path) as handle:
            leaves.append(dict(flatten(json.load(handle))))
    first, second = leaves
    shared = first.keys() & second.keys()
    numeric = [key for key in shared if _is_number(first[key]) and _is_number(second[key])]
    numbers = {key: abs(first[key] - second[key]) for key in numeric}
    largest_at = max(numbers, key=numbers.get) if numbers else None
    return {
        "numbers": len(numbers),
        "largest": numbers[largest_at] if numbers else 0.0,
        "largest_at": largest_at,
        "only_in_one": sorted(first.keys() ^ second.keys()),
        "text_differs": sorted(key for key in shared if key not in numbers and first[key] != second[key]),
    }


def relative_files(folder):
    """The paths of every file under `folder`, relative to it (empty when it does not exist)."""
    return {
        os.path.relpath(os.path.join(parent, name), folder) for parent, _, names in os.walk(folder) for name in names
    }


def compare_overlays(first, second):
    """(pictures compared, pixel-identical, largest pixel difference, unmatched).

    Unmatched: pictures in one workdir only, unreadable, or of different sizes.
    """
    compared = identical = largest = unmatched = 0
    roots = [os.path.join(workdir, "overlays") for workdir in (first, second)]
    names = [relative_files(root) for root in roots]
    for name in sorted(names[0] | names[1]):
        images = [cv2.imread(os.path.join(root, name)) if name in found else None for root, found in zip(roots, names)]
        if images[0] is None or images[1] is None or images[0].shape != images[1].shape:
            unmatched += 1
            continue
        difference = int(np.abs(images[0].astype(np.int32) - images[1].astype(np.int32)).max())
        compared += 1
        identical += difference == 0
        largest = max(largest, difference)
    return compared, identical, largest, unmatched


def main(argv):
    del argv
    first, second = flags.FLAGS.first, flags.FLAGS.second
    for flag, workdir in (("--first", first), ("--second", second)):
        if not os.path.isfile(os.path.join(workdir, "history.csv")):
            print(f"error: {flag}={workdir} has no history.csv: not a train_main.py workdir", file=sys.stderr)
            return 2
    same = True
    epochs_first, epochs_second, largest, one_only = compare_history(first, second)
    same &= epochs_first == epochs_second and largest == 0 and one_only == 0
    print(
        f"history.csv: {epochs_first} vs {epochs_second} epochs, largest difference {largest:.3g}, "
        f"columns in one file only: {one_only}"
    )
    folders = [os.path.join(workdir, "metrics") for workdir in (first, second)]
    names = [relative_files(folder) for folder in folders]
    for name in sorted(names[0] | names[1]):
        if not (name in names[0] and name in names[1]):
            print(f"metrics/{name}: in one workdir only")
            same = False
            continue
        result = compare_metrics(*(os.path.join(folder, name) for folder in folders))
        same &= result["largest"] == 0 and not result["only_in_one"] and not result["text_differs"]
        print(
            f"metrics/{name}: {result['numbers']} numbers, largest difference {result['largest']:.3g}"
            + (f" (at {result['largest_at']})" if result["largest"] else "")
            + f", keys in one file only: {len(result['only_in_one'])}"
            + f", text values differing: {len(result['text_differs'])}"
        )
    compared, identical, largest, unmatched = compare_overlays(first, second)
    same &= identical == compared and unmatched == 0
    print(
        f"overlays: {compared} pictures compared, {identical} pixel-identical, "
        f"largest pixel difference {largest}, in one workdir only or unmatched {unmatched}"
    )
    print("identical" if same else "different")
    return 0 if same else 1


if __name__ == "__main__":
    define_flags()
    app.run(main)
