"""Whole-slide inference: the tile grid, the stitching, tissue detection, and the command on a generated slide."""

import json
import os

import numpy as np
import pytest

from mmu_tf.predict_wsi import infer_slide, open_slide
from mmu_tf.wsi.heatmap import HeatmapStitcher, border_taper
from mmu_tf.wsi.tile_grid import TileGrid
from mmu_tf.wsi.tissue import tissue_mask
from tests.conftest import run_module
from tools.synthetic_slide import TUMOUR, write_synthetic_slide

SLIDE_SIZE = (1000, 700)
# Aligned on the 16-pixel heat-map cells, and running to the slide's right edge (1000 is not a multiple of 16).
TUMOUR_BOX = (640, 160, 1000, 480)


@pytest.fixture(scope="module")
def slide_path(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("slide") / "slide.tif")
    write_synthetic_slide(path, SLIDE_SIZE, TUMOUR_BOX, tissue_margin=160, levels=2, tile=128)
    return path


def test_tile_grid_covers_the_level_with_the_last_tile_reaching_the_edge():
    grid = TileGrid((1000, 700), 1.0, tile_size=96, overlap=20)
    assert grid.columns[:3] == [0, 76, 152]
    assert grid.columns[-1] < 1000 - 20 <= grid.columns[-1] + 76
    assert grid.columns[-1] + 96 >= 1000 and grid.rows[-1] + 96 >= 700
    assert len(grid) == len(grid.columns) * len(grid.rows) == 13 * 9
    with pytest.raises(ValueError, match="overlap"):
        TileGrid((100, 100), 1.0, tile_size=64, overlap=64)


def test_tile_grid_tissue_fraction_and_level_coordinates():
    tissue = np.zeros((10, 20), bool)
    tissue[:, :5] = True  # the left quarter, at 1/10 scale of a 200 x 100 level-0 slide
    grid = TileGrid((100, 50), 2.0, tile_size=50, overlap=0)  # level 1 of a 200 x 100 slide
    tiles = list(grid.tiles(tissue, tissue_scale=0.1, minimum_tissue=0.0))
    assert [(tile.x, tile.y) for tile in tiles] == [(0, 0)]  # the other tile has no tissue
    assert tiles[0].tissue_fraction == pytest.approx(0.5)  # 100 level-0 pixels wide, 50 of them tissue


def test_stitcher_averages_overlaps_and_drops_what_is_beyond_the_slide():
    stitcher = HeatmapStitcher((40, 20), downsample=10)  # 4 x 2 cells
    stitcher.add(np.ones((20, 20), np.float32), x=0, y=0)
    stitcher.add(np.zeros((20, 20), np.float32), x=10, y=0)
    stitcher.add(np.ones((20, 20), np.float32), x=30, y=0)  # half beyond the slide: dropped, not averaged in
    np.testing.assert_allclose(stitcher.result(), [[1.0, 0.5, 0.0, 1.0], [1.0, 0.5, 0.0, 1.0]])


def test_stitcher_weights_pixels_and_the_taper_fades_tile_borders():
    stitcher = HeatmapStitcher((20, 10), downsample=10)
    stitcher.add(np.ones((10, 10)), x=0, y=0, weights=np.full((10, 10), 3.0))
    stitcher.add(np.zeros((10, 10)), x=0, y=0)
    np.testing.assert_allclose(stitcher.result(), [[0.75, 0.0]])  # (3 * 1 + 1 * 0) / 4
    with pytest.raises(ValueError, match="weights"):
        stitcher.add(np.ones((10, 10)), x=0, y=0, weights=np.zeros((10, 10)))
    np.testing.assert_allclose(border_taper(6, 6, overlap=2)[2], [0.25, 0.75, 1.0, 1.0, 0.75, 0.25])
    np.testing.assert_array_equal(border_taper(2, 3, overlap=0), np.ones((2, 3)))
    # Two tiles overlapping by 8 pixels, each with a 2-pixel bright rim (a border
    # effect): averaged plainly the rims draw the seam; tapered, they fade.
    rim = np.ones((16, 16))
    rim[2:-2, 2:-2] = 0.0
    seams = {}
    for name, weights in (("mean", None), ("taper", border_taper(16, 16, 8))):
        stitcher = HeatmapStitcher((24, 16), downsample=1)
        stitcher.add(rim, x=0, y=0, weights=weights)
        stitcher.add(rim, x=8, y=0, weights=weights)
        seams[name] = stitcher.result()[8, 8:16]  # the overlap, mid-height
    assert seams["mean"].max() == 0.5 and seams["taper"].max() == pytest.approx(0.1875)  # 1.5 / 8 in


def test_stitcher_counts_each_pixel_in_the_cell_of_its_centre():
    # A tile corner off the cell grid, and level-1 pixels (2 level-0 pixels each).
    stitcher = HeatmapStitcher((20, 10), downsample=10)
    mask = np.zeros((5, 6), np.float32)
    mask[:, 3:] = 1.0  # level-0 columns 9..15 of the tile starting at x=3
    stitcher.add(mask, x=3, y=0, pixel_size=2)
    # Centres of the level-1 columns: 4, 6, 8 (cell 0: values 0, 0, 0) and 10, 12, 14 (cell 1: 1, 1, 1).
    np.testing.assert_allclose(stitcher.result(), [[0.0, 1.0]])
    with pytest.raises(ValueError, match="larger than a cell"):
        stitcher.add(mask, x=0, y=0, pixel_size=20)


def test_tissue_mask_finds_stain_not_glass():
    thumbnail = np.full((40, 40, 3), 243, np.uint8)
    thumbnail[10:30, 5:25] = (225, 150, 200)
    mask = tissue_mask(thumbnail)
    assert mask[10:30, 5:25].all() and mask.sum() == 400
    assert not tissue_mask(np.full((40, 40, 3), 243, np.uint8)).any()


def _tumour_detector(images):
    """A stand-in model: foreground where the pixel has the drawn tumour's colour."""
    distance = np.abs(images * 255.0 - np.array(TUMOUR, np.float32)).sum(axis=-1)
    masks = (distance < 30).astype(np.float32)
    fraction = masks.mean(axis=(1, 2))
    return np.stack([1.0 - fraction, fraction], axis=1), masks


@pytest.mark.parametrize("level, tile_size, overlap", [(0, 96, 20), (1, 64, 10), (0, 128, 0)])
def test_stitched_heatmap_lines_up_with_the_drawn_tumour(slide_path, level, tile_size, overlap):
    slide = open_slide(slide_path)
    heatmap, rows, info, _, _, polygons = infer_slide(
        slide, _tumour_detector, level, tile_size, overlap, batch_size=5, downsample=16, progress=False
    )
    assert heatmap.shape == (-(-700 // 16), -(-1000 // 16)) == tuple(info["heatmap_shape"])
    assert heatmap.dtype == np.float32 and heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    left, top, right, bottom = (-(-value // 16) for value in TUMOUR_BOX)  # ceil: the box ends at the edge
    expected = np.zeros(heatmap.shape, bool)
    expected[top:bottom, left:right] = True
    # Every cell is exactly right, the last column too (cut by the slide's edge at x = 1000).
    np.testing.assert_array_equal(heatmap, expected.astype(np.float32))
    assert 0 < info["tiles_with_tissue"] < info["tiles_in_grid"]  # the glass margin is skipped
    assert {row["predicted_class"] for row in rows} <= {"0", "1"}
    # The tiles' polygons, in level-0 pixels and merged across tile borders: one box, the drawn one.
    from shapely.geometry import box

    tumour = box(*TUMOUR_BOX)
    assert polygons.geom_type == "Polygon" and polygons.intersection(tumour).area / polygons.union(tumour).area > 0.98


def test_the_command_writes_every_output_and_rejects_an_unreadable_slide(trained_workdir, slide_path, tmp_path):
    workdir, _ = trained_workdir
    output = str(tmp_path / "out")
    common = [f"--workdir={workdir}", "--tile_size=128", "--overlap=16", "--batch_size=4", "--downsample=16"]
    # Under XLA, as on a GPU (tests/inference/xla_test.py: the same heat map as without).
    arguments = [*common, f"--slide={slide_path}", f"--output={output}", "--jit_compile=on"]
    result = run_module(arguments, module="mmu_tf.predict_wsi")
    assert result.returncode == 0, result.stderr[-3000:]
    for name in ("heatmap.png", "heatmap.npy", "tiles.csv", "overlay.png", "info.json", "annotations.geojson"):
        assert os.path.isfile(os.path.join(output, name)), name
    with open(os.path.join(output, "annotations.geojson")) as handle:
        annotations = json.load(handle)
    assert annotations["type"] == "FeatureCollection"
    assert all(feature["properties"]["objectType"] == "annotation" for feature in annotations["features"])
    with open(os.path.join(output, "info.json")) as handle:
        info = json.load(handle)
    heatmap = np.load(os.path.join(output, "heatmap.npy"))
    assert info["downsample"] == 16 and list(heatmap.shape) == info["heatmap_shape"] == [44, 63]  # ceil(700/16)
    assert 0.0 <= heatmap.min() and heatmap.max() <= 1.0
    with open(os.path.join(output, "tiles.csv")) as handle:
        header, *lines = handle.read().splitlines()
    assert header.startswith("x,y,level,tile_size,tissue_fraction,p_benign,p_malignant") and len(lines) > 0
    not_a_slide = tmp_path / "broken.svs"
    not_a_slide.write_text("not a slide")
    bad = run_module([*common, f"--slide={not_a_slide}", f"--output={output}"], module="mmu_tf.predict_wsi")
    assert bad.returncode != 0 and "--slide" in bad.stderr and "broken.svs" in bad.stderr


def test_the_thumbnail_is_read_region_by_region_from_the_coarsest_level(slide_path, monkeypatch):
    import mmu_tf.predict_wsi as predict_wsi

    slide = open_slide(slide_path)
    reads = []
    original = slide.read_region

    def recording(location, level, size):
        reads.append((level, size))
        return original(location, level, size)

    monkeypatch.setattr(slide, "read_region", recording)
    monkeypatch.setattr(predict_wsi, "THUMBNAIL_REGION", 128)  # regions smaller than the level
    thumbnail = predict_wsi.slide_thumbnail(slide, longest_side=250)
    assert thumbnail.shape == (175, 250, 3)
    assert {level for level, _ in reads} == {1} and max(max(size) for _, size in reads) <= 128
    assert len(reads) == 4 * 3  # the 500 x 350 level in 128-pixel regions
    expected = np.asarray(slide.get_thumbnail((250, 175)))[..., :3].astype(np.float32)
    assert np.abs(thumbnail.astype(np.float32) - expected).mean() < 3.0
