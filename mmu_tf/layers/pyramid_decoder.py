"""A light feature-pyramid decoder: a backbone's pyramid levels in, one foreground logit per finest cell out."""

import keras
import tensorflow as tf

from mmu_tf.layers.map_upsampling import upsample_maps


@keras.saving.register_keras_serializable(package="mmu_tf")
class PyramidDecoder(keras.layers.Layer):
    """Top-down decoder over pyramid levels (finest first), FPN-style (Lin et al., CVPR 2017).

    Each level is projected to `channels` by a 1x1 convolution (so a 1280-channel
    stride-32 level costs no more than a 24-channel stride-4 one); from the
    coarsest level down, the running map is upsampled onto the next finer level
    with `upsample_maps` (cell i on pixel 2i, as the backbone computed it), added
    to that level's projection and refined by a 3x3 convolution, batch norm and
    ReLU. A last 1x1 convolution gives one foreground logit per cell of the finest
    level, in float32.

    Unlike U-Net's decoder (`mmu_tf.models.unet`), nothing is concatenated at full
    width: on EfficientNet-Lite0's levels (24, 40, 112, 1280 channels, strides
    4-32) with 64 channels the decoder has about 0.2 M parameters and costs about
    a fifth of the backbone's forward pass at 416 x 416.

    Args:
        channels: int, the width of every level after projection.

    Call arguments:
        levels: a list of feature maps `(B, h_i, w_i, C_i)`, finest first, each
            level's side half (rounded up) of the previous one.

    Returns: logits `(B, h_0, w_0)`, float32.

    Example:
    >>> decoder = PyramidDecoder(channels=8)
    >>> levels = [np.zeros((1, 16, 16, 4)), np.zeros((1, 8, 8, 6)), np.zeros((1, 4, 4, 10))]
    >>> decoder([level.astype("float32") for level in levels]).shape
    TensorShape([1, 16, 16])
    """

    def __init__(self, channels, **kwargs):
        super().__init__(**kwargs)
        if int(channels) < 1:
            raise ValueError(f"`channels` must be >= 1. Received: channels={channels}")
        self.channels = int(channels)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) < 2:
            raise ValueError(f"`PyramidDecoder` takes a list of at least 2 levels. Received: {input_shape}")
        policy = self.dtype_policy
        self.laterals = [
            keras.layers.Conv2D(self.channels, 1, dtype=policy, name=f"lateral_{index}")
            for index in range(len(input_shape))
        ]
        # One refining block (conv, batch norm, ReLU) per level merged into (all but the coarsest),
        # in flat lists: TensorFlow's SavedModel tracks the layers of a list, not of a list in a list.
        merges = range(len(input_shape) - 1)
        self.refine_convs = [
            keras.layers.Conv2D(self.channels, 3, padding="same", use_bias=False, dtype=policy, name=f"conv_{index}")
            for index in merges
        ]
        self.refine_norms = [keras.layers.BatchNormalization(dtype=policy, name=f"bn_{index}") for index in merges]
        self.refine_activations = [keras.layers.ReLU(dtype=policy, name=f"relu_{index}") for index in merges]
        self.logits = keras.layers.Conv2D(1, 1, dtype=policy, name="logits")
        for lateral, shape in zip(self.laterals, input_shape):
            lateral.build(shape)
        for convolution, norm, shape in zip(self.refine_convs, self.refine_norms, input_shape[:-1]):
            merged = (*shape[:-1], self.channels)
            convolution.build(merged)
            norm.build(merged)
        self.logits.build((*input_shape[0][:-1], self.channels))
        self.built = True

    def call(self, levels, training=None):
        features = self.laterals[-1](levels[-1])
        for index in range(len(levels) - 2, -1, -1):
            lateral = self.laterals[index](levels[index])
            features = lateral + tf.cast(upsample_maps(features, tf.shape(lateral)[1:3]), lateral.dtype)
            features = self.refine_convs[index](features)
            features = self.refine_norms[index](features, training=training)
            features = self.refine_activations[index](features)
        return tf.cast(self.logits(features), tf.float32)[..., 0]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1])

    def get_config(self):
        return {**super().get_config(), "channels": self.channels}
