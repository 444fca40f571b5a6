"""The tiles a slide level is cut into, with overlap, and which of them hold tissue."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Tile:
    """A tile: its top-left corner in level-0 pixels, and the fraction of it that is tissue."""

    x: int
    y: int
    tissue_fraction: float


class TileGrid:
    """Tiles of `tile_size` level pixels every `tile_size - overlap`, covering a whole level.

    Tile starts are `0, stride, 2 stride, ...` while below `level_size - overlap`,
    so the last tile reaches or passes the level's edge (OpenSlide pads the
    part beyond with transparent pixels). Corners are given in level-0 pixels,
    as `OpenSlide.read_region` wants them.

    Args:
        level_dimensions: (width, height) of the level.
        level_downsample: the level's downsample from level 0.
        tile_size: the tile side, in level pixels.
        overlap: level pixels shared by neighbouring tiles, in [0, tile_size).

    Example:
    >>> grid = TileGrid((1000, 600), 1.0, tile_size=512, overlap=64)
    >>> grid.columns, grid.rows  # starts below 1000 - 64 and 600 - 64, every 448
    ([0, 448, 896], [0, 448])
    """

    def __init__(self, level_dimensions, level_downsample, tile_size, overlap):
        if tile_size < 1 or not 0 <= overlap < tile_size:
            raise ValueError(f"need tile_size >= 1 and 0 <= overlap < tile_size (got {tile_size}, {overlap})")
        self.width, self.height = (int(value) for value in level_dimensions)
        self.level_downsample = float(level_downsample)
        self.tile_size = int(tile_size)
        self.overlap = int(overlap)
        stride = self.tile_size - self.overlap
        self.columns = list(range(0, max(self.width - self.overlap, 1), stride))
        self.rows = list(range(0, max(self.height - self.overlap, 1), stride))

    def __len__(self):
        return len(self.columns) * len(self.rows)

    @property
    def footprint(self):
        """A tile's side in level-0 pixels."""
        return self.tile_size * self.level_downsample

    def tiles(self, tissue=None, tissue_scale=1.0, minimum_tissue=0.0):
        """The tiles, row by row, whose tissue fraction is above `minimum_tissue`.

        Args:
            tissue: a bool tissue mask of the slide at `tissue_scale` times
                level-0 size (a thumbnail's), or None (every tile, fraction 1).
            tissue_scale: thumbnail pixels per level-0 pixel.
            minimum_tissue: the fraction below which a tile is skipped.
        """
        for row in self.rows:
            for column in self.columns:
                x = int(round(column * self.level_downsample))
                y = int(round(row * self.level_downsample))
                fraction = 1.0 if tissue is None else self._tissue_fraction(tissue, tissue_scale, x, y)
                if tissue is None or fraction > minimum_tissue:
                    yield Tile(x, y, fraction)

    def _tissue_fraction(self, tissue, scale, x, y):
        top, left = int(np.floor(y * scale)), int(np.floor(x * scale))
        bottom = max(top + 1, int(np.ceil((y + self.footprint) * scale)))
        right = max(left + 1, int(np.ceil((x + self.footprint) * scale)))
        window = tissue[top:bottom, left:right]
        # The part of the tile beyond the slide counts as glass.
        return float(window.sum()) / ((bottom - top) * (right - left))
