"""Refine never reads pixel labels in training: the same run with the masks removed from disk gives the same weights."""

import json

import numpy as np
from PIL import Image

from tests.conftest import TEST_BACKBONE, run_module


def _write_split(root, name, count, with_masks, seed):
    """`count` generated 64x64 images (dark blobs on pink) and, when `with_masks`, their masks, listed in `name`.csv."""
    rng = np.random.default_rng(seed)
    rows = []
    for index in range(count):
        rows_, columns = np.mgrid[:64, :64]
        centre = rng.integers(16, 48, size=2)
        foreground = (rows_ - centre[0]) ** 2 + (columns - centre[1]) ** 2 < rng.integers(60, 200)
        image = np.full((64, 64, 3), (230, 180, 210), "float32") + rng.normal(0, 10, (64, 64, 3))
        image[foreground] = (120, 60, 140)
        image_name = f"{name}_{index}.png"
        Image.fromarray(image.clip(0, 255).astype("uint8")).save(root / image_name)
        mask_name = ""
        if with_masks:
            mask_name = f"{name}_{index}_mask.png"
            Image.fromarray((foreground * 255).astype("uint8")).save(root / mask_name)
        rows.append(f"{image_name},{mask_name},{index % 2}")
    (root / f"{name}.csv").write_text("image,mask,label\n" + "\n".join(rows) + "\n")


def _weights(workdir):
    from mmu_tf.workdir import load_workdir

    model, _ = load_workdir(workdir, checkpoint="last")
    return [np.asarray(variable) for variable in model.weights]


def test_the_same_refine_run_without_masks_on_disk_gives_the_same_weights(tmp_path, untrained_teacher):
    runs = {}
    for with_masks in (True, False):
        root = tmp_path / ("with_masks" if with_masks else "without_masks")
        root.mkdir()
        _write_split(root, "train", 8, with_masks, seed=1)
        _write_split(root, "valid", 2, with_masks, seed=2)
        workdir = tmp_path / f"run_{with_masks}"
        result = run_module(
            [
                "--config=configs/demo.py",
                "--config.precision=float32",
                f"--config.model.backbone={TEST_BACKBONE}",
                "--config.data.name=csv",
                f"--config.data.root={root}",
                "--config.data.eval_splits=('valid',)",
                "--config.method.name=refine",
                f"--config.method.teacher={untrained_teacher}",
                "--config.epochs=1",
                "--config.batch_size=4",
                "--config.eval.num_overlays=0",
                "--config.eval.tensorboard_images_every=0",
                f"--workdir={workdir}",
            ],
            environment={"TF_DETERMINISTIC_OPS": "1"},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        runs[with_masks] = _weights(str(workdir))
    assert len(runs[True]) == len(runs[False])
    for with_masks, without_masks in zip(runs[True], runs[False], strict=True):
        np.testing.assert_array_equal(with_masks, without_masks)
    # The masks were there to be read: the run that had them scores its pixels, the other cannot.
    scored = {
        with_masks: json.loads((tmp_path / f"run_{with_masks}" / "metrics" / "valid.json").read_text())
        for with_masks in (True, False)
    }
    assert scored[True]["foreground_auc"] is not None and scored[False]["foreground_auc"] is None, scored
