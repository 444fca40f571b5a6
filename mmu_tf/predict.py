r"""Predicts the class and the foreground mask of every image in a folder or list.

    python -m mmu_tf.predict --workdir=runs/glas --input=tiles/ --output=predictions/
    python -m mmu_tf.predict --saved_model=exported/mmu --input=a.png,b.jpg --output=out/
    python -m mmu_tf.predict --tflite=mmu.tflite --input=tiles/ --output=out/

`--input` takes folders (walked recursively), image files (PNG, JPEG, BMP,
TIFF; any size) and `.txt` lists of image paths (one per line, relative to
the list's folder). The model comes from a training workdir's checkpoint
(run by `mmu_tf.inference.Predictor`, in float32), from a SavedModel written
by `python -m export.saved_model` (its version folder, or the model base,
where the highest version is used), or from a `.tflite` file written by
`python -m export.tflite` (run under LiteRT, its input checked first).

Writes, for each image, `OUT/masks/<name>.png` (the binary mask, 0 / 255, at
the image's own size) and `OUT/overlays/<name>.png` (the image with the mask's
contour and the class with its probability), then `OUT/predictions.csv`: one
row per image with the class, every class's probability and the foreground
fraction. With `--geojson`, also `OUT/geojson/<name>.geojson`: the mask as
polygons (holes kept) that QuPath imports as annotations (File > Import
objects), the predicted class and its probability in their properties
(`mmu_tf.inference.polygons`). With `--stain_normalization=macenko|reinhard
--stain_reference=IMAGE`, each image's stains are first brought to the
reference's. A file that cannot be read as an image, declares more than
`--max_image_pixels` pixels in its header, or has a side under 32 pixels is
reported and listed in `OUT/skipped.csv`; the rest are processed.

One run writes an output folder at a time (a lock), every file is written
whole (a temporary name, renamed), and a folder holding an earlier run's
results is only reused with `--overwrite`, which removes them first: the CSV
never describes masks of another run.
"""

import csv
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from mmu_tf.cli import run_main  # noqa: E402
from mmu_tf.data.samples import DEFAULT_MAX_IMAGE_PIXELS  # noqa: E402
from mmu_tf.inference.xla import JIT_COMPILE_SETTINGS  # noqa: E402

LIST_SUFFIXES = (".txt", ".lst")


def collect_inputs(entries, exclude=None):
    """`(path, name)` pairs for every file the `--input` entries name.

    Folders give all their non-hidden files, recursively and sorted, named by
    their path inside the folder; list files give the paths they hold; image
    files give themselves. Names are unique and have no extension. Files
    under `exclude` (the output folder) are left out.

    Raises:
        FileNotFoundError: an entry that does not exist.
    """
    exclude = os.path.abspath(exclude) + os.sep if exclude else None
    found = []
    for entry in entries:
        if os.path.isdir(entry):
            for folder, subfolders, files in os.walk(entry):
                subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
                for file_name in sorted(files):
                    if not file_name.startswith("."):
                        path = os.path.join(folder, file_name)
                        found.append((path, os.path.relpath(path, entry)))
        elif os.path.isfile(entry) and entry.lower().endswith(LIST_SUFFIXES):
            base = os.path.dirname(entry)
            with open(entry) as handle:
                for line in handle:
                    line = line.strip()
                    if line and not line.startswith("#"):
                        path = line if os.path.isabs(line) else os.path.join(base, line)
                        found.append((path, os.path.basename(line)))
        elif os.path.isfile(entry):
            found.append((entry, os.path.basename(entry)))
        else:
            raise FileNotFoundError(f"--input: {entry} is not a file or folder")
    if exclude:
        found = [(path, name) for path, name in found if not os.path.abspath(path).startswith(exclude)]
    return [(path, name) for (path, _), name in zip(found, _unique_names(found))]


def _unique_names(found):
    names, taken = [], set()
    for _, relative in found:
        stem, extension = os.path.splitext(relative.replace(os.sep, "__"))
        name = stem
        if name in taken:
            name = f"{stem}_{extension.lstrip('.')}"
        counter = 1
        while name in taken:
            counter += 1
            name = f"{stem}_{counter}"
        taken.add(name)
        names.append(name)
    return names


class SavedModelPredictor:
    """Runs an exported SavedModel's `serving_bytes` signature on one image (a TF-Serving client's view).

    Images are re-encoded as PNG (lossless), so any format this command reads
    (TIFF included) goes through the same in-graph decoding, checks and
    resizing that TF-Serving clients get.

    Args:
        path: a SavedModel folder, or a model base holding numbered versions.
    """

    def __init__(self, path):
        import tensorflow as tf

        path = resolve_saved_model(path)
        self._tf = tf
        try:
            self._module = tf.saved_model.load(path)
            self._serve = self._module.signatures["serving_bytes"]
            self.class_names = [name.decode() for name in self._module.get_class_names().numpy()]
        except Exception as error:  # noqa: BLE001 (TensorFlow raises many kinds for a damaged SavedModel)
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"--saved_model: {path} is not a SavedModel of this project ({first_line})") from None

    def predict_image(self, image):
        import cv2

        encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
        outputs = self._serve(images=self._tf.constant([encoded]))
        return prediction(outputs["probabilities"][0].numpy(), outputs["mask"][0].numpy(), self.class_names)


class LiteRTPredictor:
    """Runs a `.tflite` model on one image: resized as at evaluation, its input checked, the mask brought back.

    Args:
        path: the `.tflite` file (with the `.json` the exporter writes beside it).
    """

    def __init__(self, path):
        from mmu_tf.inference.litert import LiteRTModel

        self._model = LiteRTModel(path)
        self.class_names = self._model.class_names
        self._resize = self._model.resize_settings

    def predict_image(self, image):
        import tensorflow as tf

        from mmu_tf.inference.predictor import evaluation_input

        inputs = evaluation_input(tf.constant(image, tf.uint8), self._resize)[None].numpy()
        outputs = self._model(inputs)
        mask = tf.image.resize(outputs["mask"][0][..., None], image.shape[:2], method="bilinear")[..., 0]
        return prediction(outputs["probabilities"][0], mask.numpy(), self.class_names)


def prediction(probabilities, mask, class_names):
    """The dict `Predictor.predict_image` returns, from numpy probabilities (K,) and a soft mask (H, W)."""
    class_id = int(np.argmax(probabilities))
    return {"probabilities": probabilities, "class_id": class_id, "class_name": class_names[class_id], "mask": mask}


def resolve_saved_model(path):
    """The SavedModel folder of `path`: itself, or the highest numbered version under it."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = sorted(
        (int(name) for name in os.listdir(path) if name.isdigit()) if os.path.isdir(path) else [], reverse=True
    )
    for version in versions:
        candidate = os.path.join(path, str(version))
        if os.path.isfile(os.path.join(candidate, "saved_model.pb")):
            return candidate
    raise FileNotFoundError(f"--saved_model: no saved_model.pb in {path} nor in a numbered version folder under it")


# The backbones' output stride: a smaller image has no cell of its own on the map.
MINIMUM_SIDE = 32


def predict_files(
    predictor,
    inputs,
    output,
    progress=True,
    max_image_pixels=DEFAULT_MAX_IMAGE_PIXELS,
    geojson_class=None,
    stain_normalizer=None,
):
    """Predicts every `(path, name)` of `inputs`, writing masks, overlays and the CSV files.

    With `geojson_class` (the name QuPath gives the mask's regions), each
    mask is also written as `geojson/<name>.geojson`. With a `stain_normalizer`
    (`mmu_tf.inference.stain_normalization.StainNormalizer`) each image is
    normalised first; the CSV says whether it could be (`stain_normalized`).

    A file that is not an image, is larger than `max_image_pixels` (read from
    its header) or smaller than `MINIMUM_SIDE` on a side is skipped with its
    reason. Returns `(rows, skipped)`: the rows of `predictions.csv` and the
    `(path, reason)` pairs of the files that could not be processed.
    """
    from tqdm import tqdm

    from mmu_tf.data.samples import DataError, read_image
    from mmu_tf.evaluation.visualize import prediction_overlay, write_png
    from mmu_tf.inference.polygons import feature_collection, mask_polygons, write_geojson

    for folder in ("masks", "overlays", *(("geojson",) if geojson_class else ())):
        os.makedirs(os.path.join(output, folder), exist_ok=True)
    class_names = predictor.class_names
    rows, skipped = [], []
    with tqdm(inputs, desc="predict", unit="img", disable=not progress) as bar:
        for path, name in bar:
            try:
                image = read_image(path, max_image_pixels)
                if min(image.shape[:2]) < MINIMUM_SIDE:
                    raise DataError(
                        f"{path}: {image.shape[1]}x{image.shape[0]} pixels is too small to predict "
                        f"(at least {MINIMUM_SIDE} pixels a side)"
                    )
            except DataError as error:
                skipped.append((path, str(error)))
                print(f"skipped: {error}", file=sys.stderr)
                bar.set_postfix(skipped=len(skipped))
                continue
            normalized = False
            if stain_normalizer is not None:
                image, normalized = stain_normalizer(image)
                if not normalized:
                    print(f"warning: {path}: its stains cannot be estimated; predicted as it is", file=sys.stderr)
            result = predictor.predict_image(image)
            probabilities, soft_mask, class_id = result["probabilities"], result["mask"], result["class_id"]
            binary_mask = soft_mask >= 0.5
            mask_path = os.path.join(output, "masks", f"{name}.png")
            overlay_path = os.path.join(output, "overlays", f"{name}.png")
            write_png(mask_path, np.repeat(binary_mask[..., None].astype(np.uint8) * 255, 3, axis=-1))
            text = f"{class_names[class_id]} {probabilities[class_id]:.2f}  foreground {binary_mask.mean():.0%}"
            write_png(overlay_path, prediction_overlay(image, soft_mask, text))
            row = {"path": path, "class_id": class_id, "class_name": class_names[class_id]}
            row.update({f"probability_{label}": float(value) for label, value in zip(class_names, probabilities)})
            row.update({"foreground_fraction": float(binary_mask.mean()), "mask": mask_path, "overlay": overlay_path})
            if stain_normalizer is not None:
                row["stain_normalized"] = normalized
            if geojson_class:
                properties = {
                    "image": name,
                    "image_class": class_names[class_id],
                    "probability": round(float(probabilities[class_id]), 6),
                }
                write_geojson(
                    os.path.join(output, "geojson", f"{name}.geojson"),
                    feature_collection(mask_polygons(soft_mask), geojson_class, properties),
                )
            rows.append(row)
    _write_csv(
        os.path.join(output, "predictions.csv"),
        ["path", "class_id", "class_name", *(f"probability_{label}" for label in class_names)]
        + ["foreground_fraction", "mask", "overlay"]
        + (["stain_normalized"] if stain_normalizer is not None else []),
        rows,
    )
    _write_csv(os.path.join(output, "skipped.csv"), ["path", "reason"], [dict(path=p, reason=r) for p, r in skipped])
    return rows, skipped


def _write_csv(path, columns, rows):
    """Writes the CSV whole or not at all: a temporary file, renamed once complete."""
    temporary = f"{path}.tmp"
    with open(temporary, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(temporary, path)


# What a run writes in --output; a later run into the same folder replaces all of it (--overwrite).
RESULT_FILES = ("predictions.csv", "skipped.csv")
RESULT_FOLDERS = ("masks", "overlays", "geojson")


def clear_results(output):
    """Removes an earlier run's results from `output` (only the files and folders this command writes)."""
    import shutil

    for name in RESULT_FILES:
        path = os.path.join(output, name)
        if os.path.isfile(path):
            os.remove(path)
    for name in RESULT_FOLDERS:
        shutil.rmtree(os.path.join(output, name), ignore_errors=True)


def define_flags():
    flags.DEFINE_string("workdir", None, "A training workdir to predict with (its checkpoints/<checkpoint>.keras).")
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"], "Which checkpoint of --workdir.")
    flags.DEFINE_string(
        "saved_model", None, "Instead of --workdir: a SavedModel from export.saved_model (version folder or base)."
    )
    flags.DEFINE_string("tflite", None, "Instead of --workdir: a .tflite model from export.tflite (run under LiteRT).")
    flags.DEFINE_integer(
        "max_image_pixels",
        DEFAULT_MAX_IMAGE_PIXELS,
        "Images with more pixels (read from the file header) are skipped; whole slides: mmu_tf.predict_wsi.",
        lower_bound=1,
    )
    flags.DEFINE_enum(
        "jit_compile",
        "auto",
        list(JIT_COMPILE_SETTINGS),
        "XLA for --workdir's model: on, off, or auto (on with a GPU and a fixed-size resize; XLA compiles once "
        "per image size, so images of many sizes run faster without it).",
    )
    flags.DEFINE_list("input", None, "Comma-separated folders (recursive), image files, or .txt lists of image paths.")
    flags.DEFINE_string("output", None, "Folder for masks/, overlays/, predictions.csv and skipped.csv.")
    flags.DEFINE_bool("progress", True, "Show a progress bar.")
    flags.DEFINE_bool(
        "geojson", False, "Also write each mask as GeoJSON polygons (OUT/geojson/<name>.geojson) for QuPath."
    )
    flags.DEFINE_string("geojson_class", "Foreground", "The QuPath classification of the mask's regions.")
    flags.DEFINE_enum(
        "stain_normalization",
        None,
        ["macenko", "reinhard"],
        "Normalise each image's stains to --stain_reference's first (Macenko or Reinhard, torchstain).",
    )
    flags.DEFINE_string("stain_reference", None, "The reference image of --stain_normalization (a training image).")
    flags.DEFINE_bool(
        "overwrite",
        False,
        "Replace the results of an earlier run in --output (its predictions.csv, masks/, overlays/, geojson/).",
    )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = flags.FLAGS
    if sum(bool(source) for source in (config.workdir, config.saved_model, config.tflite)) != 1:
        raise app.UsageError("give exactly one of --workdir, --saved_model and --tflite")
    if not config.input or not config.output:
        raise app.UsageError("--input and --output are required")
    try:
        inputs = collect_inputs(config.input, exclude=config.output)
        if not inputs:
            raise FileNotFoundError(f"--input: no files in {', '.join(config.input)}")
        if os.path.exists(config.output) and not os.path.isdir(config.output):
            raise OSError(f"--output: {config.output} is a file, not a folder")
        if os.path.isfile(os.path.join(config.output, "predictions.csv")) and not config.overwrite:
            raise OSError(
                f"--output: {config.output} holds an earlier run's results (predictions.csv); "
                "pass --overwrite to replace them, or choose another --output"
            )
        # Before the model loads: a run must not end, minutes later, on an output it cannot write.
        for folder in (config.output, os.path.join(config.output, "masks"), os.path.join(config.output, "overlays")):
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as error:
                raise OSError(f"--output: cannot create {folder} ({error.strerror})") from None
            if not os.access(folder, os.W_OK):
                raise OSError(f"--output: {folder} is not writable")
        stain_normalizer = None
        if bool(config.stain_normalization) != bool(config.stain_reference):
            raise ValueError("--stain_normalization and --stain_reference go together")
        if config.stain_normalization:
            from mmu_tf.data.samples import DataError, read_image
            from mmu_tf.inference.stain_normalization import StainNormalizer

            try:
                reference = read_image(config.stain_reference)
            except DataError as error:
                raise ValueError(f"--stain_reference: {error}") from None
            stain_normalizer = StainNormalizer(config.stain_normalization, reference)
        if config.workdir:
            from mmu_tf.inference import Predictor

            predictor = Predictor.from_workdir(
                config.workdir, config.checkpoint, config.max_image_pixels, config.jit_compile
            )
        elif config.saved_model:
            predictor = SavedModelPredictor(config.saved_model)
        else:
            predictor = LiteRTPredictor(config.tflite)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    from mmu_tf.workdir_lock import WorkdirInUseError, WorkdirLock

    try:
        # One run writes an output folder at a time; the earlier results go before any new file is written.
        with WorkdirLock(config.output, "--output"):
            clear_results(config.output)
            rows, skipped = predict_files(
                predictor,
                inputs,
                config.output,
                config.progress,
                config.max_image_pixels,
                geojson_class=config.geojson_class if config.geojson else None,
                stain_normalizer=stain_normalizer,
            )
    except (OSError, WorkdirInUseError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print(f"{len(rows)} image(s) predicted, {len(skipped)} skipped; results in {config.output}/predictions.csv")
    if skipped:
        print(f"skipped files and reasons: {config.output}/skipped.csv", file=sys.stderr)
    if not rows:
        sys.exit(1)


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
