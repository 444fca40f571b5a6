"""tools.compare_workdirs on two hand-written workdirs: identical, then one value and one pixel changed."""

import doctest
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np

import tools.compare_workdirs
from tools.compare_workdirs import compare_history, compare_metrics, compare_overlays, flatten

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write_workdir(folder):
    os.makedirs(os.path.join(folder, "metrics"))
    os.makedirs(os.path.join(folder, "overlays", "valid"))
    with open(os.path.join(folder, "history.csv"), "w") as handle:
        handle.write("epoch,loss,val_loss\n0,1.5,1.25\n1,0.75,0.5\n")
    metrics = {"split": "valid", "f1_foreground": 60.0, "per_image": [{"name": "a", "foreground_auc": 70.0}]}
    with open(os.path.join(folder, "metrics", "valid.json"), "w") as handle:
        json.dump(metrics, handle)
    cv2.imwrite(os.path.join(folder, "overlays", "valid", "a.png"), np.full((4, 4, 3), 100, np.uint8))


def _run(first, second):
    command = [sys.executable, "-m", "tools.compare_workdirs", f"--first={first}", f"--second={second}"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_docstring_examples_run():
    # tools/ is outside the doctest paths of pytest.ini (it holds scripts, not library code).
    assert doctest.testmod(tools.compare_workdirs) == (0, 1)  # (failed, attempted)


def test_flatten_names_every_leaf():
    assert list(flatten({"a": [1, {"b": 2}], "c": "x"})) == [("a[0]", 1), ("a[1].b", 2), ("c", "x")]


def test_identical_workdirs_compare_identical(tmp_path):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    _write_workdir(first)
    shutil.copytree(first, second)
    assert compare_history(first, second) == (2, 2, 0.0, 0)
    result = compare_metrics(*(os.path.join(folder, "metrics", "valid.json") for folder in (first, second)))
    assert (result["numbers"], result["largest"], result["only_in_one"], result["text_differs"]) == (2, 0.0, [], [])
    assert compare_overlays(first, second) == (1, 1, 0, 0)
    finished = _run(first, second)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip().splitlines()[-1] == "identical"


def test_one_changed_value_and_pixel_are_found(tmp_path):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    _write_workdir(first)
    shutil.copytree(first, second)
    with open(os.path.join(second, "history.csv"), "w") as handle:
        handle.write("epoch,loss,val_loss,lr\n0,1.5,1.25,0.1\n1,0.75,0.625,0.1\n")
    metrics = {"split": "test", "f1_foreground": 60.0, "per_image": [{"name": "a", "foreground_auc": 72.5}]}
    with open(os.path.join(second, "metrics", "valid.json"), "w") as handle:
        json.dump(metrics, handle)
    picture = np.full((4, 4, 3), 100, np.uint8)
    picture[1, 2] = 103
    cv2.imwrite(os.path.join(second, "overlays", "valid", "a.png"), picture)

    assert compare_history(first, second) == (2, 2, 0.125, 1)
    result = compare_metrics(*(os.path.join(folder, "metrics", "valid.json") for folder in (first, second)))
    assert (result["largest"], result["largest_at"]) == (2.5, "per_image[0].foreground_auc")
    assert result["text_differs"] == ["split"]
    assert compare_overlays(first, second) == (1, 0, 3, 0)
    finished = _run(first, second)
    assert finished.returncode == 1
    assert finished.stdout.strip().splitlines()[-1] == "different"


def test_files_that_only_the_second_workdir_holds_are_differences(tmp_path):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    _write_workdir(first)
    shutil.copytree(first, second)
    cv2.imwrite(os.path.join(second, "overlays", "valid", "b.png"), np.zeros((4, 4, 3), np.uint8))
    shutil.copy(os.path.join(second, "metrics", "valid.json"), os.path.join(second, "metrics", "test.json"))
    assert compare_overlays(first, second) == (1, 1, 0, 1)
    finished = _run(first, second)
    assert finished.returncode == 1
    assert "metrics/test.json: in one workdir only" in finished.stdout
    assert finished.stdout.strip().splitlines()[-1] == "different"


def test_a_folder_that_is_not_a_workdir_is_one_line(tmp_path):
    first = str(tmp_path / "first")
    _write_workdir(first)
    finished = _run(first, str(tmp_path))
    assert finished.returncode == 2
    assert finished.stderr.strip() == f"error: --second={tmp_path} has no history.csv: not a train_main.py workdir"
