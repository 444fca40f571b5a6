import json
import os

import keras
import numpy as np
import pytest

from mmu_tf.callbacks import (
    BestCheckpoint,
    LastCheckpoint,
    NonFiniteLossError,
    StopOnNonFiniteLoss,
    TrainingBackup,
)
from mmu_tf.models.schedules import AnnealVariable
from mmu_tf.optimization import StepDecay


class _Holder:
    def __init__(self, value):
        self.variable = keras.Variable(value, trainable=False)


def test_t_schedule_multiplies_and_caps():
    holder = _Holder(5.0)
    callback = AnnealVariable(lambda model: model.variable, factor=1.5, maximum=10.0)
    callback.set_model(holder)
    values = []
    for epoch in range(3):
        callback.on_epoch_end(epoch)
        values.append(float(holder.variable.numpy()))
    assert values == pytest.approx([7.5, 10.0, 10.0])


def test_sigma_schedule_adds_and_caps():
    holder = _Holder(0.15)
    callback = AnnealVariable(lambda model: model.variable, increment=0.03, maximum=0.2)
    callback.set_model(holder)
    for epoch in range(3):
        callback.on_epoch_end(epoch)
    assert float(holder.variable.numpy()) == pytest.approx(0.2)


def test_best_checkpoint_keeps_the_latest_of_tied_epochs(tmp_path):
    inputs = keras.Input((2,))
    model = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    callback = BestCheckpoint(str(tmp_path / "best.keras"))
    callback.set_model(model)
    for epoch, accuracy in enumerate([0.5, 0.8, 0.6, 0.8, 0.7]):
        callback.on_epoch_end(epoch, {"val_accuracy": accuracy})
    record = json.loads((tmp_path / "best.keras.json").read_text())
    assert record == {"epoch": 4, "val_accuracy": 0.8}
    assert (tmp_path / "best.keras").exists() and not (tmp_path / "best.keras.tmp.keras").exists()


def test_step_decay_by_hand():
    schedule = StepDecay(1e-3, 0.9, decay_steps=10, minimum_learning_rate=5e-4)
    rates = [float(keras.ops.convert_to_numpy(schedule(step))) for step in (0, 9, 10, 25, 1000)]
    np.testing.assert_allclose(rates, [1e-3, 1e-3, 9e-4, 8.1e-4, 5e-4], rtol=1e-5)


def _tiny_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
    return model


def test_a_nan_loss_stops_training_before_any_checkpoint_saves_it(tmp_path):
    model = _tiny_model()
    features = np.ones((8, 3), np.float32)
    targets = np.ones((8, 2), np.float32)
    last = LastCheckpoint(str(tmp_path / "last.keras"))
    backup = TrainingBackup(str(tmp_path / "backup"))
    model.fit(features, targets, epochs=1, batch_size=4, callbacks=[StopOnNonFiniteLoss(), last, backup], verbose=0)
    saved = TrainingBackup.read_state(str(tmp_path / "backup"))
    assert saved["epoch"] == 1
    targets[5] = np.nan  # the second batch's loss is NaN
    with pytest.raises(NonFiniteLossError, match="became nan at batch 2"):
        model.fit(
            features,
            targets,
            epochs=2,
            batch_size=4,
            shuffle=False,  # row 5 must be in the second batch
            callbacks=[StopOnNonFiniteLoss(), last, backup],
            verbose=0,
        )
    # The backup is still the finite one of the first fit.
    assert TrainingBackup.read_state(str(tmp_path / "backup"))["epoch"] == 1
    restored = _tiny_model()
    TrainingBackup.restore(restored, TrainingBackup.read_state(str(tmp_path / "backup")))
    assert all(np.isfinite(weight).all() for weight in restored.get_weights())


def test_backup_holds_weights_and_optimizer_state_and_survives_a_kill_during_the_swap(tmp_path):
    model = _tiny_model()
    model.fit(np.ones((4, 3)), np.ones((4, 2)), epochs=2, verbose=0)
    folder = str(tmp_path / "backup")
    best = BestCheckpoint(str(tmp_path / "best.keras"), best=0.75)
    callback = TrainingBackup(folder, best)
    callback.set_model(model)
    callback.on_epoch_end(1, {"loss": 0.5})
    assert TrainingBackup.read_state(folder)["best"] == 0.75
    # A kill between the two renames leaves only the previous backup, at folder.old.
    os.replace(folder, folder + ".old")
    state = TrainingBackup.read_state(folder)
    assert {key: state[key] for key in ("epoch", "best", "folder")} == {
        "epoch": 2,
        "best": 0.75,
        "folder": folder + ".old",
    }
    restored = _tiny_model()
    TrainingBackup.restore(restored, state)
    for expected, actual in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    for expected, actual in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(np.asarray(actual), np.asarray(expected))
    assert TrainingBackup.read_state(str(tmp_path / "nothing")) is None
