"""The paper's comparison figures, drawn with OpenCV: pixel confusion matrices (Fig. 5),
predicted vs true foreground size (Fig. 7), and masks of several methods on the same images (Fig. 11).

Every function returns an RGB uint8 image; `visualize.write_png` writes it.
"""

import cv2
import numpy as np

from mmu_tf.evaluation.visualize import PREDICTED_COLOUR, TRUE_COLOUR, contours, title_bar

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_BLACK = (0, 0, 0)


def _text(image, text, origin, scale=0.45, colour=_BLACK):
    cv2.putText(image, text, origin, _FONT, scale, colour, 1, cv2.LINE_AA)


def _tile_grid(tiles, columns):
    """Tiles of one size laid out in rows of `columns`, padded with white."""
    rows = -(-len(tiles) // columns)
    height, width = tiles[0].shape[:2]
    canvas = np.full((rows * height, columns * width, 3), 255, np.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        canvas[row * height : (row + 1) * height, column * width : (column + 1) * width] = tile
    return canvas


def confusion_tile(name, counts, size=220):
    """One method's 2x2 pixel confusion matrix, row-normalised (rows: truth), percentages and shading."""
    counts = np.asarray(counts, np.float64)
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    tile = np.full((size, size, 3), 255, np.uint8)
    _text(tile, name, (8, 18), 0.5)
    cell = (size - 60) // 2
    left, top = 50, 40
    labels = ("BG", "FG")
    for row in range(2):
        _text(tile, labels[row], (8, top + row * cell + cell // 2 + 5))
        _text(tile, labels[row], (left + row * cell + cell // 2 - 10, size - 4))
        for column in range(2):
            shade = int(255 - 200 * rates[row, column])
            corner = (left + column * cell, top + row * cell)
            cv2.rectangle(tile, corner, (corner[0] + cell, corner[1] + cell), (shade, shade, 255), -1)
            cv2.rectangle(tile, corner, (corner[0] + cell, corner[1] + cell), (120, 120, 120), 1)
            colour = (255, 255, 255) if shade < 130 else _BLACK
            _text(tile, f"{100 * rates[row, column]:.1f}%", (corner[0] + 8, corner[1] + cell // 2 + 5), 0.5, colour)
    return tile


def confusion_matrices_figure(named_counts, columns=4):
    """Paper Fig. 5: one pixel confusion matrix per method (rows: true BG/FG, columns: predicted).

    Args:
        named_counts: list of `(method name, 2x2 counts)`, counts summed over the split's pixels.
    """
    tiles = [confusion_tile(name, counts) for name, counts in named_counts]
    grid = _tile_grid(tiles, min(columns, len(tiles)))
    title = "Pixel confusion matrices (rows: truth BG/FG; columns: prediction), % of each true class"
    return np.concatenate([title_bar(title, grid.shape[1], 0.7), grid], axis=0)


def size_tile(name, true_fractions, predicted_fractions, size=220):
    """One method's predicted vs true foreground fraction per image, with the diagonal."""
    tile = np.full((size, size, 3), 255, np.uint8)
    _text(tile, name, (8, 18), 0.5)
    left, top, span = 34, 30, size - 50
    cv2.rectangle(tile, (left, top), (left + span, top + span), (120, 120, 120), 1)
    cv2.line(tile, (left, top + span), (left + span, top), (180, 180, 180), 1, cv2.LINE_AA)
    _text(tile, "true", (left + span // 2 - 12, size - 4), 0.4)
    _text(tile, "pred", (2, top + span // 2), 0.4)
    for true, predicted in zip(true_fractions, predicted_fractions):
        point = (left + int(round(true * span)), top + span - int(round(predicted * span)))
        cv2.circle(tile, point, 3, PREDICTED_COLOUR, -1, cv2.LINE_AA)
    return tile


def sizes_figure(named_sizes, columns=4):
    """Paper Fig. 7: per image, the predicted foreground fraction (y) against the true one (x).

    Args:
        named_sizes: list of `(method name, true fractions, predicted fractions)`.
    """
    tiles = [size_tile(name, true, predicted) for name, true, predicted in named_sizes]
    grid = _tile_grid(tiles, min(columns, len(tiles)))
    title = "Foreground size per image: predicted (y) vs true (x), fractions of the image; diagonal = exact"
    return np.concatenate([title_bar(title, grid.shape[1], 0.7), grid], axis=0)


def masks_figure(images, true_masks, named_masks, image_names=None, tile_size=200):
    """Paper Fig. 11: rows are images, columns the ground truth then each method's mask.

    The ground-truth column shows the true contour (green); each method's
    column its predicted mask (soft mask >= 0.5) as a red contour over the image.

    Args:
        images: list of RGB uint8 images.
        true_masks: list of bool masks (or None), each its image's size.
        named_masks: list of `(method name, list of soft masks at the images' sizes)`.
    """
    columns = [("ground truth", None)] + list(named_masks)
    header = np.full((30, tile_size * len(columns), 3), 255, np.uint8)
    for index, (name, _) in enumerate(columns):
        _text(header, name[:24], (index * tile_size + 6, 20), 0.45)
    rows = [header]
    for row, image in enumerate(images):
        scale = tile_size / max(image.shape[:2])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
        small = cv2.resize(np.asarray(image, np.uint8), size, interpolation=cv2.INTER_AREA)
        tiles = []
        for name, masks in columns:
            tile = np.full((tile_size, tile_size, 3), 255, np.uint8)
            panel = small.copy()
            if masks is None:
                if true_masks is not None and true_masks[row] is not None:
                    truth = cv2.resize(true_masks[row].astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
                    contours(panel, truth, TRUE_COLOUR, 2)
            else:
                predicted = cv2.resize(np.asarray(masks[row], np.float32), size, interpolation=cv2.INTER_LINEAR)
                contours(panel, predicted >= 0.5, PREDICTED_COLOUR, 2)
            tile[: size[1], : size[0]] = panel
            if name is not None and masks is None and image_names is not None:
                _text(tile, str(image_names[row])[:22], (4, tile_size - 6), 0.4)
            tiles.append(tile)
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)
