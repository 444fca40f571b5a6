import keras
import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.layers import WildcatPooling
from mmu_tf.layers.wildcat_pooling import resolve_region_count

# A 3x3 map holding 0..8: the top-k and bottom-k means are easy to do by hand.
MAP = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)


# The layer takes every setting it is given; the tests vary these from the max branch alone.
MAX_ONLY = {"kmin": 0, "alpha": 1.0, "dropout": 0.0}


def _pool(inputs, **kwargs):
    return keras.ops.convert_to_numpy(WildcatPooling(**{**MAX_ONLY, **kwargs})(inputs))


def test_max_branch_is_mean_of_top_kmax_values():
    np.testing.assert_allclose(_pool(MAP, kmax=2), [[7.5]])  # (8 + 7) / 2


def test_min_branch_adds_alpha_times_lowest_mean():
    # (8 + 7) / 2 + 0.5 * (0 + 1) / 2
    np.testing.assert_allclose(_pool(MAP, kmax=2, kmin=2, alpha=0.5), [[7.75]])


def test_kmin_zero_drops_the_min_branch():
    np.testing.assert_allclose(_pool(MAP - 100.0, kmax=1, kmin=0, alpha=1.0), [[-92.0]])


def test_fractions_round_with_at_least_one_position():
    np.testing.assert_allclose(_pool(MAP, kmax=0.3), [[7.0]])  # round(2.7) = 3 -> (8 + 7 + 6) / 3
    np.testing.assert_allclose(_pool(MAP, kmax=0.01), [[8.0]])  # max(1, round(0.09)) = 1
    assert resolve_region_count(0.3, 169) == 51
    assert resolve_region_count(5, 3) == 3


def test_classes_are_pooled_independently():
    maps = np.concatenate([MAP, -MAP], axis=-1)  # class 1 holds 0, -1, ..., -8
    np.testing.assert_allclose(_pool(maps, kmax=2, kmin=1, alpha=1.0), [[7.5 + 0.0, -0.5 - 8.0]])


def test_dynamic_spatial_size_gives_the_same_scores():
    layer = WildcatPooling(kmax=0.3, kmin=0.2, alpha=0.7, dropout=0.0)
    traced = tf.function(layer, input_signature=[tf.TensorSpec((None, None, None, 1), tf.float32)])
    np.testing.assert_allclose(traced(MAP).numpy(), layer(MAP).numpy())
    # round(0.3 * 9) = 3 highest: 7; round(0.2 * 9) = 2 lowest: 0.5.
    np.testing.assert_allclose(traced(MAP).numpy(), [[7.0 + 0.7 * 0.5]])


def test_dropout_acts_in_training_only():
    layer = WildcatPooling(**{**MAX_ONLY, "kmax": 4, "dropout": 0.5})
    maps = np.ones((64, 3, 3, 2), "float32")
    np.testing.assert_allclose(layer(maps, training=False).numpy(), 1.0)
    trained = layer(maps, training=True).numpy()
    # Dropped values become 0, kept ones 1 / (1 - 0.5) = 2: means in {0, .5, ..., 2}, not all 1.
    assert not np.allclose(trained, 1.0)
    np.testing.assert_allclose(np.round(trained * 4) / 4, trained, atol=1e-6)


def test_config_round_trip_and_output_shape():
    layer = WildcatPooling(kmax=0.1, kmin=0.1, alpha=0.6, dropout=0.1)
    config = layer.get_config()
    assert {key: config[key] for key in ("kmax", "kmin", "alpha", "dropout")} == {
        "kmax": 0.1,
        "kmin": 0.1,
        "alpha": 0.6,
        "dropout": 0.1,
    }
    assert WildcatPooling.from_config(config).compute_output_shape((2, 13, 13, 2)) == (2, 2)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"kmax": 0}, "at least one"),
        ({"kmax": -1}, "must be >= 0"),
        ({"kmax": 1.5}, "fraction in"),
        ({"kmax": "3"}, "int or a float"),
        ({"kmax": 0.3, "dropout": 1.0}, "dropout"),
    ],
)
def test_invalid_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        WildcatPooling(**{**MAX_ONLY, **kwargs})
