"""The baselines of paper Table 1: shared outputs, the mask rule by hand, serialisation, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from configs import demo
from mmu_tf.models import METHODS, ClassActivationModel, DeepMilModel, GradCamModel, build_backbone, build_model
from mmu_tf.models.weakly_supervised import normalized_map

BASELINES = [name for name in METHODS if name != "maxmin"]


def _images(count=2, size=64, seed=0):
    return np.random.default_rng(seed).random((count, size, size, 3)).astype("float32")


def test_normalized_map_by_hand():
    maps = np.array([[[0.0, 1.0], [2.0, 3.0]]], "float32")
    np.testing.assert_allclose(normalized_map(maps, (2, 2)).numpy(), [[[0, 1 / 3], [2 / 3, 1]]], atol=1e-6)
    # A constant map gives zeros, not NaN.
    assert np.all(normalized_map(np.ones((1, 3, 3), "float32"), (6, 6)).numpy() == 0.0)


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_gives_probabilities_and_a_mask_and_round_trips(name, tmp_path):
    config = demo.get_config()
    config.method.name = name
    keras.utils.set_random_seed(0)
    model = build_model(config, ["benign", "malignant"])
    images = _images()
    outputs = model(images)
    np.testing.assert_allclose(outputs["probabilities"].numpy().sum(-1), 1.0, atol=1e-5)
    mask = outputs["mask"].numpy()
    assert mask.shape == (2, 64, 64) and mask.min() >= 0.0 and mask.max() <= 1.0 + 1e-6
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert type(restored) is type(model)
    again = restored(images)
    np.testing.assert_allclose(again["probabilities"].numpy(), outputs["probabilities"].numpy(), atol=1e-5)
    np.testing.assert_allclose(again["mask"].numpy(), mask, atol=1e-5)


def test_cam_mask_is_the_predicted_class_map_normalised():
    keras.utils.set_random_seed(0)
    model = ClassActivationModel(build_backbone("resnet18"), 2, pooling="max")
    images = _images()
    outputs = model(images)
    maps = model.class_maps(model.backbone(model.normalization(images))).numpy()
    predicted = outputs["probabilities"].numpy().argmax(-1)
    np.testing.assert_allclose(
        outputs["probabilities"].numpy(), tf.nn.softmax(maps.max(axis=(1, 2))).numpy(), atol=1e-5
    )
    chosen = np.stack([maps[index, :, :, label] for index, label in enumerate(predicted)])
    np.testing.assert_allclose(outputs["mask"].numpy(), normalized_map(chosen, (64, 64)).numpy(), atol=1e-5)


def test_grad_cam_of_a_gap_classifier_is_the_rectified_bias_free_cam():
    # With global average pooling and a 1x1 conv, d s_c / d F_k = W_kc / (h w) everywhere,
    # so Grad-CAM = ReLU(A_c - b_c) / (h w): normalised, ReLU(A_c - b_c) min-max scaled.
    keras.utils.set_random_seed(1)
    model = GradCamModel(build_backbone("resnet18"), 2)
    images = _images(seed=1)
    outputs = model(images)
    features = model.backbone(model.normalization(images)).numpy()
    kernel, bias = (weight.numpy() for weight in model.class_maps.weights)
    predicted = outputs["probabilities"].numpy().argmax(-1)
    expected = np.stack(
        [np.maximum(features[index] @ kernel[0, 0, :, label], 0.0) for index, label in enumerate(predicted)]
    )
    np.testing.assert_allclose(outputs["mask"].numpy(), normalized_map(expected, (64, 64)).numpy(), atol=1e-4)
    assert bias.shape == (2,)


def test_deep_mil_attention_is_a_distribution_over_the_cells():
    keras.utils.set_random_seed(0)
    model = DeepMilModel(build_backbone("resnet18"), 2, embedding_size=32, attention_size=16)
    scores, attention = model.scores_and_map(model.normalization(_images(size=96)))
    assert scores.shape == (2, 2) and attention.shape == (2, 3, 3)
    np.testing.assert_allclose(attention.numpy().sum(axis=(1, 2)), 1.0, atol=1e-5)


def test_a_baseline_fit_lowers_its_loss():
    from mmu_tf.data.pipeline import training_dataset
    from mmu_tf.data.synthetic import make_synthetic_split

    config = demo.get_config()
    config.method.name = "cam_avg"
    keras.utils.set_random_seed(0)
    split = make_synthetic_split("train", 16, image_size=64, seed=0)
    data = training_dataset(split, config.data, batch_size=8, seed=0, epochs=1)
    model = build_model(config, split.class_names)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(data.repeat(), steps_per_epoch=2, epochs=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert set(history) == {"loss", "accuracy"}
