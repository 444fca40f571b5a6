"""GlaS as the release unpacks, on the real training data shipped in ../shared/data/glas."""

import os

import numpy as np
import pytest

from mmu_tf.data import glas
from mmu_tf.data.samples import DataError, MissingFilesError, load_split
from mmu_tf.evaluation.metrics import SplitMetrics

GLAS_ROOT = os.environ.get(
    "MMU_GLAS_ROOT",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "glas"),
)
needs_glas = pytest.mark.skipif(
    not os.path.isdir(GLAS_ROOT), reason=f"GlaS data not found at {GLAS_ROOT} (set MMU_GLAS_ROOT)"
)


@needs_glas
def test_valid_split_lists_the_papers_18_images_with_their_labels():
    samples = glas.read_glas_split(GLAS_ROOT, "valid")
    labels = [sample.label for sample in samples]
    assert len(samples) == 18 and labels.count(0) == 8 and labels.count(1) == 10
    assert samples[0].image_path.endswith(os.path.join(glas.IMAGE_FOLDER, "train_24.bmp"))
    assert samples[0].mask_path.endswith("train_24_anno.bmp")


@needs_glas
def test_all_ones_mask_scores_the_papers_lower_bound_on_valid():
    split = load_split("valid", glas.read_glas_split(GLAS_ROOT, "valid"), glas.CLASS_NAMES)
    all_ones = SplitMetrics(2)
    for label, mask in zip(split.labels, split.masks):
        all_ones.add(label, predicted_mask=np.ones_like(mask), true_mask=mask)
    summary = all_ones.summary()
    assert round(summary["f1_foreground"], 2) == 63.98
    assert summary["f1_background"] == 0.0
    # Instance ids become foreground/background; images are RGB, masks their size.
    assert split.images[0].shape[2] == 3 and split.masks[0].dtype == bool
    assert all(image.shape[:2] == mask.shape for image, mask in zip(split.images, split.masks))
    assert 0.4 < np.mean([mask.mean() for mask in split.masks]) < 0.6


@needs_glas
def test_test_split_names_its_missing_files():
    with pytest.raises(MissingFilesError, match="split 'test': 160 listed file\\(s\\) missing") as error:
        load_split("test", glas.read_glas_split(GLAS_ROOT, "test"), glas.CLASS_NAMES)
    assert "testA_1.bmp" in str(error.value)


def test_packaged_split_files_are_used_when_the_root_has_none(tmp_path):
    images = tmp_path / glas.IMAGE_FOLDER
    images.mkdir()
    samples = glas.read_glas_split(str(tmp_path), "train")
    assert len(samples) == 67
    assert sum(sample.label for sample in samples) == 38  # malignant


def test_missing_release_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no GlaS release found"):
        glas.read_glas_split(str(tmp_path), "train")
