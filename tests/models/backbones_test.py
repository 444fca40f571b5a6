import keras
import numpy as np
import pytest

from mmu_tf.configs import demo
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


# refine reads its teacher's backbone, not `model.backbone`: tests/models/refine_test.py runs it on Lite0.
@pytest.mark.parametrize("name", [name for name in METHODS if name != "refine"])
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


def test_feature_level_p4_cuts_resnet18_after_its_stride_16_stage():
    backbone = build_backbone("resnet18", feature_level="P4")
    assert tuple(backbone(np.zeros((1, 416, 416, 3), "float32")).shape) == (1, 26, 26, 256)
    # The fourth stage is dropped: 3x3 convs 256->512 and 512->512, a 1x1 shortcut 256->512, then
    # a block of two 512->512 convs, each with a batch norm of 4 x 512 values: 8,398,848 weights.
    stage4 = 9 * 256 * 512 + 9 * 512 * 512 + 256 * 512 + 2 * 9 * 512 * 512 + 5 * 4 * 512
    assert stage4 == 8_398_848
    assert backbone.count_params() == 11_186_112 - stage4


def test_feature_level_p4_keeps_the_pretrained_weights_of_the_stages_it_keeps(tmp_path):
    full = build_backbone("efficientnet_lite0")
    full.save_to_preset(str(tmp_path / "preset"))
    cut = build_backbone(pretrained=str(tmp_path / "preset"), feature_level="P4")
    images = np.random.default_rng(0).random((1, 64, 64, 3)).astype("float32")
    expected = keras.Model(full.inputs, full.pyramid_outputs["P4"])(images)
    assert tuple(expected.shape) == (1, 4, 4, 112)
    np.testing.assert_array_equal(cut(images).numpy(), expected.numpy())


def test_bad_feature_levels_are_clear_errors():
    with pytest.raises(ValueError, match="must be one of"):
        build_backbone("resnet18", feature_level="P3")
    with pytest.raises(ValueError, match="needs `model.output_stride` 32"):
        build_backbone("resnet18", output_stride=16, feature_level="P4")
    config = demo.get_config()
    config.method.name = "unet"
    config.model.feature_level = "P4"
    with pytest.raises(ValueError, match="U-Net"):
        build_model(config, ["benign", "malignant"])


def test_max_min_on_p4_features_saves_and_loads_with_the_same_outputs(tmp_path):
    config = demo.get_config()
    config.model.backbone = "resnet10"
    config.model.feature_level = "P4"
    model = build_model(config, ["benign", "malignant"])
    images = np.random.default_rng(0).random((1, 64, 64, 3)).astype("float32")
    outputs = model(images)
    model.save(str(tmp_path / "model.keras"))
    loaded = keras.saving.load_model(str(tmp_path / "model.keras"), compile=False)
    assert tuple(loaded.backbone.output.shape) == (None, None, None, 256)
    for key in ("probabilities", "mask"):
        np.testing.assert_array_equal(outputs[key].numpy(), loaded(images)[key].numpy())
