"""A small procedurally generated histology-like dataset, the embedded default.

Each image is H&E-like: pink stroma with fibres and scattered stromal nuclei
(the same in both classes, so the background carries no class evidence), and
a few glands, the foreground, whose look gives the class:

- benign (0): glands with a pale lumen and one ring of small, evenly spaced
  nuclei;
- malignant (1): glands with a darker cytoplasm, no lumen and crowded, large
  nuclei of varied size.

Both classes draw their gland outlines, counts and sizes from the same
distributions, so only what is inside a gland tells the class: a classifier
shown the stroma alone (the background X-) cannot know it.

The gland masks are exact, so the pixel metrics are meaningful; everything is
deterministic from the seed, so the main job runs on a fresh machine with no
download and its numbers repeat.
"""

import cv2
import numpy as np

from mmu_tf.data.loaded_split import LoadedSplit

CLASS_NAMES = ("benign", "malignant")
SPLIT_OFFSETS = {"train": 0, "valid": 1, "test": 2}

STROMA = np.array([236, 196, 216], np.float32)
STROMA_FIBRE = np.array([214, 150, 186], np.float32)
NUCLEUS = np.array([82, 40, 120], np.float32)
BENIGN_CYTOPLASM = np.array([206, 156, 214], np.float32)
MALIGNANT_CYTOPLASM = np.array([168, 108, 184], np.float32)
LUMEN = np.array([246, 240, 246], np.float32)


def _smooth_noise(rng, size, cells, amplitude):
    coarse = rng.normal(0.0, 1.0, (cells, cells)).astype(np.float32)
    return cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)[..., None] * amplitude


def _paint(image, region, colour):
    image[region] = colour


def _gland_outline(rng, center, radius, points=48):
    # One outline model for both classes: the shape of a hole cut out by a
    # mask must not tell the class, only the gland's inside may.
    angles = np.linspace(0.0, 2.0 * np.pi, points, endpoint=False)
    profile = np.ones_like(angles)
    for harmonic in range(2, 5):
        profile += rng.uniform(0.03, 0.12) * np.cos(harmonic * angles + rng.uniform(0, 2 * np.pi))
    stretch = rng.uniform(0.75, 1.0)
    tilt = rng.uniform(0.0, np.pi)
    x = radius * profile * np.cos(angles)
    y = radius * stretch * profile * np.sin(angles)
    x, y = x * np.cos(tilt) - y * np.sin(tilt), x * np.sin(tilt) + y * np.cos(tilt)
    return np.stack([center[0] + x, center[1] + y], axis=1).round().astype(np.int32)


def render_example(rng, label, size):
    """One (image uint8 (size, size, 3), mask bool (size, size)) of class `label`."""
    stain = rng.uniform(0.92, 1.04, 3).astype(np.float32)
    image = np.broadcast_to(STROMA, (size, size, 3)).copy()
    image += _smooth_noise(rng, size, 6, 8.0)
    layer = np.zeros((size, size), np.uint8)
    for _ in range(size // 6):  # stromal fibres
        start = rng.uniform(0, size, 2)
        end = start + rng.normal(0, size / 6, 2)
        cv2.line(layer, tuple(start.astype(int)), tuple(end.astype(int)), 1, 1)
    image[layer > 0] = 0.5 * image[layer > 0] + 0.5 * STROMA_FIBRE
    for _ in range(size * size // 500):  # stromal nuclei, both classes alike
        center = tuple(rng.integers(0, size, 2).tolist())
        axes = (int(rng.integers(1, 3)), 1)
        cv2.ellipse(image, center, axes, float(rng.uniform(0, 180)), 0, 360, NUCLEUS.tolist(), -1)

    mask = np.zeros((size, size), np.uint8)
    nucleus_radius = max(1, size // 64)
    for _ in range(int(rng.integers(3, 7))):
        radius = size * rng.uniform(0.15, 0.25)
        center = rng.uniform(radius, size - radius, 2)
        outline = _gland_outline(rng, center, radius)
        gland = np.zeros_like(mask)
        cv2.fillPoly(gland, [outline], 1)
        mask |= gland
        inside = gland > 0
        if label == 0:
            _paint(image, inside, BENIGN_CYTOPLASM)
            lumen = np.zeros_like(mask)
            inner = (center + (outline - center) * 0.55).round().astype(np.int32)
            cv2.fillPoly(lumen, [inner], 1)
            _paint(image, lumen > 0, LUMEN)
            ring = (center + (outline - center) * 0.82).round().astype(np.int32)
            for point in ring[::2]:
                cv2.circle(image, tuple(point.tolist()), nucleus_radius, NUCLEUS.tolist(), -1)
        else:
            _paint(image, inside, MALIGNANT_CYTOPLASM)
            ys, xs = np.nonzero(inside)
            count = max(4, len(ys) // (18 * nucleus_radius * nucleus_radius))
            for index in rng.integers(0, len(ys), count):
                radius_here = int(nucleus_radius * rng.uniform(1.0, 2.2))
                cv2.circle(image, (int(xs[index]), int(ys[index])), radius_here, (NUCLEUS * 0.8).tolist(), -1)

    image = cv2.GaussianBlur(image * stain, (3, 3), 0)
    image += rng.normal(0.0, 5.0, image.shape).astype(np.float32)
    return np.clip(image, 0, 255).astype(np.uint8), mask > 0


def make_synthetic_split(split, num_images, image_size=160, seed=0):
    """A `LoadedSplit` of `num_images` generated examples, half of each class.

    The same (split, num_images, image_size, seed) always gives the same data;
    different splits draw from different streams.
    """
    if num_images < 1:
        raise ValueError(f"`num_images` must be >= 1. Received: {num_images}")
    offset = SPLIT_OFFSETS.get(split, 3)
    order_rng = np.random.default_rng([seed, offset])
    labels = order_rng.permutation(np.arange(num_images) % 2).astype(np.int32)
    images, masks = [], []
    for index, label in enumerate(labels):
        image, mask = render_example(np.random.default_rng([seed, offset, index]), int(label), image_size)
        images.append(image)
        masks.append(mask)
    return LoadedSplit(
        name=split,
        images=images,
        masks=masks,
        labels=labels,
        names=[f"{split}_{index:04d}" for index in range(num_images)],
        class_names=list(CLASS_NAMES),
    )
