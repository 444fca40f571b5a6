"""Log-sum-exp spatial pooling (Pinheiro & Collobert, CVPR 2015), the pooling of CAM-LSE."""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="mmu_tf")
class LogSumExpPooling(keras.layers.Layer):
    """(B, h, w, K) -> (B, K): `(1/r) log(mean_{i,j} exp(r x_ij))` per map.

    Between average pooling (r -> 0) and max pooling (r -> inf); computed as
    `max + (1/r) log(mean(exp(r (x - max))))` so no exponential overflows.

    Args:
        sharpness: float > 0, the r above.

    Example:
    >>> pooling = LogSumExpPooling(sharpness=1.0)
    >>> pooling(np.log(np.array([1.0, 3.0], "float32")).reshape(1, 1, 2, 1))  # log(mean(1, 3)) = log 2
    <tf.Tensor: shape=(1, 1), dtype=float32, numpy=array([[0.6931472]], dtype=float32)>
    """

    def __init__(self, sharpness, **kwargs):
        super().__init__(**kwargs)
        if sharpness <= 0:
            raise ValueError(f"`sharpness` must be > 0. Received: sharpness={sharpness}")
        self.sharpness = float(sharpness)

    def call(self, maps):
        maps = tf.cast(maps, tf.float32)
        maximum = tf.reduce_max(maps, axis=(1, 2), keepdims=True)
        pooled = tf.reduce_mean(tf.exp(self.sharpness * (maps - maximum)), axis=(1, 2))
        return tf.squeeze(maximum, (1, 2)) + tf.math.log(pooled) / self.sharpness

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[3])

    def get_config(self):
        return {**super().get_config(), "sharpness": self.sharpness}
