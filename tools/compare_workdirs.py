r"""Compares two training workdirs: every logged value, every metric, every overlay picture.

    python -m tools.compare_workdirs --first=runs/before --second=runs/after

Made to show that a change of code leaves a run's output unchanged: train the
same config with the same `--config.seed` on both versions of the code (with
`TF_DETERMINISTIC_OPS=1`), then compare. Prints one line per part:

- history: the largest absolute difference over every value of history.csv;
- metrics/<split>.json: the largest absolute difference over every number in
  the file (per-image entries included), keys present in one file only, and
  text values that differ;
- overlays: how many pictures are pixel-identical, and the largest pixel
  difference.

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
    """(epochs of each, largest |difference| over the values both logged)."""
    rows = []
    for workdir in (first, second):
        with open(os.path.join(workdir, "history.csv")) as handle:
            rows.append(list(csv.DictReader(handle)))
    largest = 0.0
    for row_first, row_second in zip(*rows):
        for key in row_first.keys() & row_second.keys():
            largest = max(largest, abs(float(row_first[key]) - float(row_second[key])))
    return len(rows[0]), len(rows[1]), largest


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


def compare_overlays(first, second):
    """(pictures compared, pixel-identical, largest pixel difference, pictures missing from --second)."""
    compared = identical = largest = missing = 0
    first_root = os.path.join(first, "overlays")
    for folder, _, files in os.walk(first_root):
        for name in sorted(files):
            first_path = os.path.join(folder, name)
            second_path = os.path.join(second, "overlays", os.path.relpath(first_path, first_root))
            first_image = cv2.imread(first_path)
            if first_image is None:
                continue
            second_image = cv2.imread(second_path) if os.path.exists(second_path) else None
            if second_image is None or second_image.shape != first_image.shape:
                missing += 1
                continue
            difference = int(np.abs(first_image.astype(np.int32) - second_image.astype(np.int32)).max())
            compared += 1
            identical += difference == 0
            largest = max(largest, difference)
    return compared, identical, largest, missing


def main(argv):
    del argv
    first, second = flags.FLAGS.first, flags.FLAGS.second
    for flag, workdir in (("--first", first), ("--second", second)):
        if not os.path.isfile(os.path.join(workdir, "history.csv")):
            print(f"error: {flag}={workdir} has no history.csv: not a train_main.py workdir", file=sys.stderr)
            return 2
    same = True
    epochs_first, epochs_second, largest = compare_history(first, second)
    same &= epochs_first == epochs_second and largest == 0
    print(f"history.csv: {epochs_first} vs {epochs_second} epochs, largest difference {largest:.3g}")
    metrics_folder = os.path.join(first, "metrics")
    for name in sorted(os.listdir(metrics_folder)) if os.path.isdir(metrics_folder) else []:
        other = os.path.join(second, "metrics", name)
        if not os.path.exists(other):
            print(f"metrics/{name}: missing from --second")
            same = False
            continue
        result = compare_metrics(os.path.join(metrics_folder, name), other)
        same &= result["largest"] == 0 and not result["only_in_one"] and not result["text_differs"]
        print(
            f"metrics/{name}: {result['numbers']} numbers, largest difference {result['largest']:.3g}"
            + (f" (at {result['largest_at']})" if result["largest"] else "")
            + f", keys in one file only: {len(result['only_in_one'])}"
            + f", text values differing: {len(result['text_differs'])}"
        )
    compared, identical, largest, missing = compare_overlays(first, second)
    same &= identical == compared and missing == 0
    print(
        f"overlays: {compared} pictures compared, {identical} pixel-identical, "
        f"largest pixel difference {largest}, missing {missing}"
    )
    print("identical" if same else "different")
    return 0 if same else 1


if __name__ == "__main__":
    define_flags()
    app.run(main)
