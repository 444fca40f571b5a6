"""Mirrored training over two logical CPU devices equals one device on the same global batch."""

import subprocess
import sys

from tests.conftest import REPO

# Logical devices must be configured before TensorFlow starts: a fresh process.
MIRRORED_VS_SINGLE = """
import numpy as np
import keras
import tensorflow as tf
from mmu_tf.distribution import build_strategy, split_cpu, synchronize_batch_norm
split_cpu(2)
from mmu_tf.models import MaxMinModel, build_backbone

rng = np.random.default_rng(0)
images = rng.random((4, 64, 64, 3)).astype("float32")
labels = np.array([0, 1, 0, 1])
dataset = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)

def make(strategy, weights=None, **settings):
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = MaxMinModel(build_backbone("resnet18"), 2, dropout=0.0, **settings)
        model(images[:1])
        changed = synchronize_batch_norm(model)
        if weights is not None:
            model.set_weights(weights)
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    return model, changed

mirrored_strategy = build_strategy("mirrored")
assert mirrored_strategy.num_replicas_in_sync == 2, mirrored_strategy.num_replicas_in_sync
# The classification terms (M on X, C on X+ through the mask). With the size and
# background terms the two differ by up to 1e-4 after one step: the min-max
# normalisation of a random-init map (a range near 0) amplifies float32
# summation-order differences (measured once; not asserted, to keep the suite short).
cases = [
    (dict(background="none", size_constraint=False), ("loss", "localizer_ce", "foreground_ce"), 1e-5),
]
for settings, keys, tolerance in cases:
    single, _ = make(tf.distribute.get_strategy(), **settings)
    mirrored, changed = make(mirrored_strategy, single.get_weights(), **settings)
    assert changed > 10, changed
    single_logs = single.fit(dataset, epochs=1, verbose=0).history  # one step
    mirrored_logs = mirrored.fit(dataset, epochs=1, verbose=0).history
    for key in keys:
        np.testing.assert_allclose(mirrored_logs[key], single_logs[key], rtol=tolerance, atol=tolerance, err_msg=key)
    for expected, actual in zip(single.get_weights(), mirrored.get_weights()):
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)
    print("MATCH", settings, single_logs["loss"], mirrored_logs["loss"])
"""


def test_two_replica_mirrored_training_matches_one_device_on_the_global_batch():
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED_VS_SINGLE], cwd=REPO, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.count("MATCH") == 1
