"""The reproduction command: budget and run selection, the per-run flags, the tables and figures end to end."""

import json
import os

import numpy as np
import pytest

from mmu_tf import reproduce
from mmu_tf.configs import demo, glas
from mmu_tf.evaluation import figures
from tests.conftest import TEST_BACKBONE, run_module


def test_parse_budget_reads_epochs_and_size_and_names_the_flag_on_bad_input():
    assert reproduce.parse_budget("epochs=10,size=208") == {"epochs": 10, "size": 208}
    assert reproduce.parse_budget("") == {}
    for bad in ("epochs=0", "epoch=3", "size=big", "epochs"):
        with pytest.raises(ValueError, match="--budget"):
            reproduce.parse_budget(bad)


def test_select_runs_groups_and_lists():
    assert reproduce.select_runs("table1")[0] == "all_ones" and reproduce.select_runs("table1")[-1] == "unet"
    assert len(reproduce.select_runs("all")) == len(reproduce.RUNS) == 15
    assert reproduce.select_runs("ablation") == [name for name, _ in reproduce.ABLATION]
    assert reproduce.select_runs("pn, erase") == ["pn", "erase"]
    with pytest.raises(ValueError, match="--methods"):
        reproduce.select_runs("pn,nonsense")


def test_budget_size_keeps_the_crop_ratio_on_glas_and_fixes_the_size_elsewhere():
    assert reproduce.budget_overrides(glas.get_config(), {"epochs": 5, "size": 208}) == {
        "epochs": 5,
        "data.resize_short_side": 216,  # 208 * 432 / 416
        "data.crop_size": 208,
    }
    assert reproduce.budget_overrides(demo.get_config(), {"size": 96}) == {
        "data.resize_mode": "fixed",
        "data.image_size": (96, 96),
        "data.crop_size": 0,
    }


def test_run_arguments_pass_the_user_overrides_the_budget_and_the_method():
    arguments = reproduce.run_arguments(
        "configs/glas.py", "maxmin_fg", "valid", {"optimizer.learning_rate": 0.01}, {"epochs": 3}
    )
    assert arguments[0] == "--config=configs/glas.py"
    for expected in (
        "--config.optimizer.learning_rate=0.01",
        "--config.epochs=3",
        "--config.method.name=maxmin",
        "--config.method.background=none",
        "--config.method.size_constraint=false",
        "--config.data.eval_splits=('valid',)",
    ):
        assert expected in arguments


def test_figures_have_one_tile_per_method_and_one_row_per_image():
    counts = [[90, 10], [30, 70]]
    confusion = figures.confusion_matrices_figure([("A", counts), ("B", counts), ("C", counts)])
    assert confusion.dtype == np.uint8 and confusion.shape[1] == 3 * 220
    sizes = figures.sizes_figure([("A", [0.1, 0.5], [0.2, 0.4])])
    assert sizes.shape[1] == 220
    images = [np.full((50, 80, 3), 200, np.uint8)] * 2
    masks = [np.zeros((50, 80), bool)] * 2
    grid = figures.masks_figure(images, masks, [("A", [np.ones((50, 80), np.float32)] * 2)], ["x", "y"])
    assert grid.shape == (30 + 2 * 200, 2 * 200, 3)
    # The predicted contour (red) is drawn on the method's column, not on the ground truth's.
    red = (grid[..., 0] > 200) & (grid[..., 1] < 50)
    assert red[30:, 200:].any() and not red[30:, :200].any()


def test_reproduce_trains_scores_and_tabulates_then_skips_what_is_done(tmp_path):
    workdir = str(tmp_path / "reproduce")
    arguments = [
        f"--workdir={workdir}",
        "--methods=all_ones,cam_max",
        "--budget=epochs=1,size=64",
        "--config.data.num_images.train=8",
        "--config.data.num_images.valid=4",
        "--figure_images=2",
        "--timing_images=2",
        f"--config.model.backbone={TEST_BACKBONE}",
    ]
    result = run_module(arguments, module="mmu_tf.reproduce")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with open(os.path.join(workdir, "table1.md")) as handle:
        table = handle.read()
    assert "budget: epochs 1, size 64" in table
    rows = [line for line in table.splitlines() if line.startswith("| All-ones") or line.startswith("| CAM-Max")]
    assert len(rows) == 2 and "| 0.00 | 50.00 |" in rows[0]  # the all-ones mask: F1- 0, AUC chance
    # The paper scores no classifier for All-ones ("-"): our class-prior error is set apart; CAM-Max's is not.
    assert rows[0].split(" | ")[1].startswith("(") and not rows[1].split(" | ")[1].startswith("(")
    assert "not run" not in table
    for name in ("ablation.md", "cost.md", "confusion_matrices.png", "sizes.png", "masks.png"):
        assert os.path.isfile(os.path.join(workdir, name)), name
    assert os.path.isfile(os.path.join(workdir, "cam_max", "metrics", "valid.json"))
    assert not os.path.isfile(os.path.join(workdir, "cam_max", "metrics", "train.json"))  # only --split is scored
    # A baseline goes through train_main like Max-Min, without Max-Min's schedules.
    with open(os.path.join(workdir, "cam_max", "metrics", "valid.json")) as handle:
        assert json.load(handle)["num_images"] == 4
    with open(os.path.join(workdir, "cam_max", "history.csv")) as handle:
        assert "sigma" not in handle.readline()
    again = run_module(arguments, module="mmu_tf.reproduce")
    assert again.returncode == 0 and again.stdout.count("done already, skipped") == 2
    bad = run_module([f"--workdir={workdir}", "--methods=nonsense"], module="mmu_tf.reproduce")
    assert bad.returncode != 0 and "--methods" in bad.stderr
