import os
import subprocess
import sys

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# configs/glas.py finds the team's GlaS copy beside the checkout through this variable (as `make` sets it).
os.environ.setdefault(
    "MMU_GLAS_ROOT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "glas")
)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# ResNet-10 traces in two thirds of ResNet-18's time: the backbone of the tests that train
# (ResNet-18 itself is tested in tests/models/ and tests/layers/).
TEST_BACKBONE = "resnet10"


def method_arguments(name, wildcat=None, **overrides):
    """Method `name`'s constructor settings at configs/common.py's defaults, with `overrides` (`wildcat` merged in).

    The model classes take every setting they are given and default none (the
    defaults live in configs/common.py): the tests build them from here.
    """
    from mmu_tf.configs.common import base_config
    from mmu_tf.models import method_class

    arguments = method_class(name).run_arguments(base_config(), name)
    if wildcat:
        arguments["wildcat"] = {**arguments["wildcat"], **wildcat}
    return {**arguments, **overrides}


def refine_arguments(**overrides):
    """`RefineModel`'s settings at configs/common.py's defaults (`config.method.refine`, seed 0), with `overrides`."""
    from mmu_tf.configs.common import base_config

    return {**base_config().method.refine, "seed": 0, **overrides}


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


def run_module(arguments, module=None, environment=None):
    """Runs `train_main.py` (or `python -m module`) from the repository root, `environment` added to this one's."""
    command = [sys.executable, "-m", module] if module else [sys.executable, "train_main.py"]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", **(environment or {}))
    return subprocess.run(
        [*command, *arguments], cwd=REPO, capture_output=True, text=True, env=environment, timeout=600
    )


@pytest.fixture(scope="session")
def trained_workdir(tmp_path_factory):
    """A workdir trained by the CLI (EEM background), and the completed process."""
    workdir = str(tmp_path_factory.mktemp("run"))
    result = run_module([*TRAINED_WORKDIR_RUN, f"--workdir={workdir}"])
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, result


@pytest.fixture(scope="session")
def untrained_teacher(tmp_path_factory):
    """A workdir holding an untrained WILDCAT model on TEST_BACKBONE and the demo's config: a teacher for `refine`."""
    import numpy as np

    from mmu_tf.configs import demo
    from mmu_tf.models import build_model

    config = demo.get_config()
    config.model.backbone = TEST_BACKBONE
    config.method.name = "wildcat"
    workdir = tmp_path_factory.mktemp("teacher")
    model = build_model(config, list(config.data.class_names))
    model(np.zeros((1, 64, 64, 3), "float32"))
    os.makedirs(workdir / "checkpoints")
    model.save(str(workdir / "checkpoints" / "best.keras"))
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=2))
    return str(workdir)
