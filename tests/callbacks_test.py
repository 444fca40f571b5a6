import json

import keras
import numpy as np
import pytest

from mmu_tf.callbacks import AnnealVariable, BestCheckpoint
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
