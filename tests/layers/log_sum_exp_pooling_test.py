import numpy as np
import pytest

from mmu_tf.layers.log_sum_exp_pooling import LogSumExpPooling


def test_by_hand():
    maps = np.array([0.0, 1.0, 2.0, 3.0], "float32").reshape(1, 2, 2, 1)
    expected = np.log(np.mean(np.exp(2.0 * np.array([0.0, 1.0, 2.0, 3.0])))) / 2.0
    np.testing.assert_allclose(LogSumExpPooling(sharpness=2.0)(maps).numpy(), [[expected]], rtol=1e-6)


def test_between_average_and_max_and_finite_for_large_values():
    maps = np.random.default_rng(0).normal(size=(2, 3, 4, 2)).astype("float32") * 1000
    pooled = LogSumExpPooling(sharpness=10.0)(maps).numpy()
    assert np.all(np.isfinite(pooled))
    assert np.all(pooled <= maps.max(axis=(1, 2)) + 1e-3) and np.all(pooled >= maps.mean(axis=(1, 2)) - 1e-3)


def test_config_round_trip_and_bad_sharpness():
    layer = LogSumExpPooling.from_config(LogSumExpPooling(sharpness=4.0).get_config())
    assert layer.sharpness == 4.0
    with pytest.raises(ValueError, match="sharpness"):
        LogSumExpPooling(sharpness=0.0)
