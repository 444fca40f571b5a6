"""The 16-bit paths on any CPU: train under bfloat16 / float16, evaluate, export float32 graphs, predict.

`--config.precision=auto` picks these policies on CPUs with bf16 units and on
GPUs; forcing them here lets a CI machine without bf16 units (where bfloat16
is emulated, hence the tiny inputs) see the same code paths.
"""

import csv
import json
import os

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

import mmu_tf.models  # noqa: F401  (registers the classes the checkpoints name)
from mmu_tf.data.synthetic import make_synthetic_split
from mmu_tf.export.saved_model import export_saved_model
from mmu_tf.export.tflite import export_tflite
from mmu_tf.inference import Predictor
from mmu_tf.precision import uses_mixed_precision
from mmu_tf.workdir import load_workdir
from tests.conftest import TINY_RUN, run_module

POLICIES = {"bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
SIXTEEN_BIT_TYPES = (tf.bfloat16, tf.float16)


def _train(precision, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"run_{precision}")
    # One epoch of 2 steps (8 images, batch 4); the later flag overrides TINY_RUN's pinned float32.
    arguments = [*TINY_RUN, f"--workdir={workdir}", "--config.epochs=1", f"--config.precision={precision}"]
    result = run_module(arguments)
    assert result.returncode == 0, result.stderr[-3000:]
    return precision, str(workdir), result.stdout


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """`trained(precision)`: a workdir trained under that policy, once per module."""
    runs = {}

    def get(precision):
        if precision not in runs:
            runs[precision] = _train(precision, tmp_path_factory)
        return runs[precision]

    return get


@pytest.fixture(scope="module", params=sorted(POLICIES))
def sixteen_bit_workdir(request, trained):
    """A workdir trained under each 16-bit policy."""
    return trained(request.param)


@pytest.fixture(scope="module")
def bfloat16_workdir(trained):
    """The bfloat16 workdir for the export and predict tests: once rebuilt in float32 (tested for both
    policies above), a float16 model goes through the same export and predict code."""
    return trained("bfloat16")


def _images():
    split = make_synthetic_split("valid", 2, image_size=64, seed=5)
    return np.stack(split.images).astype(np.float32) / 255.0


def test_training_and_evaluation_ran_under_the_16_bit_policy(sixteen_bit_workdir):
    precision, workdir, stdout = sixteen_bit_workdir
    assert f"Precision policy: {POLICIES[precision]}." in stdout
    with open(os.path.join(workdir, "metrics", "valid.json")) as handle:
        metrics = json.load(handle)
    assert all(
        np.isfinite(metrics[key])
        for key in ("classification_error", "f1_foreground", "f1_background", "foreground_auc")
    )
    checkpoint = keras.saving.load_model(os.path.join(workdir, "checkpoints", "best.keras"), compile=False)
    assert uses_mixed_precision(checkpoint)


def test_the_float32_rebuild_has_the_trained_weights_and_close_outputs(sixteen_bit_workdir):
    _, workdir, _ = sixteen_bit_workdir
    trained = keras.saving.load_model(os.path.join(workdir, "checkpoints", "best.keras"), compile=False)
    rebuilt, _ = load_workdir(workdir)
    assert not uses_mixed_precision(rebuilt)
    for expected, actual in zip(trained.get_weights(), rebuilt.get_weights()):
        np.testing.assert_array_equal(expected, actual)
    images = _images()
    sixteen, thirty_two = trained(images), rebuilt(images)
    # Not the same arithmetic: bfloat16 keeps 8 bits of mantissa, and the per-image min-max
    # normalisation of the map stretches small differences. Measured: probabilities within
    # 1e-3, masks within 2e-2 (float16 on a random-init Max-Min); bounds with margin.
    np.testing.assert_allclose(sixteen["probabilities"].numpy(), thirty_two["probabilities"].numpy(), atol=0.02)
    assert np.mean(np.abs(sixteen["mask"].numpy() - thirty_two["mask"].numpy())) < 0.05


def _graph_dtypes(concrete_function):
    return {output.dtype for operation in concrete_function.graph.get_operations() for output in operation.outputs}


def test_the_saved_model_is_a_float32_graph_matching_the_rebuild(bfloat16_workdir, tmp_path):
    _, workdir, _ = bfloat16_workdir
    model, data_config = load_workdir(workdir)
    path = export_saved_model(Predictor.from_data_config(model, data_config), str(tmp_path / "model"))
    loaded = tf.saved_model.load(path)
    for name in ("serving_default", "serving_bytes"):
        assert not _graph_dtypes(loaded.signatures[name]) & set(SIXTEEN_BIT_TYPES), name
    images = _images()
    served = loaded.signatures["serving_default"](images=tf.constant(images))
    expected = model(images, training=False)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected["probabilities"].numpy(), atol=1e-4)
    np.testing.assert_allclose(served["mask"].numpy(), expected["mask"].numpy(), atol=1e-4)


def test_the_tflite_model_runs_with_builtin_ops_and_matches_the_rebuild(bfloat16_workdir, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    _, workdir, _ = bfloat16_workdir
    model, data_config = load_workdir(workdir)
    path = tmp_path / "model.tflite"
    export_tflite(Predictor.from_data_config(model, data_config), str(path))
    images = _images()
    # The outputs by the names the flatbuffer's signature holds.
    served = Interpreter(model_path=str(path)).get_signature_runner("serving_default")(images=images)
    expected = model(images, training=False)
    np.testing.assert_allclose(served["probabilities"], expected["probabilities"].numpy(), atol=1e-3)
    np.testing.assert_allclose(served["mask"], expected["mask"].numpy(), atol=1e-3)


def test_predict_runs_on_the_16_bit_workdir(bfloat16_workdir, tmp_path):
    _, workdir, _ = bfloat16_workdir
    for index, image in enumerate(_images()):
        cv2.imwrite(str(tmp_path / f"tile_{index}.png"), (image[..., ::-1] * 255).astype(np.uint8))
    output = tmp_path / "out"
    result = run_module([f"--workdir={workdir}", f"--input={tmp_path}", f"--output={output}"], "mmu_tf.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    with open(output / "predictions.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and all(0.0 <= float(row["foreground_fraction"]) <= 1.0 for row in rows)
