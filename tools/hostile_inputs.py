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
import time
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
payloads = [open(path, "rb").read() for path in sys.argv[2].split(",")]
signature = sys.argv[3]
try:
    if signature == "bytes":
        loaded.signatures["serving_bytes"](images=tf.constant(payloads))
    elif signature == "empty":
        loaded.signatures["serving_bytes"](images=tf.constant([], tf.string))
    else:
        loaded.signatures["serving_default"](images=tf.zeros((0, 32, 32, 3)))
    print("answered")
except tf.errors.InvalidArgumentError as error:
    message = [line for line in str(error).splitlines() if "assertion failed" in line]
    print("refused: " + (message[0].strip()[:220] if message else str(error).splitlines()[0]))
print("peak_rss_mb", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""
LITERT = """
import sys
import time
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


def gif_with_frames(screen, frames):
    """A GIF with a `screen` (width, height) logical screen and one tiny-coded frame per `frames` (width, height)."""
    out = b"GIF89a" + struct.pack("<HHBBB", screen[0], screen[1], 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    for width, height in frames:
        # An image descriptor, then an LZW stream (code size 2): clear, one pixel, end.
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"


def radiance_declaring(width, height):
    """A Radiance .hdr header declaring width x height pixels, with almost no pixels (OpenCV decodes it)."""
    return b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {height} +X {width}\n".encode() + bytes(64)


def limited(script_arguments, file_size_bytes):
    """A `python -c` script running train_main.py with writes beyond `file_size_bytes` failing (a full disk)."""
    return (
        "import resource, runpy, signal, sys\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        f"resource.setrlimit(resource.RLIMIT_FSIZE, ({file_size_bytes}, {file_size_bytes}))\n"
        f"sys.argv = ['train_main.py', *{list(script_arguments)!r}]\n"
        "runpy.run_path('train_main.py', run_name='__main__')\n"
    )


def png_declaring(width, height):
    """A PNG header declaring width x height pixels, with a one-byte image body (a decompression bomb's shape)."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


PEAK = (
    "import resource, runpy, sys\n"
    "module, sys.argv = sys.argv[1], [sys.argv[1], *sys.argv[2:]]\n"
    "try:\n"
    "    runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
    "finally:\n"
    "    print('peak_rss_mb', round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), file=sys.stderr)\n"
)


def peak_of(result):
    """The `peak_rss_mb` a `PEAK` or `SERVE` run printed, as text."""
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("peak_rss_mb")]
    return f"{lines[-1].split()[-1]} MB" if lines else "-"


def run(arguments, module=None, script=None):
    command = [sys.executable]
    command += ["-c", script] if script else (["-m", module] if module else ["train_main.py"])
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    try:
        return subprocess.run(
            [*command, *arguments], cwd=ROOT, capture_output=True, text=True, env=environment, timeout=CASE_SECONDS
        )
    except subprocess.TimeoutExpired as expired:
        # One case that hangs (or a starved machine) is a row of the table, not the end of the run.
        return subprocess.CompletedProcess(
            expired.cmd, -9, _text(expired.stdout), _text(expired.stderr) + f"\ntimed out after {CASE_SECONDS} s"
        )


def _text(output):
    return output.decode("utf-8", "replace") if isinstance(output, bytes) else (output or "")


# A case still running after this long is killed and reported as timed out.
CASE_SECONDS = 900


def wait_for_masks(process, folder, count=5, seconds=300):
    """Whether `process` is still running once `folder` holds `count` files (it has begun writing)."""
    deadline = time.time() + seconds
    while time.time() < deadline and process.poll() is None:
        if os.path.isdir(folder) and len(os.listdir(folder)) >= count:
            return process.poll() is None
        time.sleep(0.2)
    return process.poll() is None


def summary(result):
    lines = (result.stdout + result.stderr).splitlines()
    shown = [line for line in lines if line.startswith(("error:", "skipped:", "refused", "answered"))]
    shown += [line for line in lines if "nothing to do" in line or "image(s) predicted" in line]
    shown += [line for line in lines if line.startswith("timed out")]
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

    # === Issue 22: new cases, each with the peak memory of the process that met it ===

    def peak_case(name, result, expectation):
        traceback = "Traceback" in result.stderr
        said = f"{summary(result)[:170]} (peak {peak_of(result)})"
        rows.append((name, result.returncode, "yes" if traceback else "no", said, expectation))
        print(f"{name}: exit {result.returncode}, traceback {traceback}: {said}")

    def serve(files, name, expectation):
        paths = ",".join(os.path.join(images, file) for file in files)
        peak_case(name, run([os.path.join(exported, "1"), paths, "bytes"], script=SERVE), expectation)

    def write(name, payload):
        with open(os.path.join(images, name), "wb") as handle:
            handle.write(payload)

    write("frame_bomb.gif", gif_with_frames((100, 100), [(10000, 10000)]))
    write("frames.gif", gif_with_frames((1000, 1000), [(1000, 1000)] * 3000))
    cv2.imwrite(os.path.join(images, "p5000.png"), np.zeros((5000, 5000, 3), np.uint8))
    cv2.imwrite(os.path.join(images, "p2048.png"), np.zeros((2048, 2048, 3), np.uint8))
    good = cv2.imencode(".png", tile)[1].tobytes()
    write("truncated.png", good[: len(good) // 2])
    serve(["frame_bomb.gif"], "serving_bytes: GIF whose frame (10000x10000) exceeds its 100x100 screen", "refused")
    serve(["frames.gif"], "serving_bytes: 1000x1000 GIF of 3000 frames", "refused")
    serve(["p5000.png"], "serving_bytes: 5000x5000 PNG to a full-resolution model", "refused (2048x2048 limit)")
    serve(["p2048.png"], "serving_bytes: 2048x2048 PNG, the largest admitted", "answered: its peak")
    serve(["a.png", "truncated.png"], "serving_bytes: a good PNG and a truncated one", "refused, index 1")

    # predict: files decoded only after their header is read.
    odd = os.path.join(output, "odd")
    os.makedirs(odd, exist_ok=True)
    for name in ("a.png",):
        cv2.imwrite(os.path.join(odd, name), tile)
    with open(os.path.join(odd, "bomb.hdr"), "wb") as handle:
        handle.write(radiance_declaring(12000, 12000))
    with open(os.path.join(odd, "large.bin"), "wb") as handle:
        handle.truncate(1_500_000_000)  # sparse: 1.5 GB of zeros, no image header
    write_frame = os.path.join(odd, "frame_bomb.gif")
    with open(write_frame, "wb") as handle:
        handle.write(gif_with_frames((100, 100), [(10000, 10000)]))
    os.symlink(os.path.join(odd, "gone.png"), os.path.join(odd, "dangling.png"))
    from PIL import Image

    rotated = Image.fromarray(np.random.default_rng(1).integers(0, 256, (96, 128, 3), np.uint8))
    exif = rotated.getexif()
    exif[0x0112] = 6  # orientation: rotate 90: displayed 96 wide, 128 high
    rotated.save(os.path.join(odd, "rotated.jpg"), exif=exif)
    predicted = run(
        ["mmu_tf.predict", f"--workdir={workdir}", f"--input={odd}", f"--output={output}/odd_out"], script=PEAK
    )
    with open(os.path.join(output, "odd_out", "skipped.csv")) as handle:
        skipped = [line.split(",")[0].rsplit("/", 1)[-1] for line in handle.read().strip().splitlines()[1:]]
    peak_case(
        "predict: .hdr declaring 12000x12000, 1.5 GB non-image, GIF frame bomb, dangling link",
        predicted,
        f"skipped {', '.join(sorted(skipped))}",
    )
    mask = cv2.imread(os.path.join(output, "odd_out", "masks", "rotated.png"))
    rows.append(
        (
            "predict: JPEG with EXIF orientation 6 (128x96 stored, shown 96x128)",
            predicted.returncode,
            "-",
            f"mask {mask.shape[1]}x{mask.shape[0]}" if mask is not None else "no mask",
            "mask 96x128",
        )
    )
    second = run([f"--workdir={workdir}", f"--input={odd}", f"--output={output}/odd_out"], "mmu_tf.predict")
    case("predict: a second run into the same --output", second, "refused without --overwrite")
    many = os.path.join(output, "many")
    os.makedirs(many, exist_ok=True)
    # Enough that predict is still writing when a second process has loaded its model (~15 s).
    for index in range(3000):
        cv2.imwrite(os.path.join(many, f"{index}.png"), tile)
    killed = subprocess.Popen(
        [sys.executable, "-m", "mmu_tf.predict", f"--workdir={workdir}", f"--input={many}"]
        + [f"--output={output}/odd_out", "--overwrite"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # Killed once it is writing masks (not after a fixed time: a fast machine finishes first).
    running = wait_for_masks(killed, os.path.join(output, "odd_out", "masks"))
    killed.kill()
    killed.wait()
    stale = os.path.isfile(os.path.join(output, "odd_out", "predictions.csv"))
    said = "an earlier predictions.csv left" if stale else "no predictions.csv: the old one removed first"
    rows.append(
        (
            "predict killed mid-run over an earlier run's folder (--overwrite)",
            killed.returncode,
            "-",
            said if running else "it finished before it could be killed: nothing shown",
            "no stale CSV",
        )
    )
    concurrent = subprocess.Popen(
        [sys.executable, "-m", "mmu_tf.predict", f"--workdir={workdir}", f"--input={many}"]
        + [f"--output={output}/concurrent"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if not wait_for_masks(concurrent, os.path.join(output, "concurrent", "masks")):
        print("the first of two concurrent runs finished before the second started: nothing shown")
    case(
        "predict: two runs into one --output at once",
        run(
            [f"--workdir={workdir}", f"--input={odd}", f"--output={output}/concurrent", "--overwrite"], "mmu_tf.predict"
        ),
        "the second refused",
    )
    concurrent.kill()
    concurrent.wait()

    # Whole slides.
    from tools.synthetic_slide import write_synthetic_slide

    slide = os.path.join(output, "flat.tif")
    write_synthetic_slide(slide, (32768, 32768), (0, 0, 0, 0), tissue_margin=32768, levels=1, tile=512)
    peak_case(
        f"predict_wsi: single-level 32768x32768 tiled TIFF ({os.path.getsize(slide) / 2**20:.1f} MB)",
        run(["mmu_tf.predict_wsi", f"--workdir={workdir}", f"--slide={slide}", f"--output={output}/flat"], script=PEAK),
        "read region by region",
    )
    case(
        "predict_wsi: --output names an existing file",
        run([f"--workdir={workdir}", f"--slide={slide}", f"--output={slide}"], "mmu_tf.predict_wsi"),
        "refused before any tile",
    )

    # Evaluation, settings, files.
    evaluated = run(["--mode=evaluate", f"--workdir={workdir}"])
    with open(os.path.join(workdir, "metrics", "valid.json")) as handle:
        count = json.load(handle)["num_images"]
    rows.append(
        (
            "--mode=evaluate without the training flags",
            evaluated.returncode,
            "yes" if "Traceback" in evaluated.stderr else "no",
            f"valid scored on {count} images",
            "the workdir's own 4",
        )
    )
    case(
        "--config.optimizer.learning_rate=-1",
        run([*TINY, "--workdir=/tmp/x", "--config.optimizer.learning_rate=-1"]),
        "one line",
    )
    case("--config.data.crop_size=-5", run([*TINY, "--workdir=/tmp/x", "--config.data.crop_size=-5"]), "one line")
    case(
        "--config.data.crop_size=400 (images 64)",
        run([*TINY, f"--workdir={output}/crop", "--config.data.crop_size=400"]),
        "one line",
    )
    case("--config.eval.batch_size=0", run([*TINY, "--workdir=/tmp/x", "--config.eval.batch_size=0"]), "one line")
    for encoding in ("utf-16", "latin-1"):
        with open(os.path.join(images, "train.csv"), "w", encoding=encoding) as handle:
            handle.write("a.png,,0\nb.png,,1\n\u00e9t\u00e9.png,,0\n")
        case(
            f"a {encoding} train.csv",
            run(
                [
                    "--config=configs/demo.py",
                    "--config.data.name=csv",
                    f"--config.data.root={images}",
                    "--workdir=/tmp/x",
                ]
            ),
            "one line naming the file",
        )
        case(
            f"make_shards from a {encoding} train.csv",
            run(
                ["--config=configs/demo.py", "--config.data.name=csv", f"--config.data.root={images}"]
                + ["--split=train", f"--output={output}/shards"],
                "mmu_tf.data.make_shards",
            ),
            "one line naming the file",
        )
    case(
        "make_shards --output names a file",
        run(["--config=configs/demo.py", "--split=train", f"--output={slide}"], "mmu_tf.data.make_shards"),
        "one line",
    )
    # Masks: RGBA with an opaque background, and JPEG.
    masks = os.path.join(output, "masks_data")
    os.makedirs(masks, exist_ok=True)
    drawn = np.zeros((64, 64), bool)
    drawn[16:48, 16:48] = True
    for index in range(4):
        cv2.imwrite(os.path.join(masks, f"{index}.png"), tile)
        rgba = np.zeros((64, 64, 4), np.uint8)
        rgba[..., 3] = 255  # opaque everywhere
        rgba[drawn, :3] = 255
        cv2.imwrite(os.path.join(masks, f"{index}_rgba.png"), rgba)
        cv2.imwrite(os.path.join(masks, f"{index}_mask.jpg"), drawn.astype(np.uint8) * 255)
    for kind, suffix in (("RGBA PNG masks, opaque background", "_rgba.png"), ("JPEG masks", "_mask.jpg")):
        with open(os.path.join(masks, "train.csv"), "w") as handle:
            handle.write("".join(f"{index}.png,{index}{suffix},{index % 2}\n" for index in range(4)))
        with open(os.path.join(masks, "valid.csv"), "w") as handle:
            handle.write("".join(f"{index}.png,{index}{suffix},{index % 2}\n" for index in range(2)))
        result = run(
            ["--config=configs/demo.py", "--config.data.name=csv", f"--config.data.root={masks}", "--config.epochs=1"]
            + ["--config.eval.num_overlays=0", "--config.precision=float32", f"--workdir={output}/masks_{suffix[1:4]}"]
        )
        with open(os.path.join(output, f"masks_{suffix[1:4]}", "metrics", "valid.json")) as handle:
            truth = json.load(handle)["per_image"][0]["true_foreground_fraction"]
        warned = "warning: mask" in result.stderr
        rows.append(
            (
                f"training with {kind}",
                result.returncode,
                "yes" if "Traceback" in result.stderr else "no",
                f"true foreground {truth:.4f} (drawn {drawn.mean():.4f}){'; warned: lossy' if warned else ''}",
                "the drawn fraction",
            )
        )
    # A full disk: writes beyond 1 MB fail (a checkpoint is larger).
    full = run([], script=limited([*TINY, f"--workdir={output}/full_disk"], 1_000_000))
    leftovers = [name for name in os.listdir(os.path.join(output, "full_disk", "checkpoints")) if "tmp" in name]
    rows.append(
        (
            "training on a full disk (writes over 1 MB fail)",
            full.returncode,
            "yes" if "Traceback" in full.stderr else "no",
            summary(full)[:150] + (f"; left: {leftovers}" if leftovers else "; nothing half-written left"),
            "one line, no stray file",
        )
    )
    # Exports: readable by a server running as another user; a killed export's staging folder.
    os.makedirs(os.path.join(exported, ".staging-2-killed"), exist_ok=True)
    result = run([f"--workdir={workdir}", f"--output={exported}", "--version=2"], "export.saved_model")
    mode = (
        oct(os.stat(os.path.join(exported, "2")).st_mode & 0o777) if os.path.isdir(os.path.join(exported, "2")) else "-"
    )
    stale = [name for name in os.listdir(exported) if name.startswith(".")]
    rows.append(
        (
            "export: version folder mode, a killed export's staging folder",
            result.returncode,
            "yes" if "Traceback" in result.stderr else "no",
            f"mode {mode}; hidden folders left: {stale or 'none'}",
            "0o755, none",
        )
    )

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
