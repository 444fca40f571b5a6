r"""Whole-slide inference: tissue tiles through a trained model, stitched into a heat map.

    python -m mmu_tf.predict_wsi --workdir=runs/camelyon --slide=slide.tif --output=out/slide \
        [--level=0 --tile_size=512 --overlap=64 --batch_size=8 --downsample=32]

Reads any slide OpenSlide reads (.svs, .tif, .ndpi, .mrxs, ...), finds the
tissue on a thumbnail, cuts the tissue of level --level into tiles of
--tile_size pixels overlapping by --overlap, runs the model on batches of
tiles, and writes in OUTPUT:

- heatmap.npy: the foreground probability, float32 in [0, 1], one cell per
  --downsample x --downsample level-0 pixels (overlapping tiles averaged,
  each weighted down linearly across the overlap toward its edges so the tile
  grid does not show; no tissue: 0); heatmap.png: the same, coloured;
- overlay.png: the heat map over the slide's thumbnail (tissue only);
- tiles.csv: per tile, its level-0 corner, tissue fraction, class
  probabilities, predicted class and predicted foreground fraction;
- annotations.geojson: the tiles' masks as polygons in level-0 pixels (each
  tile's offset and its level's downsample applied), merged across tile
  borders: QuPath imports it over the slide (File > Import objects);
- info.json: the slide's size, the downsample, the tiling, timings.

Memory holds one batch of tiles and the heat map, never the slide: the
thumbnail is read region by region from the coarsest level
(`slide_thumbnail`), a slide without a pyramid included.
"""

import csv
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

from mmu_tf.cli import run_main  # noqa: E402
from mmu_tf.inference.xla import JIT_COMPILE_SETTINGS  # noqa: E402


class SlideError(ValueError):
    """A slide that cannot be opened or read."""


def open_slide(path):
    """An `openslide.OpenSlide`, or `SlideError` naming the file and why it cannot be read."""
    import openslide

    if not os.path.isfile(path):
        raise SlideError(f"--slide: no file at {path}")
    try:
        return openslide.OpenSlide(path)
    except (openslide.OpenSlideError, openslide.OpenSlideUnsupportedFormatError) as error:
        raise SlideError(f"--slide: OpenSlide cannot read {path} ({type(error).__name__}: {error})") from error


def read_tile(slide, tile, level, tile_size):
    """A tile as RGB uint8; transparent pixels (beyond the slide, or no scan) become white glass."""
    region = np.asarray(slide.read_region((tile.x, tile.y), level, (tile_size, tile_size)), np.float32)
    alpha = region[..., 3:] / 255.0
    return np.round(region[..., :3] * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)


# Level pixels read per region while the thumbnail is drawn: memory holds one region, never a level.
THUMBNAIL_REGION = 2048


def slide_thumbnail(slide, longest_side=2048):
    """The slide as RGB uint8 at most `longest_side` pixels long, read region by region from its coarsest level.

    OpenSlide's `get_thumbnail` reads that level whole: a slide without a
    pyramid (one level of 32768 x 32768 pixels) would need gigabytes. Here the
    level is read `THUMBNAIL_REGION` pixels at a time, each region shrunk to
    its place in the thumbnail (transparent pixels as white glass).
    """
    import cv2

    width, height = slide.dimensions
    scale = min(1.0, longest_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    level = slide.level_count - 1
    level_width, level_height = slide.level_dimensions[level]
    downsample = float(slide.level_downsamples[level])
    thumbnail = np.full((size[1], size[0], 3), 255, np.uint8)
    for y in range(0, level_height, THUMBNAIL_REGION):
        for x in range(0, level_width, THUMBNAIL_REGION):
            region_width, region_height = (
                min(THUMBNAIL_REGION, level_width - x),
                min(THUMBNAIL_REGION, level_height - y),
            )
            region = np.asarray(
                slide.read_region((round(x * downsample), round(y * downsample)), level, (region_width, region_height)),
                np.float32,
            )
            alpha = region[..., 3:] / 255.0
            rgb = region[..., :3] * alpha + 255.0 * (1.0 - alpha)
            # This region's place in the thumbnail, in thumbnail pixels.
            left, top = round(x * downsample * scale), round(y * downsample * scale)
            right = min(size[0], round((x + region_width) * downsample * scale))
            bottom = min(size[1], round((y + region_height) * downsample * scale))
            if right > left and bottom > top:
                thumbnail[top:bottom, left:right] = np.round(
                    cv2.resize(rgb, (right - left, bottom - top), interpolation=cv2.INTER_AREA)
                ).astype(np.uint8)
    return thumbnail


def thumbnail_and_tissue(slide, longest_side=2048):
    """The slide's thumbnail (RGB uint8), its tissue mask, and thumbnail pixels per level-0 pixel."""
    from mmu_tf.wsi.tissue import tissue_mask

    thumbnail = slide_thumbnail(slide, longest_side)
    scale = thumbnail.shape[1] / slide.dimensions[0]
    return thumbnail, tissue_mask(thumbnail), scale


def infer_slide(slide, predict, level=0, tile_size=512, overlap=64, batch_size=8, downsample=32.0,
                minimum_tissue=0.05, class_names=("0", "1"), progress=True):  # fmt: skip
    """Runs `predict` over the tissue tiles of a slide and stitches the masks.

    Args:
        slide: an `openslide.OpenSlide` (or anything with its `dimensions`,
            `level_count`, `level_dimensions`, `level_downsamples`,
            `read_region` and `get_thumbnail`).
        predict: `images (B, S, S, 3) float32 in [0, 1] -> (probabilities (B, K), masks (B, S, S))`.

    Returns:
        `(heatmap float32, rows of tiles.csv, info dict, thumbnail, tissue mask, foreground polygons)`,
        the polygons a shapely geometry in level-0 pixels.
    """
    from tqdm import tqdm

    from mmu_tf.inference.polygons import mask_polygons, merge
    from mmu_tf.wsi.heatmap import HeatmapStitcher, border_taper
    from mmu_tf.wsi.tile_grid import TileGrid

    if not 0 <= level < slide.level_count:
        raise ValueError(f"--level: the slide has levels 0..{slide.level_count - 1} (got {level})")
    grid = TileGrid(slide.level_dimensions[level], slide.level_downsamples[level], tile_size, overlap)
    if downsample < grid.level_downsample:
        raise ValueError(
            f"--downsample {downsample} is finer than level {level}'s pixels ({grid.level_downsample:g} level-0 "
            "pixels): read a lower level or raise --downsample"
        )
    thumbnail, tissue, scale = thumbnail_and_tissue(slide)
    tiles = list(grid.tiles(tissue, scale, minimum_tissue))
    stitcher = HeatmapStitcher(slide.dimensions, downsample)
    rows, pieces = [], []
    weights = border_taper(tile_size, tile_size, overlap)  # `predict` returns masks at the tiles' size
    start = time.perf_counter()
    with tqdm(total=len(tiles), desc="tiles", unit="tile", disable=not progress) as bar:
        for first in range(0, len(tiles), batch_size):
            batch = tiles[first : first + batch_size]
            images = np.stack([read_tile(slide, tile, level, tile_size) for tile in batch]).astype(np.float32) / 255.0
            probabilities, masks = predict(images)
            for tile, probability, mask in zip(batch, np.asarray(probabilities), np.asarray(masks)):
                stitcher.add(mask, tile.x, tile.y, grid.level_downsample, weights)
                # Polygons, not pixels, are kept: their memory is the outlines'.
                pieces.append(mask_polygons(mask, offset=(tile.x, tile.y), scale=grid.level_downsample))
                predicted = int(np.argmax(probability))
                rows.append(
                    {
                        "x": tile.x,
                        "y": tile.y,
                        "level": level,
                        "tile_size": tile_size,
                        "tissue_fraction": round(tile.tissue_fraction, 4),
                        **{f"p_{name}": round(float(p), 6) for name, p in zip(class_names, probability)},
                        "predicted_class": class_names[predicted],
                        "foreground_fraction": round(float((mask >= 0.5).mean()), 4),
                    }
                )
            bar.update(len(batch))
    info = {
        "slide_dimensions": list(slide.dimensions),
        "level": level,
        "level_dimensions": list(slide.level_dimensions[level]),
        "level_downsample": float(slide.level_downsamples[level]),
        "tile_size": tile_size,
        "overlap": overlap,
        "downsample": float(downsample),
        "heatmap_shape": list(stitcher.shape),
        "tiles_in_grid": len(grid),
        "tiles_with_tissue": len(tiles),
        "inference_seconds": round(time.perf_counter() - start, 3),
    }
    polygons = merge(pieces, bounds=(0, 0, *slide.dimensions))
    return stitcher.result(), rows, info, thumbnail, tissue, polygons


def write_outputs(folder, heatmap, rows, info, thumbnail, tissue, polygons=None, geojson_class="Foreground"):
    """Writes heatmap.npy/.png, overlay.png, tiles.csv, annotations.geojson and info.json; returns their paths."""
    import cv2

    from mmu_tf.evaluation.visualize import write_png
    from mmu_tf.inference.polygons import feature_collection, write_geojson

    os.makedirs(folder, exist_ok=True)
    paths = {name: os.path.join(folder, name) for name in ("heatmap.npy", "heatmap.png", "overlay.png", "tiles.csv")}
    # Every file whole or not at all: written under a temporary name, then renamed.
    with open(paths["heatmap.npy"] + ".tmp", "wb") as handle:
        np.save(handle, heatmap.astype(np.float32))
    os.replace(paths["heatmap.npy"] + ".tmp", paths["heatmap.npy"])
    coloured = cv2.cvtColor(
        cv2.applyColorMap(np.uint8(np.clip(heatmap, 0, 1) * 255), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB
    )
    write_png(paths["heatmap.png"], coloured)
    height, width = heatmap.shape
    background = cv2.resize(thumbnail, (width, height), interpolation=cv2.INTER_AREA)
    on_tissue = cv2.resize(tissue.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST).astype(bool)
    overlay = background.copy()
    overlay[on_tissue] = (0.5 * background[on_tissue] + 0.5 * coloured[on_tissue]).astype(np.uint8)
    write_png(paths["overlay.png"], overlay)
    with open(paths["tiles.csv"] + ".tmp", "w", newline="") as handle:
        fields = list(rows[0]) if rows else ["x", "y", "level", "tile_size", "tissue_fraction"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(paths["tiles.csv"] + ".tmp", paths["tiles.csv"])
    if polygons is not None:
        paths["annotations.geojson"] = write_geojson(
            os.path.join(folder, "annotations.geojson"), feature_collection(polygons, geojson_class)
        )
    paths["info.json"] = os.path.join(folder, "info.json")
    with open(paths["info.json"] + ".tmp", "w") as handle:
        json.dump(info, handle, indent=2)
    os.replace(paths["info.json"] + ".tmp", paths["info.json"])
    return paths


def tile_predictor(predictor):
    """`predict(images)` for `infer_slide` from a `mmu_tf.inference.Predictor` (tiles go in at their size)."""
    import tensorflow as tf

    def predict(images):
        outputs = predictor.predict_batch(tf.constant(images, tf.float32))
        return outputs["probabilities"].numpy(), outputs["mask"].numpy()

    return predict


def define_flags():
    """Defines this command's flags (at run time, so importing the module defines none)."""
    flags.DEFINE_string("workdir", None, "A training workdir (its checkpoints/best.keras is used).")
    flags.DEFINE_string("slide", None, "The slide file (any format OpenSlide reads).")
    flags.DEFINE_string("output", None, "Folder for heatmap.npy/.png, overlay.png, tiles.csv, info.json.")
    flags.DEFINE_integer("level", 0, "The pyramid level the tiles are read at (0: full resolution).")
    flags.DEFINE_integer("tile_size", 512, "Tile side in pixels of --level.")
    flags.DEFINE_integer("overlap", 64, "Pixels of --level shared by neighbouring tiles.")
    flags.DEFINE_integer("batch_size", 8, "Tiles per model call (memory grows with it).")
    flags.DEFINE_float("downsample", 32.0, "Level-0 pixels per heat-map cell, on each side.")
    flags.DEFINE_float("minimum_tissue", 0.05, "Tiles with less tissue than this fraction are skipped.")
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"], "Which checkpoint of --workdir.")
    flags.DEFINE_enum(
        "jit_compile",
        "auto",
        list(JIT_COMPILE_SETTINGS),
        "XLA for the tiles: on, off, or auto (on where a GPU is visible; the tiles share one size).",
    )
    flags.DEFINE_string("geojson_class", "Foreground", "The QuPath classification of annotations.geojson's regions.")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    for name in ("workdir", "slide", "output"):
        if not flags.FLAGS[name].value:
            raise app.UsageError(f"--{name} is required")
    if flags.FLAGS.batch_size < 1:
        raise app.UsageError("--batch_size must be >= 1")
    if not 0 <= flags.FLAGS.overlap < flags.FLAGS.tile_size:
        raise app.UsageError(
            f"--overlap must be in [0, --tile_size) (got {flags.FLAGS.overlap}, {flags.FLAGS.tile_size})"
        )
    if flags.FLAGS.downsample <= 0:
        raise app.UsageError("--downsample must be > 0")
    # Before any tile runs: a slide's inference must not end on an output it cannot write.
    output = flags.FLAGS.output
    if os.path.exists(output) and not os.path.isdir(output):
        raise app.UsageError(f"--output: {output} is a file, not a folder")
    try:
        os.makedirs(output, exist_ok=True)
    except OSError as error:
        raise app.UsageError(f"--output: cannot create {output} ({error.strerror})") from None
    if not os.access(output, os.W_OK):
        raise app.UsageError(f"--output: {output} is not writable")
    from mmu_tf.inference import Predictor

    try:
        slide = open_slide(flags.FLAGS.slide)
        predictor = Predictor.from_workdir(
            flags.FLAGS.workdir, flags.FLAGS.checkpoint, jit_compile=flags.FLAGS.jit_compile, fixed_shape=True
        )
        class_names = predictor.class_names
        heatmap, rows, info, thumbnail, tissue, polygons = infer_slide(
            slide,
            tile_predictor(predictor),
            level=flags.FLAGS.level,
            tile_size=flags.FLAGS.tile_size,
            overlap=flags.FLAGS.overlap,
            batch_size=flags.FLAGS.batch_size,
            downsample=flags.FLAGS.downsample,
            minimum_tissue=flags.FLAGS.minimum_tissue,
            class_names=class_names,
        )
    except (SlideError, FileNotFoundError, ValueError) as error:
        raise app.UsageError(str(error)) from error
    info["slide"] = os.path.abspath(flags.FLAGS.slide)
    info["workdir"] = os.path.abspath(flags.FLAGS.workdir)
    paths = write_outputs(
        flags.FLAGS.output, heatmap, rows, info, thumbnail, tissue, polygons, flags.FLAGS.geojson_class
    )
    print(
        f"{info['tiles_with_tissue']} tissue tiles of {info['tiles_in_grid']} in {info['inference_seconds']:.1f} s; "
        f"heat map {heatmap.shape[1]}x{heatmap.shape[0]} (1 cell = {flags.FLAGS.downsample:g} level-0 pixels)"
    )
    print("Written: " + ", ".join(paths.values()))


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
