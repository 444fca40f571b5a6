"""Where the tissue is on a slide thumbnail."""

import cv2
import numpy as np


def tissue_mask(thumbnail, minimum_saturation=20):
    """Bool mask (H, W) of the tissue on an RGB uint8 thumbnail.

    Stained tissue is coloured and the glass is near white or grey: the mask
    is the HSV saturation above Otsu's threshold (and above
    `minimum_saturation`, so a blank slide gives no tissue), smoothed by a
    morphological opening then closing.

    Example:
    >>> thumbnail = np.full((20, 20, 3), 245, np.uint8)
    >>> thumbnail[5:15, 5:15] = (200, 80, 160)
    >>> int(tissue_mask(thumbnail).sum())
    100
    """
    thumbnail = np.asarray(thumbnail, np.uint8)
    saturation = cv2.cvtColor(thumbnail, cv2.COLOR_RGB2HSV)[..., 1]
    threshold, _ = cv2.threshold(saturation, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = (saturation > max(threshold, minimum_saturation)).astype(np.uint8)
    kernel = np.ones((3, 3), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
    return mask.astype(bool)
