"""Callbacks of a Max-Min run: the t and sigma schedules, checkpoint selection, mask images."""

import json
import os

import keras
import numpy as np
import tensorflow as tf

from mmu_tf.evaluation.visualize import overlay_panel


class AnnealVariable(keras.callbacks.Callback):
    """After each epoch, sets `v = min(v * factor + increment, maximum)`.

    Drives the log barrier's t (x1.01 per epoch up to 10 on GlaS) and the
    mask threshold sigma (+0.001 per epoch up to 0.2). The variable lives in
    the model, so the traced train_step sees the new value and checkpoints
    restore it.

    Args:
        get_variable: a function of the model returning the variable.
        factor, increment, maximum: the update rule above.
    """

    def __init__(self, get_variable, factor=1.0, increment=0.0, maximum=float("inf")):
        super().__init__()
        self.get_variable = get_variable
        self.factor = float(factor)
        self.increment = float(increment)
        self.maximum = float(maximum)

    def on_epoch_end(self, epoch, logs=None):
        variable = self.get_variable(self.model)
        value = float(keras.ops.convert_to_numpy(variable))
        variable.assign(min(value * self.factor + self.increment, self.maximum))


class BestCheckpoint(keras.callbacks.Callback):
    """Saves the model when the monitored value is at least the best so far.

    Model selection of METHOD.md §4: the best validation accuracy, the
    latest epoch winning a tie (Keras's ModelCheckpoint keeps the earliest).
    Writes `<path>` (a `.keras` file) and `<path>.json` with the epoch and value.
    """

    def __init__(self, path, monitor="val_accuracy"):
        super().__init__()
        self.path = path
        self.monitor = monitor
        self.best = -np.inf

    def on_epoch_end(self, epoch, logs=None):
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
        save_atomically(self.model, self.path)
        with open(self.path + ".json", "w") as handle:
            json.dump({"epoch": epoch + 1}, handle)


def save_atomically(model, path):
    """Saves to a temporary file then renames, so a crash never leaves half a checkpoint."""
    temporary = path + ".tmp.keras"
    model.save(temporary)
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
