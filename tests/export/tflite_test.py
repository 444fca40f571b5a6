"""The TFLite models run under ai-edge-litert with builtin ops and match the Keras model."""

import json

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from mmu_tf.data.synthetic import make_synthetic_split
from mmu_tf.export.tflite import export_tflite
from mmu_tf.inference import Predictor
from tests.conftest import run_module


def _run_litert(path, images):
    """LiteRT's own signature runner, the outputs read by the names the flatbuffer holds."""
    interpreter = Interpreter(model_path=str(path))
    signature = interpreter.get_signature_list()["serving_default"]
    assert signature == {"inputs": ["images"], "outputs": ["class_id", "foreground_fraction", "mask", "probabilities"]}
    with open(f"{path}.json") as handle:
        assert json.load(handle)["outputs"] == signature["outputs"]
    return interpreter.get_signature_runner("serving_default")(images=images)


@pytest.fixture(scope="module")
def predictor_and_images(trained_workdir):
    predictor = Predictor.from_workdir(trained_workdir[0])
    split = make_synthetic_split("valid", 2, image_size=64, seed=5)
    return predictor, np.stack(split.images).astype(np.float32) / 255.0


@pytest.mark.parametrize("quantization, tolerance", [("none", 1e-3), ("dynamic", 0.1)])
def test_litert_outputs_match_keras(predictor_and_images, tmp_path, quantization, tolerance):
    predictor, images = predictor_and_images
    model = predictor.model
    path = tmp_path / f"model_{quantization}.tflite"
    export_tflite(predictor, str(path), quantization)
    assert b"Flex" not in path.read_bytes()  # builtin ops only, no TF Select
    served = _run_litert(path, images)
    expected = model(images, training=False)
    np.testing.assert_allclose(served["probabilities"], expected["probabilities"].numpy(), atol=tolerance)
    np.testing.assert_allclose(served["mask"], expected["mask"].numpy(), atol=tolerance)
    assert served["mask"].shape == images.shape[:3]


def test_other_input_sizes_run(predictor_and_images, tmp_path):
    predictor, images = predictor_and_images
    model = predictor.model
    path = tmp_path / "model.tflite"
    export_tflite(predictor, str(path))
    interpreter = Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner("serving_default")
    outputs = runner(images=images[:1, :48, :40])
    expected = model(images[:1, :48, :40], training=False)["mask"].numpy()
    mask = [value for value in outputs.values() if value.shape == (1, 48, 40)]
    assert mask and np.allclose(mask[0], expected, atol=1e-3)


def test_dynamic_quantisation_shrinks_the_model(predictor_and_images, tmp_path):
    predictor, _ = predictor_and_images
    float_size = export_tflite(predictor, str(tmp_path / "float.tflite"))
    quantized_size = export_tflite(predictor, str(tmp_path / "dynamic.tflite"), "dynamic")
    assert quantized_size < float_size / 3


def test_export_without_a_checkpoint_says_so(tmp_path):
    result = run_module([f"--workdir={tmp_path}", f"--output={tmp_path / 'm.tflite'}"], "export.tflite")
    assert result.returncode == 2 and "no checkpoint" in result.stderr


def test_the_litert_wrapper_refuses_what_the_saved_model_refuses(predictor_and_images, tmp_path):
    from mmu_tf.inference.litert import InputError, LiteRTModel

    predictor, images = predictor_and_images
    path = tmp_path / "model.tflite"
    export_tflite(predictor, str(path))
    model = LiteRTModel(str(path))
    outputs = model(images)
    assert outputs["class_name"] == [predictor.class_names[index] for index in outputs["class_id"]]
    np.testing.assert_allclose(outputs["mask"], predictor.model(images)["mask"].numpy(), atol=1e-3)
    with pytest.raises(InputError, match=r"in \[0, 1\] \(divide 0-255 pixels by 255\).*max 255"):
        model(images * 255.0)
    with pytest.raises(InputError, match="without NaN"):
        model(np.full_like(images, np.nan))
    with pytest.raises(InputError, match=r"must be \[N, H, W, 3\]"):
        model(images[0])
    with pytest.raises(InputError, match="at least one image"):
        model(images[:0])
    with pytest.raises(InputError, match="dtype uint8"):
        model((images * 255).astype(np.uint8))
    model.max_image_pixels = 100
    with pytest.raises(InputError, match="images of 64x64 pixels exceed the limit of 100 pixels"):
        model(images)
