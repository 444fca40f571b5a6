"""The command line end to end, in subprocesses, on tiny synthetic data."""

import json
import os

import pytest

from tests.conftest import TINY_RUN as TINY
from tests.conftest import run_module


def _run(*arguments):
    return run_module(list(arguments))


def test_training_writes_checkpoints_history_metrics_and_pictures(trained_workdir):
    workdir, result = trained_workdir
    for split in ("train", "valid", "test"):
        with open(os.path.join(workdir, "metrics", f"{split}.json")) as handle:
            metrics = json.load(handle)
        assert {"classification_error", "f1_foreground", "f1_background", "num_images"} <= set(metrics)
        assert metrics["num_images"] == (8 if split == "train" else 4)
        assert metrics["all_ones_mask"]["f1_background"] == 0.0
        assert len(os.listdir(os.path.join(workdir, "overlays", split))) == 2
    for name in ("best.keras", "last.keras", "best.keras.json"):
        assert os.path.isfile(os.path.join(workdir, "checkpoints", name))
    with open(os.path.join(workdir, "history.csv")) as handle:
        header, *rows = handle.read().splitlines()
    assert "epoch" in header and "val_accuracy" in header and "size" in header and len(rows) == 2
    assert "F1+" in result.stdout and "all-ones mask" in result.stdout
    assert os.listdir(os.path.join(workdir, "tensorboard"))


def test_evaluate_mode_scores_one_split_without_training(trained_workdir):
    workdir, _ = trained_workdir
    os.remove(os.path.join(workdir, "metrics", "valid.json"))
    result = _run(*TINY, f"--workdir={workdir}", "--mode=evaluate", "--split=valid")
    assert result.returncode == 0, result.stderr[-3000:]
    assert os.path.isfile(os.path.join(workdir, "metrics", "valid.json"))
    assert "Epoch" not in result.stdout


def test_evaluate_without_a_checkpoint_says_so(tmp_path):
    result = _run(*TINY, f"--workdir={tmp_path}", "--mode=evaluate")
    assert result.returncode != 0
    assert "no checkpoint" in result.stderr


@pytest.mark.parametrize(
    "flag, message",
    [
        ("--config.method.background=kl", "--config.method.background must be one of"),
        ("--config.epochs=0", "--config.epochs must be >= 1"),
        ("--config.precision=int8", "--config.precision must be"),
    ],
)
def test_bad_flags_fail_early_naming_the_flag(tmp_path, flag, message):
    result = _run(*TINY, f"--workdir={tmp_path}", flag)
    assert result.returncode != 0
    assert message in result.stderr
    assert not os.path.exists(os.path.join(tmp_path, "checkpoints"))


def test_missing_glas_root_names_the_flag(tmp_path):
    result = _run("--config=configs/glas.py", f"--workdir={tmp_path}", f"--config.data.root={tmp_path}/nowhere")
    assert result.returncode == 2
    assert "--config.data.root" in result.stderr and "nowhere" in result.stderr
