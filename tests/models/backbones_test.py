import numpy as np
import pytest

from mmu_tf.models import build_backbone


def test_random_init_resnet18_has_the_presets_size_and_stride_32():
    backbone = build_backbone("resnet18")
    assert backbone.count_params() == 11_186_112
    assert tuple(backbone(np.zeros((1, 416, 416, 3), "float32")).shape) == (1, 13, 13, 512)


def test_builds_from_a_local_preset_directory(tmp_path):
    original = build_backbone("resnet18")
    original.save_to_preset(str(tmp_path / "preset"))
    loaded = build_backbone(pretrained=str(tmp_path / "preset"))
    for expected, actual in zip(original.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(expected, actual)


def test_missing_preset_directory_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="no preset directory"):
        build_backbone(pretrained=str(tmp_path / "absent"))


def test_unknown_architecture_is_rejected():
    with pytest.raises(ValueError, match="must be one of"):
        build_backbone("vgg16")
