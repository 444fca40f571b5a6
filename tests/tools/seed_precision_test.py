"""tools.seed_precision: the pooled precisions by hand, and several teachers on a tiny trained workdir."""

import doctest
import json
import os
import shutil

import numpy as np
import pytest

import tools.seed_precision
from tests.conftest import run_module
from tools.seed_precision import grid_scores, parse_fractions


def test_docstring_examples_run():
    # tools/ is outside the doctest paths of pytest.ini (it holds scripts, not library code).
    assert doctest.testmod(tools.seed_precision) == (0, 4)  # (failed, attempted)


def test_pooled_precisions_and_the_border_margin_by_hand():
    teacher = [np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.4], [0.3, 0.2, 0.1]])]
    truth = [np.array([[1.0, 0.0, 1.0], [1.0, 0.5, 1.0], [0.0, 0.0, 0.25]])]
    # Shares 1/3 and 1/3 of 9 cells: foreground the three highest (0.9, 0.8, 0.7), truth 1, 0, 1;
    # background the three lowest (0.3, 0.2, 0.1), truth 0, 0, 0.25 -> background 1, 1, 0.75.
    assert grid_scores(teacher, truth, [(1 / 3, 1 / 3)])[(1 / 3, 1 / 3)] == pytest.approx((2 / 3, 11 / 12, 6.0))
    # 4x4, shares 1/4: foreground 0.99, 0.98 (border), 0.95, 0.9; background 0.01, 0.03 (border),
    # 0.02, 0.05. A margin of one cell keeps the centre's four: truth 1 and 0.5 under the
    # foreground seeds, 0 and 0.25 under the background ones (background precision 1, 0.75).
    teacher = [
        np.array([[0.99, 0.5, 0.6, 0.98], [0.4, 0.95, 0.05, 0.3], [0.2, 0.9, 0.02, 0.7], [0.01, 0.8, 0.03, 0.1]])
    ]
    truth = [np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.5, 0.25, 0.0], [1.0, 1.0, 1.0, 1.0]])]
    assert grid_scores(teacher, truth, [(0.25, 0.25)], border_margin=1)[(0.25, 0.25)] == pytest.approx(
        (0.75, 0.875, 4.0)
    )


def test_fractions_outside_zero_one_are_refused_in_one_line():
    assert parse_fractions(["0.2:0.3"]) == [(0.2, 0.3)]
    for bad in ("0.6:0.5", "0.2", "a:b", "0:0.3"):
        with pytest.raises(ValueError, match="--fractions"):
            parse_fractions([bad])


def _table(workdirs, output):
    arguments = [
        f"--workdir={','.join(workdirs)}",
        "--split=valid",
        "--fractions=0.2:0.3,0.1:0.1",
        f"--output={output}",
    ]
    finished = run_module(arguments, module="tools.seed_precision")
    assert finished.returncode == 0, finished.stderr[-3000:]
    with open(output) as handle:
        return json.load(handle)


def test_a_teacher_twice_seeds_as_the_teacher_alone(trained_workdir, tmp_path):
    workdir, _ = trained_workdir
    alone = _table([workdir], tmp_path / "alone.json")
    twice = _table([workdir, workdir], tmp_path / "twice.json")
    # Two equal masks average to the mask's own ranks: the same cells seed.
    assert alone["rules"] == twice["rules"]
    assert twice["workdir"] == f"{workdir},{workdir}"
    for rule in alone["rules"]:
        assert 0.0 <= rule["foreground_precision"] <= 100.0 and 0.0 <= rule["background_precision"] <= 100.0


def test_teachers_of_other_images_are_refused_in_one_line(trained_workdir, tmp_path):
    workdir, _ = trained_workdir
    other = str(tmp_path / "other")
    shutil.copytree(workdir, other, ignore=shutil.ignore_patterns("tensorboard", "overlays", "backup"))
    with open(os.path.join(other, "config.json")) as handle:
        config = json.load(handle)
    config["data"]["resize_short_side"] += 32
    with open(os.path.join(other, "config.json"), "w") as handle:
        json.dump(config, handle)
    finished = run_module([f"--workdir={workdir},{other}", "--split=valid"], module="tools.seed_precision")
    assert finished.returncode != 0
    last_line = finished.stderr.strip().splitlines()[-1]
    assert "resize_short_side" in last_line and other in last_line
