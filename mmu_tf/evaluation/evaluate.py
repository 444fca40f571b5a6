"""Runs a model over a split and scores it with the paper's protocol (METHOD.md §4)."""

import json
import os

import cv2
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from mmu_tf.data.pipeline import evaluation_dataset
from mmu_tf.evaluation.metrics import SplitMetrics
from mmu_tf.evaluation.visualize import overlay_panel, write_png


def make_predict_function(model):
    """A traced inference function for images of any size (one trace, not one per size)."""

    @tf.function(input_signature=[tf.TensorSpec((None, None, None, 3), tf.float32)], reduce_retracing=True)
    def predict(images):
        outputs = model(images, training=False)
        return outputs["probabilities"], outputs["mask"]

    return predict


def predict_split(model, split, data_config, batch_size, progress=True):
    """Class probabilities (N, K) and soft masks, each resized to its image's original size."""
    predict = make_predict_function(model)
    probabilities, masks = [], []
    dataset = evaluation_dataset(split, data_config, batch_size)
    with tqdm(total=len(split), desc=f"predict {split.name}", unit="img", disable=not progress) as bar:
        for images, _ in dataset:
            batch_probabilities, batch_masks = predict(images)
            for probability, mask in zip(batch_probabilities.numpy(), batch_masks.numpy()):
                height, width = split.images[len(masks)].shape[:2]
                masks.append(cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR))
                probabilities.append(probability)
            bar.update(len(batch_masks))
    return np.stack(probabilities), masks


def score_split(split, probabilities, soft_masks, f1_rule="all"):
    """`SplitMetrics` of a split from predictions (soft masks at the true masks' size)."""
    metrics = SplitMetrics(len(split.class_names), f1_rule=f1_rule)
    for index in range(len(split)):
        true_mask = split.masks[index] if split.masks else None
        predicted_mask = None if soft_masks is None or true_mask is None else soft_masks[index] >= 0.5
        metrics.add(
            label=split.labels[index],
            probabilities=None if probabilities is None else probabilities[index],
            predicted_mask=predicted_mask,
            true_mask=true_mask,
            name=split.names[index],
        )
    return metrics


def all_ones_summary(split, f1_rule="all"):
    """The lower bound of paper Table 1: every pixel called foreground."""
    ones = [np.ones(image.shape[:2], np.float32) for image in split.images]
    return score_split(split, None, ones, f1_rule).summary()


def write_overlays(folder, split, probabilities, soft_masks, count):
    """Writes `count` overlay PNGs (spread over the split) and returns their paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for index in np.linspace(0, len(split) - 1, min(count, len(split))).round().astype(int):
        predicted = int(np.argmax(probabilities[index]))
        title = (
            f"{split.names[index]}  true: {split.class_names[split.labels[index]]}  "
            f"predicted: {split.class_names[predicted]} ({probabilities[index][predicted]:.2f})"
        )
        true_mask = split.masks[index] if split.masks else None
        panel = overlay_panel(split.images[index], soft_masks[index], true_mask, title)
        path = os.path.join(folder, f"{split.names[index]}.png")
        write_png(path, panel)
        paths.append(path)
    return paths


def evaluate_split(model, split, data_config, batch_size, workdir, f1_rule="all", num_overlays=6, progress=True):
    """Predicts, scores and writes `workdir/metrics/<split>.json` and overlays.

    Returns the summary dict (with the all-ones mask's scores under `all_ones_mask`).
    """
    probabilities, soft_masks = predict_split(model, split, data_config, batch_size, progress)
    metrics = score_split(split, probabilities, soft_masks, f1_rule)
    summary = metrics.summary()
    summary["split"] = split.name
    if split.has_masks:
        baseline = all_ones_summary(split, f1_rule)
        summary["all_ones_mask"] = {key: baseline[key] for key in ("f1_foreground", "f1_background")}
    summary["per_image"] = metrics.per_image
    os.makedirs(os.path.join(workdir, "metrics"), exist_ok=True)
    with open(os.path.join(workdir, "metrics", f"{split.name}.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    if num_overlays:
        write_overlays(os.path.join(workdir, "overlays", split.name), split, probabilities, soft_masks, num_overlays)
    return summary


def _cell(value):
    return "-" if value is None else f"{value:.2f}"


def format_table(summaries):
    """A readable table of split summaries, with the all-ones mask beside each split."""
    lines = [f"{'split':<10}{'model':<16}{'images':>7}{'error %':>10}{'F1+ %':>9}{'F1- %':>9}"]
    for summary in summaries:
        lines.append(
            f"{summary['split']:<10}{'this model':<16}{summary['num_images']:>7}"
            f"{_cell(summary['classification_error']):>10}{_cell(summary['f1_foreground']):>9}"
            f"{_cell(summary['f1_background']):>9}"
        )
        if "all_ones_mask" in summary:
            ones = summary["all_ones_mask"]
            lines.append(
                f"{'':<10}{'all-ones mask':<16}{'':>7}{'-':>10}"
                f"{_cell(ones['f1_foreground']):>9}{_cell(ones['f1_background']):>9}"
            )
    return "\n".join(lines)
