"""Whole-slide images: tissue detection, the tile grid, and the stitched heat map."""
