r"""How right are a teacher's pseudo labels? The refine method's seed rule scored against the true masks.

    python -m tools.seed_precision --workdir=runs/glas_lite0 --split=train \
        --fractions=0.1:0.3,0.2:0.3,0.2:0.2
    python -m tools.seed_precision --workdir=runs/glas_lite0,runs/glas_lite0_wildcat ...

For every image of `--split` (the first workdir's own data config), the teacher's soft
mask at the model's input size goes through the refine method's own rule
(`mmu_tf.models.pseudo_labels.confident_regions`, on the decoder's stride-4 grid,
area-averaged as in training; several teachers' masks ranked and the ranks averaged,
`mmu_tf.models.refine.combined_teacher_scores`), and the seeds are compared with the true mask
averaged onto the same grid: foreground precision is the mean true foreground
fraction of the foreground seeds' cells, background precision the mean true
background fraction of the background seeds' cells, pooled over the split (and
per class). Measured after the fact: training never reads the masks, and nothing
here is fed back into it. Prints a table; `--output` also writes it as JSON.
"""

import json
import sys

import numpy as np
from absl import app, flags

# The decoder's grid: the finest pyramid level it reads (P2, stride 4).
GRID_STRIDE = 4


def define_flags():
    flags.DEFINE_list(
        "workdir",
        None,
        "A trained workdir (any method): the teacher; several separated by commas, as "
        "config.method.teacher (their masks' ranks averaged).",
    )
    flags.DEFINE_string("split", "train", "The split whose seeds are scored (it needs masks).")
    flags.DEFINE_list(
        "fractions", ["0.1:0.3", "0.2:0.3", "0.2:0.2", "0.3:0.3"], "foreground:background shares to score."
    )
    flags.DEFINE_integer(
        "border_margin", 0, "Cells along the border that never seed (config.method.refine.border_margin)."
    )
    flags.DEFINE_list(
        "prior_weights", [], "Per class, the haematoxylin prior's share of the seeds' ranking (refine.prior_weights)."
    )
    flags.DEFINE_float("prior_sigma", 2.5, "The prior's smoothing in cells (config.method.refine.prior_sigma).")
    flags.DEFINE_string("data_root", "", "Read the split from here instead of the workdir's data.root.")
    flags.DEFINE_string("output", "", "Also write the table as JSON to this file.")
    flags.mark_flags_as_required(["workdir"])


def parse_fractions(values):
    """`["0.1:0.3"]` -> `[(0.1, 0.3)]`, each share in (0, 1).

    Example:
    >>> parse_fractions(["0.1:0.3", "0.2:0.2"])
    [(0.1, 0.3), (0.2, 0.2)]
    """
    pairs = []
    for value in values:
        try:
            foreground, background = (float(part) for part in value.split(":"))
        except ValueError:
            raise ValueError(f"--fractions: {value!r} is not FOREGROUND:BACKGROUND (e.g. 0.2:0.3)") from None
        if not (0 < foreground < 1 and 0 < background < 1 and foreground + background <= 1):
            raise ValueError(f"--fractions: {value!r}: both shares in (0, 1), their sum <= 1")
        pairs.append((foreground, background))
    return pairs


def grid_scores(teacher_masks, true_masks, fractions, border_margin=0):
    """Per rule, the pooled `(foreground precision, background precision, seeds per image)` on the grid.

    `teacher_masks` and `true_masks` are lists of `(h, w)` float arrays on the
    decoder's grid (the true ones as foreground fractions of each cell);
    `border_margin` cells along the border never seed, as in training.

    Example:
    >>> teacher = [np.array([[0.9, 0.8, 0.1, 0.0]])]
    >>> truth = [np.array([[1.0, 0.0, 0.0, 0.5]])]
    >>> grid_scores(teacher, truth, [(0.5, 0.5)])[(0.5, 0.5)]  # fg cells 1.0, 0.0; bg cells 1.0, 0.5
    (0.5, 0.75, 4.0)
    """
    import tensorflow as tf

    from mmu_tf.models.pseudo_labels import away_from_border, confident_regions

    results = {}
    for fraction in fractions:
        foreground_truth, background_truth, seeds = [], [], 0
        for teacher, truth in zip(teacher_masks, true_masks):
            foreground, background = (
                away_from_border(region, border_margin).numpy()[0]
                for region in confident_regions(tf.constant(teacher[None]), *fraction)
            )
            foreground_truth.append(truth[foreground])
            background_truth.append(1.0 - truth[background])
            seeds += int(foreground.sum() + background.sum())
        results[fraction] = (
            float(np.concatenate(foreground_truth).mean()),
            float(np.concatenate(background_truth).mean()),
            seeds / len(teacher_masks),
        )
    return results


def main(argv):
    del argv
    import cv2
    import tensorflow as tf

    from mmu_tf.data.datasets import load_dataset_split
    from mmu_tf.data.pipeline import original_and_model_inputs
    from mmu_tf.inference import Predictor
    from mmu_tf.layers.area_downsampling import area_downsample
    from mmu_tf.models.pseudo_labels import ranked_with_prior
    from mmu_tf.models.refine import combined_teacher_scores, load_teacher
    from mmu_tf.workdir import load_workdir

    fractions = parse_fractions(flags.FLAGS.fractions)
    prior_weights = tuple(float(weight) for weight in flags.FLAGS.prior_weights)
    workdirs = flags.FLAGS.workdir
    try:
        first, data_config = load_workdir(workdirs[0])
        # The other teachers checked as the refine method checks them against its run's data.
        models = [first] + [
            load_teacher(workdir, data_config, first.class_names, flag="--workdir") for workdir in workdirs[1:]
        ]
    except (FileNotFoundError, ValueError) as error:
        raise app.UsageError(str(error)) from None
    if flags.FLAGS.data_root:
        data_config.root = flags.FLAGS.data_root
    split = load_dataset_split(data_config, flags.FLAGS.split)
    predictors = [Predictor(model, class_names=split.class_names) for model in models]
    teacher_masks = {label: [] for label in range(len(split.class_names))}
    true_masks = {label: [] for label in range(len(split.class_names))}
    for inputs, _, label, mask, has_mask, _ in original_and_model_inputs(split, data_config):
        if not bool(has_mask):
            continue
        height, width = int(inputs.shape[0]), int(inputs.shape[1])
        grid = (-(-width // GRID_STRIDE), -(-height // GRID_STRIDE))
        soft_masks = [predictor.predict_batch(inputs[None])["mask"] for predictor in predictors]
        truth = cv2.resize(mask.numpy().astype(np.float32), (width, height), interpolation=cv2.INTER_NEAREST)
        # The refine method's own ranking on its grid: the teacher's map, area-averaged, and the prior.
        scores = combined_teacher_scores(soft_masks, grid[::-1])
        small_image = area_downsample(inputs[None], grid[::-1])
        scores = ranked_with_prior(scores, small_image, tf.reshape(label, [1]), prior_weights, flags.FLAGS.prior_sigma)
        teacher_masks[int(label)].append(scores.numpy()[0])
        true_masks[int(label)].append(
            tf.image.resize(truth[None, ..., None], grid[::-1], method="area").numpy()[0, ..., 0]
        )
    if not any(teacher_masks.values()):
        raise app.UsageError(f"--split {flags.FLAGS.split}: no image with a mask")
    margin = flags.FLAGS.border_margin
    every = grid_scores(sum(teacher_masks.values(), []), sum(true_masks.values(), []), fractions, margin)
    per_class = {
        split.class_names[label]: grid_scores(teacher_masks[label], true_masks[label], fractions, margin)
        for label in teacher_masks
        if teacher_masks[label]
    }
    header = "| fg:bg shares | fg precision | bg precision | " + " | ".join(f"{name} fg / bg" for name in per_class)
    lines = [header + " |", "|---" * (3 + len(per_class)) + "|"]
    rows = []
    for fraction in fractions:
        foreground, background, _ = every[fraction]
        cells = [f"{fraction[0]:g}:{fraction[1]:g}", f"{100 * foreground:.1f}", f"{100 * background:.1f}"]
        cells += [
            f"{100 * per_class[name][fraction][0]:.1f} / {100 * per_class[name][fraction][1]:.1f}" for name in per_class
        ]
        lines.append("| " + " | ".join(cells) + " |")
        rows.append(
            {
                "foreground_fraction": fraction[0],
                "background_fraction": fraction[1],
                "foreground_precision": 100 * foreground,
                "background_precision": 100 * background,
                "per_class": {
                    name: {
                        "foreground_precision": 100 * per_class[name][fraction][0],
                        "background_precision": 100 * per_class[name][fraction][1],
                    }
                    for name in per_class
                },
            }
        )
    images = len(sum(true_masks.values(), []))
    prior = f", prior weights {prior_weights}" if prior_weights else ""
    where = f"{','.join(workdirs)} on {flags.FLAGS.split} ({images} images"
    print(f"Seeds of {where}, border margin {margin} cells{prior}):")
    print("\n".join(lines))
    if flags.FLAGS.output:
        with open(flags.FLAGS.output, "w") as handle:
            summary = {"workdir": ",".join(workdirs), "split": flags.FLAGS.split, "border_margin": margin}
            summary["prior_weights"] = list(prior_weights)
            json.dump({**summary, "rules": rows}, handle, indent=2)
    return 0


if __name__ == "__main__":
    define_flags()
    sys.exit(app.run(main))
