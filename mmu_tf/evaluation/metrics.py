"""The paper's metrics (Eq. 13-15, docs/method.md §4): error, F1+ and F1-, per image then averaged.

F1+ is the Dice index of the foreground, F1- of the background, computed on
each image at its ground-truth size and averaged over images; that is why
the all-ones mask scores F1- = 0. Convention for empty sets: when both the
prediction and the truth are empty the Dice is 1, when only one is empty 0.
"""

import numpy as np

# Which images each F1 is averaged over. GlaS: all. Camelyon16-P512: F1+
# over images of the positive (last) class only, F1- over images with any
# true background.
F1_RULES = ("all", "camelyon")


def dice(prediction, truth):
    """Dice index 2|P & G| / (|P| + |G|) of two bool arrays; 1 when both are empty."""
    prediction = np.asarray(prediction, bool)
    truth = np.asarray(truth, bool)
    total = int(prediction.sum()) + int(truth.sum())
    if total == 0:
        return 1.0
    return 2.0 * int(np.logical_and(prediction, truth).sum()) / total


def pixel_auc(scores, truth):
    """Area under the ROC curve of per-pixel `scores` for the bool `truth`; None when one class is absent.

    The probability that a foreground pixel scores above a background one (ties
    count one half): how well the soft mask ranks the truth, whatever the
    threshold. 0.5 is chance.

    Example:
    >>> pixel_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True])
    0.75
    """
    scores = np.asarray(scores, np.float64).ravel()
    truth = np.asarray(truth, bool).ravel()
    positives = int(truth.sum())
    negatives = truth.size - positives
    if positives == 0 or negatives == 0:
        return None
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    # Runs of equal scores share their mean (1-based) rank.
    starts = np.concatenate([[0], np.flatnonzero(np.diff(sorted_scores)) + 1])
    ends = np.concatenate([starts[1:], [scores.size]])
    ranks = np.empty(scores.size)
    ranks[order] = np.repeat((starts + 1 + ends) / 2.0, ends - starts)
    return float((ranks[truth].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


# PxAP's thresholds: 0, 1/1000, ..., 1 over soft masks in [0, 1] (wsolevaluation's `cam_curve_interval`).
PXAP_BINS = 1000


def score_histograms(scores, truth, bins=PXAP_BINS):
    """Counts `(foreground (bins + 1,), background (bins + 1,))` of scores in [0, 1] per threshold bin.

    Bin `b` holds the pixels whose score is at least `b / bins` and below
    `(b + 1) / bins` (the last bin: exactly 1). Summed over the images of a
    split, they give `pixel_average_precision` with the pixels pooled.
    """
    scores = np.clip(np.asarray(scores, np.float64).ravel(), 0.0, 1.0)
    truth = np.asarray(truth, bool).ravel()
    # A float's floor can land one bin low (0.3 * 1000 = 299.99...): round first at a far finer grid.
    indices = np.floor(np.round(scores * bins, 6)).astype(np.int64)
    return (
        np.bincount(indices[truth], minlength=bins + 1),
        np.bincount(indices[~truth], minlength=bins + 1),
    )


def pixel_average_precision(foreground_counts, background_counts):
    """PxAP: area under the pixel precision-recall curve over thresholds `b / bins`, b = bins .. 0.

    As wsolevaluation (Choe et al., CVPR 2020) computes it for GlaS: at each
    threshold the pixels scoring at or above it are predicted foreground;
    `sum_b precision_b (recall_b - recall_{b+1})`, from the highest threshold
    down. The counts are `score_histograms`' (pooled over a split); None
    without foreground pixels. Percent-free, in [0, 1].

    Example:
    >>> foreground, background = score_histograms([0.9, 0.6, 0.2, 0.1], [True, False, True, False])
    >>> # Threshold 0.9: 1 TP, 0 FP (P 1, R 0.5); 0.6: P 1/2; 0.2: 2 TP, 1 FP (P 2/3, R 1).
    >>> round(pixel_average_precision(foreground, background), 6)  # 1 * 0.5 + (2/3) * 0.5
    0.833333
    """
    foreground_counts = np.asarray(foreground_counts, np.float64)
    background_counts = np.asarray(background_counts, np.float64)
    positives = foreground_counts.sum()
    if positives == 0:
        return None
    # From the highest threshold down: pixels at or above each.
    true_positives = np.cumsum(foreground_counts[::-1])
    false_positives = np.cumsum(background_counts[::-1])
    predicted = true_positives + false_positives
    precision = np.divide(true_positives, predicted, out=np.ones_like(predicted), where=predicted > 0)
    recall = true_positives / positives
    recall_gain = np.diff(np.concatenate([[0.0], recall]))
    return float((precision * recall_gain).sum())


def pixel_confusion(prediction, truth):
    """2x2 counts, rows the truth (background, foreground), columns the prediction."""
    prediction = np.asarray(prediction, bool).ravel()
    truth = np.asarray(truth, bool).ravel()
    counts = np.bincount(truth.astype(np.int64) * 2 + prediction, minlength=4)
    return counts.reshape(2, 2)


class SplitMetrics:
    """Accumulates per-image results of a split and summarises them as the paper does.

    Example:
    >>> metrics = SplitMetrics(num_classes=2)
    >>> _ = metrics.add(label=1, probabilities=[0.2, 0.8], predicted_mask=np.ones((2, 2), bool),
    ...             true_mask=np.array([[1, 0], [0, 0]], bool))
    >>> metrics.summary()["f1_foreground"]  # 2 * 1 / (4 + 1)
    40.0
    """

    def __init__(self, num_classes, f1_rule="all"):
        if f1_rule not in F1_RULES:
            raise ValueError(f"`f1_rule` must be one of {F1_RULES}. Received: {f1_rule!r}")
        self.num_classes = num_classes
        self.f1_rule = f1_rule
        self.per_image = []
        self.confusion = np.zeros((2, 2), np.int64)
        # PxAP pools the pixels of the split: score histograms, not the pixels themselves.
        self.foreground_histogram = np.zeros(PXAP_BINS + 1, np.int64)
        self.background_histogram = np.zeros(PXAP_BINS + 1, np.int64)

    def add(self, label, probabilities=None, predicted_mask=None, true_mask=None, name=None, soft_mask=None):
        """Adds one image: its true label, class probabilities, and bool masks (same size).

        With its `soft_mask` (same size) the image also gets `foreground_auc`
        (`pixel_auc` in percent), when its truth has both foreground and background,
        and its pixels enter the split's pooled `pixel_average_precision`; without a
        `predicted_mask`, the soft mask thresholded at 0.5 is the prediction (docs/method.md §4).
        """
        record = {"name": name, "label": int(label)}
        if predicted_mask is None and soft_mask is not None:
            predicted_mask = np.asarray(soft_mask) >= 0.5
        if probabilities is not None:
            probabilities = np.asarray(probabilities, np.float64)
            record["probabilities"] = [round(float(p), 6) for p in probabilities]
            record["predicted_label"] = int(np.argmax(probabilities))
        if predicted_mask is not None and true_mask is not None:
            predicted_mask = np.asarray(predicted_mask, bool)
            true_mask = np.asarray(true_mask, bool)
            if predicted_mask.shape != true_mask.shape:
                raise ValueError(
                    f"predicted mask {predicted_mask.shape} and true mask {true_mask.shape} differ in size"
                )
            record["f1_foreground"] = 100.0 * dice(predicted_mask, true_mask)
            record["f1_background"] = 100.0 * dice(~predicted_mask, ~true_mask)
            record["predicted_foreground_fraction"] = float(predicted_mask.mean())
            record["true_foreground_fraction"] = float(true_mask.mean())
            record["has_background"] = bool((~true_mask).any())
            auc = None if soft_mask is None else pixel_auc(soft_mask, true_mask)
            if auc is not None:
                record["foreground_auc"] = 100.0 * auc
            if soft_mask is not None:
                foreground, background = score_histograms(soft_mask, true_mask)
                self.foreground_histogram += foreground
                self.background_histogram += background
            self.confusion += pixel_confusion(predicted_mask, true_mask)
        self.per_image.append(record)
        return record

    def _mean(self, key, keep):
        values = [record[key] for record in self.per_image if key in record and keep(record)]
        return float(np.mean(values)) if values else None

    def _pixel_average_precision(self):
        value = pixel_average_precision(self.foreground_histogram, self.background_histogram)
        return None if value is None else 100.0 * value

    def summary(self):
        """The split's metrics: percentages like the paper, None where not measurable."""
        classified = [record for record in self.per_image if "predicted_label" in record]
        errors = sum(record["predicted_label"] != record["label"] for record in classified)
        if self.f1_rule == "camelyon":
            keep_foreground = lambda record: record["label"] == self.num_classes - 1  # noqa: E731
            keep_background = lambda record: record["has_background"]  # noqa: E731
        else:
            keep_foreground = keep_background = lambda record: True  # noqa: E731
        return {
            "num_images": len(self.per_image),
            "num_images_with_masks": sum("f1_foreground" in record for record in self.per_image),
            "classification_error": 100.0 * errors / len(classified) if classified else None,
            "f1_foreground": self._mean("f1_foreground", keep_foreground),
            "f1_background": self._mean("f1_background", keep_background),
            "f1_rule": self.f1_rule,
            # Threshold-free: does the soft mask rank foreground above background? 50 is chance.
            "foreground_auc": self._mean("foreground_auc", lambda record: True),
            # Threshold-free too, with the split's pixels pooled (wsolevaluation's PxAP), in percent.
            "pixel_average_precision": self._pixel_average_precision(),
            "pixel_confusion_matrix": {
                "rows_true_columns_predicted": ["background", "foreground"],
                "counts": self.confusion.tolist(),
            },
        }
