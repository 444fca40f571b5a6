"""Masks as polygons, written as GeoJSON that QuPath (and TIAToolbox, HoVer-Net tools) import as annotations.

Coordinates are pixels with (0, 0) the top-left corner of the first pixel, x to
the right and y down, as QuPath's image coordinates: pixel (row i, column j)
covers the square [j, j + 1] x [i, i + 1]. Outlines come from OpenCV's contour
tracing (outer boundaries and their holes); shapely makes each polygon valid,
simplifies it and merges pieces (tiles of a slide) into one geometry.
"""

import json
import os

import numpy as np

# QuPath's colour of a classification, packed RGB; red as the overlays draw the predicted mask.
FOREGROUND_COLOR = (230, 40, 40)


def mask_polygons(mask, threshold=0.5, simplify_tolerance=0.5, minimum_area=4.0, offset=(0.0, 0.0), scale=1.0):
    """The regions of `mask >= threshold` as a shapely (Multi)Polygon with holes.

    Args:
        mask: `(H, W)` soft or bool mask.
        threshold: foreground at or above it.
        simplify_tolerance: the outline is simplified to within this many mask
            pixels (topology kept; 0: every traced vertex).
        minimum_area: regions (and holes) under this many mask pixels are dropped.
        offset, scale: `(x, y)` and the factor taking mask pixels to the output
            coordinates, `output = offset + scale * mask`, applied after
            simplification (a slide tile: its level-0 corner and its level's downsample).

    Example:
    >>> mask = np.zeros((40, 40)); mask[5:35, 5:35] = 1; mask[15:25, 15:25] = 0  # a square ring
    >>> polygon = mask_polygons(mask, simplify_tolerance=0)
    >>> polygon.bounds, len(polygon.interiors), round(polygon.area)  # 900 - 100 pixels; the hole's corners cut
    ((5.0, 5.0, 35.0, 35.0), 1, 801)
    """
    import cv2
    import shapely
    from shapely import affinity
    from shapely.geometry import Polygon

    binary = (np.asarray(mask, np.float32) >= threshold).astype(np.uint8)
    # One pixel of padding: regions touching the border are traced like any other.
    contours, hierarchy = cv2.findContours(np.pad(binary, 1), cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE, offset=(-1, -1))
    polygons = []
    if hierarchy is not None:
        hierarchy = hierarchy[0]

        def ring(contour):
            # Through pixel centres: (column + 0.5, row + 0.5) in corner coordinates.
            return contour[:, 0, :].astype(np.float64) + 0.5

        for index, contour in enumerate(contours):
            if hierarchy[index][3] != -1 or len(contour) < 3:
                continue  # a hole (kept with its shell below), or a line of pixels
            holes = []
            child = hierarchy[index][2]
            while child != -1:
                if len(contours[child]) >= 3 and cv2.contourArea(contours[child]) >= minimum_area:
                    holes.append(ring(contours[child]))
                child = hierarchy[child][0]
            # Traced through the centres of the edge pixels, the outline lies half a pixel inside
            # the region (and each hole half a pixel inside its rim): out by half a pixel, square corners.
            polygon = shapely.make_valid(Polygon(ring(contour), holes)).buffer(0.5, join_style="mitre")
            if polygon.area >= minimum_area:
                polygons.append(polygon)
    geometry = shapely.union_all(polygons) if polygons else Polygon()
    if simplify_tolerance > 0 and not geometry.is_empty:
        geometry = geometry.simplify(simplify_tolerance, preserve_topology=True)
    geometry = _polygonal(geometry)
    if scale != 1.0:
        geometry = affinity.scale(geometry, xfact=scale, yfact=scale, origin=(0, 0))
    if offset != (0.0, 0.0):
        geometry = affinity.translate(geometry, xoff=offset[0], yoff=offset[1])
    return geometry


def _polygonal(geometry):
    """The polygons of a geometry (make_valid can leave lines and points beside them)."""
    from shapely.geometry import MultiPolygon, Polygon

    if isinstance(geometry, (Polygon, MultiPolygon)):
        return geometry
    parts = [part for part in getattr(geometry, "geoms", []) if isinstance(part, (Polygon, MultiPolygon))]
    flat = [polygon for part in parts for polygon in getattr(part, "geoms", [part])]
    return MultiPolygon(flat) if flat else Polygon()


def merge(geometries, bounds=None):
    """One geometry of many (the tiles of a slide), overlaps merged, clipped to `bounds` (x0, y0, x1, y1)."""
    import shapely
    from shapely.geometry import Polygon, box

    pieces = [geometry for geometry in geometries if not geometry.is_empty]
    merged = shapely.union_all(pieces) if pieces else Polygon()
    if bounds is not None and not merged.is_empty:
        merged = merged.intersection(box(*bounds))
    return _polygonal(merged)


def feature_collection(geometry, class_name="Foreground", properties=None, color=FOREGROUND_COLOR):
    """A GeoJSON FeatureCollection dict: one QuPath annotation per polygon of `geometry`.

    Each feature carries QuPath's `objectType` ("annotation") and
    `classification` (`class_name`, `color`), and `properties` (for example the
    image's predicted class and its probability) both as plain properties and as
    QuPath `measurements` (numbers only), which QuPath shows in its tables.
    An empty geometry gives an empty collection.

    Example:
    >>> from shapely.geometry import box
    >>> collection = feature_collection(box(0, 0, 2, 1), properties={"probability": 0.9})
    >>> feature = collection["features"][0]
    >>> feature["geometry"]["type"], feature["properties"]["classification"]["name"]
    ('Polygon', 'Foreground')
    """
    from shapely.geometry import mapping

    properties = dict(properties or {})
    measurements = {key: value for key, value in properties.items() if isinstance(value, (int, float))}
    features = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        if polygon.is_empty:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": mapping(polygon),
                "properties": {
                    "objectType": "annotation",
                    "classification": {"name": class_name, "color": list(color)},
                    "isLocked": False,
                    **properties,
                    "measurements": measurements,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def write_geojson(path, collection):
    """Writes a FeatureCollection whole: to a temporary name in the same folder, then renamed."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w") as handle:
        json.dump(collection, handle)
    os.replace(temporary, path)
    return path
