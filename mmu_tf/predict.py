r"""Predicts the class and the foreground mask of every image in a folder or list.

    python -m mmu_tf.predict --workdir=runs/glas --input=tiles/ --output=predictions/
    python -m mmu_tf.predict --saved_model=exported/mmu --input=a.png,b.jpg --output=out/

`--input` takes folders (walked recursively), image files (PNG, JPEG, BMP,
TIFF; any size) and `.txt` lists of image paths (one per line, relative to
the list's folder). The model comes from a training workdir's checkpoint or
from a SavedModel written by `python -m export.saved_model` (its version
folder, or the model base, where the highest version is used).

Writes, for each image, `OUT/masks/<name>.png` (the binary mask, 0 / 255, at
the image's own size) and `OUT/overlays/<name>.png` (the image with the mask's
contour and the class with its probability), then `OUT/predictions.csv`: one
row per image with the class, every class's probability and the foreground
fraction. A file that cannot be read as an image is reported and listed in
`OUT/skipped.csv`; the rest are processed.
"""

import csv
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

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


class KerasPredictor:
    """Runs a trained `MaxMinModel` on one image, resized as at evaluation.

    Args:
        model: the trained model.
        data_config: the `data` section of its training config (a dict).
    """

    def __init__(self, model, data_config):
        import ml_collections
        import tensorflow as tf

        from mmu_tf.data.augment import resize

        self.class_names = model.class_names or [str(index) for index in range(model.num_classes)]
        data_config = ml_collections.ConfigDict(data_config)

        @tf.function(reduce_retracing=True)
        def predict(image):
            resized, _ = resize(tf.cast(image, tf.float32) / 255.0, None, data_config)
            outputs = model(resized[None], training=False)
            mask = tf.image.resize(outputs["mask"][0][..., None], tf.shape(image)[:2], method="bilinear")
            return outputs["probabilities"][0], mask[..., 0]

        self._predict = predict

    def __call__(self, image):
        """Class probabilities (K,) and the soft mask at the image's size, for an RGB uint8 image."""
        probabilities, mask = self._predict(image)
        return probabilities.numpy(), mask.numpy()


class SavedModelPredictor:
    """Runs an exported SavedModel's `serving_bytes` signature on one image.

    Images are re-encoded as PNG (lossless), so any format this command reads
    (TIFF included) goes through the same in-graph decoding and resizing that
    TF-Serving clients get.

    Args:
        path: a SavedModel folder, or a model base holding numbered versions.
    """

    def __init__(self, path):
        import tensorflow as tf

        path = resolve_saved_model(path)
        self._tf = tf
        self._module = tf.saved_model.load(path)
        self._serve = self._module.signatures["serving_bytes"]
        self.class_names = [name.decode() for name in self._module.get_class_names().numpy()]

    def __call__(self, image):
        import cv2

        encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))[1].tobytes()
        outputs = self._serve(images=self._tf.constant([encoded]))
        return outputs["probabilities"][0].numpy(), outputs["mask"][0].numpy()


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


def predict_files(predictor, inputs, output, progress=True):
    """Predicts every `(path, name)` of `inputs`, writing masks, overlays and the CSV files.

    Returns `(rows, skipped)`: the rows of `predictions.csv` and the
    `(path, reason)` pairs of the files that could not be processed.
    """
    from tqdm import tqdm

    from mmu_tf.data.samples import DataError, read_image
    from mmu_tf.evaluation.visualize import prediction_overlay, write_png

    for folder in ("masks", "overlays"):
        os.makedirs(os.path.join(output, folder), exist_ok=True)
    class_names = predictor.class_names
    rows, skipped = [], []
    with tqdm(inputs, desc="predict", unit="img", disable=not progress) as bar:
        for path, name in bar:
            try:
                image = read_image(path)
            except DataError as error:
                skipped.append((path, str(error)))
                print(f"skipped: {error}", file=sys.stderr)
                bar.set_postfix(skipped=len(skipped))
                continue
            probabilities, soft_mask = predictor(image)
            class_id = int(np.argmax(probabilities))
            binary_mask = soft_mask >= 0.5
            mask_path = os.path.join(output, "masks", f"{name}.png")
            overlay_path = os.path.join(output, "overlays", f"{name}.png")
            write_png(mask_path, np.repeat(binary_mask[..., None].astype(np.uint8) * 255, 3, axis=-1))
            text = f"{class_names[class_id]} {probabilities[class_id]:.2f}  foreground {binary_mask.mean():.0%}"
            write_png(overlay_path, prediction_overlay(image, soft_mask, text))
            row = {"path": path, "class_id": class_id, "class_name": class_names[class_id]}
            row.update({f"probability_{label}": float(value) for label, value in zip(class_names, probabilities)})
            row.update({"foreground_fraction": float(binary_mask.mean()), "mask": mask_path, "overlay": overlay_path})
            rows.append(row)
    _write_csv(
        os.path.join(output, "predictions.csv"),
        ["path", "class_id", "class_name", *(f"probability_{label}" for label in class_names)]
        + ["foreground_fraction", "mask", "overlay"],
        rows,
    )
    _write_csv(os.path.join(output, "skipped.csv"), ["path", "reason"], [dict(path=p, reason=r) for p, r in skipped])
    return rows, skipped


def _write_csv(path, columns, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def define_flags():
    flags.DEFINE_string("workdir", None, "A training workdir to predict with (its checkpoints/<checkpoint>.keras).")
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"], "Which checkpoint of --workdir.")
    flags.DEFINE_string(
        "saved_model", None, "Instead of --workdir: a SavedModel from export.saved_model (version folder or base)."
    )
    flags.DEFINE_list("input", None, "Comma-separated folders (recursive), image files, or .txt lists of image paths.")
    flags.DEFINE_string("output", None, "Folder for masks/, overlays/, predictions.csv and skipped.csv.")
    flags.DEFINE_bool("progress", True, "Show a progress bar.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    config = flags.FLAGS
    if bool(config.workdir) == bool(config.saved_model):
        raise app.UsageError("give exactly one of --workdir and --saved_model")
    if not config.input or not config.output:
        raise app.UsageError("--input and --output are required")
    try:
        inputs = collect_inputs(config.input, exclude=config.output)
        if not inputs:
            raise FileNotFoundError(f"--input: no files in {', '.join(config.input)}")
        if config.workdir:
            from mmu_tf.workdir import load_workdir

            predictor = KerasPredictor(*load_workdir(config.workdir, config.checkpoint))
        else:
            predictor = SavedModelPredictor(config.saved_model)
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    rows, skipped = predict_files(predictor, inputs, config.output, progress=config.progress)
    print(f"{len(rows)} image(s) predicted, {len(skipped)} skipped; results in {config.output}/predictions.csv")
    if skipped:
        print(f"skipped files and reasons: {config.output}/skipped.csv", file=sys.stderr)
    if not rows:
        sys.exit(1)


def run():
    define_flags()
    app.run(main)


if __name__ == "__main__":
    run()
