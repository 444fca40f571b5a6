"""A generated pyramidal tiled TIFF that OpenSlide reads: glass, tissue, and a drawn "tumour" box.

For tests and measurements of the whole-slide command without a real slide.
Written tile by tile (memory: one tile), so a 20,000 x 20,000 slide is cheap.
"""

import numpy as np

GLASS = (243, 243, 243)
TISSUE = (225, 150, 200)  # pink, eosin-like
TUMOUR = (90, 40, 140)  # dark purple, haematoxylin-like


def slide_pixels(x0, y0, width, height, downsample, slide_size, tissue_margin, tumour_box):
    """RGB uint8 pixels of the region starting at level pixel (x0, y0) of the level at `downsample`."""
    columns = (x0 + np.arange(width) + 0.5) * downsample  # level-0 centres of the pixels
    rows = (y0 + np.arange(height) + 0.5) * downsample
    slide_width, slide_height = slide_size
    in_tissue = ((rows >= tissue_margin) & (rows < slide_height - tissue_margin))[:, None] & (
        (columns >= tissue_margin) & (columns < slide_width - tissue_margin)
    )[None, :]
    left, top, right, bottom = tumour_box
    in_tumour = ((rows >= top) & (rows < bottom))[:, None] & ((columns >= left) & (columns < right))[None, :]
    image = np.empty((height, width, 3), np.uint8)
    image[:] = GLASS
    image[in_tissue] = TISSUE
    image[in_tumour] = TUMOUR
    return image


def write_synthetic_slide(path, size, tumour_box, tissue_margin=64, levels=3, tile=256):
    """Writes a tiled RGB TIFF pyramid (level i downsampled 2**i) with zlib-compressed tiles.

    Args:
        size: (width, height) of level 0.
        tumour_box: (left, top, right, bottom) in level-0 pixels, drawn in TUMOUR colour.
        tissue_margin: the glass border (level-0 pixels) around the tissue.
    """
    import tifffile

    width, height = size
    with tifffile.TiffWriter(path, bigtiff=width * height * 3 > 2**31) as writer:
        for level in range(levels):
            downsample = 2**level
            level_width, level_height = -(-width // downsample), -(-height // downsample)

            def tiles(level_width=level_width, level_height=level_height, downsample=downsample):
                for y0 in range(0, level_height, tile):
                    for x0 in range(0, level_width, tile):
                        yield slide_pixels(x0, y0, tile, tile, downsample, size, tissue_margin, tumour_box)

            writer.write(
                tiles(),
                shape=(level_height, level_width, 3),
                dtype=np.uint8,
                tile=(tile, tile),
                photometric="rgb",
                compression="zlib",
                subfiletype=1 if level else 0,
                resolution=(1e4 / 0.25, 1e4 / 0.25),  # 0.25 um per pixel, in pixels per cm
                resolutionunit="CENTIMETER",
            )
