r"""Trains, selects and evaluates a Max-Min model (Belharbi et al., IEEE TMI 2021).

    python train_main.py --config=configs/demo.py --workdir=runs/demo
    python train_main.py --config=configs/glas.py --workdir=runs/glas \
        --config.data.root=/path/to/glas --config.method.background=eem
    python train_main.py --mode=evaluate --config=configs/glas.py --workdir=runs/glas --split=valid

Training keeps the checkpoint with the best validation accuracy (the latest
epoch wins a tie) in WORKDIR/checkpoints/best.keras, the last one in
last.keras, the per-epoch logs in WORKDIR/history.csv and TensorBoard logs in
WORKDIR/tensorboard; it then evaluates the best checkpoint on every split
whose files exist, writing WORKDIR/metrics/<split>.json and overlay pictures
in WORKDIR/overlays/<split>/. After every epoch the whole training state
(weights, optimizer, t, sigma, epoch, best so far) is backed up in
WORKDIR/backup: the same command, started again after a crash, resumes from
it; started after the run finished, it does nothing. Any config field can be overridden, for example
--config.epochs=10 --config.batch_size=8 --config.seed=1
--config.method.background=eem|sem|none --config.method.size_constraint=false.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402
from ml_collections import config_flags  # noqa: E402

from mmu_tf import configs  # noqa: E402
from mmu_tf.cli import run_main  # noqa: E402


def define_flags():
    """Defines this command's flags (at run time, so importing the module defines none)."""
    config_flags.DEFINE_config_file(
        "config",
        configs.DEFAULT_CONFIG_FILE,
        "Config file (configs/demo.py: the embedded synthetic data; configs/glas.py: the paper's "
        "GlaS protocol; configs/glas_lite0.py: GlaS on ImageNet EfficientNet-Lite0). Override fields with "
        "--config.<field>=<value>.",
        lock_config=True,
    )
    flags.DEFINE_string("workdir", None, "Folder for checkpoints, logs, metrics and pictures.")
    flags.DEFINE_enum(
        "mode",
        "train",
        ["train", "evaluate"],
        "train: train, select, evaluate. evaluate: evaluate WORKDIR's best checkpoint on the data it was "
        "trained with (its config.json; --config.<field> flags override it, e.g. --config.data.root).",
    )
    flags.DEFINE_string(
        "split", None, "With --mode=evaluate: the split to evaluate (default: every split whose files exist)."
    )


def check_config(config, mode="train"):
    """Fails early, naming the flag, on values no run can use."""
    from mmu_tf.data.augment import RESIZE_MODES
    from mmu_tf.data.datasets import DATASETS
    from mmu_tf.distribution import DISTRIBUTIONS
    from mmu_tf.inference.xla import JIT_COMPILE_SETTINGS
    from mmu_tf.models import METHODS, method_class
    from mmu_tf.precision import PRECISIONS

    problems = []
    if config.epochs < 1:
        problems.append(f"--config.epochs must be >= 1 (got {config.epochs})")
    if config.batch_size < 1:
        problems.append(f"--config.batch_size must be >= 1 (got {config.batch_size})")
    if config.data.name not in DATASETS:
        problems.append(f"--config.data.name must be one of {DATASETS} (got {config.data.name!r})")
    if config.method.name not in METHODS:
        problems.append(f"--config.method.name must be one of {METHODS} (got {config.method.name!r})")
    else:
        problems += method_class(config.method.name).config_problems(config, mode)
    if config.data.resize_mode not in RESIZE_MODES:
        problems.append(f"--config.data.resize_mode must be one of {RESIZE_MODES} (got {config.data.resize_mode!r})")
    if config.jit_compile not in JIT_COMPILE_SETTINGS:
        problems.append(f"--config.jit_compile must be one of {JIT_COMPILE_SETTINGS} (got {config.jit_compile!r})")
    if config.precision not in PRECISIONS:
        problems.append(f"--config.precision must be one of {PRECISIONS} (got {config.precision!r})")

    # Numbers that must be positive (or in a range) wherever they are read: named here, before any work.
    ranges = [
        ("optimizer.learning_rate", config.optimizer.learning_rate, 0.0, None, False),
        ("optimizer.momentum", config.optimizer.momentum, 0.0, 1.0, True),
        ("optimizer.weight_decay", config.optimizer.weight_decay, 0.0, None, True),
        ("optimizer.decay_factor", config.optimizer.decay_factor, 0.0, 1.0, False),
        ("optimizer.decay_epochs", config.optimizer.decay_epochs, 1, None, True),
        ("optimizer.global_clipnorm", config.optimizer.global_clipnorm, 0.0, None, True),
        ("data.crop_size", config.data.crop_size, 0, None, True),
        ("data.resize_short_side", config.data.resize_short_side, 32, None, True),
        ("data.max_image_pixels", config.data.max_image_pixels, 1, None, True),
        ("eval.batch_size", config.eval.batch_size, 1, None, True),
        ("eval.num_overlays", config.eval.num_overlays, 0, None, True),
        ("data.shuffle_buffer", config.data.shuffle_buffer, 1, None, True),
    ]
    for name, value, low, high, low_included in ranges:
        below = value < low if low_included else value <= low
        if below or (high is not None and value > high):
            bound = f">= {low}" if low_included else f"> {low}"
            bound += f" and <= {high}" if high is not None else ""
            problems.append(f"--config.{name} must be {bound} (got {value})")
    if config.data.crop_size and 0 < config.data.crop_size < 32:
        problems.append(f"--config.data.crop_size must be 0 (no crop) or >= 32 pixels (got {config.data.crop_size})")
    if len(config.data.image_size) != 2 or min(config.data.image_size) < 32:
        problems.append(f"--config.data.image_size must be (height, width), each >= 32 (got {config.data.image_size})")
    if config.distribution not in DISTRIBUTIONS:
        problems.append(f"--config.distribution must be one of {DISTRIBUTIONS} (got {config.distribution!r})")
    if config.cpu_devices < 1:
        problems.append(f"--config.cpu_devices must be >= 1 (got {config.cpu_devices})")
    if problems:
        raise app.UsageError("; ".join(problems))


def load_splits(config, names, required):
    """Loads the named splits; a split with missing files is skipped with a warning unless required."""
    from mmu_tf.data.datasets import load_dataset_split
    from mmu_tf.data.samples import MissingFilesError

    splits = {}
    for name in dict.fromkeys(names):
        try:
            splits[name] = load_dataset_split(config.data, name, seed=config.seed)
        except MissingFilesError as error:
            if name in required:
                raise
            print(f"Skipping split {name!r}: {error}", file=sys.stderr)
    return splits


def worker_workdir(workdir, distribution):
    """The folder this process writes to: WORKDIR, or WORKDIR/workers/<task> for a non-chief worker.

    With `multi_worker`, every worker runs the same command; only the chief
    (task `chief`, or `worker` 0 when the cluster has no chief) owns WORKDIR,
    so two processes never write the same checkpoint.
    """
    if distribution != "multi_worker":
        return workdir
    try:
        task = json.loads(os.environ["TF_CONFIG"])["task"]
        task_type, task_index = task["type"], int(task["index"])
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(
            "--config.distribution=multi_worker needs the TF_CONFIG environment variable, e.g. "
            '{"cluster": {"worker": ["host0:port", "host1:port"]}, "task": {"type": "worker", "index": 0}} '
            f"(got {os.environ.get('TF_CONFIG')!r})"
        ) from error
    if task_type == "chief" or (task_type == "worker" and task_index == 0):
        return workdir
    return os.path.join(workdir, "workers", f"{task_type}_{task_index}")


def training_data(config, strategy, train_split, with_masks, initial_epoch):
    """The endless training dataset, indexed by epoch (a resumed run gets the batches it would have had).

    Under `multi_worker` each worker reads its own share of every epoch (its
    shard files when streaming), batched per replica.
    """
    from mmu_tf.data.pipeline import training_dataset
    from mmu_tf.distribution import in_multi_worker_mode

    def workers_training_data(context):
        print(
            f"Worker {context.input_pipeline_id} of {context.num_input_pipelines} reads its share of the training data."
        )
        return training_dataset(
            train_split,
            config.data,
            context.get_per_replica_batch_size(config.batch_size),
            config.seed,
            with_masks=with_masks,
            initial_epoch=initial_epoch,
            workers=(context.num_input_pipelines, context.input_pipeline_id),
        )

    if not in_multi_worker_mode(strategy):
        return training_dataset(
            train_split, config.data, config.batch_size, config.seed, with_masks=with_masks, initial_epoch=initial_epoch
        )
    if config.batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"--config.batch_size={config.batch_size} must be a multiple of the "
            f"{strategy.num_replicas_in_sync} replicas of --config.distribution=multi_worker"
        )
    return strategy.distribute_datasets_from_function(workers_training_data)


def run_callbacks(config, workdir, model, valid_split, valid_data, backup):
    """The callbacks of a run, in the order they must run after each epoch."""
    import keras

    from mmu_tf.callbacks import BestCheckpoint, LastCheckpoint, MaskImages, StopOnNonFiniteLoss, TrainingBackup

    checkpoints = os.path.join(workdir, "checkpoints")
    preview_images = [
        (batch[0].numpy() * 255).round().astype("uint8")[0] for batch in valid_data.unbatch().batch(1).take(4)
    ]
    best_checkpoint = BestCheckpoint(
        os.path.join(checkpoints, "best.keras"),
        monitor=model.selection_metric,
        best=backup.get("best", float("-inf")) if backup else float("-inf"),
    )
    return [
        StopOnNonFiniteLoss(),
        # Checkpoints first: they must save the sigma and t this epoch used,
        # before the method's schedules move them on.
        best_checkpoint,
        LastCheckpoint(os.path.join(checkpoints, "last.keras")),
        *model.training_callbacks(config.method),
        # After the schedules: the backup holds the t and sigma the next epoch starts with.
        TrainingBackup(os.path.join(workdir, "backup"), best_checkpoint),
        keras.callbacks.CSVLogger(os.path.join(workdir, "history.csv"), append=backup is not None),
        keras.callbacks.TensorBoard(os.path.join(workdir, "tensorboard"), write_graph=False),
        MaskImages(
            os.path.join(workdir, "tensorboard"),
            preview_images,
            every=config.eval.tensorboard_images_every,
            names=valid_split.first_names(len(preview_images)),
        ),
    ]


def train_and_evaluate(config, workdir):
    import keras

    from mmu_tf.callbacks import TrainingBackup
    from mmu_tf.data.pipeline import evaluation_dataset
    from mmu_tf.distribution import build_strategy, split_cpu, synchronize_batch_norm
    from mmu_tf.inference.xla import training_jit_compile
    from mmu_tf.models import build_model, method_class
    from mmu_tf.optimization import build_optimizer
    from mmu_tf.precision import set_precision
    from mmu_tf.resume import check_resumable, truncate_history

    split_cpu(config.cpu_devices)  # before TensorFlow creates its devices
    # MultiWorkerMirroredStrategy must exist before any other TensorFlow op runs.
    strategy = build_strategy(config.distribution)
    workdir = worker_workdir(workdir, config.distribution)
    checkpoints = os.path.join(workdir, "checkpoints")
    backup_folder = os.path.join(workdir, "backup")
    finished_path = os.path.join(workdir, "finished.json")
    backup = TrainingBackup.read_state(backup_folder)
    if backup is not None or os.path.isfile(os.path.join(checkpoints, "best.keras")):
        # Before anything is written: a workdir holding results is only resumed with its own settings.
        from mmu_tf.configs import common

        check_resumable(
            json.loads(config.to_json_best_effort()),
            workdir,
            json.loads(common.base_config().to_json_best_effort()),
        )
    if backup is not None:
        if backup["epoch"] >= config.epochs and os.path.isfile(finished_path):
            fewer = f" (--config.epochs={config.epochs} asks for fewer)" if backup["epoch"] > config.epochs else ""
            print(f"{workdir}: this run finished ({backup['epoch']} epochs, evaluated){fewer}; nothing to do.")
            print("Re-evaluate with --mode=evaluate, or train again in a new --workdir.")
            return None
    else:
        for stale in ("history.csv", "finished.json"):
            if os.path.isfile(os.path.join(workdir, stale)):
                os.remove(os.path.join(workdir, stale))
    initial_epoch = backup["epoch"] if backup else 0
    os.makedirs(checkpoints, exist_ok=True)
    with open(os.path.join(workdir, "config.json"), "w") as handle:
        handle.write(config.to_json_best_effort(indent=2))
    keras.utils.set_random_seed(config.seed)
    policy = set_precision(config.precision, backbone=config.model.pretrained or config.model.backbone)

    required = (config.data.train_split, config.data.valid_split)
    splits = load_splits(config, (*required, *config.data.eval_splits), required)
    train_split, valid_split = splits[config.data.train_split], splits[config.data.valid_split]
    class_names = train_split.class_names
    print(
        f"Data {config.data.name}: "
        + ", ".join(f"{name} {len(split)} images" for name, split in splits.items())
        + f". Precision policy: {policy}."
    )

    with_masks = method_class(config.method.name).needs_masks

    train_data = training_data(config, strategy, train_split, with_masks, initial_epoch)
    valid_data = evaluation_dataset(valid_split, config.data, config.eval.batch_size, with_masks=with_masks)
    steps_per_epoch = -(-len(train_split) // config.batch_size)
    with strategy.scope():
        model = build_model(config, class_names)
        # Build the subclassed model on one batch so its weights exist before the
        # first checkpoint (from this worker's first share under multi_worker).
        first_images = strategy.experimental_local_results(next(iter(train_data))[0])[0]
        model(first_images[:1])
        if strategy.num_replicas_in_sync > 1:
            synchronize_batch_norm(model)
            print(f"Training on {strategy.num_replicas_in_sync} replicas ({config.distribution}).")
        model.compile(
            optimizer=build_optimizer(config.optimizer, steps_per_epoch, policy == "mixed_float16"),
            jit_compile=training_jit_compile(config.jit_compile),
        )
        if backup is not None:
            TrainingBackup.restore(model, backup)
            state = model.training_state()
            state = f" ({state})" if state else ""
            print(f"Resuming {workdir} at epoch {initial_epoch + 1}/{config.epochs} from its backup{state}.")
            truncate_history(os.path.join(workdir, "history.csv"), initial_epoch)

    callbacks = run_callbacks(config, workdir, model, valid_split, valid_data, backup)
    if initial_epoch < config.epochs:
        model.fit(
            train_data,
            validation_data=valid_data,
            initial_epoch=initial_epoch,
            epochs=config.epochs,
            steps_per_epoch=steps_per_epoch,
            shuffle=False,  # the pipeline orders each epoch from the seed
            callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2,
        )
    with open(os.path.join(checkpoints, "best.keras.json")) as handle:
        print(f"Selected checkpoint: {json.load(handle)}")
    evaluated = {name: split for name, split in splits.items() if name in config.data.eval_splits}
    summaries = evaluate_workdir(config, workdir, None, evaluated)
    with open(finished_path, "w") as handle:
        json.dump({"epochs": config.epochs}, handle)
    return summaries


def evaluate_workdir(config, workdir, split_name=None, splits=None):
    from mmu_tf.evaluation.evaluate import evaluate_split, format_table
    from mmu_tf.inference.xla import inference_jit_compile
    from mmu_tf.workdir import load_workdir

    path = os.path.join(workdir, "checkpoints", "best.keras")
    if not os.path.isfile(path):
        raise app.UsageError(f"--workdir: no checkpoint at {path}; train first (--mode=train)")
    if splits is None:
        names = [split_name] if split_name else list(config.data.eval_splits)
        splits = load_splits(config, names, required=names if split_name else ())
    elif split_name:
        splits = {split_name: splits[split_name]}
    # The one loader of a trained workdir: in float32 whatever policy trained it, so the scores
    # are the same on every machine.
    model, _ = load_workdir(workdir)
    summaries = [
        evaluate_split(
            model,
            split,
            config.data,
            workdir,
            f1_rule=config.data.f1_rule,
            num_overlays=config.eval.num_overlays,
            jit_compile=inference_jit_compile(config.jit_compile, fixed_shape=config.data.resize_mode == "fixed"),
        )
        for split in splits.values()
    ]
    print(format_table(summaries))
    print(f"Metrics in {os.path.join(workdir, 'metrics')}, pictures in {os.path.join(workdir, 'overlays')}")
    return summaries


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    workdir, mode = flags.FLAGS.workdir, flags.FLAGS.mode
    if not workdir:
        raise app.UsageError("--workdir is required")
    if mode == "evaluate" and not os.path.isdir(workdir):
        raise app.UsageError(f"--workdir {workdir} does not exist; train first (--mode=train)")
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        raise app.UsageError(f"--workdir {workdir} is a file, not a folder")
    config = flags.FLAGS.config
    if mode == "evaluate":
        best = os.path.join(workdir, "checkpoints", "best.keras")
        if not os.path.isfile(best):
            raise app.UsageError(f"--workdir: no checkpoint at {best}; train first (--mode=train)")
        # The workdir's own settings (its data, its resize), not the --config file's defaults:
        # only the --config.<field> flags given here change them (e.g. --config.data.root).
        from mmu_tf.configs import common
        from mmu_tf.resume import saved_config

        try:
            config = saved_config(
                workdir, common.base_config(), config_flags.get_override_values(flags.FLAGS["config"])
            )
        except ValueError as error:
            raise app.UsageError(str(error)) from None
    check_config(config, mode)
    from mmu_tf.callbacks import NonFiniteLossError
    from mmu_tf.data.samples import DataError
    from mmu_tf.workdir_lock import WorkdirInUseError, WorkdirLock

    try:
        # One process writes a workdir at a time; the lock dies with the process, however it ends.
        with WorkdirLock(worker_workdir(workdir, config.distribution)):
            if mode == "train":
                train_and_evaluate(config, workdir)
            else:
                evaluate_workdir(config, workdir, flags.FLAGS.split)
    except (DataError, ValueError, WorkdirInUseError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(3)
    except OSError as error:
        # A full disk or a folder that cannot be written: the last complete checkpoint and backup
        # stay, and the same command resumes from them.
        where = f" ({error.filename})" if error.filename else ""
        print(f"error: cannot write in --workdir {workdir}{where}: {error.strerror or error}", file=sys.stderr)
        sys.exit(4)


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
