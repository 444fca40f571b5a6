"""Class-wise pooling of WILDCAT (Durand et al., CVPR 2017)."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmu_tf")
class ClassWisePooling(keras.layers.Layer):
    """Averages the `modalities` feature maps of each class into one map.

    Channel `k * modalities + j` is modality `j` of class `k` (WILDCAT's
    layout), so an input of shape `(B, h, w, num_classes * modalities)` gives
    class maps `A_k` of shape `(B, h, w, num_classes)` (docs/method.md §1, step 2).

    Args:
        num_classes: int >= 1, the number of classes K.
        modalities: int >= 1, the number of maps per class m.

    Example:
    >>> layer = ClassWisePooling(num_classes=2, modalities=3)
    >>> tuple(layer(np.ones((1, 4, 4, 6))).shape)
    (1, 4, 4, 2)
    """

    def __init__(self, num_classes, modalities, **kwargs):
        super().__init__(**kwargs)
        if int(num_classes) < 1:
            raise ValueError(f"`num_classes` must be >= 1. Received: num_classes={num_classes}")
        if int(modalities) < 1:
            raise ValueError(f"`modalities` must be >= 1. Received: modalities={modalities}")
        self.num_classes = int(num_classes)
        self.modalities = int(modalities)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is not None and channels != self.num_classes * self.modalities:
            raise ValueError(
                "ClassWisePooling expects num_classes * modalities = "
                f"{self.num_classes * self.modalities} channels. Received: {channels}"
            )

    def call(self, inputs):
        shape = ops.shape(inputs)
        grouped = ops.reshape(inputs, (shape[0], shape[1], shape[2], self.num_classes, self.modalities))
        return ops.mean(grouped, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "modalities": self.modalities,
        }
