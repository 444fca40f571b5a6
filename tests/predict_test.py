"""`python -m mmu_tf.predict`: inputs, outputs, bad files skipped, the same answers from both model forms."""

import csv
import json
import os

import cv2
import numpy as np
import pytest
import shapely
import shapely.geometry

from mmu_tf.export.saved_model import export_saved_model
from mmu_tf.inference import Predictor
from mmu_tf.predict import SavedModelPredictor, collect_inputs, resolve_saved_model
from mmu_tf.workdir import load_workdir
from tests.conftest import run_module


def _write_image(path, height, width, seed, channels=3):
    image = np.random.default_rng(seed).integers(0, 256, (height, width, channels), dtype=np.uint8)
    assert cv2.imwrite(str(path), image if channels > 1 else image[..., 0])


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """Four readable images (sizes and formats differ, one grayscale) and two bad files."""
    folder = tmp_path_factory.mktemp("images")
    (folder / "sub").mkdir()
    _write_image(folder / "a.png", 70, 90, 0)
    _write_image(folder / "a.jpg", 64, 64, 1)
    _write_image(folder / "sub" / "b.bmp", 50, 80, 2)
    _write_image(folder / "gray.tif", 60, 60, 3, channels=1)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    return folder


def _read_csv(path):
    with open(path) as handle:
        return list(csv.DictReader(handle))


def test_collect_inputs_walks_folders_lists_and_names_uniquely(image_folder, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"# tiles\n{image_folder / 'a.png'}\nmissing.png\n")
    found = collect_inputs([str(image_folder), str(listing)], exclude=str(image_folder / "sub"))
    names = [name for _, name in found]
    assert names == ["a", "a_png", "corrupt", "gray", "notes", "a_2", "missing"]
    assert found[-1][0] == str(tmp_path / "missing.png")  # relative to the list's folder
    with pytest.raises(FileNotFoundError, match="--input: .*nowhere"):
        collect_inputs([str(tmp_path / "nowhere")])


def test_resolve_saved_model_picks_the_highest_version(tmp_path):
    for version in ("1", "3", "10x"):
        (tmp_path / version).mkdir()
    (tmp_path / "1" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "3" / "saved_model.pb").write_bytes(b"")
    assert resolve_saved_model(str(tmp_path)) == str(tmp_path / "3")
    assert resolve_saved_model(str(tmp_path / "1")) == str(tmp_path / "1")
    with pytest.raises(FileNotFoundError, match="--saved_model: no saved_model.pb"):
        resolve_saved_model(str(tmp_path / "10x"))


def test_predict_cli_writes_masks_overlays_geojson_and_csv_and_skips_bad_files(trained_workdir, image_folder, tmp_path):
    workdir, _ = trained_workdir
    output = tmp_path / "out"
    arguments = [f"--workdir={workdir}", f"--input={image_folder}", f"--output={output}", "--geojson"]
    result = run_module([*arguments, "--geojson_class=Gland"], "mmu_tf.predict")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 image(s) predicted, 2 skipped" in result.stdout
    assert "corrupt.png" in result.stderr and "notes.txt" in result.stderr

    rows = _read_csv(output / "predictions.csv")
    assert [os.path.basename(row["path"]) for row in rows] == ["a.jpg", "a.png", "gray.tif", "b.bmp"]
    sizes = {"a.jpg": (64, 64), "a.png": (70, 90), "gray.tif": (60, 60), "b.bmp": (50, 80)}
    for row in rows:
        probabilities = [float(row["probability_benign"]), float(row["probability_malignant"])]
        assert sum(probabilities) == pytest.approx(1.0, abs=1e-5)
        assert int(row["class_id"]) == int(np.argmax(probabilities))
        assert row["class_name"] == ("benign", "malignant")[int(row["class_id"])]
        mask = cv2.imread(row["mask"], cv2.IMREAD_GRAYSCALE)
        assert mask.shape == sizes[os.path.basename(row["path"])]
        assert set(np.unique(mask)) <= {0, 255}
        assert float(row["foreground_fraction"]) == pytest.approx((mask == 255).mean(), abs=1e-6)
        overlay = cv2.imread(row["overlay"])
        assert overlay.shape[1] == mask.shape[1] and overlay.shape[0] > mask.shape[0]  # title bar above
        name = os.path.splitext(os.path.basename(row["mask"]))[0]
        with open(output / "geojson" / f"{name}.geojson") as handle:
            collection = json.load(handle)
        # The polygons cover the mask's foreground (rasterised back at pixel centres).
        geometry = shapely.union_all(
            [shapely.geometry.shape(feature["geometry"]) for feature in collection["features"]]
        )
        rows_grid, columns_grid = np.mgrid[0 : mask.shape[0], 0 : mask.shape[1]]
        inside = shapely.contains_xy(geometry, columns_grid + 0.5, rows_grid + 0.5)
        if (mask == 255).sum() > 50:
            assert (inside & (mask == 255)).sum() / (inside | (mask == 255)).sum() > 0.9
        for feature in collection["features"]:
            assert feature["properties"]["classification"]["name"] == "Gland"
            assert feature["properties"]["image_class"] == row["class_name"]
    skipped = _read_csv(output / "skipped.csv")
    assert sorted(os.path.basename(row["path"]) for row in skipped) == ["corrupt.png", "notes.txt"]
    assert all(row["reason"] for row in skipped)
    assert not [
        name for folder in ("masks", "overlays", "geojson") for name in os.listdir(output / folder) if "tmp" in name
    ]
    # The folder now holds results: a second run is refused before the model loads, unless --overwrite.
    again = run_module(arguments, "mmu_tf.predict")
    assert again.returncode == 2 and "holds an earlier run's results" in again.stderr and "--overwrite" in again.stderr


def test_predict_cli_names_the_bad_flag(tmp_path):
    result = run_module([f"--input={tmp_path}", f"--output={tmp_path / 'out'}"], "mmu_tf.predict")
    assert result.returncode != 0 and "exactly one of --workdir, --saved_model and --tflite" in result.stderr
    arguments = [f"--workdir={tmp_path}", f"--input={tmp_path}", f"--output={tmp_path / 'out'}"]
    result = run_module(arguments, "mmu_tf.predict")
    assert result.returncode == 2 and "--input: no files in" in result.stderr
    _write_image(tmp_path / "tile.png", 32, 32, 0)
    result = run_module(arguments, "mmu_tf.predict")
    assert result.returncode == 2 and "--workdir: no checkpoint" in result.stderr


def test_saved_model_and_workdir_predictions_agree(trained_workdir, image_folder, tmp_path):
    model, data_config = load_workdir(trained_workdir[0])
    keras_predictor = Predictor.from_data_config(model, data_config)
    export_saved_model(keras_predictor, str(tmp_path / "model"), version=2)
    saved_predictor = SavedModelPredictor(str(tmp_path / "model"))
    assert saved_predictor.class_names == keras_predictor.class_names == ["benign", "malignant"]
    image = cv2.cvtColor(cv2.imread(str(image_folder / "a.png")), cv2.COLOR_BGR2RGB)
    keras_result, saved_result = keras_predictor.predict_image(image), saved_predictor.predict_image(image)
    keras_probabilities, keras_mask = keras_result["probabilities"], keras_result["mask"]
    saved_probabilities, saved_mask = saved_result["probabilities"], saved_result["mask"]
    np.testing.assert_allclose(saved_probabilities, keras_probabilities, atol=1e-4)
    assert saved_mask.shape == keras_mask.shape == (70, 90)
    np.testing.assert_allclose(saved_mask, keras_mask, atol=1e-4)
    # The workdir predictor equals a direct call of the model at the image's size (demo: no resize).
    direct = model(image[None].astype("float32") / 255.0)
    np.testing.assert_allclose(keras_probabilities, direct["probabilities"][0], atol=1e-5)
    np.testing.assert_allclose(keras_mask, direct["mask"][0], atol=1e-5)


def test_predict_with_the_tflite_model_skips_tiny_and_oversized_images(trained_workdir, tmp_path):
    from mmu_tf.export.tflite import export_tflite
    from tests.data.csv_dataset_test import png_declaring

    export_tflite(Predictor.from_workdir(trained_workdir[0]), str(tmp_path / "model.tflite"))
    images = tmp_path / "images"
    images.mkdir()
    _write_image(images / "tile.png", 48, 40, 0)
    _write_image(images / "dot.png", 1, 1, 1)
    (images / "bomb.png").write_bytes(png_declaring(20000, 20000))
    output = tmp_path / "out"
    result = run_module(
        [f"--tflite={tmp_path / 'model.tflite'}", f"--input={images}", f"--output={output}"], "mmu_tf.predict"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 image(s) predicted, 2 skipped" in result.stdout
    reasons = {os.path.basename(row["path"]): row["reason"] for row in _read_csv(output / "skipped.csv")}
    assert "1x1 pixels is too small to predict" in reasons["dot.png"]
    assert "20000x20000 pixels is more than the limit of 25,000,000" in reasons["bomb.png"]
    (row,) = _read_csv(output / "predictions.csv")
    assert cv2.imread(row["mask"], cv2.IMREAD_GRAYSCALE).shape == (48, 40)


@pytest.mark.parametrize(
    "source, output, message",
    [
        ("--saved_model={damaged}", "{tmp}/out", "is not a SavedModel of this project"),
        ("--workdir={tmp}", "/proc/version/out", "--output: cannot create /proc/version/out"),
    ],
)
def test_a_damaged_model_or_an_unwritable_output_is_one_line_of_error(tmp_path, source, output, message):
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "saved_model.pb").write_bytes(b"not a protocol buffer")
    _write_image(tmp_path / "tile.png", 32, 32, 0)
    arguments = [source.format(damaged=damaged, tmp=tmp_path), f"--input={tmp_path / 'tile.png'}"]
    result = run_module([*arguments, f"--output={output.format(tmp=tmp_path)}"], "mmu_tf.predict")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr[-2000:]
    assert "Traceback" not in result.stderr
