r"""Reproduces paper Table 1 and Table 4 on one split: trains every method, scores it, writes tables and figures.

    python -m mmu_tf.reproduce --workdir=runs/reproduce_demo --budget=epochs=3
    python -m mmu_tf.reproduce --config=configs/glas.py --split=valid \
        --workdir=runs/reproduce_glas --budget=epochs=10,size=208

Each method trains in its own process (`python -m mmu_tf.train`) in WORKDIR/<run>
(its log in WORKDIR/<run>/train.log), so a run that finished is skipped,
one that was interrupted resumes, and one that fails is reported without
stopping the others. Then the command writes in WORKDIR:

- table1.md: method | error | F1+ | F1- on --split, the paper's GlaS test
  numbers beside them, and each run's training time;
- ablation.md: the rows of paper Table 4;
- cost.md: parameters and seconds per image of each method (paper Table 3);
- confusion_matrices.png (Fig. 5), sizes.png (Fig. 7), masks.png (Fig. 11).

Every --config.<field>=<value> override is passed on to every run; the
budget's epochs and input size override the config's, and are written in
the tables' captions.
"""

import importlib
import json
import os
import subprocess
import sys
import time
import typing

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from mmu_tf import configs  # noqa: E402
from mmu_tf.cli import run_main  # noqa: E402


class Run(typing.NamedTuple):
    """One row of the tables: its label, its `--config.method.*` values, the paper's GlaS test
    numbers (error, F1+, F1-), and the paper's own training settings for it (§4.1b), which a
    user's `--config.*` overrides replace."""

    label: str
    method: dict
    paper: tuple
    protocol: dict = {}


def load_catalogue(module="mmu_tf.configs.reproduction"):
    """The runs of the tables, from the catalogue module (`configs/reproduction.py`).

    Returns `(runs {name: Run}, table1 names, ablation (name, label) pairs)`.
    """
    catalogue = importlib.import_module(module)
    runs = {name: Run(*row) for name, row in catalogue.RUNS.items()}
    return runs, tuple(catalogue.TABLE1), tuple(catalogue.ABLATION)


RUNS, TABLE1, ABLATION = load_catalogue()
GROUPS = {
    "all": TABLE1 + tuple(name for name, _ in ABLATION if name not in TABLE1),
    "table1": TABLE1,
    "ablation": tuple(name for name, _ in ABLATION),
}


def parse_budget(text):
    """`'epochs=10,size=208'` -> `{'epochs': 10, 'size': 208}`; raises ValueError naming --budget."""
    budget = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, _, value = item.partition("=")
        if key not in ("epochs", "size") or not value.strip().isdigit() or int(value) < 1:
            raise ValueError(f"--budget: {item!r} is not epochs=N or size=N with N >= 1 (got {text!r})")
        budget[key] = int(value)
    return budget


def budget_overrides(config, budget):
    """The `--config.*` values a budget sets, given the run's config."""
    overrides = {}
    if "epochs" in budget:
        overrides["epochs"] = budget["epochs"]
    if "size" in budget:
        size = budget["size"]
        data = config.data
        if data.resize_mode == "short_side":
            # Keep the config's ratio of resized short side to crop (GlaS: 432 / 416).
            ratio = data.resize_short_side / data.crop_size if data.crop_size else 1.0
            overrides["data.resize_short_side"] = int(round(size * ratio))
            overrides["data.crop_size"] = size if data.crop_size else 0
        else:
            overrides["data.resize_mode"] = "fixed"
            overrides["data.image_size"] = (size, size)
            overrides["data.crop_size"] = 0
    return overrides


def select_runs(text):
    """The run names of --methods, in table order; raises ValueError naming --methods."""
    if text in GROUPS:
        return list(GROUPS[text])
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in RUNS]
    if unknown or not names:
        raise ValueError(f"--methods: unknown runs {unknown}; use all, table1, ablation or names from {list(RUNS)}")
    return names


def _flag_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(repr(item) for item in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


def run_arguments(config_file, run_name, split, user_overrides, budget):
    """The train_main.py command-line flags of one run (after the config file)."""
    run = RUNS[run_name]
    overrides = dict(run.protocol)
    overrides.update(user_overrides)
    overrides.update(budget)
    overrides.update({f"method.{key}": value for key, value in run.method.items()})
    overrides["data.eval_splits"] = (split,)
    overrides.setdefault("eval.tensorboard_images_every", 0)
    return [f"--config={config_file}"] + [f"--config.{key}={_flag_value(value)}" for key, value in overrides.items()]


def _run_state(folder, split):
    return {
        "finished": os.path.isfile(os.path.join(folder, "finished.json")),
        "scored": os.path.isfile(os.path.join(folder, "metrics", f"{split}.json")),
    }


def train_runs(runs, workdir, arguments_of, split):
    """Trains (or resumes, or skips) each run in its own process; returns {run: status dict}."""
    statuses = {}
    for index, run_name in enumerate(runs, 1):
        folder = os.path.join(workdir, run_name)
        os.makedirs(folder, exist_ok=True)
        info_path = os.path.join(folder, "reproduce.json")
        info = json.load(open(info_path)) if os.path.isfile(info_path) else {"train_seconds": 0.0}
        state = _run_state(folder, split)
        prefix = f"[{index}/{len(runs)}] {run_name}"
        if state["finished"] and state["scored"]:
            print(f"{prefix}: done already, skipped", flush=True)
            statuses[run_name] = {"ok": True, **info}
            continue
        command = [sys.executable, "-m", "mmu_tf.train", f"--workdir={folder}", *arguments_of(run_name)]
        if state["finished"]:
            command += ["--mode=evaluate", f"--split={split}"]
        print(f"{prefix}: {'evaluating' if state['finished'] else 'training'} (log: {folder}/train.log)", flush=True)
        start = time.perf_counter()
        with open(os.path.join(folder, "train.log"), "a") as log:
            returncode = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
        seconds = time.perf_counter() - start
        if not state["finished"]:
            info["train_seconds"] += seconds
            with open(info_path, "w") as handle:
                json.dump(info, handle)
        if returncode != 0:
            with open(os.path.join(folder, "train.log")) as log:
                tail = log.read()[-1500:]
            print(f"{prefix}: FAILED (exit {returncode}); the end of its log:\n{tail}", flush=True)
            statuses[run_name] = {"ok": False, "returncode": returncode, **info}
        else:
            print(f"{prefix}: {seconds:.0f} s", flush=True)
            statuses[run_name] = {"ok": True, **info}
    return statuses


def read_metrics(workdir, run_name, split):
    path = os.path.join(workdir, run_name, "metrics", f"{split}.json")
    if not os.path.isfile(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def short_label(run_name):
    """The run's label without a "(... bound)" note, for the figures' narrow columns."""
    label = RUNS[run_name].label
    return label.split(" (")[0] if "bound)" in label else label


def _cell(value):
    return "-" if value is None else f"{value:.2f}"


def _row(label, metrics, paper, status):
    ours = ["not run"] * 5 if metrics is None else []
    if metrics is not None:
        error = _cell(metrics["classification_error"])
        ours = [
            # The paper scores no classifier for these methods ("-"): ours is a side output (the class
            # prior, a pooling classifier), shown but set apart.
            error if paper[0] is not None else f"({error})",
            _cell(metrics["f1_foreground"]),
            _cell(metrics["f1_background"]),
            _cell(metrics.get("foreground_auc")),  # absent from metrics written before it existed
            _cell(metrics.get("pixel_average_precision")),
        ]
    elif status is not None and not status["ok"]:
        ours = [f"failed (exit {status['returncode']})", "", "", "", ""]
    minutes = "" if status is None else f"{status.get('train_seconds', 0.0) / 60:.1f}"
    return f"| {label} | " + " | ".join([*ours, *(_cell(value) for value in paper), minutes]) + " |"


_HEADER = (
    "| method | error % | F1+ % | F1- % | pixel AUC % | PxAP % | paper error | paper F1+ | paper F1- | train min |\n"
    "|---|---|---|---|---|---|---|---|---|---|"
)


def method_settings():
    """The catalogue's per-method training settings in words, grouped: "lr 0.01 for CAM-Max, ...; ..."."""
    groups = {}
    for run in RUNS.values():
        settings = ", ".join(f"{key}={_flag_value(value)}" for key, value in run.protocol.items())
        groups.setdefault(settings or "the config's own", []).append(run.label)
    return "; ".join(f"{settings} for {', '.join(labels)}" for settings, labels in groups.items())


def caption(config_file, split, budget, user_overrides, total_seconds):
    overrides = ", ".join(f"{key}={_flag_value(value)}" for key, value in user_overrides.items()) or "none"
    budget_text = ", ".join(f"{key} {value}" for key, value in budget.items()) or "the config's own"
    return (
        f"Split `{split}` of `{os.path.relpath(config_file)}`; budget: {budget_text}; "
        f"config overrides: {overrides} (over each method's settings from paper §4.1b: {method_settings()}). "
        "Paper columns: GlaS test, full protocol, ImageNet-pretrained "
        f"ResNet-18 (paper Tables 1 and 4). Training time of the runs listed: {total_seconds / 60:.1f} min "
        "on this machine. Error: % misclassified; F1+/F1-: Dice of foreground/background per image, "
        "averaged over images (docs/method.md §4); pixel AUC: how well the soft mask ranks foreground above "
        "background pixels, per image, averaged (50 = chance, no threshold). An error in parentheses: a method "
        'the paper scores no classifier for ("-" there); ours has one only so that every method gives the '
        "same outputs (All-ones: the class prior; PN: its CAM head; U-Net: a pooling classifier on the deepest "
        "features)."
    )


def write_tables(workdir, runs, statuses, split, caption_text):
    """Writes table1.md and ablation.md from the runs' metrics; returns their paths."""
    rows = [
        _row(RUNS[name].label, read_metrics(workdir, name, split), RUNS[name].paper, statuses.get(name))
        for name in TABLE1
        if name in runs
    ]
    table1 = os.path.join(workdir, "table1.md")
    with open(table1, "w") as handle:
        handle.write(f"# Paper Table 1, reproduced\n\n{caption_text}\n\n{_HEADER}\n" + "\n".join(rows) + "\n")
    rows = [
        _row(label, read_metrics(workdir, name, split), RUNS[name].paper, statuses.get(name))
        for name, label in ABLATION
        if name in runs
    ]
    ablation = os.path.join(workdir, "ablation.md")
    with open(ablation, "w") as handle:
        handle.write(f"# Paper Table 4 (ablation), reproduced\n\n{caption_text}\n\n{_HEADER}\n")
        handle.write("\n".join(rows) + "\n")
    return table1, ablation


def write_figures_and_cost(workdir, runs, split_name, config, figure_images, timing_images):
    """Loads each run's best checkpoint: masks.png (shared images), cost.md, confusion_matrices.png, sizes.png."""
    import cv2
    import keras
    import numpy as np

    import mmu_tf.models  # noqa: F401  (registers the classes the checkpoints name)
    from mmu_tf.data.datasets import load_dataset_split
    from mmu_tf.data.pipeline import evaluation_dataset
    from mmu_tf.evaluation import figures
    from mmu_tf.evaluation.visualize import write_png
    from mmu_tf.inference import Predictor

    done = [name for name in runs if read_metrics(workdir, name, split_name) is not None]
    if not done:
        print("No run has metrics yet; no figures.")
        return []
    named_counts, named_sizes = [], []
    for name in done:
        metrics = read_metrics(workdir, name, split_name)
        named_counts.append((short_label(name), metrics["pixel_confusion_matrix"]["counts"]))
        records = [record for record in metrics["per_image"] if "true_foreground_fraction" in record]
        named_sizes.append(
            (
                short_label(name),
                [record["true_foreground_fraction"] for record in records],
                [record["predicted_foreground_fraction"] for record in records],
            )
        )
    paths = [os.path.join(workdir, "confusion_matrices.png"), os.path.join(workdir, "sizes.png")]
    write_png(paths[0], figures.confusion_matrices_figure(named_counts))
    write_png(paths[1], figures.sizes_figure(named_sizes))

    split = load_dataset_split(config.data, split_name)
    shown = np.linspace(0, len(split) - 1, min(figure_images, len(split))).round().astype(int)
    shown_batches = [next(iter(evaluation_dataset(_one(split, index), config.data, 1)))[0] for index in shown]
    timed = max(1, min(timing_images, len(split)))
    timed_batches = [batch[0] for batch in evaluation_dataset(split, config.data, 1).take(timed)]
    named_masks, cost_rows = [], []
    for name in done:
        keras.backend.clear_session()
        predictor = Predictor.from_workdir(os.path.join(workdir, name))
        predictor.predict_batch(timed_batches[0])  # trace once outside the timing
        start = time.perf_counter()
        for images in timed_batches:
            predictor.predict_batch(images)["mask"].numpy()
        seconds_per_image = (time.perf_counter() - start) / len(timed_batches)
        cost_rows.append(f"| {RUNS[name].label} | {predictor.model.count_params():,} | {seconds_per_image:.4f} |")
        masks = []
        for index, batch in zip(shown, shown_batches):
            height, width = split.images[index].shape[:2]
            mask = predictor.predict_batch(batch)["mask"].numpy()[0]
            masks.append(cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR))
        named_masks.append((short_label(name), masks))
    paths.append(os.path.join(workdir, "masks.png"))
    write_png(
        paths[-1],
        figures.masks_figure(
            [split.images[index] for index in shown],
            [split.masks[index] for index in shown] if split.masks else None,
            named_masks,
            [split.names[index] for index in shown],
        ),
    )
    paths.append(os.path.join(workdir, "cost.md"))
    with open(paths[-1], "w") as handle:
        handle.write(
            "# Inference cost (paper Table 3)\n\n"
            f"Seconds per image: mean over {len(timed_batches)} images of split `{split_name}` at the evaluation "
            "size, batch 1, a traced function, on this machine's CPU (the paper: a GTX 1080 Ti).\n\n"
            "| method | parameters | s / image |\n|---|---|---|\n" + "\n".join(cost_rows) + "\n"
        )
    return paths


def _one(split, index):
    """A one-image view of a split (for the mask grid)."""
    import dataclasses

    return dataclasses.replace(
        split,
        images=[split.images[index]],
        masks=[split.masks[index]] if split.masks else split.masks,
        labels=split.labels[index : index + 1],
        names=[split.names[index]],
    )


def define_flags():
    """Defines this command's flags (at run time, so importing the module defines none)."""
    config_flags.DEFINE_config_file(
        "config",
        configs.DEFAULT_CONFIG_FILE,
        "Config file of every run (configs/demo.py: the embedded synthetic data; configs/glas.py: GlaS). "
        "--config.<field>=<value> overrides are passed on to every run.",
        lock_config=True,
    )
    flags.DEFINE_string("workdir", None, "Folder of the runs (one subfolder each), tables and figures.")
    flags.DEFINE_string(
        "methods",
        "all",
        "all | table1 | ablation | a comma-separated list of runs: " + ",".join(RUNS),
    )
    flags.DEFINE_string("split", "valid", "The split every method is scored on (the paper's tables: test).")
    flags.DEFINE_string(
        "budget",
        "",
        "Training budget, e.g. 'epochs=10,size=208': epochs per run, and the training crop size in pixels "
        "(the evaluation resize scales with it). Empty: the config's own.",
    )
    flags.DEFINE_integer("figure_images", 4, "Images of the split shown in masks.png.")
    flags.DEFINE_integer("timing_images", 8, "Images of the split timed for cost.md.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.workdir:
        raise app.UsageError("--workdir is required: the folder the runs, tables and figures go to.")
    try:
        runs = select_runs(flags.FLAGS.methods)
        budget = parse_budget(flags.FLAGS.budget)
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    config = flags.FLAGS.config
    config_file = os.path.abspath(config_flags.get_config_filename(flags.FLAGS["config"]))
    user_overrides = config_flags.get_override_values(flags.FLAGS["config"])
    overrides = budget_overrides(config, budget)
    with config.unlocked():
        for key, value in overrides.items():
            target = config
            *parents, leaf = key.split(".")
            for parent in parents:
                target = target[parent]
            target[leaf] = value
    from mmu_tf.data.datasets import load_dataset_split
    from mmu_tf.data.samples import DataError

    try:
        load_dataset_split(config.data, flags.FLAGS.split)
    except (DataError, OSError) as error:
        raise app.UsageError(f"--split={flags.FLAGS.split}: cannot load it ({error})") from error
    workdir = flags.FLAGS.workdir
    os.makedirs(workdir, exist_ok=True)
    print(f"Reproducing {len(runs)} runs on split {flags.FLAGS.split!r} in {workdir}: {', '.join(runs)}")
    statuses = train_runs(
        runs,
        workdir,
        lambda name: run_arguments(config_file, name, flags.FLAGS.split, user_overrides, overrides),
        flags.FLAGS.split,
    )
    total = sum(status.get("train_seconds", 0.0) for status in statuses.values())
    text = caption(config_file, flags.FLAGS.split, budget, user_overrides, total)
    paths = list(write_tables(workdir, runs, statuses, flags.FLAGS.split, text))
    paths += write_figures_and_cost(
        workdir, runs, flags.FLAGS.split, config, flags.FLAGS.figure_images, flags.FLAGS.timing_images
    )
    with open(paths[0]) as handle:
        print(handle.read())
    print("Written: " + ", ".join(paths))
    failed = [name for name, status in statuses.items() if not status["ok"]]
    if failed:
        print(f"Failed runs (see their train.log): {', '.join(failed)}")
        return 1
    return 0


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
