"""The baselines of paper Table 1: shared outputs, the mask rule by hand, serialisation, training."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.configs import demo
from mmu_tf.models import METHODS, ClassActivationModel, DeepMilModel, GradCamModel, build_backbone, build_model
from mmu_tf.models.localization_map import normalized_map
from tests.conftest import TEST_BACKBONE, method_arguments

BASELINES = [name for name in METHODS if name != "maxmin"]


def _images(count=2, size=64, seed=0):
    return np.random.default_rng(seed).random((count, size, size, 3)).astype("float32")


def test_normalized_map_by_hand():
    maps = np.array([[[0.0, 1.0], [2.0, 3.0]]], "float32")
    np.testing.assert_allclose(normalized_map(maps, (2, 2)).numpy(), [[[0, 1 / 3], [2 / 3, 1]]], atol=1e-6)
    # A constant map gives zeros, not NaN.
    assert np.all(normalized_map(np.ones((1, 3, 3), "float32"), (6, 6)).numpy() == 0.0)


def _demo_config(method_name, request=None):
    """The embedded demo's config for `method_name`, on the tests' backbone (`refine`: taught by an untrained model)."""
    config = demo.get_config()
    config.model.backbone = TEST_BACKBONE
    config.method.name = method_name
    if method_name == "refine":
        config.method.teacher = request.getfixturevalue("untrained_teacher")
    return config


@pytest.mark.parametrize("name", BASELINES)
def test_every_baseline_gives_probabilities_and_a_mask_and_round_trips(name, tmp_path, request):
    config = _demo_config(name, request)
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
    model = ClassActivationModel(build_backbone(TEST_BACKBONE), 2, pooling="max")
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
    model = GradCamModel(build_backbone(TEST_BACKBONE), 2)
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
    model = DeepMilModel(build_backbone(TEST_BACKBONE), 2, embedding_size=32, attention_size=16)
    scores, attention = model.scores_and_map(model.normalization(_images(size=96)))
    assert scores.shape == (2, 2) and attention.shape == (2, 3, 3)
    np.testing.assert_allclose(attention.numpy().sum(axis=(1, 2)), 1.0, atol=1e-5)


def test_a_baseline_fit_lowers_its_loss():
    from mmu_tf.data.pipeline import training_dataset
    from mmu_tf.data.synthetic import make_synthetic_split

    config = _demo_config("cam_avg")
    keras.utils.set_random_seed(0)
    split = make_synthetic_split("train", 16, image_size=64, seed=0)
    data = training_dataset(split, config.data, batch_size=8, seed=0, epochs=1)
    model = build_model(config, split.class_names)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(data.repeat(), steps_per_epoch=2, epochs=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    assert set(history) == {"loss", "accuracy"}


def test_erase_top_region_erases_exactly_the_top_of_the_range():
    from mmu_tf.models.erasing import erase_top_region

    images = np.random.default_rng(0).normal(size=(1, 3, 3, 3)).astype("float32")
    heat = np.array([[[0.0, 0.79, 0.8], [0.5, 1.0, 0.2], [0.81, 0.1, 0.3]]], "float32")
    erased, region = erase_top_region(images, heat, 0.2)
    expected = heat >= 0.8
    np.testing.assert_array_equal(region.numpy(), expected)
    np.testing.assert_array_equal(erased.numpy()[expected], 0.0)
    np.testing.assert_array_equal(erased.numpy()[~expected], images[~expected])


def test_erase_model_trains_on_the_image_erased_where_its_true_class_map_peaks():
    from mmu_tf.models import ErasingModel
    from mmu_tf.models.erasing import erase_top_region
    from mmu_tf.models.localization_map import normalized_map

    keras.utils.set_random_seed(0)
    model = ErasingModel(build_backbone(TEST_BACKBONE), 2, **method_arguments("erase", {"dropout": 0.0}))
    images = _images(size=96)
    labels = np.array([0, 1])
    normalized = model.normalization(images)
    _, maps = model.scores_and_map(normalized)
    heat = normalized_map(np.stack([maps.numpy()[index, :, :, label] for index, label in enumerate(labels)]), (96, 96))
    erased, region = erase_top_region(normalized, heat, 0.2)
    region = region.numpy()
    assert 0 < region.sum() < region.size  # something, not everything, erased
    changed = np.any(erased.numpy() != normalized.numpy(), axis=-1)
    np.testing.assert_array_equal(changed, region)  # the erased input differs exactly in the top region
    loss, extras, _ = model.compute_losses(images, labels)
    erased_scores, _ = model.scores_and_map(erased)
    expected = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels, erased_scores))
    np.testing.assert_allclose(extras["cross_entropy_erased"].numpy(), expected.numpy(), rtol=1e-5)


def test_size_penalty_is_zero_inside_its_bounds_and_quadratic_outside():
    from mmu_tf.losses import size_penalty

    sizes = np.array([0.0, 1.0, 50.0, 3.0, 0.0], "float32")
    lower = np.array([1.0, 1.0, 1.0, 0.0, 0.0], "float32")
    upper = np.array([np.inf, np.inf, np.inf, 0.0, 0.0], "float32")
    np.testing.assert_array_equal(size_penalty(sizes, lower, upper).numpy(), [1.0, 0.0, 0.0, 9.0, 0.0])
    variable = tf.Variable(sizes)
    with tf.GradientTape() as tape:
        penalty = tf.reduce_sum(size_penalty(variable, lower, upper))
    np.testing.assert_array_equal(tape.gradient(penalty, variable).numpy(), [-2.0, 0.0, 0.0, 6.0, 0.0])


def test_pn_penalty_is_zero_when_the_segmentation_obeys_presence_and_absence():
    from mmu_tf.losses import size_penalty
    from mmu_tf.models import PresenceConstraintModel

    model = PresenceConstraintModel(build_backbone(TEST_BACKBONE), 2, **method_arguments("pn"))
    # 2x2 cells over a 4x4 image (4 pixels per cell): class 1 holds every cell, class 0 none.
    segmentation = np.zeros((1, 2, 2, 2), "float32")
    segmentation[..., 1] = 1.0
    sizes = model.class_sizes(segmentation, (4, 4)).numpy()
    np.testing.assert_array_equal(sizes, [[0.0, 16.0]])
    penalty = size_penalty(sizes, lower=[[0.0, 1.0]], upper=[[0.0, np.inf]]).numpy()
    np.testing.assert_array_equal(penalty, [[0.0, 0.0]])
    # The same image labelled class 0: class 0 is missing (1 below), class 1 is 16 pixels too many.
    penalty = size_penalty(sizes, lower=[[1.0, 0.0]], upper=[[np.inf, 0.0]]).numpy()
    np.testing.assert_array_equal(penalty, [[1.0, 256.0]])


def test_unet_dice_by_hand():
    from mmu_tf.models.unet import foreground_dice

    logits = np.array([[[1.0, -1.0], [2.0, -3.0]], [[-1.0, -1.0], [-1.0, -1.0]]], "float32")
    masks = np.array([[[True, True], [False, False]], [[False, False], [False, False]]])
    # Image 0: predicted {(0,0), (1,0)}, true {(0,0), (0,1)}: 2 * 1 / 4. Image 1: both empty -> 1.
    np.testing.assert_allclose(foreground_dice(logits, masks).numpy(), [0.5, 1.0])


@pytest.mark.parametrize("name", ["erase", "pn", "unet", "all_ones", "refine"])
def test_new_baselines_train_a_few_steps_on_the_embedded_data(name, request):
    from mmu_tf.data.pipeline import training_dataset
    from mmu_tf.data.synthetic import make_synthetic_split
    from mmu_tf.models import method_class

    config = _demo_config(name, request)
    keras.utils.set_random_seed(0)
    split = make_synthetic_split("train", 8, image_size=64, seed=0)
    data = training_dataset(split, config.data, 4, seed=0, with_masks=method_class(name).needs_masks, epochs=1)
    model = build_model(config, split.class_names)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit(data.repeat(), steps_per_epoch=2, epochs=3, verbose=0).history
    assert set(history) == {"loss", "accuracy", *model.loss_terms}
    assert all(np.isfinite(value) for values in history.values() for value in values)
    if name != "all_ones":  # balanced classes: its prior starts, and stays, at the optimum
        assert history["loss"][-1] < history["loss"][0]
    mask = model(_images(size=64))["mask"].numpy()
    assert mask.shape == (2, 64, 64) and mask.min() >= 0.0 and mask.max() <= 1.0


def test_all_ones_learns_the_class_prior():
    from mmu_tf.models import AllOnesModel

    model = AllOnesModel(num_classes=2)
    model.compile(optimizer=keras.optimizers.SGD(1.0))
    images = np.zeros((8 * 200, 4, 4, 3), "float32")
    labels = np.tile([1, 1, 1, 1, 1, 1, 0, 0], 200)
    model.fit(images, labels, batch_size=8, epochs=1, shuffle=False, verbose=0)  # 200 steps
    images = images[:8]
    np.testing.assert_allclose(model(images[:1])["probabilities"].numpy()[0], [0.25, 0.75], atol=1e-2)
