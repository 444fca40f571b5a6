"""The TF-Serving SavedModel: layout, signatures, and outputs equal to the Keras model's."""

import base64
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tensorflow as tf

from mmu_tf.export.saved_model import export_saved_model
from mmu_tf.inference import Predictor
from mmu_tf.inference.predictor import evaluation_input
from tests.conftest import run_module

# Runs in a fresh interpreter that never imports this project.
LOAD_AND_CALL = """
import base64, json, sys
import numpy as np
import tensorflow as tf
path, request_path, float_path, out_path = sys.argv[1:5]
loaded = tf.saved_model.load(path)
float_out = loaded.signatures["serving_default"](images=tf.constant(np.load(float_path)))
request = json.load(open(request_path))
encoded = [base64.b64decode(instance["b64"]) for instance in request["instances"]]
bytes_out = loaded.signatures[request["signature_name"]](images=tf.constant(encoded))
np.savez(out_path, **{"float_" + k: v.numpy() for k, v in float_out.items()},
         **{"bytes_" + k: v.numpy() for k, v in bytes_out.items()})
"""


@pytest.fixture(scope="module")
def exported(trained_workdir, tmp_path_factory):
    workdir, _ = trained_workdir
    folder = tmp_path_factory.mktemp("export")
    result = run_module([f"--workdir={workdir}", f"--output={folder / 'model'}", "--version=3"], "export.saved_model")
    assert result.returncode == 0, result.stderr[-3000:]
    predictor = Predictor.from_workdir(workdir)
    return folder, os.path.join(folder, "model", "3"), predictor.model, predictor


def test_writes_the_tf_serving_layout(exported):
    _, path, _, _ = exported
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert os.path.isdir(os.path.join(path, "variables"))
    # Readable by a server running as another user (the umask's folder mode, not mkdtemp's 0700).
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o777 & ~umask
    assert not [name for name in os.listdir(os.path.dirname(path)) if name.startswith(".")]


def test_saved_model_cli_shows_both_signatures_with_their_dtypes(exported):
    _, path, _, _ = exported
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", path, "--all"], capture_output=True, text=True, timeout=300).stdout
    default = shown.split("signature_def['serving_default']")[1].split("signature_def[")[0]
    in_bytes = shown.split("signature_def['serving_bytes']")[1].split("signature_def[")[0]
    assert "dtype: DT_FLOAT" in default and "shape: (-1, -1, -1, 3)" in default
    assert "dtype: DT_STRING" in in_bytes and "shape: (-1)" in in_bytes
    for name in ("probabilities", "class_id", "class_name", "mask", "foreground_fraction"):
        assert f"outputs['{name}']" in default and f"outputs['{name}']" in in_bytes


def test_fresh_process_gets_the_keras_outputs_from_both_signatures(exported):
    folder, path, model, predictor = exported
    rng = np.random.default_rng(0)
    float_images = rng.random((2, 64, 80, 3)).astype(np.float32)
    np.save(folder / "float.npy", float_images)
    png = cv2.imencode(".png", (rng.random((50, 70, 3)) * 255).astype(np.uint8))[1].tobytes()
    # The README's TF-Serving REST request body, as a client would build it.
    request = {"signature_name": "serving_bytes", "instances": [{"b64": base64.b64encode(png).decode()}]}
    (folder / "request.json").write_text(json.dumps(request))
    script = folder / "load_and_call.py"
    script.write_text(LOAD_AND_CALL)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH="")
    result = subprocess.run(
        [
            sys.executable,
            str(script),
            path,
            str(folder / "request.json"),
            str(folder / "float.npy"),
            str(folder / "out"),
        ],
        cwd=str(folder),
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    served = np.load(folder / "out.npz", allow_pickle=True)  # class names are byte strings

    expected = model(float_images, training=False)
    np.testing.assert_allclose(served["float_probabilities"], expected["probabilities"].numpy(), atol=1e-4)
    np.testing.assert_allclose(served["float_mask"], expected["mask"].numpy(), atol=1e-4)
    np.testing.assert_array_equal(served["float_class_id"], np.argmax(expected["probabilities"].numpy(), -1))
    assert served["float_class_name"][0].decode() in model.class_names

    image = cv2.cvtColor(cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    resized = evaluation_input(tf.constant(image), predictor.resize_settings)
    keras_out = model(resized[None], training=False)
    np.testing.assert_allclose(served["bytes_probabilities"], keras_out["probabilities"].numpy(), atol=1e-4)
    assert served["bytes_class_id"][0] == int(np.argmax(keras_out["probabilities"].numpy()))
    assert served["bytes_mask"].shape == (1, 50, 70)
    assert (served["bytes_height"][0], served["bytes_width"][0]) == (50, 70)


def test_export_without_a_checkpoint_says_so(tmp_path):
    result = run_module([f"--workdir={tmp_path}", f"--output={tmp_path / 'out'}"], "export.saved_model")
    assert result.returncode == 2 and "no checkpoint" in result.stderr


def test_version_must_be_positive(exported):
    folder, _, _, predictor = exported
    with pytest.raises(ValueError, match="--version must be a positive integer"):
        export_saved_model(predictor, str(folder / "other"), version=0)


def test_bad_requests_fail_with_a_message_that_says_what_is_expected(exported):
    _, path, _, _ = exported
    loaded = tf.saved_model.load(path)
    serve_float, serve_bytes = loaded.signatures["serving_default"], loaded.signatures["serving_bytes"]
    pixels = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"in \[0, 1\] \(divide 0-255 pixels by 255\)"):
        serve_float(images=tf.constant(pixels, tf.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="without NaN"):
        serve_float(images=tf.fill((1, 32, 32, 3), float("nan")))
    with pytest.raises(tf.errors.InvalidArgumentError, match="at least one image of at least 1x1 pixels"):
        serve_float(images=tf.zeros((0, 32, 32, 3)))
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match="float"):
        serve_float(images=tf.constant(pixels, tf.int32))
    with pytest.raises((TypeError, ValueError, tf.errors.InvalidArgumentError), match=r"\[\?,\?,\?,3\]"):
        serve_float(images=tf.zeros((32, 32, 3)))
    with pytest.raises(tf.errors.InvalidArgumentError, match="are not whole PNG, JPEG or BMP files.*] \\[0\\]"):
        serve_bytes(images=tf.constant([b"not an image"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match="the request holds no image"):
        serve_bytes(images=tf.constant([], tf.string))


def test_a_decompression_bomb_is_refused_from_its_header_naming_its_index(exported):
    from tests.data.csv_dataset_test import png_declaring

    _, path, _, _ = exported
    serve_bytes = tf.saved_model.load(path).signatures["serving_bytes"]
    small = cv2.imencode(".png", np.zeros((40, 50, 3), np.uint8))[1].tobytes()
    # 60 bytes declaring 20000 x 20000 pixels: refused before decoding (it would need 1.2 GB). The
    # demo model runs at the image's resolution: its export admits 2048 x 2048 by default.
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"declare more pixels than the limit of\] \[4194304\] \[:\] \[1\]"
    ):
        serve_bytes(images=tf.constant([small, png_declaring(20000, 20000)]))
    outputs = serve_bytes(images=tf.constant([small]))
    assert outputs["mask"].shape == (1, 40, 50)


def test_a_truncated_or_gif_image_is_refused_by_its_index_before_decoding(exported):
    _, path, _, _ = exported
    serve_bytes = tf.saved_model.load(path).signatures["serving_bytes"]
    good = cv2.imencode(".png", np.random.default_rng(0).integers(0, 256, (40, 50, 3), np.uint8))[1].tobytes()
    for bad in (good[: len(good) // 2], cv2.imencode(".jpg", np.zeros((40, 50, 3), np.uint8))[1].tobytes()[:-40]):
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"a truncated file is refused\):\] \[1\]"):
            serve_bytes(images=tf.constant([good, bad]))
    gif = b"GIF89a" + bytes([100, 0, 100, 0, 0x80, 0, 0]) + bytes(6) + b"\x2c" + bytes(9) + b"\x02\x02\x44\x01\x00\x3b"
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"GIF is not accepted"):
        serve_bytes(images=tf.constant([gif]))


@pytest.mark.parametrize("encoding", [".png", ".jpg", ".bmp"])
def test_header_sizes_match_the_decoded_sizes(encoding):
    from mmu_tf.inference.input_checks import encoded_image_size

    encoded = cv2.imencode(encoding, np.zeros((37, 53, 3), np.uint8))[1].tobytes()
    assert tuple(int(side) for side in encoded_image_size(tf.constant(encoded))) == (37, 53)
