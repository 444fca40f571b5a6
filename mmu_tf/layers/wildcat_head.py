"""The WILDCAT head shared in shape by the localizer M and the classifier C."""

import keras

from mmu_tf.layers.class_wise_pooling import ClassWisePooling
from mmu_tf.layers.wildcat_pooling import WildcatPooling

# A WILDCAT head's settings, passed as one dict (`wildcat=`) by the models that use one; a run's
# are flat in `config.model` (configs/common.py holds their defaults).
WILDCAT_KEYS = ("modalities", "kmax", "kmin", "alpha", "dropout", "hidden_units")


def wildcat_settings(wildcat):
    """`wildcat` (a dict or ConfigDict with exactly the keys of `WILDCAT_KEYS`) as a plain dict; others refused."""
    wildcat = dict(wildcat or {})
    unknown, missing = sorted(set(wildcat) - set(WILDCAT_KEYS)), sorted(set(WILDCAT_KEYS) - set(wildcat))
    if unknown or missing:
        raise ValueError(f"`wildcat` takes {list(WILDCAT_KEYS)}. Received unknown keys {unknown}, missing {missing}")
    return {key: wildcat[key] for key in WILDCAT_KEYS}


def wildcat_from_config(model_config):
    """The WILDCAT head's settings of a run: they live flat in `config.model` (the command-line flags)."""
    return {key: model_config[key] for key in WILDCAT_KEYS}


@keras.saving.register_keras_serializable(package="mmu_tf")
class WildcatHead(keras.layers.Layer):
    """1x1 convolution, class-wise pooling and WILDCAT spatial pooling.

    docs/method.md §1: a 1x1 conv (with bias) maps the backbone features to
    `num_classes * modalities` channels, `ClassWisePooling` averages them into
    one map per class, and `WildcatPooling` pools each map into a class score.
    With `hidden_units > 0` (not in the paper) a 1x1 conv + ReLU of that width
    comes first: each cell's map is then a non-linear function of its features.

    Args:
        num_classes: int, the number of classes K.
        modalities: int, maps per class m (GlaS: 5).
        kmax, kmin, alpha, dropout: see `WildcatPooling`.
        hidden_units: int, width of the hidden 1x1 conv; 0 (the paper's head): none.

    Returns a tuple `(scores, class_maps)`: the logits `(B, K)` and the class
    maps `A_k` `(B, h, w, K)`.

    Example:
    >>> head = WildcatHead(num_classes=2, modalities=5, kmax=0.3, kmin=0.0, alpha=1.0, dropout=0.0, hidden_units=0)
    >>> scores, class_maps = head(np.ones((1, 13, 13, 512), "float32"))
    >>> tuple(scores.shape), tuple(class_maps.shape)
    ((1, 2), (1, 13, 13, 2))
    """

    def __init__(self, num_classes, modalities, kmax, kmin, alpha, dropout, hidden_units, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.modalities = modalities
        self.kmax = kmax
        self.kmin = kmin
        self.alpha = alpha
        self.dropout = dropout
        self.hidden_units = hidden_units
        self.hidden = None
        if hidden_units:
            self.hidden = keras.layers.Conv2D(
                hidden_units, 1, activation="relu", dtype=self.dtype_policy, name="hidden"
            )
        self.projection = keras.layers.Conv2D(
            num_classes * modalities, 1, use_bias=True, dtype=self.dtype_policy, name="projection"
        )
        self.class_wise_pooling = ClassWisePooling(
            num_classes, modalities, dtype=self.dtype_policy, name="class_wise_pooling"
        )
        self.spatial_pooling = WildcatPooling(
            kmax=kmax,
            kmin=kmin,
            alpha=alpha,
            dropout=dropout,
            dtype=self.dtype_policy,
            name="spatial_pooling",
        )

    def build(self, input_shape):
        if self.hidden is not None:
            self.hidden.build(input_shape)
            input_shape = (*input_shape[:-1], self.hidden_units)
        self.projection.build(input_shape)
        self.built = True

    def call(self, features, training=None):
        if self.hidden is not None:
            features = self.hidden(features)
        class_maps = self.class_wise_pooling(self.projection(features))
        scores = self.spatial_pooling(class_maps, training=training)
        return scores, class_maps

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.num_classes), (*input_shape[:-1], self.num_classes)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "modalities": self.modalities,
            "kmax": self.kmax,
            "kmin": self.kmin,
            "alpha": self.alpha,
            "dropout": self.dropout,
            "hidden_units": self.hidden_units,
        }
