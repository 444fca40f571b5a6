"""Pictures of the masks: the image, the true and predicted contours, the soft mask."""

import os

import cv2
import numpy as np

TRUE_COLOUR = (0, 200, 0)
PREDICTED_COLOUR = (230, 0, 0)


def contours(image, mask, colour, thickness):
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(image, contours, -1, colour, thickness)


def title_bar(text, width, scale):
    bar = np.full((int(28 * scale) + 8, width, 3), 255, np.uint8)
    cv2.putText(bar, text, (6, int(22 * scale)), cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, (0, 0, 0), 1, cv2.LINE_AA)
    return bar


def overlay_panel(image, soft_mask, true_mask=None, title=""):
    """A three-panel RGB picture (H + title bar, 3W, 3), uint8.

    Left: the image with the true mask's contour (green). Middle: the
    predicted mask (soft mask >= 0.5) as a red contour. Right: the soft mask
    as a heat map over the image. `soft_mask` must have the image's size.
    """
    image = np.asarray(image, np.uint8)
    height, width = image.shape[:2]
    thickness = max(1, round(max(height, width) / 300))
    truth_panel = image.copy()
    if true_mask is not None:
        contours(truth_panel, true_mask, TRUE_COLOUR, thickness)
    predicted_panel = image.copy()
    contours(predicted_panel, soft_mask >= 0.5, PREDICTED_COLOUR, thickness)
    heat = cv2.applyColorMap(np.uint8(np.clip(soft_mask, 0, 1) * 255), cv2.COLORMAP_JET)
    heat_panel = cv2.addWeighted(image, 0.5, cv2.cvtColor(heat, cv2.COLOR_BGR2RGB), 0.5, 0)
    panels = np.concatenate([truth_panel, predicted_panel, heat_panel], axis=1)
    return np.concatenate([title_bar(title, panels.shape[1], max(0.4, width / 900)), panels], axis=0)


def write_png(path, rgb_image):
    """Writes an RGB uint8 image as PNG, whole or not at all (a temporary file renamed); OSError when it cannot."""
    temporary = f"{path}.tmp.png"
    if not cv2.imwrite(temporary, cv2.cvtColor(rgb_image, cv2.COLOR_RGB2BGR)):
        if os.path.exists(temporary):
            os.remove(temporary)
        raise OSError(f"could not write {path}")
    os.replace(temporary, path)


def prediction_overlay(image, soft_mask, text):
    """The image with the predicted mask's contour (red) and `text` in a bar above, RGB uint8.

    Used by `mmu_tf.predict`, where no true mask exists. `soft_mask` must
    have the image's size; the contour is drawn at `soft_mask >= 0.5`.
    """
    image = np.array(image, np.uint8)
    height, width = image.shape[:2]
    contours(image, soft_mask >= 0.5, PREDICTED_COLOUR, max(1, round(max(height, width) / 300)))
    return np.concatenate([title_bar(text, width, max(0.4, width / 600)), image], axis=0)
