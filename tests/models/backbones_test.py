import keras
import numpy as np
import pytest

from configs import demo
from mmu_tf.models import METHODS, build_backbone, build_model


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


def test_random_init_efficientnet_lite0_has_stride_32_and_a_pyramid():
    backbone = build_backbone("efficientnet_lite0")
    # 4,652,008 parameters in the ImageNet checkpoint, less its 1280 x 1000 + 1000 classifier,
    # plus the batch norms' moving statistics (42,016 values) that Keras counts as weights.
    assert backbone.count_params() == 4_652_008 - 1_281_000 + 42_016
    assert tuple(backbone(np.zeros((1, 416, 416, 3), "float32")).shape) == (1, 13, 13, 1280)
    assert [tuple(backbone.pyramid_outputs[level].shape[-1:]) for level in ("P2", "P3", "P4", "P5")] == [
        (24,),
        (40,),
        (112,),
        (1280,),
    ]


@pytest.mark.parametrize("name", METHODS)
def test_every_method_runs_on_the_lite0_backbone(name):
    config = demo.get_config()
    config.method.name = name
    config.model.backbone = "efficientnet_lite0"
    model = build_model(config, ["benign", "malignant"])
    outputs = model(np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32"))
    assert tuple(outputs["probabilities"].shape) == (2, 2) and tuple(outputs["mask"].shape) == (2, 64, 64)
    assert np.all(np.isfinite(outputs["mask"].numpy()))


def test_frozen_batch_norm_keeps_its_statistics_while_training():
    config = demo.get_config()
    config.model.backbone = "efficientnet_lite0"
    config.model.frozen_batch_norm = True
    model = build_model(config, ["benign", "malignant"])
    images = np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32")
    model(images)
    batch_norm = model.backbone.get_layer("stem_bn")
    before = [variable.numpy().copy() for variable in batch_norm.weights]
    convolution = model.backbone.get_layer("stem_conv").kernel.numpy().copy()
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.train_on_batch(images, np.array([0, 1]))
    for old, variable in zip(before, batch_norm.weights):
        np.testing.assert_array_equal(old, variable.numpy())
    assert not np.array_equal(convolution, model.backbone.get_layer("stem_conv").kernel.numpy())
