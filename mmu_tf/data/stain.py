"""H&E stain colour space in TensorFlow: optical density, stain concentrations, stain jitter.

Light through a stained slide is absorbed by each stain in proportion to its
concentration (Beer-Lambert): the optical density `OD = -ln(RGB)` of a pixel is
`c @ M`, with `c` the (haematoxylin, eosin, DAB) concentrations and `M` the
stains' OD vectors. `RGB_FROM_HED` is Ruifrok & Johnston's `M` (Anal. Quant.
Cytol. Histol. 2001), as scikit-image's `rgb2hed` uses it; `rgb_to_hed` inverts it.

Haematoxylin stains nuclei (purple), eosin cytoplasm and stroma (pink). Their
concentrations drive two things here: stain augmentation (`stain_jitter`, the
H&E-space augmentation of Tellez et al., IEEE TMI 2018 / MedIA 2019: each
image's concentrations scaled and shifted, a slide from another lab or scanner
in miniature) and the refinement's appearance prior (`haematoxylin_density`).
All ops run inside a tf.data map or a model (float32 in, float32 out).
"""

import numpy as np
import tensorflow as tf

# Rows: the OD vectors (R, G, B) of haematoxylin, eosin, DAB.
RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]], np.float32)
HED_FROM_RGB = np.linalg.inv(RGB_FROM_HED).astype(np.float32)
# The darkest transmitted light counted (1/255 of full): keeps the logarithm finite on black pixels.
MINIMUM_INTENSITY = 1.0 / 255.0


def rgb_to_hed(images):
    """Stain concentrations `(..., 3)` (haematoxylin, eosin, DAB) of RGB images in [0, 1].

    Example:
    >>> white = tf.ones((1, 3))  # glass transmits everything: no stain
    >>> np.round(rgb_to_hed(white).numpy(), 6).tolist()
    [[0.0, 0.0, 0.0]]
    """
    density = -tf.math.log(tf.clip_by_value(tf.cast(images, tf.float32), MINIMUM_INTENSITY, 1.0))
    return tf.tensordot(density, HED_FROM_RGB, axes=1)


def hed_to_rgb(concentrations):
    """RGB in [0, 1] of stain concentrations `(..., 3)`; the inverse of `rgb_to_hed` on unclipped pixels.

    Example:
    >>> pixel = tf.constant([[0.8, 0.4, 0.3]])
    >>> bool(np.allclose(hed_to_rgb(rgb_to_hed(pixel)).numpy(), pixel.numpy(), atol=1e-5))
    True
    """
    density = tf.tensordot(tf.cast(concentrations, tf.float32), RGB_FROM_HED, axes=1)
    return tf.clip_by_value(tf.exp(-density), 0.0, 1.0)


def stain_jitter(image, seed, scale=0.05, shift=0.05):
    """One image `(H, W, 3)` in [0, 1] with its stain concentrations scaled and shifted at random.

    Each stain's concentration becomes `c * a + b` with `a ~ U(1 - scale, 1 + scale)`
    and `b ~ U(-shift, shift)` (one draw per stain and image, stateless from
    `seed`, two int32): Tellez et al.'s HED jitter (their "light" setting is
    0.05 / 0.05, "strong" 0.2 / 0.2). Glass stays glass only approximately:
    a positive shift tints it.

    Example:
    >>> image = tf.fill((2, 2, 3), 0.5)
    >>> jittered = stain_jitter(image, seed=[1, 2], scale=0.2, shift=0.0)
    >>> jittered.shape, bool(tf.reduce_all(jittered >= 0.0) and tf.reduce_all(jittered <= 1.0))
    (TensorShape([2, 2, 3]), True)
    """
    seeds = tf.random.experimental.stateless_split(tf.cast(seed, tf.int32), 2)
    factors = tf.random.stateless_uniform([3], seeds[0], 1.0 - scale, 1.0 + scale)
    offsets = tf.random.stateless_uniform([3], seeds[1], -shift, shift)
    return hed_to_rgb(rgb_to_hed(image) * factors + offsets)


def _gaussian_kernel(sigma):
    radius = max(1, int(round(3 * sigma)))
    positions = np.arange(-radius, radius + 1, dtype=np.float32)
    kernel = np.exp(-(positions**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def haematoxylin_density(images, sigma):
    """Each pixel's haematoxylin concentration `(B, H, W)`, smoothed by a Gaussian of `sigma` pixels.

    Glands are rings of nuclei, which haematoxylin stains: a weak, label-free
    map of where epithelium is (on GlaS valid its pixel AUC is about 71, on train
    62: a prior to mix with a teacher's map, not a mask by itself). Near the
    border the average is over the pixels inside the image (any size works).

    Example:
    >>> images = tf.concat([tf.fill((1, 8, 4, 3), 0.9), tf.fill((1, 8, 4, 3), 0.3)], axis=2)
    >>> density = haematoxylin_density(images, sigma=1.0)
    >>> bool(density[0, 4, 7] > density[0, 4, 0])  # the darker half holds more stain
    True
    """
    density = rgb_to_hed(images)[..., :1]
    kernel = _gaussian_kernel(float(sigma))

    def blur(values):
        rows = tf.nn.conv2d(values, kernel.reshape(-1, 1, 1, 1), strides=1, padding="SAME")
        return tf.nn.conv2d(rows, kernel.reshape(1, -1, 1, 1), strides=1, padding="SAME")

    # Zero-padded sums over the window, divided by the window's weight inside the image.
    return (blur(density) / blur(tf.ones_like(density)))[..., 0]
