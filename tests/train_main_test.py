"""The command line end to end, in subprocesses, on tiny synthetic data."""

import json
import os

import numpy as np
import pytest

from tests.conftest import TINY_RUN as TINY
from tests.conftest import TRAINED_WORKDIR_RUN, run_module


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


def test_evaluate_mode_scores_one_split_of_the_workdirs_own_data_without_training(trained_workdir):
    workdir, _ = trained_workdir
    os.remove(os.path.join(workdir, "metrics", "valid.json"))
    # No training flags: the workdir's config.json says what its data were (TINY's 4 valid images,
    # not the demo config's 40).
    result = _run(f"--workdir={workdir}", "--mode=evaluate", "--split=valid")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(workdir, "metrics", "valid.json")) as handle:
        assert json.load(handle)["num_images"] == 4
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
        ("--config.jit_compile=yes", "--config.jit_compile must be one of ('auto', 'on', 'off')"),
        ("--config.distribution=tpu", "--config.distribution must be one of"),
        ("--config.cpu_devices=0", "--config.cpu_devices must be >= 1"),
        (
            "--config.method.backgrond=sem",
            '--config.method.backgrond: no such config field (Did you mean "background" instead of "backgrond"?)',
        ),
        ("--config.epochs=abc", "flag --config.epochs=abc: invalid literal"),
        ("--config.method.sigma=0.5", "--config.method.sigma=0.5 is above --config.method.sigma_max=0.2"),
        ("--config.optimizer.learning_rate=-1", "--config.optimizer.learning_rate must be > 0.0 (got -1.0)"),
        ("--config.data.crop_size=-5", "--config.data.crop_size must be >= 0 (got -5)"),
        ("--config.eval.batch_size=0", "--config.eval.batch_size must be >= 1 (got 0)"),
        ("--config.method.name=refine", "--config.method.teacher must name a trained workdir"),
    ],
)
def test_bad_flags_fail_early_naming_the_flag(tmp_path, flag, message):
    result = _run(*TINY, f"--workdir={tmp_path}", flag)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert not os.path.exists(os.path.join(tmp_path, "checkpoints"))


def test_missing_glas_root_names_the_flag(tmp_path):
    result = _run("--config=configs/glas.py", f"--workdir={tmp_path}", f"--config.data.root={tmp_path}/nowhere")
    assert result.returncode == 2
    assert "--config.data.root" in result.stderr and "nowhere" in result.stderr


def test_a_finished_run_started_again_does_nothing(trained_workdir):
    workdir, _ = trained_workdir
    result = _run(*TINY, f"--workdir={workdir}", "--config.method.background=eem")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "nothing to do" in result.stdout and "Epoch" not in result.stdout


def test_a_workdir_is_not_resumed_with_other_settings(trained_workdir):
    workdir, _ = trained_workdir
    result = _run(*TINY, f"--workdir={workdir}", "--config.method.background=eem", "--config.seed=7")
    assert result.returncode == 2
    assert "holds a run with other settings (seed: 0 -> 7)" in result.stderr


# Long enough epochs (6 steps) that a kill usually lands inside one.
# The session's `trained_workdir` is the uninterrupted reference of the resume test.
RESUMABLE = TRAINED_WORKDIR_RUN


def _history_epochs(workdir):
    path = os.path.join(workdir, "history.csv")
    if not os.path.isfile(path):
        return []
    with open(path) as handle:
        return [int(line.split(",")[0]) for line in handle.read().splitlines()[1:] if line]


def test_a_run_killed_mid_training_resumes_where_it_was_and_ends_as_if_never_killed(trained_workdir, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import REPO

    reference = trained_workdir[0]
    workdir = str(tmp_path / "killed")
    command = [sys.executable, "train_main.py", *RESUMABLE, f"--workdir={workdir}"]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while len(_history_epochs(workdir)) < 1 and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    finished_before_kill = len(_history_epochs(workdir))
    assert finished_before_kill == 1, "the run ended before it could be killed mid-training"
    with open(os.path.join(workdir, "backup", "state.json")) as handle:
        backed_up_epoch = json.load(handle)["epoch"]

    result = _run(*RESUMABLE, f"--workdir={workdir}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Resuming {workdir} at epoch {backed_up_epoch + 1}/2" in result.stdout
    assert _history_epochs(workdir) == [0, 1]
    # t and sigma were restored, not restarted: the last epoch logs the values of the reference run.
    with open(os.path.join(workdir, "history.csv")) as handle, open(os.path.join(reference, "history.csv")) as other:
        resumed_rows, reference_rows = handle.read().splitlines(), other.read().splitlines()
    header = resumed_rows[0].split(",")
    for column in ("t", "sigma", "loss", "val_accuracy"):
        index = header.index(column)
        resumed = [float(row.split(",")[index]) for row in resumed_rows[1:]]
        expected = [float(row.split(",")[index]) for row in reference_rows[1:]]
        np.testing.assert_allclose(resumed, expected, rtol=1e-4, atol=1e-5, err_msg=column)
    for split in ("valid", "test"):
        with open(os.path.join(workdir, "metrics", f"{split}.json")) as handle:
            resumed = json.load(handle)
        with open(os.path.join(reference, "metrics", f"{split}.json")) as handle:
            expected = json.load(handle)
        for key in ("classification_error", "f1_foreground", "f1_background"):
            assert resumed[key] == pytest.approx(expected[key], abs=1e-3), (split, key)


def test_a_field_added_to_the_code_after_a_run_started_does_not_block_its_resume():
    from mmu_tf.configs import common
    from mmu_tf.resume import changed_fields

    defaults = json.loads(common.base_config().to_json_best_effort())
    saved = {"epochs": 3, "optimizer": {"learning_rate": 0.1}}
    assert changed_fields(
        saved, {"epochs": 5, "optimizer": {"learning_rate": 0.1, "global_clipnorm": 0.0}}, defaults
    ) == ["epochs: 3 -> 5"]
    assert changed_fields(
        saved, {"epochs": 3, "optimizer": {"learning_rate": 0.1, "global_clipnorm": 1.0}}, defaults
    ) == ["optimizer.global_clipnorm: None -> 1.0"]


def test_a_finished_run_asked_for_fewer_epochs_says_how_many_it_trained(trained_workdir):
    workdir, _ = trained_workdir
    result = _run(*TINY, f"--workdir={workdir}", "--config.method.background=eem", "--config.epochs=1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "this run finished (2 epochs, evaluated) (--config.epochs=1 asks for fewer)" in result.stdout


def test_a_second_run_on_a_workdir_in_use_is_refused_naming_the_first(tmp_path):
    from mmu_tf.workdir_lock import WorkdirLock

    with WorkdirLock(str(tmp_path)):
        result = _run(*TINY, f"--workdir={tmp_path}")
    assert result.returncode == 2
    assert f"--workdir {tmp_path} is in use by process {os.getpid()}" in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not os.path.exists(tmp_path / "config.json")


@pytest.mark.parametrize(
    "workdir, message",
    [("/proc/version", "is a file, not a folder"), ("/proc/version/run", "cannot be written (Not a directory)")],
)
def test_a_workdir_that_cannot_be_written_is_one_line_of_error(workdir, message):
    result = _run(*TINY, f"--workdir={workdir}")
    assert result.returncode != 0 and message in result.stderr
    assert "Traceback" not in result.stderr
