"""A slide-wide map stitched from tile masks, at a fixed downsample from level 0."""

import math

import numpy as np


def _cell_groups(start, count, pixel_size, downsample, extent):
    """For `count` tile pixels from level-0 `start`: the pixels inside the slide, and their cells.

    A pixel belongs to the cell holding its centre. Returns `(keep, cells, starts)`:
    the bool mask of pixels within `extent`, the distinct cell indices (ascending),
    and where each cell's run of pixels starts among the kept ones.
    """
    centres = start + (np.arange(count) + 0.5) * pixel_size
    keep = centres < extent
    index = np.floor(centres[keep] / downsample).astype(np.int64)
    if index.size == 0:
        return keep, index, index
    starts = np.concatenate([[0], np.flatnonzero(np.diff(index)) + 1])
    return keep, index[starts], starts


def border_taper(height, width, overlap):
    """Weights (height, width) rising linearly from the tile's edge to 1 at `overlap` pixels in.

    Where tiles overlap, each pixel then comes mostly from the tile whose
    centre it is nearer: a network's border effects and each tile's own mask
    normalisation fade across the overlap instead of drawing the tile grid on the
    map. Every weight is > 0, so a pixel only one tile covers keeps that tile's
    value; `overlap=0` gives uniform weights.

    Example:
    >>> border_taper(6, 6, overlap=2)[2].tolist()  # a middle row
    [0.25, 0.75, 1.0, 1.0, 0.75, 0.25]
    """

    def ramp(size):
        distance = np.minimum(np.arange(size), np.arange(size)[::-1]) + 0.5
        return np.minimum(1.0, distance / overlap) if overlap > 0 else np.ones(size)

    return np.outer(ramp(height), ramp(width))


class HeatmapStitcher:
    """Averages tile masks into one float32 map of `ceil(size / downsample)` cells.

    Each tile pixel counts in the cell that holds its centre (level-0
    coordinates); a cell's value is the mean of every tile pixel, of every
    tile, that falls in it (weighted, when `add` gets weights, e.g.
    `border_taper`), so overlapping tiles are averaged and tile corners need
    not fall on cell edges. Pixels beyond the slide (the padding
    of border tiles) are dropped. Cells no tile covered stay 0 (no tissue, no
    foreground). Memory: the map, not the slide.

    Args:
        slide_dimensions: (width, height) of level 0.
        downsample: level-0 pixels per cell side; at least the tiles' level downsample.

    Example:
    >>> stitcher = HeatmapStitcher((64, 32), downsample=16)
    >>> stitcher.add(np.ones((32, 32), np.float32), x=0, y=0, pixel_size=1)
    >>> stitcher.result().tolist()
    [[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]]
    """

    def __init__(self, slide_dimensions, downsample):
        if downsample <= 0:
            raise ValueError(f"downsample must be > 0 (got {downsample})")
        self.width, self.height = slide_dimensions
        self.downsample = float(downsample)
        self.shape = (math.ceil(self.height / self.downsample), math.ceil(self.width / self.downsample))
        self.total = np.zeros(self.shape, np.float64)
        self.count = np.zeros(self.shape, np.float64)

    def add(self, mask, x, y, pixel_size=1.0, weights=None):
        """Adds a tile's mask (S_h, S_w) whose top-left is (x, y) and whose pixels are `pixel_size` level-0 pixels.

        `weights` (S_h, S_w), all > 0: each pixel's weight in its cell's mean (default 1).
        """
        if pixel_size > self.downsample:
            raise ValueError(f"tile pixels ({pixel_size} level-0 pixels) are larger than a cell ({self.downsample})")
        mask = np.asarray(mask, np.float64)
        weights = np.ones_like(mask) if weights is None else np.asarray(weights, np.float64)
        if weights.shape != mask.shape or not (weights > 0).all():
            raise ValueError(f"weights must be > 0 and of the mask's shape {mask.shape} (got {weights.shape})")
        keep_rows, rows, row_starts = _cell_groups(y, mask.shape[0], pixel_size, self.downsample, self.height)
        keep_columns, columns, column_starts = _cell_groups(x, mask.shape[1], pixel_size, self.downsample, self.width)
        if rows.size == 0 or columns.size == 0:
            return

        def cell_sums(values):
            inside = values[keep_rows][:, keep_columns]
            return np.add.reduceat(np.add.reduceat(inside, row_starts, axis=0), column_starts, axis=1)

        cells = np.ix_(rows, columns)
        self.total[cells] += cell_sums(mask * weights)
        self.count[cells] += cell_sums(weights)

    def result(self):
        """The averaged map, float32 in [0, 1] for masks in [0, 1]."""
        averaged = np.divide(self.total, self.count, out=np.zeros_like(self.total), where=self.count > 0)
        return averaged.astype(np.float32)
