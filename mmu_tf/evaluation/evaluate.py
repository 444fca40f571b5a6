"""Runs a model over a split and scores it with the paper's protocol (docs/method.md §4)."""

import json
import os

import cv2
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from mmu_tf.data.pipeline import original_and_model_inputs
from mmu_tf.evaluation.metrics import SplitMetrics
from mmu_tf.evaluation.visualize import overlay_panel, write_png


def _write_overlay(folder, split, name, image, soft_mask, true_mask, label, probabilities):
    predicted = int(np.argmax(probabilities))
    title = (
        f"{name}  true: {split.class_names[label]}  "
        f"predicted: {split.class_names[predicted]} ({probabilities[predicted]:.2f})"
    )
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}.png")
    write_png(path, overlay_panel(image, soft_mask, true_mask, title))
    return path


def evaluate_split(model, split, data_config, workdir, f1_rule="all", num_overlays=6, progress=True, jit_compile=False):
    """Predicts, scores and writes `workdir/metrics/<split>.json` and overlays.

    Streams the split one image at a time (a `LoadedSplit` or a `ShardedSplit`
    alike): the model sees the image resized as at training, its mask is
    resized back to the image's own size and thresholded at 0.5, and only the
    per-image scores are kept (one image at a time: images differ in size).

    `jit_compile`: the `Predictor`'s (XLA compiles once per image size).

    Returns the summary dict (with the all-ones mask's scores under `all_ones_mask`).
    """
    from mmu_tf.inference import Predictor

    predictor = Predictor(model, class_names=split.class_names, jit_compile=jit_compile)
    metrics = SplitMetrics(len(split.class_names), f1_rule=f1_rule)
    all_ones = SplitMetrics(len(split.class_names), f1_rule=f1_rule)
    shown = set()
    if num_overlays:
        shown = set(np.linspace(0, len(split) - 1, min(num_overlays, len(split))).round().astype(int).tolist())
    folder = os.path.join(workdir, "overlays", split.name)
    stream = original_and_model_inputs(split, data_config).prefetch(tf.data.AUTOTUNE)
    with tqdm(total=len(split), desc=f"evaluate {split.name}", unit="img", disable=not progress) as bar:
        for index, (inputs, image, label, mask, has_mask, name) in enumerate(stream):
            outputs = predictor.predict_batch(inputs[None])
            probabilities, soft_masks = outputs["probabilities"].numpy()[0], outputs["mask"]
            image = image.numpy()
            height, width = image.shape[:2]
            soft_mask = cv2.resize(soft_masks.numpy()[0], (width, height), interpolation=cv2.INTER_LINEAR)
            true_mask = mask.numpy() if bool(has_mask) else None
            name, label = name.numpy().decode("utf-8"), int(label)
            metrics.add(
                label=label,
                probabilities=probabilities,
                true_mask=true_mask,
                name=name,
                soft_mask=None if true_mask is None else soft_mask,
            )
            if true_mask is not None:
                all_ones.add(label=label, predicted_mask=np.ones_like(true_mask), true_mask=true_mask)
            if index in shown:
                _write_overlay(folder, split, name, image, soft_mask, true_mask, label, probabilities)
            bar.update(1)
    summary = metrics.summary()
    summary["split"] = split.name
    if summary["num_images_with_masks"]:
        baseline = all_ones.summary()
        summary["all_ones_mask"] = {key: baseline[key] for key in ("f1_foreground", "f1_background")}
    summary["per_image"] = metrics.per_image
    os.makedirs(os.path.join(workdir, "metrics"), exist_ok=True)
    with open(os.path.join(workdir, "metrics", f"{split.name}.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    return summary


def _cell(value):
    return "-" if value is None else f"{value:.2f}"


def format_table(summaries):
    """A readable table of split summaries, with the all-ones mask beside each split."""
    lines = [f"{'split':<10}{'model':<16}{'images':>7}{'error %':>10}{'F1+ %':>9}{'F1- %':>9}{'AUC %':>9}{'PxAP %':>9}"]
    for summary in summaries:
        lines.append(
            f"{summary['split']:<10}{'this model':<16}{summary['num_images']:>7}"
            f"{_cell(summary['classification_error']):>10}{_cell(summary['f1_foreground']):>9}"
            f"{_cell(summary['f1_background']):>9}{_cell(summary.get('foreground_auc')):>9}"
            f"{_cell(summary.get('pixel_average_precision')):>9}"
        )
        if "all_ones_mask" in summary:
            ones = summary["all_ones_mask"]
            lines.append(
                f"{'':<10}{'all-ones mask':<16}{'':>7}{'-':>10}"
                f"{_cell(ones['f1_foreground']):>9}{_cell(ones['f1_background']):>9}"
            )
    return "\n".join(lines)
