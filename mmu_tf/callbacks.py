"""Callbacks of a Max-Min run: the t and sigma schedules, checkpoint selection, mask images."""

import json
import math
import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from mmu_tf.evaluation.visualize import overlay_panel


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model when the monitored value is at least the best so far.

    Model selection of docs/method.md §4: the best validation accuracy, the
    latest epoch winning a tie (Keras's ModelCheckpoint keeps the earliest).
    Writes `<path>` (a `.keras` file) and `<path>.json` with the epoch and value.

    Args:
        path: the `.keras` file to write.
        monitor: the logged value to maximise.
        best: the best value so far (a resumed run passes its own).
    """

    def __init__(self, path, monitor="val_accuracy", best=-np.inf):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.best = float(best)

    def on_epoch_end(self, epoch, logs=None):
        if not _finite_loss(logs):
            return
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"BestCheckpoint: {self.monitor!r} is not in the logs ({sorted(logs or {})})")
        if value >= self.best:
            self.best = float(value)
            save_atomically(self.model, self.path)
            with open(self.path + ".json", "w") as handle:
                json.dump({"epoch": epoch + 1, self.monitor: self.best}, handle)


class LastCheckpoint(keras.callbacks.Callback):
    """Saves the model (with its optimizer state) after every epoch."""

    def __init__(self, path):
        super().__init__()
        self.path = path

    def on_epoch_end(self, epoch, logs=None):
        if not _finite_loss(logs):
            return
        save_atomically(self.model, self.path)
        with open(self.path + ".json", "w") as handle:
            json.dump({"epoch": epoch + 1}, handle)


def _finite_loss(logs):
    loss = (logs or {}).get("loss")
    return loss is None or math.isfinite(float(loss))


class NonFiniteLossError(RuntimeError):
    """Training met a NaN or infinite loss."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training at the first batch whose loss is NaN or infinite, by raising.

    Keras's `TerminateOnNaN` lets the epoch end, so the checkpoint callbacks
    would then run on the broken weights; raising here leaves every
    checkpoint and backup as the last finite epoch wrote it.
    """

    def on_train_batch_end(self, batch, logs=None):
        if not _finite_loss(logs):
            raise NonFiniteLossError(
                f"the training loss became {logs['loss']} at batch {batch + 1}; training stopped, and the "
                "checkpoints and backup are those of the last finished epoch"
            )


class TrainingBackup(keras.callbacks.Callback):
    """Backs up the whole training state after each epoch, to resume after a crash.

    Writes `folder/model.weights.h5` (weights, the optimizer's state, t and
    sigma: they are model variables) and `folder/state.json` (`{"epoch": E,
    "best": ..., "random_states": the dropout seed generators}`) into a fresh
    folder, then swaps it in with renames, so a kill at any moment leaves a
    complete backup: the new one or the previous.
    Place it after the callbacks that move t and sigma, so the backup holds the
    values the next epoch starts with.

    Args:
        folder: where the backup lives (`WORKDIR/backup`).
        best_checkpoint: the run's `BestCheckpoint`, whose best value is saved too.
    """

    def __init__(self, folder, best_checkpoint=None):
        super().__init__()
        self.folder = folder
        self.best_checkpoint = best_checkpoint

    def on_epoch_end(self, epoch, logs=None):
        if not _finite_loss(logs):
            return
        staging, previous = self.folder + ".new", self.folder + ".old"
        shutil.rmtree(staging, ignore_errors=True)
        os.makedirs(staging)
        try:
            self.model.save_weights(os.path.join(staging, "model.weights.h5"))
            state = {"epoch": epoch + 1, "random_states": _random_states(self.model)}
            if self.best_checkpoint is not None:
                state["best"] = self.best_checkpoint.best
            with open(os.path.join(staging, "state.json"), "w") as handle:
                json.dump(state, handle)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # the last complete backup stays
            raise
        shutil.rmtree(previous, ignore_errors=True)
        if os.path.isdir(self.folder):
            os.replace(self.folder, previous)
        os.replace(staging, self.folder)
        shutil.rmtree(previous, ignore_errors=True)

    @staticmethod
    def read_state(folder):
        """The state of the backup in `folder` (or of the one a crash left at `folder.old`), or None."""
        for candidate in (folder, folder + ".old"):
            path = os.path.join(candidate, "state.json")
            if os.path.isfile(path) and os.path.isfile(os.path.join(candidate, "model.weights.h5")):
                with open(path) as handle:
                    return {**json.load(handle), "folder": candidate}
        return None

    @staticmethod
    def restore(model, state):
        """Loads a backup's weights and optimizer state into a built, compiled model."""
        if model.optimizer is not None and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        model.load_weights(os.path.join(state["folder"], "model.weights.h5"))
        variables = {variable.path: variable for variable in _random_state_variables(model)}
        for path, value in state.get("random_states", {}).items():
            if path in variables:
                variables[path].assign(np.asarray(value, variables[path].dtype))


def _random_state_variables(model):
    # Seed generators (dropout) hold variables that `save_weights` leaves out:
    # without them a resumed run would draw other dropout masks.
    saved = {id(variable) for variable in model.weights}
    return [variable for variable in model.variables if id(variable) not in saved]


def _random_states(model):
    return {variable.path: keras.ops.convert_to_numpy(variable).tolist() for variable in _random_state_variables(model)}


def save_atomically(model, path):
    """Saves to a temporary file then renames, so a crash never leaves half a checkpoint."""
    temporary = path + ".tmp.keras"
    try:
        model.save(temporary)
    except OSError:
        # A full disk: the previous checkpoint is intact; leave nothing half-written beside it.
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    os.replace(temporary, path)


class MaskImages(keras.callbacks.Callback):
    """Writes overlay pictures of a few fixed images to TensorBoard every few epochs."""

    def __init__(self, log_dir, images, true_masks=None, every=5, names=None):
        super().__init__()
        self.writer = tf.summary.create_file_writer(os.path.join(log_dir, "masks"))
        self.images = images  # list of uint8 RGB, already at the model's input size
        self.true_masks = true_masks or [None] * len(images)
        self.every = every
        self.names = names or [str(index) for index in range(len(images))]

    def on_epoch_end(self, epoch, logs=None):
        if not self.every or (epoch + 1) % self.every:
            return
        panels = []
        for image, true_mask, name in zip(self.images, self.true_masks, self.names):
            outputs = self.model(image[None].astype(np.float32) / 255.0, training=False)
            soft_mask = keras.ops.convert_to_numpy(outputs["mask"])[0]
            panels.append(overlay_panel(image, soft_mask, true_mask, name))
        with self.writer.as_default():
            for name, panel in zip(self.names, panels):
                tf.summary.image(f"mask/{name}", panel[None], step=epoch + 1)
        self.writer.flush()
