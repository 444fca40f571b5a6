import os
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ResNet-10 traces in two thirds of ResNet-18's time: the backbone of the tests that train
# (ResNet-18 itself is tested in tests/models/ and tests/layers/).
TEST_BACKBONE = "resnet10"

# A tiny end-to-end run on generated 64x64 images, shared by the CLI and export tests.
# float32 pinned: these tests compare two computations (Keras against an export, streamed
# against in-memory scoring, two workers' weights) within float32 tolerances, and `auto`
# picks bfloat16 on CPUs with bf16 units. tests/precision_test.py covers the 16-bit paths.
TINY_RUN = [
    "--config=configs/demo.py",
    "--config.precision=float32",
    f"--config.model.backbone={TEST_BACKBONE}",
    "--config.epochs=2",
    "--config.batch_size=4",
    "--config.data.synthetic_size=64",
    "--config.data.num_images.train=8",
    "--config.data.num_images.valid=4",
    "--config.data.num_images.test=4",
    "--config.eval.num_overlays=2",
    "--config.eval.tensorboard_images_every=1",
]

# The settings of the session's `trained_workdir` (EEM background).
TRAINED_WORKDIR_RUN = [*TINY_RUN, "--config.method.background=eem"]


def run_module(arguments, module=None):
    """Runs `train_main.py` (or `python -m module`) from the repository root."""
    command = [sys.executable, "-m", module] if module else [sys.executable, "train_main.py"]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [*command, *arguments], cwd=REPO, capture_output=True, text=True, env=environment, timeout=600
    )


@pytest.fixture(scope="session")
def trained_workdir(request, tmp_path_factory):
    """A workdir trained by the CLI (EEM background), and the completed process.

    Trained once per test run: under pytest-xdist the first worker to ask trains it in the run's
    shared temporary folder, under a file lock, and every worker gets its own copy (tests change
    their workdir: evaluate mode rewrites metrics), so two workers never share one.
    """
    workdir = str(tmp_path_factory.mktemp("run"))
    if not hasattr(request.config, "workerinput"):  # one process: nothing to share
        result = run_module([*TRAINED_WORKDIR_RUN, f"--workdir={workdir}"])
        assert result.returncode == 0, result.stderr[-3000:]
        return workdir, result
    import fcntl
    import json
    import shutil

    # Each worker's base temp is <run folder>/popen-gwN: the run folder is this run's alone.
    shared = tmp_path_factory.getbasetemp().parent / "trained_workdir"
    shared.mkdir(exist_ok=True)
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (shared / "result.json").is_file():
            result = run_module([*TRAINED_WORKDIR_RUN, f"--workdir={shared / 'workdir'}"])
            assert result.returncode == 0, result.stderr[-3000:]
            with open(shared / "result.json", "w") as handle:
                json.dump({"args": result.args, "stdout": result.stdout, "stderr": result.stderr}, handle)
        with open(shared / "result.json") as handle:
            saved = json.load(handle)
        shutil.copytree(shared / "workdir", workdir, dirs_exist_ok=True)
    return workdir, subprocess.CompletedProcess(saved["args"], 0, saved["stdout"], saved["stderr"])
