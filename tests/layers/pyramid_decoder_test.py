"""The pyramid decoder: each coarse cell lands on the fine cell it was computed over, and it serialises."""

import keras
import numpy as np

from mmu_tf.layers.pyramid_decoder import PyramidDecoder


def _pass_through(decoder):
    """Laterals and refiners as identities on one channel; batch norm at its initial (identity) statistics."""
    for lateral in decoder.laterals:
        kernel = np.zeros(lateral.kernel.shape, "float32")
        kernel[0, 0, 0, 0] = 1.0
        lateral.set_weights([kernel, np.zeros(lateral.bias.shape, "float32")])
    for convolution in decoder.refine_convs:
        kernel = np.zeros(convolution.kernel.shape, "float32")
        kernel[1, 1, 0, 0] = 1.0  # the centre tap
        convolution.set_weights([kernel])
    logits = decoder.logits
    kernel = np.zeros(logits.kernel.shape, "float32")
    kernel[0, 0, 0, 0] = 1.0
    logits.set_weights([kernel, np.zeros(logits.bias.shape, "float32")])


def test_a_hot_coarse_cell_lands_on_twice_its_index_at_each_finer_level():
    decoder = PyramidDecoder(channels=1)
    fine, middle, coarse = np.zeros((1, 16, 16, 2)), np.zeros((1, 8, 8, 3)), np.zeros((1, 4, 4, 5))
    coarse[0, 1, 2, 0] = 1.0
    levels = [level.astype("float32") for level in (fine, middle, coarse)]
    decoder(levels)
    _pass_through(decoder)
    logits = keras.ops.convert_to_numpy(decoder(levels))
    assert logits.shape == (1, 16, 16)
    # Cell (1, 2) of the stride-4 level is cell (2, 4) of the stride-2 one and (4, 8) of the finest;
    # batch norm in inference divides by sqrt(1 + 1e-3) once per refining block (two).
    assert np.unravel_index(np.argmax(logits), logits.shape) == (0, 4, 8)
    np.testing.assert_allclose(logits[0, 4, 8], 1.0 / (1.0 + 1e-3), rtol=1e-5)
    # Halfway to the next coarse cell along a row: half, after two linear interpolations.
    np.testing.assert_allclose(logits[0, 4, 10], 0.5 / (1.0 + 1e-3), rtol=1e-5)


def test_config_round_trip_and_one_logit_per_finest_cell():
    decoder = PyramidDecoder(channels=8, name="decoder")
    clone = PyramidDecoder.from_config(decoder.get_config())
    assert clone.channels == 8 and clone.name == "decoder"
    assert decoder.compute_output_shape([(2, 16, 16, 4), (2, 8, 8, 6)]) == (2, 16, 16)
