import numpy as np
import pytest

from mmu_tf.evaluation.evaluate import format_table
from mmu_tf.evaluation.metrics import SplitMetrics


def test_images_without_masks_get_classification_metrics_only():
    metrics = SplitMetrics(2)
    for label, probabilities in ((0, [0.9, 0.1]), (1, [0.8, 0.2])):
        metrics.add(label, probabilities, true_mask=None, soft_mask=np.ones((2, 4)))
    summary = metrics.summary()
    assert summary["classification_error"] == 50.0
    assert summary["f1_foreground"] is None and summary["num_images_with_masks"] == 0


def test_soft_masks_are_thresholded_at_one_half():
    true_mask = np.array([[1, 1, 0, 0], [1, 1, 0, 0]], bool)
    soft = np.array([[0.5, 0.9, 0.49, 0.1], [0.6, 0.7, 0.2, 0.0]])
    metrics, all_ones = SplitMetrics(2), SplitMetrics(2)
    for label, probabilities in ((0, [0.9, 0.1]), (1, [0.1, 0.9])):
        metrics.add(label, probabilities, true_mask=true_mask, soft_mask=soft)
        all_ones.add(label, predicted_mask=np.ones_like(true_mask), true_mask=true_mask)
    summary = metrics.summary()
    assert summary["f1_foreground"] == 100.0 and summary["f1_background"] == 100.0
    assert summary["classification_error"] == 0.0
    assert all_ones.summary()["f1_foreground"] == pytest.approx(100.0 * 2 * 4 / (8 + 4))


def test_table_shows_the_model_beside_the_all_ones_mask():
    summary = {
        "split": "valid",
        "num_images": 18,
        "classification_error": 5.56,
        "f1_foreground": 70.0,
        "f1_background": 60.0,
        "foreground_auc": 81.25,
        "all_ones_mask": {"f1_foreground": 63.98, "f1_background": 0.0},
    }
    table = format_table([summary])
    assert "63.98" in table and "all-ones mask" in table and "5.56" in table and "81.25" in table
