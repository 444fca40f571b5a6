import keras
import numpy as np
import pytest

from mmu_tf.layers import SoftMask


def _sigmoid(value):
    return 1.0 / (1.0 + np.exp(-value))


def test_normalises_each_sample_on_its_own():
    # Two samples with different ranges give the same normalised map.
    maps = np.array([[[0.0, 5.0, 10.0]], [[100.0, 100.5, 101.0]]], "float32")
    outputs = keras.ops.convert_to_numpy(SoftMask(omega=5.0, sigma=0.15, epsilon=1e-9)(maps))
    expected = _sigmoid(5.0 * (np.array([0.0, 0.5, 1.0]) - 0.15))
    np.testing.assert_allclose(outputs[0, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(outputs[1, 0], expected, rtol=1e-5)


def test_sigma_is_a_variable_that_changes_the_output():
    layer = SoftMask(omega=5.0, sigma=0.15)
    maps = np.array([[[0.0, 1.0]]], "float32")
    layer.sigma.assign(0.5)
    outputs = keras.ops.convert_to_numpy(layer(maps))
    np.testing.assert_allclose(outputs[0, 0], _sigmoid(5.0 * (np.array([0.0, 1.0]) - 0.5)), rtol=1e-4)
    assert not layer.sigma.trainable


def test_constant_map_gives_finite_values():
    outputs = keras.ops.convert_to_numpy(SoftMask(omega=5.0, sigma=0.15)(np.full((1, 4, 4), 3.0, "float32")))
    np.testing.assert_allclose(outputs, _sigmoid(5.0 * -0.15), rtol=1e-5)


def test_computes_in_float32_under_a_bfloat16_policy():
    layer = SoftMask(omega=5.0, sigma=0.15)
    maps = keras.ops.cast(np.random.rand(2, 8, 8), "bfloat16")
    assert keras.backend.standardize_dtype(layer(maps).dtype) == "float32"


def test_sigma_is_saved_with_the_weights(tmp_path):
    inputs = keras.Input((4, 4))
    model = keras.Model(inputs, SoftMask(omega=5.0, sigma=0.15, name="soft_mask")(inputs))
    model.get_layer("soft_mask").sigma.assign(0.19)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(float(restored.get_layer("soft_mask").sigma.numpy()), 0.19, rtol=1e-6)


def test_config_round_trip():
    layer = SoftMask(omega=3.0, sigma=0.2, epsilon=1e-5)
    clone = SoftMask.from_config(layer.get_config())
    assert (clone.omega, clone.initial_sigma, clone.epsilon) == (3.0, 0.2, 1e-5)


@pytest.mark.parametrize("kwargs", [{"omega": 0.0}, {"epsilon": 0.0}])
def test_invalid_arguments_are_rejected(kwargs):
    with pytest.raises(ValueError, match="must be > 0"):
        SoftMask(**{"omega": 5.0, "sigma": 0.15, **kwargs})
