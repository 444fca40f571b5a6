"""Stain normalisation before prediction: colours move to the reference's, glass alone is left as it is."""

import numpy as np
import pytest

from mmu_tf.data.stain import hed_to_rgb, rgb_to_hed
from mmu_tf.inference.stain_normalization import StainNormalizer
from tests.conftest import run_module


def _stained(haematoxylin_scale, seed=0):
    """A tissue-like image whose haematoxylin is scaled (another lab's stain), uint8 RGB."""
    rng = np.random.default_rng(seed)
    concentrations = np.stack(
        [rng.random((64, 64)) * 0.8 * haematoxylin_scale, rng.random((64, 64)) * 0.5, np.zeros((64, 64))], -1
    ).astype(np.float32)
    return np.round(hed_to_rgb(concentrations).numpy() * 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["macenko", "reinhard"])
def test_an_image_of_other_stains_comes_closer_to_the_reference(method):
    reference, other = _stained(1.0), _stained(2.0, seed=1)
    normalized, ok = StainNormalizer(method, reference)(other)
    assert ok and normalized.shape == other.shape and normalized.dtype == np.uint8

    def mean_haematoxylin(image):
        return float(rgb_to_hed(image.astype(np.float32) / 255.0).numpy()[..., 0].mean())

    gap_before = abs(mean_haematoxylin(other) - mean_haematoxylin(reference))
    assert abs(mean_haematoxylin(normalized) - mean_haematoxylin(reference)) < 0.5 * gap_before


def test_glass_without_tissue_is_returned_unchanged_and_said_so():
    glass = np.full((64, 64, 3), 250, np.uint8)
    image, ok = StainNormalizer("macenko", _stained(1.0))(glass)
    assert not ok and image is glass


def test_predict_needs_both_stain_flags_and_says_so(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    result = run_module(
        ["--workdir=x", f"--input={tmp_path}", f"--output={tmp_path / 'out'}", "--stain_normalization=macenko"],
        "mmu_tf.predict",
    )
    assert result.returncode == 2 and "--stain_normalization and --stain_reference go together" in result.stderr
