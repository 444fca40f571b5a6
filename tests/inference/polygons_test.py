"""Masks to GeoJSON polygons: they rasterise back onto the mask, keep holes, and carry QuPath's fields."""

import json

import cv2
import numpy as np
import shapely
from shapely.geometry import shape

from mmu_tf.inference.polygons import feature_collection, mask_polygons, merge, write_geojson


def _rasterised(geometry, size):
    """Pixels whose centre (column + 0.5, row + 0.5) lies inside `geometry`, an (H, W) bool array."""
    rows, columns = np.mgrid[0 : size[0], 0 : size[1]]
    return shapely.contains_xy(geometry, columns + 0.5, rows + 0.5)


def _glands(size=(300, 400), seed=0):
    """Blobs like a thresholded gland mask: smoothed noise, with lumens (holes) cut in the larger ones."""
    noise = cv2.GaussianBlur(np.random.default_rng(seed).random(size).astype(np.float32), (0, 0), 12)
    mask = noise > np.quantile(noise, 0.55)
    lumens = cv2.GaussianBlur(np.random.default_rng(seed + 1).random(size).astype(np.float32), (0, 0), 6)
    return mask & ~(lumens > np.quantile(lumens, 0.97))


def _iou(first, second):
    return (first & second).sum() / (first | second).sum()


def test_polygons_rasterised_back_match_the_mask():
    mask = _glands()
    geometry = mask_polygons(mask.astype(np.float32))
    assert geometry.is_valid and not geometry.is_empty
    assert _iou(_rasterised(geometry, mask.shape), mask) >= 0.95


def test_holes_are_kept():
    mask = np.zeros((60, 60), bool)
    mask[10:50, 10:50] = True
    mask[25:35, 25:35] = False  # a lumen
    geometry = mask_polygons(mask, simplify_tolerance=0)
    assert geometry.geom_type == "Polygon" and len(geometry.interiors) == 1
    assert _iou(_rasterised(geometry, mask.shape), mask) >= 0.99
    assert geometry.contains(shape({"type": "Point", "coordinates": (12.0, 12.0)}))
    assert not geometry.contains(shape({"type": "Point", "coordinates": (30.0, 30.0)}))


def test_an_empty_mask_gives_an_empty_collection(tmp_path):
    collection = feature_collection(mask_polygons(np.zeros((40, 40))))
    assert collection == {"type": "FeatureCollection", "features": []}
    path = write_geojson(str(tmp_path / "empty.geojson"), collection)
    with open(path) as handle:
        assert json.load(handle) == collection


def test_features_carry_quPaths_fields_and_load_back_with_shapely(tmp_path):
    mask = _glands(seed=3)
    geometry = mask_polygons(mask, offset=(1000.0, 2000.0), scale=2.0)  # a level-1 tile at (1000, 2000)
    collection = feature_collection(geometry, "Gland", {"image_class": "malignant", "probability": 0.93})
    path = write_geojson(str(tmp_path / "tile.geojson"), collection)
    with open(path) as handle:
        loaded = json.load(handle)
    assert loaded["type"] == "FeatureCollection" and len(loaded["features"]) == len(getattr(geometry, "geoms", [1]))
    for feature in loaded["features"]:
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Polygon"
        properties = feature["properties"]
        assert properties["objectType"] == "annotation"
        assert properties["classification"] == {"name": "Gland", "color": [230, 40, 40]}
        assert properties["image_class"] == "malignant" and properties["measurements"] == {"probability": 0.93}
        assert shape(feature["geometry"]).is_valid
    back = merge([shape(feature["geometry"]) for feature in loaded["features"]])
    assert abs(back.area - geometry.area) < 1e-6 * geometry.area
    # In level-0 pixels: the tile's offset and its level's downsample applied.
    minimum_x, minimum_y, _, _ = back.bounds
    assert minimum_x >= 1000 and minimum_y >= 2000
    np.testing.assert_allclose(back.area, mask_polygons(mask).area * 4, rtol=1e-6)


def test_merge_joins_the_halves_of_a_region_cut_by_a_tile_border():
    mask = np.zeros((40, 80), bool)
    mask[10:30, 20:60] = True
    left, right = mask_polygons(mask[:, :40]), mask_polygons(mask[:, 40:], offset=(40.0, 0.0))
    merged = merge([left, right], bounds=(0, 0, 80, 40))
    assert merged.geom_type == "Polygon" and abs(merged.area - 800) < 1.0
