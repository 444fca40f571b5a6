"""The refine method: a frozen teacher's class, a decoder's mask, trained from the teacher's mask only."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.models import ClassActivationModel, RefineModel, build_backbone
from tests.conftest import TEST_BACKBONE, method_arguments, refine_arguments


def _images(count=2, size=64, seed=0):
    return np.random.default_rng(seed).random((count, size, size, 3)).astype("float32")


def _refine(backbone=TEST_BACKBONE, **settings):
    keras.utils.set_random_seed(0)
    teacher = ClassActivationModel(build_backbone(backbone), 2, class_names=["a", "b"], **method_arguments("wildcat"))
    teacher(_images(1))
    return RefineModel(teacher, **refine_arguments(**settings))


def test_the_class_is_the_teachers_and_only_the_decoder_trains():
    model = _refine()
    images = _images()
    outputs = model(images)
    teacher_outputs = model.teacher(images)
    assert model.classifier is model.teacher
    np.testing.assert_array_equal(outputs["probabilities"].numpy(), teacher_outputs["probabilities"].numpy())
    np.testing.assert_array_equal(outputs["classifier_mask"].numpy(), teacher_outputs["mask"].numpy())
    assert outputs["mask"].shape == (2, 64, 64) and model.class_names == ["a", "b"]
    decoder = {id(variable) for variable in model.decoder.trainable_variables}
    assert {id(variable) for variable in model.trainable_variables} == decoder
    teacher_before = [weight.copy() for weight in model.classifier.get_weights()]
    decoder_before = [weight.copy() for weight in model.decoder.get_weights()]
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(images, np.array([0, 1]), batch_size=2, epochs=1, verbose=0)
    for before, after in zip(teacher_before, model.classifier.get_weights()):
        np.testing.assert_array_equal(before, after)
    assert any(not np.array_equal(before, after) for before, after in zip(decoder_before, model.decoder.get_weights()))


def test_the_loss_never_reads_the_true_masks():
    model = _refine(smoothness_weight=0.5, size_weight=0.5)
    images, labels = _images(), tf.constant([0, 1])
    without = model.compute_losses(images, labels, None)
    with_masks = model.compute_losses(images, labels, tf.ones((2, 64, 64), tf.bool))
    np.testing.assert_array_equal(without[0].numpy(), with_masks[0].numpy())
    assert set(without[1]) == set(RefineModel.loss_terms)


def test_saved_and_loaded_it_predicts_the_same_and_holds_the_backbone_once(tmp_path):
    model = _refine(decoder_channels=16, foreground_fraction=0.1, border_margin=2, fill_holes=True, threshold="otsu")
    images = _images()
    outputs = model(images)
    model.save(tmp_path / "refine.keras")
    restored = keras.saving.load_model(tmp_path / "refine.keras")
    assert (restored.decoder_channels, restored.foreground_fraction, restored.border_margin) == (16, 0.1, 2)
    assert (restored.fill_holes, restored.threshold) == (True, "otsu")
    again = restored(images)
    for key in ("probabilities", "mask"):
        np.testing.assert_allclose(again[key].numpy(), outputs[key].numpy(), atol=1e-6)
    assert len(restored.weights) == len(model.classifier.weights) + len(model.decoder.weights)


def test_a_refined_teacher_teaches_with_its_mask_and_lends_its_classifier(tmp_path):
    first = _refine(decoder_channels=8)
    images = _images()
    first(images)
    # As a run gets its teacher: from its checkpoint (a rebuilt model, whose backbone layers once
    # came back trainable and were trained through the second decoder's loss).
    first.save(tmp_path / "first.keras")
    first = keras.saving.load_model(tmp_path / "first.keras")
    second = RefineModel(first, **refine_arguments(decoder_channels=8))
    second(images)
    decoder = {id(variable) for variable in second.decoder.trainable_variables}
    assert {id(variable) for variable in second.trainable_variables} == decoder
    assert second.classifier is first.classifier and second.teacher is first
    outputs = second(images)
    np.testing.assert_array_equal(outputs["probabilities"].numpy(), first(images)["probabilities"].numpy())
    # Its seeds come from the first refinement's mask, not the classifier's.
    seeds = second.pseudo_labels(first(images)["mask"], (16, 16))
    losses_now = second.compute_losses(images, tf.constant([0, 1]))[1]["seed_cross_entropy"]
    logits = second.foreground_logits(images)[0]
    from mmu_tf.losses import partial_binary_cross_entropy

    np.testing.assert_allclose(
        losses_now.numpy(), tf.reduce_mean(partial_binary_cross_entropy(logits, *seeds)).numpy(), rtol=1e-6
    )
    assert len(second.weights) == len(first.classifier.weights) + len(second.decoder.weights)


def test_it_reads_the_lite0_pyramid():
    model = _refine("efficientnet_lite0")
    mask = model(_images())["mask"].numpy()
    assert mask.shape == (2, 64, 64) and np.all(np.isfinite(mask))
    assert [tuple(level.shape[1:]) for level in model._pyramid(tf.zeros((1, 64, 64, 3)))] == [
        (16, 16, 24),
        (8, 8, 40),
        (4, 4, 112),
        (2, 2, 1280),
    ]


def test_bad_settings_and_teachers_are_refused_by_name():
    teacher = ClassActivationModel(build_backbone(TEST_BACKBONE), 2, **method_arguments("wildcat"))
    with pytest.raises(ValueError, match="foreground_fraction"):
        RefineModel(teacher, **refine_arguments(foreground_fraction=0.8, background_fraction=0.3))
    with pytest.raises(ValueError, match="no pyramid levels"):
        RefineModel(teacher, **refine_arguments(levels=("P1", "P2")))
    with pytest.raises(ValueError, match="threshold"):
        RefineModel(teacher, **refine_arguments(threshold="median"))


def test_the_returned_mask_has_its_holes_filled_and_its_half_at_otsus_threshold():
    # A ring of logit 2 around a lumen of -2 in a background of -3, on a 7 x 7 decoder grid.
    logits = np.full((1, 7, 7), -3.0, "float32")
    logits[0, 1:6, 1:6] = 2.0
    logits[0, 2:5, 2:5] = -2.0
    model = _refine(fill_holes=True)
    filled = model.mask_logits(tf.constant(logits)).numpy()
    expected = logits.copy()
    expected[0, 2:5, 2:5] = 2.0
    np.testing.assert_allclose(filled, expected)
    model.threshold = "otsu"
    shifted = model.mask_logits(tf.constant(logits)).numpy()
    # Two values, sigmoid(-3) and sigmoid(2): Otsu's cut is the bin just above the lower one.
    level = (np.floor(256 / (1 + np.exp(3.0))) + 1) / 256
    np.testing.assert_allclose(shifted, expected - np.log(level / (1 - level)), rtol=1e-5)
    assert ((shifted >= 0) == (expected > 0)).all()
    # Without either option, the decoder's logits as they are (the loss reads them unchanged).
    np.testing.assert_array_equal(_refine().mask_logits(tf.constant(logits)).numpy(), logits)


def test_several_teachers_seed_from_their_averaged_ranks_and_the_first_says_the_class():
    from mmu_tf.layers.area_downsampling import area_downsample
    from mmu_tf.models.pseudo_labels import confident_regions, per_image_ranks
    from mmu_tf.models.refine import combined_teacher_scores

    model = _refine()
    keras.utils.set_random_seed(1)
    other = ClassActivationModel(
        build_backbone(TEST_BACKBONE), 2, class_names=["a", "b"], **method_arguments("wildcat")
    )
    images, labels = _images(), tf.constant([0, 1])
    other(images[:1])
    both = RefineModel(model.teacher, more_teachers=[other], **refine_arguments())
    both(images[:1])
    model(images[:1])
    both.decoder.set_weights(model.decoder.get_weights())
    masks = [model.teacher(images)["mask"], other(images)["mask"]]
    grid = tf.shape(model.foreground_logits(images)[0])[1:3]
    # Hand-made: each mask's per-image ranks on the grid, averaged, then the usual shares.
    scores = combined_teacher_scores(masks, grid)
    expected_scores = sum(per_image_ranks(area_downsample(mask[..., None], grid)[..., 0]) for mask in masks) / 2
    np.testing.assert_allclose(scores.numpy(), expected_scores.numpy(), atol=1e-7)
    foreground, background = both.pseudo_labels(masks, grid)
    expected = confident_regions(expected_scores, both.foreground_fraction, both.background_fraction)
    np.testing.assert_array_equal(foreground.numpy(), expected[0].numpy())
    np.testing.assert_array_equal(background.numpy(), expected[1].numpy())
    # The second teacher changes the seeds, not the class.
    assert not np.array_equal(
        both.compute_losses(images, labels)[0].numpy(), model.compute_losses(images, labels)[0].numpy()
    )
    np.testing.assert_array_equal(both(images)["probabilities"].numpy(), model(images)["probabilities"].numpy())
    assert both.more_teachers == (other,) and not any(v.trainable for v in other.variables)


def test_a_teacher_list_names_each_untrained_workdir(tmp_path):
    from mmu_tf.configs.common import base_config

    trained = tmp_path / "trained"
    (trained / "checkpoints").mkdir(parents=True)
    (trained / "checkpoints" / "best.keras").write_bytes(b"")
    config = base_config()
    config.method.name = "refine"
    config.method.teacher = f"{trained}, {tmp_path / 'missing'}"
    problems = RefineModel.config_problems(config, "train")
    assert len(problems) == 1 and "several separated by commas" in problems[0] and "missing" in problems[0]
    config.method.teacher = f"{trained},{trained}"
    assert RefineModel.config_problems(config, "train") == []


def test_the_filled_otsu_cut_mask_compiles_under_xla_and_agrees_without():
    from mmu_tf.inference import Predictor

    model = _refine(fill_holes=True, threshold="otsu")
    images = _images()
    expected = model(images)["mask"].numpy()
    compiled = Predictor(model, jit_compile=True).predict_batch(tf.constant(images))["mask"].numpy()
    np.testing.assert_allclose(compiled, expected, atol=1e-5)


def test_several_decoders_train_on_their_summed_losses_and_return_their_mean_mask(tmp_path):
    from mmu_tf.layers.area_downsampling import area_downsample
    from mmu_tf.layers.map_upsampling import upsample_maps

    model = _refine(decoder_count=3, fill_holes=True, threshold="otsu")
    images, labels = _images(), tf.constant([0, 1])
    outputs = model(images)
    assert [decoder.name for decoder in model.decoders] == ["decoder", "decoder_1", "decoder_2"]
    trained = {id(variable) for decoder in model.decoders for variable in decoder.trainable_variables}
    assert {id(variable) for variable in model.trainable_variables} == trained
    decoder_logits = model.foreground_logits(images)
    # Initialised apart: three different masks.
    assert not np.allclose(decoder_logits[0].numpy(), decoder_logits[1].numpy())
    # The returned mask is the mean of each decoder's returned mask (holes filled, its own Otsu 0.5).
    masks = [tf.sigmoid(model.mask_logits(logits)).numpy() for logits in decoder_logits]
    combined = model.combined_mask_logits(decoder_logits)
    np.testing.assert_allclose(tf.sigmoid(combined).numpy(), np.mean(masks, axis=0), atol=1e-6)
    expected = tf.sigmoid(upsample_maps(combined, [64, 64])).numpy()
    np.testing.assert_allclose(outputs["mask"].numpy(), expected, atol=1e-6)
    # The loss is the sum of the decoders' own, so each decoder's gradient is that of its loss alone.
    loss, terms, _ = model.compute_losses(images, labels)
    teacher_mask = model.teacher(images)["mask"]
    grid = tf.shape(decoder_logits[0])[1:3]
    small_images = area_downsample(images, grid)
    regions = model.pseudo_labels([teacher_mask], grid, small_images, labels)
    each = [model.decoder_losses(logits, regions, small_images) for logits in decoder_logits]
    np.testing.assert_allclose(loss.numpy(), sum(one[0].numpy() for one in each), rtol=1e-6)
    np.testing.assert_allclose(
        terms["seed_cross_entropy"].numpy(), np.mean([one[1]["seed_cross_entropy"] for one in each]), rtol=1e-6
    )
    # Saved and loaded: the same mask, every decoder's weights (and the classifier's) once.
    model.save(tmp_path / "three.keras")
    restored = keras.saving.load_model(tmp_path / "three.keras")
    assert restored.decoder_count == 3
    np.testing.assert_allclose(restored(images)["mask"].numpy(), outputs["mask"].numpy(), atol=1e-6)
    assert len(restored.weights) == len(model.classifier.weights) + 3 * len(model.decoder.weights)
    with pytest.raises(ValueError, match="decoder_count"):
        _refine(decoder_count=0)


def test_each_decoder_draws_its_own_seed_pixels():
    model = _refine(decoder_count=2, seed_pixels=4)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model(_images())
    regions = (tf.ones((1, 8, 8), tf.bool), tf.ones((1, 8, 8), tf.bool))
    first, second = (model.drawn_seeds(regions, index) for index in (0, 1))
    for seeds in (first, second):
        assert [int(tf.reduce_sum(tf.cast(part, tf.int32))) for part in seeds] == [4, 4]
    assert not np.array_equal(first[0].numpy(), second[0].numpy())
    # The first decoder's draw is the one-decoder model's (a resumed or older run draws the same).
    alone = _refine(seed_pixels=4)
    alone.compile(optimizer=keras.optimizers.SGD(0.1))
    alone(_images())
    np.testing.assert_array_equal(alone.drawn_seeds(regions, 0)[0].numpy(), first[0].numpy())
