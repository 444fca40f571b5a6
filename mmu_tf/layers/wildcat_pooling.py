"""WILDCAT spatial pooling (Durand et al., CVPR 2017)."""

import keras
import tensorflow as tf


def resolve_region_count(k, num_positions):
    """Number of positions a `kmax` / `kmin` value selects among `num_positions`.

    A float in (0, 1) is a fraction of the positions, `max(1, round(k * n))`
    (docs/method.md §1, step 3); an int >= 1 is a count, capped at `n`; 0 selects
    none. `num_positions` may be a Python int or a scalar tensor.
    """
    if isinstance(k, float) and 0.0 < k < 1.0:
        if isinstance(num_positions, int):
            return max(1, round(k * num_positions))
        count = tf.round(k * tf.cast(num_positions, tf.float32))
        return tf.maximum(1, tf.cast(count, tf.int32))
    if isinstance(num_positions, int):
        return min(int(k), num_positions)
    return tf.minimum(int(k), num_positions)


def _validate_region_size(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"`{name}` must be an int or a float. Received: {name}={value!r}")
    if isinstance(value, float) and not (0.0 <= value < 1.0 or value.is_integer()):
        raise ValueError(f"`{name}` must be a fraction in [0, 1) or a whole count. Received: {name}={value}")
    if value < 0:
        raise ValueError(f"`{name}` must be >= 0. Received: {name}={value}")
    # A whole float such as 3.0 means a count; 0.0 means none.
    return int(value) if float(value).is_integer() else float(value)


@keras.saving.register_keras_serializable(package="mmu_tf")
class WildcatPooling(keras.layers.Layer):
    """Pools each class map to one score: top regions plus alpha times the lowest.

    For a class map `A_k` with `n = h * w` positions (docs/method.md §1, step 3):

        score_k = mean(top kmax values of A_k) + alpha * mean(lowest kmin values of A_k)

    `kmax` and `kmin` are fractions of `n` when in (0, 1) (`max(1, round(k * n))`)
    or integer counts; `kmin = 0` drops the second term. While training, dropout
    is applied to the selected (sorted) values, WILDCAT's own regulariser.

    Args:
        kmax: float in (0, 1) or int >= 1, the size of the highest region.
        kmin: float in (0, 1) or int >= 0, the size of the lowest region.
        alpha: float, the weight of the lowest region.
        dropout: float in [0, 1), the dropout rate on the selected values.

    Input shape `(B, h, w, K)`, output shape `(B, K)`.

    Example:
    >>> maps = np.arange(9, dtype="float32").reshape(1, 3, 3, 1)
    >>> WildcatPooling(kmax=2, kmin=1, alpha=0.5, dropout=0.0)(maps).numpy()  # (8 + 7) / 2 + 0.5 * 0
    array([[7.5]], dtype=float32)
    """

    def __init__(self, kmax, kmin, alpha, dropout, **kwargs):
        super().__init__(**kwargs)
        self.kmax = _validate_region_size("kmax", kmax)
        self.kmin = _validate_region_size("kmin", kmin)
        if self.kmax == 0:
            raise ValueError(f"`kmax` must select at least one position. Received: kmax={kmax}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"`dropout` must be in [0, 1). Received: dropout={dropout}")
        self.alpha = float(alpha)
        self.dropout = float(dropout)
        self.value_dropout = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _region_mean(self, selected, training):
        if self.dropout > 0.0:
            selected = self.value_dropout(selected, training=training)
        return tf.reduce_mean(selected, axis=-1)

    def call(self, inputs, training=None):
        inputs = tf.convert_to_tensor(inputs)
        height, width = inputs.shape[1], inputs.shape[2]
        if height is not None and width is not None:
            positions = height * width
        else:
            positions = tf.shape(inputs)[1] * tf.shape(inputs)[2]
        # (B, h, w, K) -> (B, K, h*w): one row of positions per class.
        per_class = tf.transpose(inputs, (0, 3, 1, 2))
        per_class = tf.reshape(per_class, (tf.shape(inputs)[0], tf.shape(inputs)[3], -1))

        top_count = resolve_region_count(self.kmax, positions)
        highest = tf.math.top_k(per_class, k=top_count, sorted=True).values
        scores = self._region_mean(highest, training)
        if self.kmin != 0:
            bottom_count = resolve_region_count(self.kmin, positions)
            lowest = -tf.math.top_k(-per_class, k=bottom_count, sorted=True).values
            scores = scores + self.alpha * self._region_mean(lowest, training)
        return scores

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "kmax": self.kmax,
            "kmin": self.kmin,
            "alpha": self.alpha,
            "dropout": self.dropout,
        }
