"""Inference under XLA (`jit_compile`): the rule behind `auto`, and every inference path agreeing with and without it.

Run on the CPU with `jit_compile=True`, as a GPU user's run would compile: the
predictor on images of two sizes, evaluation of a split, whole-slide tiles and
the `predict` command. (Training and validation steps: tests/models/xla_test.py.)
"""

import cv2
import numpy as np
import pytest

from mmu_tf.data.synthetic import make_synthetic_split
from mmu_tf.evaluation.evaluate import evaluate_split
from mmu_tf.inference import Predictor
from mmu_tf.inference.xla import inference_jit_compile, training_jit_compile
from mmu_tf.predict_wsi import infer_slide, open_slide, tile_predictor
from mmu_tf.workdir import load_workdir
from tests.conftest import run_module
from tools.synthetic_slide import write_synthetic_slide


def test_auto_compiles_inference_only_for_one_input_shape_on_an_accelerator():
    # This machine has no GPU: auto is off whatever the shapes; on and off are as asked.
    assert inference_jit_compile("auto", fixed_shape=True) is False
    assert inference_jit_compile("auto", fixed_shape=False) is False
    assert inference_jit_compile("on", fixed_shape=False) is True
    assert inference_jit_compile("off", fixed_shape=True) is False
    assert training_jit_compile("auto") == "auto" and training_jit_compile("off") is False
    with pytest.raises(ValueError, match=r"--jit_compile must be one of \('auto', 'on', 'off'\) \(got 'yes'\)"):
        inference_jit_compile("yes", fixed_shape=True)


@pytest.fixture(scope="module")
def predictors(trained_workdir):
    model, data_config = load_workdir(trained_workdir[0])
    plain = Predictor.from_data_config(model, data_config, jit_compile="off")
    compiled = Predictor.from_data_config(model, data_config, jit_compile="on")
    assert not plain.jit_compile and compiled.jit_compile
    return plain, compiled, data_config


def test_the_compiled_predictor_agrees_on_images_of_two_sizes_without_retracing(predictors):
    plain, compiled, _ = predictors
    rng = np.random.default_rng(0)
    for height, width in ((48, 64), (40, 72)):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        expected, result = plain.predict_image(image), compiled.predict_image(image)
        np.testing.assert_allclose(result["probabilities"], expected["probabilities"], atol=1e-5)
        assert result["mask"].shape == (height, width)
        np.testing.assert_allclose(result["mask"], expected["mask"], atol=1e-5)
    # One trace for both sizes (XLA compiles a program per shape inside it).
    assert compiled.predict_batch.experimental_get_tracing_count() == 1


def test_evaluation_under_xla_scores_the_split_as_without(trained_workdir, tmp_path):
    model, data_config = load_workdir(trained_workdir[0])
    split = make_synthetic_split("valid", 3, data_config.synthetic_size, seed=1)
    summaries = [
        evaluate_split(model, split, data_config, str(tmp_path / name), num_overlays=0, progress=False, jit_compile=jit)
        for name, jit in (("plain", False), ("xla", True))
    ]
    for key in ("classification_error", "f1_foreground", "f1_background", "foreground_auc", "pixel_average_precision"):
        assert summaries[1][key] == pytest.approx(summaries[0][key], abs=1e-3), key


def test_whole_slide_tiles_under_xla_give_the_same_heatmap(trained_workdir, tmp_path):
    path = str(tmp_path / "slide.tif")
    write_synthetic_slide(path, (400, 300), (200, 100, 400, 250), tissue_margin=40, levels=1, tile=128)
    heatmaps = []
    for jit_compile in ("off", "on"):
        predictor = Predictor.from_workdir(trained_workdir[0], jit_compile=jit_compile, fixed_shape=True)
        heatmap, *_ = infer_slide(open_slide(path), tile_predictor(predictor), 0, 96, 16, 4, 16, progress=False)
        heatmaps.append(heatmap)
    np.testing.assert_allclose(heatmaps[1], heatmaps[0], atol=1e-5)


def test_the_predict_command_runs_under_xla(trained_workdir, tmp_path, predictors):
    plain = predictors[0]
    folder = tmp_path / "images"
    folder.mkdir()
    image = np.random.default_rng(3).integers(0, 256, (56, 72, 3), dtype=np.uint8)
    assert cv2.imwrite(str(folder / "a.png"), image)
    output = tmp_path / "out"
    arguments = [f"--workdir={trained_workdir[0]}", f"--input={folder}", f"--output={output}", "--jit_compile=on"]
    result = run_module(arguments, "mmu_tf.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    mask = cv2.imread(str(output / "masks" / "a.png"), cv2.IMREAD_GRAYSCALE) == 255
    expected = plain.predict_image(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))["mask"] >= 0.5
    assert mask.shape == expected.shape and (mask != expected).mean() < 0.01
