r"""Runs the careless and hostile inputs of issue 15 against the commands and prints what each one did.

    python -m tools.hostile_inputs --output=runs/hostile

Trains a tiny workdir on generated data, exports it (SavedModel and TFLite),
then tries each case in a subprocess, as a user would, and writes a Markdown
table: the case, the exit code, whether a Python traceback was printed, and
the first `error:` / `skipped:` line (or the refusal TensorFlow returned).
The decompression-bomb requests also report the serving process's peak memory.
"""

import json
import os
import struct
import subprocess
import sys
import zlib

from absl import app, flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = [
    "--config=configs/demo.py",
    "--config.precision=float32",
    "--config.epochs=1",
    "--config.data.synthetic_size=64",
    "--config.data.num_images.train=8",
    "--config.data.num_images.valid=4",
    "--config.data.num_images.test=4",
    "--config.eval.num_overlays=0",
    "--config.eval.tensorboard_images_every=0",
]
SERVE = """
import base64, resource, sys
import numpy as np, tensorflow as tf
loaded = tf.saved_model.load(sys.argv[1])
payload = open(sys.argv[2], "rb").read()
signature = sys.argv[3]
try:
    if signature == "bytes":
        loaded.signatures["serving_bytes"](images=tf.constant([payload]))
    elif signature == "empty":
        loaded.signatures["serving_bytes"](images=tf.constant([], tf.string))
    else:
        loaded.signatures["serving_default"](images=tf.zeros((0, 32, 32, 3)))
    print("answered")
except tf.errors.InvalidArgumentError as error:
    message = [line for line in str(error).splitlines() if "assertion failed" in line]
    print("refused: " + (message[0].strip() if message else str(error).splitlines()[0]))
print("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
LITERT = """
import sys
import numpy as np
from mmu_tf.inference.litert import InputError, LiteRTModel
model = LiteRTModel(sys.argv[1])
images = np.random.default_rng(0).random((1, 64, 64, 3)).astype("float32")
for name, batch in (("0-255 pixels", images * 255), ("NaN", np.full_like(images, np.nan))):
    try:
        model(batch)
        print(name, "answered")
    except InputError as error:
        print(name, "refused:", error)
"""


def png_declaring(width, height):
    """A PNG header declaring width x height pixels, with a one-byte image body (a decompression bomb's shape)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def run(arguments, module=None, script=None):
    command = [sys.executable]
    command += ["-c", script] if script else (["-m", module] if module else ["train_main.py"])
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [*command, *arguments], cwd=ROOT, capture_output=True, text=True, env=environment, timeout=900
    )


def summary(result):
    lines = (result.stdout + result.stderr).splitlines()
    shown = [line for line in lines if line.startswith(("error:", "skipped:", "refused", "answered"))]
    shown += [line for line in lines if "nothing to do" in line or "image(s) predicted" in line]
    return shown[0] if shown else (lines[-1] if lines else "")


def main(argv):
    del argv
    output = os.path.abspath(flags.FLAGS.output)
    os.makedirs(output, exist_ok=True)
    workdir = os.path.join(output, "workdir")
    rows = []

    def case(name, result, expectation):
        traceback = "Traceback" in result.stderr
        rows.append((name, result.returncode, "yes" if traceback else "no", summary(result)[:180], expectation))
        print(f"{name}: exit {result.returncode}, traceback {traceback}: {summary(result)[:180]}")

    trained = run([*TINY, f"--workdir={workdir}", "--config.epochs=2"])
    if trained.returncode:
        raise SystemExit(trained.stderr[-3000:])
    exported = os.path.join(output, "exported")
    run([f"--workdir={workdir}", f"--output={exported}", "--version=1"], "export.saved_model")
    tflite = os.path.join(output, "model.tflite")
    run([f"--workdir={workdir}", f"--output={tflite}"], "export.tflite")

    # Files.
    data = os.path.join(output, "data")
    images = os.path.join(data, "images")
    os.makedirs(os.path.join(images, "sub"), exist_ok=True)
    os.makedirs(os.path.join(output, "outside"), exist_ok=True)
    import cv2
    import numpy as np

    tile = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for path in ("a.png", "sub/a.png", "b.png", "c.png"):
        cv2.imwrite(os.path.join(images, path), tile)
    cv2.imwrite(os.path.join(output, "outside", "secret.png"), tile)
    cv2.imwrite(os.path.join(images, "dot.png"), tile[:1, :1])
    with open(os.path.join(images, "bomb.png"), "wb") as handle:
        handle.write(png_declaring(20000, 20000))
    with open(os.path.join(images, "huge.png"), "wb") as handle:
        handle.write(png_declaring(50000, 50000))
    cv2.imwrite(os.path.join(images, "big.jpg"), np.zeros((8000, 8000, 3), np.uint8))

    def csv_run(rows_text, extra=(), name="train"):
        with open(os.path.join(images, f"{name}.csv"), "w") as handle:
            handle.write(rows_text)
        with open(os.path.join(images, "valid.csv"), "w") as handle:
            handle.write("a.png,,0\nb.png,,1\n")
        arguments = [
            "--config=configs/demo.py",
            "--config.data.name=csv",
            f"--config.data.root={images}",
            "--config.epochs=1",
            "--config.eval.num_overlays=0",
            f"--workdir={os.path.join(output, 'csv_run')}",
            *extra,
        ]
        return run(arguments)

    case("training split with a 20000x20000 PNG header", csv_run("bomb.png,,0\nb.png,,1\n"), "refused")
    case(
        "the same with resize_mode=fixed",
        csv_run("bomb.png,,0\nb.png,,1\n", ["--config.data.resize_mode=fixed"]),
        "refused",
    )
    case("training split with a 50000x50000 PNG header", csv_run("huge.png,,0\nb.png,,1\n"), "refused")
    case("CSV row ../../../../etc/passwd", csv_run("../../../../etc/passwd,,0\nb.png,,1\n"), "refused")
    case("CSV row /etc/hostname", csv_run("/etc/hostname,,0\nb.png,,1\n"), "refused")
    case("CSV row ../../outside/secret.png", csv_run("../../outside/secret.png,,0\nb.png,,1\n"), "refused")
    result = csv_run("a.png,,0\nsub/a.png,,1\nc.png,,0\n", ["--config.eval.num_overlays=3"])
    overlays = sorted(os.listdir(os.path.join(output, "csv_run", "overlays", "train")))
    rows.append(("two a.png in two folders: overlays", result.returncode, "-", ", ".join(overlays), "distinct"))
    rows.append(("CSV data without test.csv", result.returncode, "-", summary(result)[:120] or "trained", "trains"))

    # One writer per workdir: a second run while the first holds the lock.
    first = subprocess.Popen(
        [sys.executable, "train_main.py", *TINY, f"--workdir={os.path.join(output, 'shared')}", "--config.epochs=3"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import time

    time.sleep(15)
    case(
        "second run on a workdir in use",
        run([*TINY, f"--workdir={os.path.join(output, 'shared')}", "--config.seed=7"]),
        "refused",
    )
    first.wait()
    case(
        "finished 2-epoch workdir re-run with --config.epochs=1",
        run([*TINY, f"--workdir={workdir}", "--config.epochs=1"]),
        "nothing to do, says 2 epochs",
    )
    case(
        "mistyped override --config.method.backgrond",
        run([*TINY, "--workdir=/tmp/x", "--config.method.backgrond=sem"]),
        "one line",
    )
    case("--workdir is a file", run([*TINY, "--workdir=/proc/version"]), "one line")
    case("--workdir cannot be created", run([*TINY, "--workdir=/proc/version/run"]), "one line")
    case(
        "predict --output cannot be written",
        run([f"--workdir={workdir}", f"--input={images}/a.png", "--output=/proc/version/out"], "mmu_tf.predict"),
        "one line, before loading",
    )
    damaged = os.path.join(output, "damaged")
    os.makedirs(damaged, exist_ok=True)
    with open(os.path.join(damaged, "saved_model.pb"), "wb") as handle:
        handle.write(b"not a protocol buffer")
    case(
        "predict on a corrupt saved_model.pb",
        run([f"--saved_model={damaged}", f"--input={images}/a.png", f"--output={output}/p"], "mmu_tf.predict"),
        "one line",
    )
    case(
        "export to a folder that cannot be written",
        run([f"--workdir={workdir}", "--output=/proc/version/exported"], "export.saved_model"),
        "one line",
    )
    case(
        "export over an existing version",
        run([f"--workdir={workdir}", f"--output={exported}", "--version=1"], "export.saved_model"),
        "refused without --overwrite",
    )
    predicted = run([f"--workdir={workdir}", f"--input={images}", f"--output={output}/predictions"], "mmu_tf.predict")
    with open(os.path.join(output, "predictions", "skipped.csv")) as handle:
        skipped = handle.read().strip().splitlines()[1:]
    rows.append(
        (
            "predict over a folder with 1x1, 8000x8000, 20000x20000 and 50000x50000 images",
            predicted.returncode,
            "yes" if "Traceback" in predicted.stderr else "no",
            summary(predicted) + " | " + " | ".join(line[:90] for line in skipped),
            "bad ones skipped",
        )
    )
    for signature, payload in (("bytes", "bomb.png"), ("empty", "a.png"), ("zero", "a.png")):
        result = run([os.path.join(exported, "1"), os.path.join(images, payload), signature], script=SERVE)
        peak = [line for line in result.stdout.splitlines() if line.startswith("peak_rss_mb")]
        label = {
            "bytes": "serving_bytes: 60-byte PNG declaring 20000x20000",
            "empty": "serving_bytes: empty batch",
            "zero": "serving_default: zero-size batch",
        }[signature]
        said = f"{summary(result)[:150]} ({peak[0] if peak else ''} MB)"
        rows.append((label, result.returncode, "yes" if "Traceback" in result.stderr else "no", said, "refused"))
    result = run([tflite], script=LITERT)
    for line in result.stdout.splitlines():
        rows.append((f"LiteRT wrapper: {line.split(' ')[0]} input", result.returncode, "no", line[:150], "refused"))

    table = ["| case | exit | traceback | what it said | expected |", "|---|---|---|---|---|"]
    table += [
        f"| {name} | {code} | {traceback} | {said} | {expected} |" for name, code, traceback, said, expected in rows
    ]
    with open(os.path.join(output, "hostile_inputs.md"), "w") as handle:
        handle.write("\n".join(table) + "\n")
    with open(os.path.join(output, "hostile_inputs.json"), "w") as handle:
        json.dump(rows, handle, indent=2)
    print("\n".join(table))


if __name__ == "__main__":
    flags.DEFINE_string("output", "runs/hostile", "Folder for the files, runs and the table.")
    app.run(main)
