"""tools.localisation_ceiling's parts on hand-made masks and features (the command itself needs GlaS)."""

import doctest

import numpy as np

import tools.localisation_ceiling
from tools.localisation_ceiling import cell_fractions, fit_perceptron, fit_ridge, upsampled_to_original


def test_docstring_examples_run():
    assert doctest.testmod(tools.localisation_ceiling, extraglobs={"np": np}).failed == 0


def test_cell_fractions_average_the_window_centred_on_each_cells_pixel():
    mask = np.zeros((8, 8), bool)
    mask[0:2, 0:2] = True  # the window of cell (0, 0) is rows/columns -2..1, reflected at the border
    fractions = cell_fractions(mask, 4, (2, 2))
    np.testing.assert_allclose(fractions, [[1.0, 0.0], [0.0, 0.0]])


def test_oracle_of_a_half_foreground_image_ranks_every_pixel_right():
    mask = np.zeros((64, 64), bool)
    mask[:, :32] = True
    oracle = upsampled_to_original(cell_fractions(mask, 16, (4, 4)), (64, 64), (64, 64))
    assert oracle[:, :32].min() > oracle[:, 32:].max()


def test_oracle_is_resized_to_the_original_image():
    cells = np.array([[0.0, 1.0]], np.float32)
    oracle = upsampled_to_original(cells, (32, 64), (16, 32))
    assert oracle.shape == (16, 32)
    # Upsampled: a ramp 0, 1/32, ... 1 over columns 0..32, then 1. Halved, column 0 samples the
    # source at x = 0.5: (0 + 1/32) / 2.
    assert oracle[0, 0] == 1.0 / 64.0 and oracle[0, -1] == 1.0


def test_ridge_penalty_shrinks_the_fit_towards_the_mean():
    features = np.linspace(-1.0, 1.0, 50)[:, None]
    targets = 3.0 * features[:, 0]
    exact = fit_ridge(features, targets, penalty=1e-9)(features)
    shrunk = fit_ridge(features, targets, penalty=50.0)(features)
    np.testing.assert_allclose(exact, targets, atol=1e-6)
    # Standardised x has sum x^2 = 50, so the weight shrinks by 50 / (50 + 50): half.
    np.testing.assert_allclose(shrunk, targets / 2.0, atol=1e-4)


def test_the_mlp_probe_ranks_a_target_no_linear_probe_can():
    features = np.linspace(-1.0, 1.0, 201)[:, None]
    targets = (np.abs(features[:, 0]) > 0.5).astype(np.float32)  # symmetric in x: least squares slope 0
    linear = fit_ridge(features, targets, penalty=1e-9)(features)
    np.testing.assert_allclose(linear, targets.mean(), atol=1e-6)  # a constant: every pixel tied
    perceptron = fit_perceptron(
        features, targets, hidden_units=16, dropout=0.0, weight_decay=0.0, learning_rate=0.1, epochs=30
    )(features)
    assert perceptron[targets == 1].min() > perceptron[targets == 0].max()
