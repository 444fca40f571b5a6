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


class HeatmapStitcher:
    """Averages tile masks into one float32 map of `ceil(size / downsample)` cells.

    Each tile pixel counts in the cell that holds its centre (level-0
    coordinates); a cell's value is the mean of every tile pixel, of every
    tile, that falls in it, so overlapping tiles are averaged and tile
    corners need not fall on cell edges. Pixels beyond the slide (the padding
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

    def add(self, mask, x, y, pixel_size=1.0):
        """Adds a tile's mask (S_h, S_w) whose top-left is (x, y) and whose pixels are `pixel_size` level-0 pixels."""
        if pixel_size > self.downsample:
            raise ValueError(f"tile pixels ({pixel_size} level-0 pixels) are larger than a cell ({self.downsample})")
        mask = np.asarray(mask, np.float64)
        keep_rows, rows, row_starts = _cell_groups(y, mask.shape[0], pixel_size, self.downsample, self.height)
        keep_columns, columns, column_starts = _cell_groups(x, mask.shape[1], pixel_size, self.downsample, self.width)
        if rows.size == 0 or columns.size == 0:
            return
        inside = mask[keep_rows][:, keep_columns]
        sums = np.add.reduceat(np.add.reduceat(inside, row_starts, axis=0), column_starts, axis=1)
        row_counts = np.diff(np.append(row_starts, inside.shape[0]))
        column_counts = np.diff(np.append(column_starts, inside.shape[1]))
        cells = np.ix_(rows, columns)
        self.total[cells] += sums
        self.count[cells] += np.outer(row_counts, column_counts)

    def result(self):
        """The averaged map, float32 in [0, 1] for masks in [0, 1]."""
        averaged = np.divide(self.total, self.count, out=np.zeros_like(self.total), where=self.count > 0)
        return averaged.astype(np.float32)
