"""Otsu's threshold of each map in a batch: the level that best splits its values in two.

Otsu (IEEE Trans. SMC 1979): over a histogram of the map's values, the
threshold maximising the between-class variance
`w0 w1 (mu0 - mu1)^2`, with w the two classes' shares of the pixels and mu
their means. Label-free and per image: a decoder trained on seeds ranks pixels
well but puts the undecided stroma near 0.5, so a fixed 0.5 cut spills into it,
while the valley between a map's two modes is where its own foreground ends.

Histogram by a segment sum and cumulative sums (TFLite builtins), in float32.
The peak is located between bins by a parabola through the best cut and its two
neighbours: near a flat peak two cuts a bin apart score within a part in 10^5,
and a plain argmax would move the threshold by a whole bin (a percent of an
image's pixels) for a perturbation as small as batch-norm folding or another
machine's rounding; the interpolated peak moves with the histogram.
"""

import tensorflow as tf


def otsu_threshold(maps, bins=256):
    """Maps `(B, h, w)` with values in [0, 1] -> `(B,)` Otsu thresholds in [0, 1].

    A value at or above the threshold is the upper class. A constant map gets
    the bin's upper edge (nothing to split). The threshold is the best cut's
    upper edge moved by `peak_offset` of a bin.

    Example:
    >>> maps = tf.constant([[[0.1, 0.1, 0.2, 0.8, 0.9, 0.9]]])
    >>> threshold = float(otsu_threshold(maps, bins=10)[0])
    >>> 0.2 < threshold <= 0.8
    True
    """
    values = tf.clip_by_value(tf.cast(maps, tf.float32), 0.0, 1.0)
    batch = tf.shape(values)[0]
    flat = tf.reshape(values, tf.stack([batch, -1]))
    bin_index = tf.minimum(tf.cast(flat * bins, tf.int32), bins - 1)
    # One segment per (image, bin): memory in the pixels, not pixels x bins as a one-hot would take.
    segments = bin_index + bins * tf.expand_dims(tf.range(batch), 1)
    counts = tf.math.unsorted_segment_sum(tf.ones_like(flat), segments, batch * bins)
    counts = tf.reshape(counts, tf.stack([batch, bins]))
    centres = (tf.range(bins, dtype=tf.float32) + 0.5) / bins
    total = tf.reduce_sum(counts, axis=1, keepdims=True)
    # Lower class: bins 0..k; its share and mean for each k.
    lower_share = tf.cumsum(counts, axis=1) / total
    lower_sum = tf.cumsum(counts * centres, axis=1) / total
    mean = lower_sum[:, -1:]
    upper_share = 1.0 - lower_share
    between = tf.square(mean * lower_share - lower_sum) / tf.maximum(lower_share * upper_share, 1e-12)
    between = tf.where((lower_share > 0.0) & (upper_share > 0.0), between, -1.0)
    best = tf.argmax(between, axis=1, output_type=tf.int32)
    # The best cut's neighbours by a one-hot sum (TFLite builtins, no batched gather); -1 beyond the ends.
    chosen = tf.one_hot(best, bins)
    padded = tf.pad(between, [[0, 0], [1, 1]], constant_values=-1.0)
    left, centre, right = (
        tf.reduce_sum(values * chosen, axis=1) for values in (padded[:, :-2], between, padded[:, 2:])
    )
    # The upper class starts at the next bin's lower edge.
    return (tf.cast(best + 1, tf.float32) + peak_offset(left, centre, right)) / bins


def peak_offset(left, centre, right):
    """Where the parabola through `(-1, left), (0, centre), (1, right)` peaks, in [-0.5, 0.5] (0 where it cannot).

    `centre` is the highest of the three scores; an end (a score below 0, a cut
    with an empty class) or a peak too flat to place (its curvature under a
    part in 10^6 of `centre`, float32's noise) gives 0.

    Example:
    >>> peak_offset(tf.constant([0.5]), tf.constant([1.0]), tf.constant([0.0])).numpy().round(4).tolist()
    [-0.1667]
    """
    curvature = left - 2.0 * centre + right
    placeable = (left >= 0.0) & (right >= 0.0) & (curvature < -1e-6 * tf.abs(centre))
    offset = 0.5 * (left - right) / tf.where(placeable, curvature, -1.0)
    return tf.where(placeable, tf.clip_by_value(offset, -0.5, 0.5), 0.0)
