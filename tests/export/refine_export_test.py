"""A refine model (a decoder on a frozen teacher's pyramid) exports like any method: SavedModel and TFLite."""

import numpy as np
import tensorflow as tf

from mmu_tf.configs import demo
from mmu_tf.export.saved_model import export_saved_model
from mmu_tf.export.tflite import export_tflite
from mmu_tf.inference import Predictor
from mmu_tf.models import build_model
from tests.conftest import TEST_BACKBONE


def test_a_refine_model_of_two_decoders_exports_to_both_formats_with_the_keras_outputs(untrained_teacher, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    config = demo.get_config()
    config.model.backbone = TEST_BACKBONE
    config.method.name = "refine"
    config.method.teacher = untrained_teacher
    # The mask's hole filling (a while loop) and Otsu threshold (a histogram) must export too.
    config.method.refine.fill_holes = True
    config.method.refine.threshold = "otsu"
    # Two decoders, their masks averaged (the shipped GlaS config has three): each exports, once.
    config.method.refine.decoder_count = 2
    model = build_model(config, ["benign", "malignant"])
    images = np.random.default_rng(0).random((2, 64, 64, 3)).astype("float32")
    expected = model(images)
    predictor = Predictor(model, class_names=["benign", "malignant"])

    # The decoder's layers sit in lists: every one must be tracked, or the export refuses its variables.
    loaded = tf.saved_model.load(export_saved_model(predictor, str(tmp_path / "saved"), version=1))
    served = loaded.signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_allclose(served["mask"].numpy(), expected["mask"].numpy(), atol=1e-5)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected["probabilities"].numpy(), atol=1e-5)

    path = tmp_path / "refine.tflite"
    export_tflite(predictor, str(path))
    runner = Interpreter(model_path=str(path)).get_signature_runner("serving_default")
    litert = runner(images=images)
    np.testing.assert_allclose(litert["mask"], expected["mask"].numpy(), atol=1e-3)
