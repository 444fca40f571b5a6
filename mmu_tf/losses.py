"""Loss terms of the Max-Min method (paper Eq. 4-11, docs/method.md §2).

Every function takes logits (never probabilities), works per sample, and
computes in float32 whatever the compute dtype of its inputs: log-softmax
for the entropies, and float32 sums for the mask sizes (416 * 416 pixels
overflow float16).
"""

import tensorflow as tf


def _log_probabilities(logits):
    return tf.nn.log_softmax(tf.cast(logits, tf.float32), axis=-1)


def cross_entropy(labels, logits):
    """Per-sample cross-entropy `-log p_y` from integer labels and logits."""
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(labels, tf.int32), logits=tf.cast(logits, tf.float32)
    )


def negative_entropy(logits):
    """EEM regulariser, `sum_c p_c log p_c` per sample (paper Eq. 4-5).

    Equal to `KL(p || uniform) - log c`; minimising it pushes `p` towards the
    uniform distribution. Its minimum is `-log c`.

    Example:
    >>> negative_entropy(tf.zeros((1, 2))).numpy()  # uniform over 2 classes
    array([-0.6931472], dtype=float32)
    """
    log_probabilities = _log_probabilities(logits)
    return tf.reduce_sum(tf.exp(log_probabilities) * log_probabilities, axis=-1)


def uniform_cross_entropy(logits):
    """SEM regulariser, `-(1/c) sum_c log p_c` per sample (paper Eq. 6, 9).

    The cross-entropy of the uniform distribution with `p`, equal to
    `KL(uniform || p) + log c`. Its minimum is `log c`.

    Example:
    >>> uniform_cross_entropy(tf.zeros((1, 2))).numpy()
    array([0.6931472], dtype=float32)
    """
    return -tf.reduce_mean(_log_probabilities(logits), axis=-1)


def extended_log_barrier(z, t):
    """The log-barrier extension psi_t for the constraint `z <= 0`, elementwise.

        psi_t(z) = -(1/t) log(-z)                    if z <= -1/t^2
        psi_t(z) = t z - (1/t) log(1/t^2) + 1/t      otherwise

    (Kervadec et al., docs/method.md §2). Continuous and differentiable at
    `z = -1/t^2`, finite for every z, so training survives an empty region.

    Example:
    >>> extended_log_barrier(tf.constant([-1.0, 0.0]), t=1.0).numpy()
    array([0., 1.], dtype=float32)
    """
    z = tf.cast(z, tf.float32)
    t = tf.cast(t, tf.float32)
    threshold = -1.0 / tf.square(t)
    # The log's argument is clipped so the unselected branch of tf.where
    # has no NaN or Inf gradient.
    barrier = -tf.math.log(tf.maximum(-z, -threshold)) / t
    linear = t * z - tf.math.log(1.0 / tf.square(t)) / t + 1.0 / t
    return tf.where(z <= threshold, barrier, linear)


def mask_sizes(foreground_mask, normalize=False):
    """Sizes `s+ = sum M+` and `s- = sum (1 - M+)` per sample (paper Eq. 10-11).

    `foreground_mask` is `(B, H, W)` in [0, 1]. With `normalize=True` the sums
    are divided by the area H*W, so sizes are fractions in [0, 1].
    """
    foreground_mask = tf.cast(foreground_mask, tf.float32)
    foreground = tf.reduce_sum(foreground_mask, axis=(1, 2))
    background = tf.reduce_sum(1.0 - foreground_mask, axis=(1, 2))
    if normalize:
        area = tf.cast(tf.shape(foreground_mask)[1] * tf.shape(foreground_mask)[2], tf.float32)
        foreground, background = foreground / area, background / area
    return foreground, background


def size_balance(foreground_mask, t, normalize=False):
    """The ASC term `psi_t(-s+) + psi_t(-s-)` per sample (paper Eq. 7, 10-11).

    Example:
    >>> # Both regions are half the image: 2 * -(1/5) log(0.5).
    >>> size_balance(tf.fill((1, 2, 2), 0.5), t=5.0, normalize=True).numpy()
    array([0.2772589], dtype=float32)
    """
    foreground, background = mask_sizes(foreground_mask, normalize=normalize)
    return extended_log_barrier(-foreground, t) + extended_log_barrier(-background, t)


def size_penalty(sizes, lower, upper):
    """Quadratic penalty of sizes outside `[lower, upper]` (Kervadec et al., MedIA 2019, Eq. 3).

    `(s - lower)^2` below the bounds, `(s - upper)^2` above, 0 inside;
    elementwise, float32. `upper` may be `inf` (no upper bound): the two sides
    are written as ReLUs so an infinite bound gives a zero gradient, not NaN.

    Example:
    >>> size_penalty([0.0, 5.0, 12.0], lower=1.0, upper=10.0).numpy()
    array([1., 0., 4.], dtype=float32)
    """
    sizes = tf.cast(sizes, tf.float32)
    below = tf.nn.relu(tf.cast(lower, tf.float32) - sizes)
    above = tf.nn.relu(sizes - tf.cast(upper, tf.float32))
    return tf.square(below) + tf.square(above)


# === The refinement's terms (mmu_tf.models.refine, docs/method.md §8) ===


def partial_binary_cross_entropy(logits, foreground_seeds, background_seeds):
    """Per-sample cross-entropy of foreground logits on seed pixels only; every other pixel ignored.

    `mean_{p in F} softplus(-z_p) + mean_{p in B} softplus(z_p)`, with F and B
    the bool seed masks `(B, h, w)` (the partial cross-entropy of scribble and
    pseudo-label supervision, Tang et al., CVPR 2018): each region weighs the
    same whatever its seed count; an empty region adds 0.

    Example:
    >>> # Logit 0 is p = 1/2 on both seeds: log 2 + log 2.
    >>> partial_binary_cross_entropy(tf.zeros((1, 1, 3)), [[[True, False, False]]], [[[False, False, True]]]).numpy()
    array([1.3862944], dtype=float32)
    """
    logits = tf.cast(logits, tf.float32)
    foreground = tf.cast(foreground_seeds, tf.float32)
    background = tf.cast(background_seeds, tf.float32)

    def region_mean(per_pixel, region):
        return tf.reduce_sum(per_pixel * region, axis=(1, 2)) / tf.maximum(tf.reduce_sum(region, axis=(1, 2)), 1.0)

    return region_mean(tf.nn.softplus(-logits), foreground) + region_mean(tf.nn.softplus(logits), background)


def window_offsets(radius):
    """The offsets `(dy, dx)` of the square window of half side `radius`, one of `q - p` and `p - q` (dy > 0 or dx > 0).

    Example:
    >>> window_offsets(1)
    [(0, 1), (1, -1), (1, 0), (1, 1)]
    """
    return [(dy, dx) for dy in range(0, radius + 1) for dx in range(-radius, radius + 1) if dy > 0 or dx > 0]


def _pairs(values, dy, dx):
    """The values at `p` and at `p + (dy, dx)` over every `p` whose neighbour lies inside (dy >= 0)."""
    height, width = tf.shape(values)[1], tf.shape(values)[2]
    left, right = max(0, -dx), max(0, dx)
    first = values[:, : height - dy, left : width - right]
    second = values[:, dy:, right : width - left]
    return first, second


def bilateral_smoothness(foreground_probabilities, image, radius=5, sigma_xy=3.0, sigma_rgb=0.1):
    """Per-sample relaxed Potts energy of a soft mask under bilateral affinities over a local window.

        E = (1 / N) sum_p sum_{q near p} w_pq [p_p (1 - p_q) + p_q (1 - p_p)],
        w_pq = exp(-|p - q|^2 / (2 sigma_xy^2) - |I_p - I_q|^2 / (2 sigma_rgb^2))

    The expected number of label disagreements between nearby pixels of similar
    colour (the dense-CRF loss of Tang et al., ECCV 2018, as F-CAM uses it), here
    over the square window of `radius` cells around each pixel (each pair once)
    instead of the whole image: it pulls the mask's outline onto colour edges.

    Args:
        foreground_probabilities: `(B, h, w)` in [0, 1].
        image: `(B, h, w, 3)` RGB in [0, 1] at the same resolution.
        radius: int, the window's half side in cells.
        sigma_xy: the spatial bandwidth, in cells.
        sigma_rgb: the colour bandwidth, in [0, 1] RGB units.

    Example:
    >>> image = np.zeros((1, 1, 2, 3), "float32")  # two pixels of the same colour, one cell apart
    >>> # w = exp(-1 / 2); disagreement 0.9 * 0.9 + 0.1 * 0.1 = 0.82; N = 2.
    >>> round(float(bilateral_smoothness(tf.constant([[[0.9, 0.1]]]), image, radius=1, sigma_xy=1.0)[0]), 6)
    0.248678
    """
    probabilities = tf.cast(foreground_probabilities, tf.float32)
    image = tf.cast(image, tf.float32)
    energy = tf.zeros(tf.shape(probabilities)[:1], tf.float32)
    for dy, dx in window_offsets(radius):
        first, second = _pairs(probabilities, dy, dx)
        first_colour, second_colour = _pairs(image, dy, dx)
        colour_distance = tf.reduce_sum(tf.square(first_colour - second_colour), axis=-1)
        weights = tf.exp(-(dy * dy + dx * dx) / (2.0 * sigma_xy**2) - colour_distance / (2.0 * sigma_rgb**2))
        disagreement = first * (1.0 - second) + second * (1.0 - first)
        energy += tf.reduce_sum(weights * disagreement, axis=(1, 2))
    pixels = tf.cast(tf.shape(probabilities)[1] * tf.shape(probabilities)[2], tf.float32)
    return energy / pixels
