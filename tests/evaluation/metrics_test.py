import numpy as np
import pytest

from mmu_tf.evaluation.metrics import (
    SplitMetrics,
    dice,
    pixel_auc,
    pixel_average_precision,
    pixel_confusion,
    score_histograms,
)

TRUE = np.array([[1, 1, 0, 0]], bool)


def test_dice_by_hand():
    assert dice(np.array([[1, 0, 0, 0]], bool), TRUE) == pytest.approx(2 * 1 / (1 + 2))
    assert dice(TRUE, TRUE) == 1.0
    assert dice(~TRUE, TRUE) == 0.0


def test_dice_empty_set_conventions():
    empty = np.zeros((2, 2), bool)
    assert dice(empty, empty) == 1.0
    assert dice(empty, ~empty) == 0.0


def test_f1_is_averaged_per_image_not_pooled():
    metrics = SplitMetrics(num_classes=2)
    # Image 1: perfect (F1+ 100). Image 2: 4 true pixels, 1 predicted, 1 correct (F1+ 40).
    metrics.add(1, [0.1, 0.9], TRUE, TRUE)
    small = np.zeros((2, 2), bool)
    small[0, 0] = True
    metrics.add(0, [0.4, 0.6], small, np.ones((2, 2), bool))
    summary = metrics.summary()
    assert summary["f1_foreground"] == pytest.approx((100 + 40) / 2)
    # Backgrounds: image 1 perfect (100); image 2 truth empty, prediction 3 pixels (0).
    assert summary["f1_background"] == pytest.approx(50.0)
    assert summary["classification_error"] == pytest.approx(50.0)
    assert summary["num_images"] == 2
    assert summary["pixel_confusion_matrix"]["counts"] == [[2, 0], [3, 3]]


def test_all_ones_mask_has_zero_background_f1_whenever_there_is_background():
    metrics = SplitMetrics(num_classes=2)
    metrics.add(0, None, np.ones_like(TRUE), TRUE)
    assert metrics.summary()["f1_background"] == 0.0
    assert metrics.summary()["classification_error"] is None


def test_camelyon_rule_counts_normal_images_only_in_background_f1():
    metrics = SplitMetrics(num_classes=2, f1_rule="camelyon")
    all_background = np.zeros_like(TRUE)
    metrics.add(0, [0.9, 0.1], TRUE, all_background)  # normal patch, wrong mask
    metrics.add(1, [0.1, 0.9], TRUE, TRUE)  # tumour patch, right mask
    summary = metrics.summary()
    assert summary["f1_foreground"] == pytest.approx(100.0)  # the normal patch is left out
    # Background F1: normal patch 2*2/(2+4) = 66.67, tumour patch 100.
    assert summary["f1_background"] == pytest.approx((200 / 3 + 100) / 2)


def test_pixel_confusion_rows_are_truth():
    prediction = np.array([1, 0, 1, 0], bool)
    truth = np.array([1, 1, 0, 0], bool)
    np.testing.assert_array_equal(pixel_confusion(prediction, truth), [[1, 1], [1, 1]])


def test_masks_of_different_sizes_are_rejected():
    with pytest.raises(ValueError, match="differ in size"):
        SplitMetrics(2).add(0, None, np.ones((2, 2), bool), np.ones((3, 3), bool))


def test_pixel_auc_by_hand_with_ties_and_a_missing_class():
    # Pairs (foreground, background): 0.35 > 0.1 yes, 0.35 > 0.4 no, 0.8 > both: 3 of 4.
    assert pixel_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True]) == 0.75
    # A tie counts one half: (0.5 vs 0.5) = 1/2, 0.9 > 0.5 = 1 -> 1.5 of 2.
    assert pixel_auc([0.5, 0.5, 0.9], [False, True, True]) == 0.75
    assert pixel_auc(np.full((3, 3), 0.7), np.eye(3, dtype=bool)) == 0.5
    assert pixel_auc([0.2, 0.9], [True, False]) == 0.0
    assert pixel_auc([0.2, 0.9], [True, True]) is None


def test_split_auc_is_averaged_over_images_with_both_classes():
    metrics = SplitMetrics(num_classes=2)
    truth = np.array([[True, False], [False, False]])
    metrics.add(label=0, predicted_mask=truth, true_mask=truth, soft_mask=np.array([[0.9, 0.1], [0.2, 0.3]]))
    metrics.add(label=0, predicted_mask=truth, true_mask=truth, soft_mask=np.array([[0.1, 0.9], [0.2, 0.3]]))
    metrics.add(label=1, predicted_mask=truth, true_mask=np.ones((2, 2), bool), soft_mask=np.ones((2, 2)))
    assert [record.get("foreground_auc") for record in metrics.per_image] == [100.0, 0.0, None]
    assert metrics.summary()["foreground_auc"] == 50.0


def test_score_histograms_put_each_score_in_its_threshold_bin():
    foreground, background = score_histograms([0.0, 0.3, 0.3, 0.9995, 1.0], [True, True, False, False, True])
    assert foreground[0] == 1 and foreground[300] == 1 and foreground[1000] == 1
    assert background[300] == 1 and background[999] == 1
    assert foreground.sum() == 3 and background.sum() == 2


def test_pixel_average_precision_by_hand():
    # Scores 0.9 (fg), 0.6 (bg), 0.2 (fg), 0.1 (bg). Thresholds from high to low:
    # 0.9: precision 1, recall 1/2; 0.6: 1/2, 1/2; 0.2: 2/3, 1; 0.1: 1/2, 1.
    # PxAP = 1 * (1/2) + (2/3) * (1/2) = 5/6.
    foreground, background = score_histograms([0.9, 0.6, 0.2, 0.1], [True, False, True, False])
    assert pixel_average_precision(foreground, background) == pytest.approx(5 / 6)
    # A perfect ranking: 1; a reversed one over 1 fg + 1 bg: 1/2 (precision 1/2 at recall 1).
    assert pixel_average_precision(*score_histograms([0.8, 0.1], [True, False])) == pytest.approx(1.0)
    assert pixel_average_precision(*score_histograms([0.1, 0.8], [True, False])) == pytest.approx(0.5)
    assert pixel_average_precision(*score_histograms([0.1, 0.8], [False, False])) is None


def test_split_pixel_average_precision_pools_pixels_over_images():
    metrics = SplitMetrics(num_classes=2)
    # Alone, each image ranks perfectly (PxAP 100); pooled, image 2's background (0.7) outranks
    # image 1's foreground (0.6): thresholds 0.9: P 1 R 1/2; 0.7: P 1/2; 0.6: P 2/3, R 1.
    metrics.add(label=0, true_mask=np.array([[True, False]]), soft_mask=np.array([[0.6, 0.1]]))
    metrics.add(label=1, true_mask=np.array([[True, False]]), soft_mask=np.array([[0.9, 0.7]]))
    assert [record["foreground_auc"] for record in metrics.per_image] == [100.0, 100.0]
    assert metrics.summary()["pixel_average_precision"] == pytest.approx(100 * (0.5 + (2 / 3) * 0.5))
