r"""How well can a backbone's feature maps rank gland pixels at all? An oracle and two probes on GlaS.

    python -m tools.localisation_ceiling --output=runs/ceiling \
        --pretrained=efficientnet_lite0_imagenet            # ImageNet features, frozen
    python -m tools.localisation_ceiling --output=runs/ceiling_maxmin \
        --workdir=runs/glas_lite0                           # the backbone a run fine-tuned

For each pyramid level (stride 16 and 32 by default) it scores, on the
`--split` images, with the evaluation's own resizing, map upsampling and
per-image pixel AUC (docs/method.md §4):

- **oracle**: the true mask averaged over each cell of the grid, upsampled
  back: the best any map of that resolution can do (the resolution ceiling);
- **linear probe**: a ridge regression from the cell's features to the
  cell's true foreground fraction, fitted on `--fit_split` (full
  supervision: pixel labels, which weakly-supervised training never sees),
  read out on every cell of `--split` and upsampled. Roughly the best
  localisation a linear head (such as a WILDCAT head) on these features can
  reach, whatever loss trains it;
- **MLP probe**: the same with one hidden layer (`fit_perceptron`), for a
  non-linear head on the same cell's features.

Writes `ceiling.json` and `ceiling.md` (a table, the same as printed) into
`--output`. The probe is a guide, not a strict bound (fine-tuning changes
the features, and least squares does not maximise AUC), but a goal far above
it asks for other features more than for another loss.
"""

import json
import os

import numpy as np
from absl import app, flags

from mmu_tf.configs import glas_lite0
from mmu_tf.evaluation.metrics import pixel_auc

# A small ridge penalty on standardised features: about one cell's worth of weight.
RIDGE_PENALTY = 1.0
# The MLP probe, set once and not tuned on the scored split: dropout and weight decay because
# 19,530 training cells (GlaS train at stride 32) are few for the ~330,000 weights on 1,280 channels.
PERCEPTRON = {"hidden_units": 256, "dropout": 0.5, "weight_decay": 1e-4, "learning_rate": 1e-3, "epochs": 20}


def define_flags():
    flags.DEFINE_string("output", None, "Folder for ceiling.json and ceiling.md.")
    flags.DEFINE_string(
        "pretrained", "efficientnet_lite0_imagenet", "Backbone weights, as --config.model.pretrained takes them."
    )
    flags.DEFINE_string("workdir", "", "Take the backbone of this trained workdir instead of --pretrained.")
    flags.DEFINE_string("data_root", glas_lite0.get_config().data.root, "GlaS data root.")
    flags.DEFINE_string("fit_split", "train", "Split the linear probe is fitted on.")
    flags.DEFINE_string("split", "valid", "Split scored.")
    flags.DEFINE_list("levels", ["P4", "P5"], "Pyramid levels to read (P4: stride 16, P5: stride 32).")
    flags.DEFINE_integer(
        "resize_short_side",
        glas_lite0.get_config().data.resize_short_side,
        "Images are resized to this short side before the backbone, as `--config.data.resize_short_side`.",
    )
    flags.mark_flags_as_required(["output"])


def cell_fractions(mask, stride, grid_shape):
    """The foreground fraction of the stride x stride window centred on each cell's pixel (stride * i).

    Cell i of a stride-s map lies over pixel s * i (`mmu_tf.layers.map_upsampling`).

    Example:
    >>> mask = np.zeros((8, 8), bool); mask[:, 4:] = True
    >>> cell_fractions(mask, 4, (2, 2)).tolist()
    [[0.0, 0.5], [0.0, 0.5]]
    """
    import cv2

    box = cv2.blur(mask.astype(np.float32), (stride, stride), borderType=cv2.BORDER_REFLECT)
    rows = np.minimum(np.arange(grid_shape[0]) * stride, mask.shape[0] - 1)
    columns = np.minimum(np.arange(grid_shape[1]) * stride, mask.shape[1] - 1)
    return box[np.ix_(rows, columns)]


def fit_ridge(features, targets, penalty=RIDGE_PENALTY):
    """Least squares with an L2 penalty on standardised features; returns `predict(features)`.

    Example:
    >>> features = np.random.default_rng(0).normal(size=(200, 3))
    >>> predict = fit_ridge(features, 2.0 * features[:, 0] - 1.0, penalty=1e-6)
    >>> bool(np.allclose(predict(features), 2.0 * features[:, 0] - 1.0, atol=1e-4))
    True
    """
    mean, scale = features.mean(0), features.std(0) + 1e-6
    standardised = (features - mean) / scale
    design = np.concatenate([standardised, np.ones((len(standardised), 1))], axis=1)
    regulariser = penalty * np.eye(design.shape[1])
    regulariser[-1, -1] = 0.0  # the bias is not penalised
    weights = np.linalg.solve(design.T @ design + regulariser, design.T @ targets)

    def predict(new_features):
        new_design = np.concatenate([(new_features - mean) / scale, np.ones((len(new_features), 1))], axis=1)
        return new_design @ weights

    return predict


def fit_perceptron(features, targets, hidden_units, dropout, weight_decay, learning_rate, epochs, seed=0):
    """One hidden ReLU layer on standardised features, fitted by binary cross-entropy to fractions in [0, 1].

    Returns `predict(features)`, the sigmoid output. Seeded: the same data gives the same probe.

    Example:
    >>> features = np.linspace(-1.0, 1.0, 200)[:, None]
    >>> predict = fit_perceptron(features, (np.abs(features[:, 0]) > 0.5).astype("float32"),
    ...     hidden_units=16, dropout=0.0, weight_decay=0.0, learning_rate=0.1, epochs=30)
    >>> bool(predict(np.array([[-0.9], [0.9]])).min() > predict(np.array([[0.0]]))[0])
    True
    """
    import keras

    mean, scale = features.mean(0), features.std(0) + 1e-6
    keras.utils.set_random_seed(seed)
    regularizer = keras.regularizers.L2(weight_decay) if weight_decay else None
    model = keras.Sequential(
        [
            keras.Input((features.shape[1],)),
            keras.layers.Dropout(dropout),
            keras.layers.Dense(hidden_units, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy")
    model.fit((features - mean) / scale, targets, epochs=epochs, batch_size=256, shuffle=True, verbose=0)

    def predict(new_features):
        return model.predict((new_features - mean) / scale, batch_size=4096, verbose=0)[:, 0]

    return predict


def upsampled_to_original(cells, resized_shape, original_shape):
    """A cell map -> the evaluation's soft-map geometry: upsampled to the model input, resized to the image."""
    import cv2
    import tensorflow as tf

    from mmu_tf.layers.map_upsampling import upsample_maps

    upsampled = upsample_maps(tf.constant(cells[None], tf.float32), resized_shape).numpy()[0]
    return cv2.resize(upsampled, (original_shape[1], original_shape[0]), interpolation=cv2.INTER_LINEAR)


def _feature_extractor(levels):
    import keras

    from mmu_tf.models.backbones import build_backbone, imagenet_normalization

    if FLAGS.workdir:
        from mmu_tf.workdir import load_workdir

        backbone = load_workdir(FLAGS.workdir)[0].backbone
    else:
        backbone = build_backbone(pretrained=FLAGS.pretrained)
    pyramid_outputs = getattr(backbone, "pyramid_outputs", None)
    if pyramid_outputs is None:
        # A backbone cut at `model.feature_level` has one level left: its output.
        if len(levels) != 1:
            raise ValueError("--levels: this backbone was cut at one feature level; name only that one")
        pyramid_outputs = {levels[0]: backbone.output}
    missing = [level for level in levels if level not in pyramid_outputs]
    if missing:
        raise ValueError(f"--levels: {missing} not in the backbone's {sorted(pyramid_outputs)}")
    inputs = keras.Input((None, None, 3))
    pyramid = keras.Model(backbone.inputs, [pyramid_outputs[level] for level in levels])
    outputs = pyramid(imagenet_normalization()(inputs))
    return keras.Model(inputs, outputs if len(levels) > 1 else [outputs])


def _split_cells(split_name, extractor, levels, data_config):
    """Per image: its original mask, label, resized shape, and per level its features, truth and stride."""
    from mmu_tf.data.datasets import load_dataset_split
    from mmu_tf.data.pipeline import original_and_model_inputs, resize_uint8
    from mmu_tf.data.samples import DataError
    from mmu_tf.layers.map_upsampling import map_stride

    split = load_dataset_split(data_config, split_name)
    if not split.has_masks:
        raise DataError(f"split {split_name!r}: every image needs a mask to score localisation")
    images = []
    for inputs, image, label, mask, _, name in original_and_model_inputs(split, data_config):
        resized_mask = resize_uint8(image, mask, data_config)[1].numpy().astype(bool)
        per_level = {}
        for level, features in zip(levels, extractor(inputs[None], training=False)):
            features = np.asarray(features)[0]
            stride = int(map_stride(inputs.shape[0], features.shape[0]))
            per_level[level] = {
                "features": features,
                "truth": cell_fractions(resized_mask, stride, features.shape[:2]),
                "stride": stride,
            }
        images.append(
            {
                "name": name.numpy().decode(),
                "label": int(label),
                "mask": mask.numpy(),
                "resized_shape": tuple(inputs.shape[:2]),
                "levels": per_level,
            }
        )
    return images


def _mean_auc(images, maps, labels=None):
    scores = [
        pixel_auc(soft, image["mask"])
        for image, soft in zip(images, maps)
        if labels is None or image["label"] in labels
    ]
    scores = [score for score in scores if score is not None]
    return 100.0 * float(np.mean(scores))


def main(argv):
    del argv
    import ml_collections

    data_config = ml_collections.ConfigDict(glas_lite0.get_config().data.to_dict())
    data_config.root = FLAGS.data_root
    data_config.resize_short_side = FLAGS.resize_short_side
    levels = list(FLAGS.levels)
    try:
        extractor = _feature_extractor(levels)
        fit_images = _split_cells(FLAGS.fit_split, extractor, levels, data_config)
        scored_images = _split_cells(FLAGS.split, extractor, levels, data_config)
    except (OSError, ValueError) as error:  # a missing workdir or data, a bad level: one line
        # The loader names train_main's flag; this command's is --data_root.
        raise app.UsageError(str(error).replace("--config.data.root", "--data_root")) from error
    results = {
        "backbone": FLAGS.workdir or FLAGS.pretrained,
        "split": FLAGS.split,
        "resize_short_side": FLAGS.resize_short_side,
        "levels": {},
    }
    for level in levels:
        fit_cells = [image["levels"][level] for image in fit_images]
        features = np.concatenate([cells["features"].reshape(-1, cells["features"].shape[-1]) for cells in fit_cells])
        targets = np.concatenate([cells["truth"].ravel() for cells in fit_cells])
        probes = {"probe": fit_ridge(features, targets), "mlp_probe": fit_perceptron(features, targets, **PERCEPTRON)}
        maps = {"oracle": [], **{name: [] for name in probes}}
        for image in scored_images:
            cell_features, truth_cells = image["levels"][level]["features"], image["levels"][level]["truth"]
            flat_features = cell_features.reshape(-1, cell_features.shape[-1])
            cells = {"oracle": truth_cells}
            cells.update({name: predict(flat_features).reshape(truth_cells.shape) for name, predict in probes.items()})
            for name, grid in cells.items():
                maps[name].append(upsampled_to_original(grid, image["resized_shape"], image["mask"].shape))
        row = {"stride": fit_cells[0]["stride"], "channels": int(features.shape[-1]), "fit_cells": int(len(targets))}
        row["oracle_auc"] = _mean_auc(scored_images, maps["oracle"])
        for name in probes:
            row[f"{name}_auc"] = _mean_auc(scored_images, maps[name])
            row[f"{name}_auc_benign"] = _mean_auc(scored_images, maps[name], labels=(0,))
            row[f"{name}_auc_malignant"] = _mean_auc(scored_images, maps[name], labels=(1,))
        results["levels"][level] = row
    lines = [
        f"Localisation ceilings on GlaS {FLAGS.split}, backbone {results['backbone']}, short side "
        f"{FLAGS.resize_short_side} px (pixel AUC, per image, mean)",
        "",
        "| level | stride | channels | oracle (true mask at the grid) | linear probe | benign / malignant "
        "| MLP probe | benign / malignant |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level, row in results["levels"].items():
        columns = [level, str(row["stride"]), str(row["channels"]), f"{row['oracle_auc']:.2f}"]
        for name in ("probe", "mlp_probe"):
            columns.append(f"{row[f'{name}_auc']:.2f}")
            columns.append(f"{row[f'{name}_auc_benign']:.2f} / {row[f'{name}_auc_malignant']:.2f}")
        lines.append("| " + " | ".join(columns) + " |")
    os.makedirs(FLAGS.output, exist_ok=True)
    with open(os.path.join(FLAGS.output, "ceiling.json"), "w") as handle:
        json.dump(results, handle, indent=2)
    with open(os.path.join(FLAGS.output, "ceiling.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
    print("\n".join(lines))


FLAGS = flags.FLAGS

if __name__ == "__main__":
    define_flags()
    app.run(main)
