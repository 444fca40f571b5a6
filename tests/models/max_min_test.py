import keras
import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.data.synthetic import make_synthetic_split
from mmu_tf.models import MaxMinModel, build_backbone
from mmu_tf.optimization import StepDecay
from tests.conftest import TEST_BACKBONE, method_arguments


def _model(**kwargs):
    keras.utils.set_random_seed(0)
    settings = dict(num_classes=2, class_names=["benign", "malignant"], **method_arguments("maxmin", {"dropout": 0.0}))
    settings.update(kwargs)
    return MaxMinModel(build_backbone(TEST_BACKBONE), **settings)


def _images(count=4, size=64, seed=0):
    return np.random.default_rng(seed).random((count, size, size, 3)).astype("float32")


def test_call_returns_probabilities_and_a_mask_at_input_resolution():
    outputs = _model()(_images(2, 64), training=False)
    probabilities = outputs["probabilities"].numpy()
    mask = outputs["mask"].numpy()
    assert probabilities.shape == (2, 2) and mask.shape == (2, 64, 64)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert 0.0 < mask.min() and mask.max() < 1.0
    assert outputs["localizer_probabilities"].shape == (2, 2)


def test_any_input_size_works():
    outputs = _model()(_images(1, 96)[:, :80], training=False)
    assert outputs["mask"].shape == (1, 80, 96)


@pytest.mark.parametrize(
    "kwargs, expected_terms",
    [
        ({}, {"localizer_ce", "foreground_ce", "background", "size"}),
        ({"background": "eem"}, {"localizer_ce", "foreground_ce", "background", "size"}),
        ({"background": "none"}, {"localizer_ce", "foreground_ce", "size"}),
        ({"size_constraint": False}, {"localizer_ce", "foreground_ce", "background"}),
    ],
)
def test_ablation_switches_choose_the_loss_terms(kwargs, expected_terms):
    model = _model(**kwargs)
    total, terms, _ = model.compute_losses(_images(2), tf.constant([0, 1]), training=True)
    assert set(terms) == expected_terms
    weight = model.background_weight if "background" in terms else 0.0
    expected = sum(value for name, value in terms.items() if name != "background") + weight * terms.get(
        "background", 0.0
    )
    np.testing.assert_allclose(total.numpy(), float(expected), rtol=1e-5)
    assert all(value.dtype == tf.float32 for value in terms.values())


def test_loss_terms_are_finite_for_an_all_black_image():
    model = _model(background="eem")
    images = np.zeros((2, 64, 64, 3), "float32")
    with tf.GradientTape() as tape:
        total, terms, _ = model.compute_losses(images, tf.constant([0, 1]), training=True)
    gradients = tape.gradient(total, model.trainable_variables)
    assert all(np.isfinite(value.numpy()) for value in terms.values())
    assert all(np.all(np.isfinite(gradient.numpy())) for gradient in gradients if gradient is not None)


def test_fit_lowers_the_loss_on_the_embedded_data_and_logs_every_term():
    model = _model(background="sem")
    split = make_synthetic_split("train", 4, image_size=64, seed=0)
    images, labels = np.stack(split.images).astype("float32") / 255.0, split.labels
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=StepDecay(1e-2, 0.9, 100), momentum=0.9))
    dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4).repeat(8)
    before = model.compute_losses(images, labels, training=True)[0].numpy()
    history = model.fit(dataset, epochs=1, verbose=0, shuffle=False)
    after = model.compute_losses(images, labels, training=True)[0].numpy()
    assert after < before
    logged = set(history.history)
    assert {"loss", "localizer_ce", "foreground_ce", "background", "size", "accuracy", "t", "sigma"} <= logged


def test_serialisation_round_trip_keeps_outputs_sigma_and_t(tmp_path):
    model = _model(background="eem", normalize_sizes=True)
    images = _images(2, 64)
    model.soft_mask.sigma.assign(0.175)
    model.barrier_t.assign(7.5)
    expected = model(images, training=False)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    outputs = restored(images, training=False)
    for key in ("probabilities", "mask"):
        np.testing.assert_allclose(outputs[key].numpy(), expected[key].numpy(), atol=1e-5)
    assert float(restored.soft_mask.sigma.numpy()) == pytest.approx(0.175)
    assert float(restored.barrier_t.numpy()) == pytest.approx(7.5)
    assert restored.background == "eem" and restored.normalize_sizes and restored.class_names == ["benign", "malignant"]


def test_train_step_under_bfloat16_keeps_losses_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = _model()
        model.compile(optimizer=keras.optimizers.SGD(1e-3))
        logs = model.train_on_batch(_images(2, 64), np.array([0, 1]), return_dict=True)
        assert all(np.isfinite(value) for value in logs.values())
        _, terms, _ = model.compute_losses(_images(2, 64), tf.constant([0, 1]))
        assert all(value.dtype == tf.float32 for value in terms.values())
        assert model(_images(1, 64))["mask"].dtype == tf.float32
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_invalid_arguments_are_rejected():
    backbone = build_backbone(TEST_BACKBONE)
    with pytest.raises(ValueError, match="`background` must be one of"):
        MaxMinModel(backbone, num_classes=2, **method_arguments("maxmin", background="kl"))
    with pytest.raises(ValueError, match="`class_names` must have 2 names"):
        MaxMinModel(backbone, num_classes=2, class_names=["a"], **method_arguments("maxmin"))
    without_omega = {key: value for key, value in method_arguments("maxmin").items() if key != "omega"}
    with pytest.raises(TypeError, match="omega"):  # no default in the constructor: configs/common.py has it
        MaxMinModel(backbone, num_classes=2, **without_omega)


def test_head_learning_rate_multiplier_scales_only_the_heads_steps():
    images = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    labels = np.array([0, 1])
    steps = []
    for multiplier in (1.0, 10.0):
        keras.utils.set_random_seed(0)
        settings = method_arguments("maxmin", {"dropout": 0.0}, head_learning_rate_multiplier=multiplier)
        model = MaxMinModel(build_backbone(TEST_BACKBONE), 2, **settings)
        model(images[:1])
        model.compile(optimizer=keras.optimizers.SGD(1e-3))  # plain SGD: the step is lr x gradient
        before = [variable.numpy() for variable in model.trainable_variables]
        model.train_on_batch(images, labels)
        steps.append([variable.numpy() - old for variable, old in zip(model.trainable_variables, before)])
    paths = [variable.path for variable in model.trainable_variables]
    assert sum("head" in path for path in paths) == 4  # two heads: kernel and bias each
    for path, step, scaled in zip(paths, steps[0], steps[1]):
        expected = 10.0 * step if "head" in path else step
        np.testing.assert_allclose(scaled, expected, rtol=1e-3, atol=1e-7, err_msg=path)


def test_a_checkpoint_config_with_the_former_flat_wildcat_keys_still_loads():
    config = _model().get_config()
    former = {**config.pop("wildcat"), "kmax": 0.2}  # the keys as checkpoints before `wildcat` held them
    restored = MaxMinModel.from_config({**config, **former})
    assert restored.wildcat == {
        "modalities": 5,
        "kmax": 0.2,
        "kmin": 0.0,
        "alpha": 1.0,
        "dropout": 0.0,
        "hidden_units": 0,
    }


def test_the_model_gives_its_own_schedules_to_the_run():
    from mmu_tf.configs import glas

    model = _model()
    model(_images(1, 64))
    callbacks = model.training_callbacks(glas.get_config().method)
    assert len(callbacks) == 2
    for callback in callbacks:
        callback.set_model(model)
        callback.on_epoch_end(0)
    assert float(model.barrier_t.numpy()) == pytest.approx(5.0 * 1.01)
    assert float(model.soft_mask.sigma.numpy()) == pytest.approx(0.151)
    assert model.training_state() == "t = 5.0500, sigma = 0.1510"
