"""The pseudo-binary foreground mask of paper Eq. 12."""

import keras
import tensorflow as tf


def min_max_per_sample(maps, epsilon=1e-6):
    """Min-max normalises each sample of `maps` (B, H, W) to [0, 1], in float32; `epsilon` keeps a flat map finite."""
    maps = tf.cast(maps, tf.float32)
    minimum = tf.reduce_min(maps, axis=(1, 2), keepdims=True)
    maximum = tf.reduce_max(maps, axis=(1, 2), keepdims=True)
    return (maps - minimum) / (maximum - minimum + epsilon)


@keras.saving.register_keras_serializable(package="mmu_tf")
class SoftMask(keras.layers.Layer):
    """Turns a foreground map into a pseudo-binary mask (paper Eq. 12).

    Each sample's map is min-max normalised to [0, 1] on its own (the
    reference code normalises over the batch, a bug: docs/method.md §7), then

        M+ = sigmoid(omega * (A - sigma)).

    `sigma` lives in a non-trainable variable (`self.sigma`) so a callback
    can raise it during training and the traced step sees the new value; it
    is saved and restored with the weights. Computed in float32 whatever the
    dtype policy.

    Args:
        omega: float > 0, the sharpness of the sigmoid (paper: 5).
        sigma: float, the initial threshold (paper: 0.15).
        epsilon: float > 0, added to the range in the min-max division.

    Input shape `(B, H, W)`, output the same shape, values in (0, 1).

    Example:
    >>> layer = SoftMask(omega=5.0, sigma=0.15)
    >>> layer(np.array([[[0.0, 1.0]]], "float32")).numpy().round(3)
    array([[[0.32, 0.986]]], dtype=float32)
    """

    def __init__(self, omega, sigma, epsilon=1e-6, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        if omega <= 0:
            raise ValueError(f"`omega` must be > 0. Received: omega={omega}")
        if epsilon <= 0:
            raise ValueError(f"`epsilon` must be > 0. Received: epsilon={epsilon}")
        self.omega = float(omega)
        self.initial_sigma = float(sigma)
        self.epsilon = float(epsilon)
        self.sigma = self.add_weight(
            name="sigma",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_sigma),
            trainable=False,
            dtype="float32",
        )

    def normalize(self, maps):
        """Min-max normalises each sample of `maps` (B, H, W) to [0, 1]."""
        return min_max_per_sample(maps, self.epsilon)

    def call(self, inputs):
        normalized = self.normalize(inputs)
        return tf.sigmoid(self.omega * (normalized - tf.cast(self.sigma, tf.float32)))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "omega": self.omega,
            "sigma": self.initial_sigma,
            "epsilon": self.epsilon,
        }
