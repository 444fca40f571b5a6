"""What `--config.precision=auto` picks, per kind of machine and backbone (the CPU's flags and the GPU
list stubbed, so every machine sees every branch)."""

import json

import pytest
import tensorflow as tf

from mmu_tf import precision


@pytest.fixture
def cpu_only(monkeypatch):
    """`set_bf16_units(bool)`: a CPU machine with or without bf16 units."""
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [])

    def set_bf16_units(present):
        monkeypatch.setattr(precision, "cpu_has_bf16_units", lambda: present)

    return set_bf16_units


@pytest.mark.parametrize(
    "backbone, expected",
    [
        ("resnet18", "mixed_bfloat16"),
        ("resnet10", "mixed_bfloat16"),
        ("efficientnet_lite0", "float32"),
        ("efficientnet_lite2_imagenet", "float32"),
        ("", "mixed_bfloat16"),
    ],
)
def test_auto_on_a_bf16_cpu_keeps_efficientnet_in_float32(cpu_only, backbone, expected):
    cpu_only(True)
    assert precision.resolve_precision("auto", backbone) == expected


@pytest.mark.parametrize("backbone", ["resnet18", "efficientnet_lite0"])
def test_auto_on_a_cpu_without_bf16_units_is_float32(cpu_only, backbone):
    cpu_only(False)
    assert precision.resolve_precision("auto", backbone) == "float32"


def test_auto_reads_the_architecture_of_a_preset_directory(cpu_only, tmp_path):
    cpu_only(True)
    (tmp_path / "config.json").write_text(json.dumps({"class_name": "EfficientNetBackbone"}))
    assert precision.resolve_precision("auto", str(tmp_path)) == "float32"
    (tmp_path / "config.json").write_text(json.dumps({"class_name": "ResNetBackbone"}))
    assert precision.resolve_precision("auto", str(tmp_path)) == "mixed_bfloat16"


def test_auto_on_a_gpu_follows_its_compute_capability(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: ["gpu:0"])
    for capability, expected in (((8, 0), "mixed_bfloat16"), ((7, 5), "mixed_float16")):
        monkeypatch.setattr(
            tf.config.experimental, "get_device_details", lambda device, c=capability: {"compute_capability": c}
        )
        # On a GPU the backbone is not consulted (no GPU measurement here says to).
        assert precision.resolve_precision("auto", "efficientnet_lite0") == expected


def test_an_explicit_precision_wins_and_a_wrong_one_is_named():
    assert precision.resolve_precision("bfloat16", "efficientnet_lite0") == "mixed_bfloat16"
    assert precision.resolve_precision("float32", "resnet18") == "float32"
    with pytest.raises(ValueError, match="--config.precision` must be auto"):
        precision.resolve_precision("half", "resnet18")
