"""Schedules a model runs between epochs (Max-Min's t and sigma): callbacks that move its variables."""

import keras


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
