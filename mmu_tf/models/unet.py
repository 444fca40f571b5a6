"""The fully supervised upper bound of paper Table 1: a U-Net on the shared ResNet-18 encoder."""

import keras
import tensorflow as tf

from mmu_tf import losses
from mmu_tf.layers.map_upsampling import upsample_maps
from mmu_tf.models.base import MethodModel
from mmu_tf.models.registry import register_method

# The decoder reads the backbone's four deepest pyramid levels (P2..P5 at output stride 32).
PYRAMID_DEPTH = 4


def foreground_dice(foreground_logits, masks):
    """Per-image Dice (B,) of `logits >= 0` against bool masks; 1 when both are empty."""
    predicted = tf.cast(foreground_logits >= 0.0, tf.float32)
    truth = tf.cast(masks, tf.float32)
    overlap = tf.reduce_sum(predicted * truth, axis=(1, 2))
    total = tf.reduce_sum(predicted, axis=(1, 2)) + tf.reduce_sum(truth, axis=(1, 2))
    return tf.where(total > 0, 2.0 * overlap / tf.maximum(total, 1.0), 1.0)


@register_method("unet")
@keras.saving.register_keras_serializable(package="mmu_tf")
class UNetModel(MethodModel):
    """U-Net (Ronneberger et al., MICCAI 2015) trained on the pixel masks: the only method that sees them.

    Encoder: the backbone's feature pyramid (strides 4, 8, 16, 32). Decoder:
    at each level, upsample (bilinear, `upsample_maps`: each cell put back on the
    skip cell it was computed over) to the skip's size, concatenate,
    two 3x3 conv + batch norm + ReLU; a 1x1 conv gives the foreground logit
    at stride 4, upsampled bilinearly to the input. Loss: the pixel-wise
    binary cross-entropy from logits (float32), plus the cross-entropy of a
    global-average-pooling classifier on the deepest features, so the model
    has the same outputs as every other method (the paper's U-Net does not
    classify). Mask: `sigmoid(logit)`, 0.5 threshold. Checkpoint selection:
    the validation Dice (`val_dice`), not the accuracy.

    Args:
        decoder_filters: filters of the decoder blocks, deepest first.

    Example:
    >>> model = UNetModel(build_backbone("resnet18"), num_classes=2, decoder_filters=(256, 128, 64))
    >>> model(np.zeros((1, 64, 64, 3), "float32"))["mask"].shape
    TensorShape([1, 64, 64])
    """

    loss_terms = ("pixel_cross_entropy", "dice")
    selection_metric = "val_dice"
    needs_masks = True

    @classmethod
    def run_arguments(cls, config, name):
        return {"decoder_filters": config.method.unet_decoder_filters}

    @classmethod
    def config_problems(cls, config, mode):
        if config.model.feature_level != "P5":
            return ["--config.model.feature_level must be 'P5' for U-Net: its decoder reads the whole pyramid"]
        return []

    def __init__(self, backbone, num_classes, class_names=None, *, decoder_filters, **kwargs):
        super().__init__(backbone, num_classes, class_names, **kwargs)
        pyramid = getattr(backbone, "pyramid_outputs", None) or {}
        levels = sorted(pyramid, key=lambda level: int(level[1:]))[-PYRAMID_DEPTH:]
        if len(levels) < PYRAMID_DEPTH:
            raise ValueError(f"U-Net needs a backbone with {PYRAMID_DEPTH} `pyramid_outputs` (a keras-hub backbone).")
        if len(decoder_filters) != PYRAMID_DEPTH - 1:
            raise ValueError(f"`decoder_filters` needs {PYRAMID_DEPTH - 1} values. Received: {decoder_filters}")
        self.decoder_filters = tuple(int(filters) for filters in decoder_filters)
        self.encoder = keras.Model(backbone.inputs, [pyramid[level] for level in levels], name="encoder")
        self.decoder_blocks = [
            [
                layer
                for repeat in range(2)
                for layer in (
                    keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"up{index}_conv{repeat}"),
                    keras.layers.BatchNormalization(name=f"up{index}_bn{repeat}"),
                    keras.layers.ReLU(name=f"up{index}_relu{repeat}"),
                )
            ]
            for index, filters in enumerate(self.decoder_filters)
        ]
        self.foreground_logits = keras.layers.Conv2D(1, 1, name="foreground_logits")
        self.global_pooling = keras.layers.GlobalAveragePooling2D(name="pooling")
        self.classifier = keras.layers.Dense(num_classes, name="classifier")

    def segment(self, normalized_images, training=False):
        """`(class logits (B, K), foreground logits (B, H, W))`, float32, H x W the input's size."""
        *skips, deepest = self.encoder(normalized_images, training=training)
        scores = self.classifier(self.global_pooling(deepest))
        features = deepest
        for skip, block in zip(reversed(skips), self.decoder_blocks):
            # Each deeper cell over the skip cell it was computed from (cell i on cell 2i).
            features = upsample_maps(features, tf.shape(skip)[1:3])
            features = tf.concat([tf.cast(features, skip.dtype), skip], axis=-1)
            for layer in block:
                features = layer(features, training=training)
        logits = tf.cast(self.foreground_logits(features), tf.float32)
        logits = upsample_maps(logits[..., 0], tf.shape(normalized_images)[1:3])
        return tf.cast(scores, tf.float32), logits

    def compute_losses(self, images, labels, masks=None, training=False):
        scores, logits = self.segment(self.normalization(images), training=training)
        loss = tf.reduce_mean(losses.cross_entropy(labels, scores))
        if masks is None:
            return loss, {}, {"accuracy": scores}
        pixel_loss = tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(masks, tf.float32), logits=logits)
        )
        dice = tf.reduce_mean(foreground_dice(logits, masks))
        return loss + pixel_loss, {"pixel_cross_entropy": pixel_loss, "dice": dice}, {"accuracy": scores}

    def call(self, images, training=False):
        scores, logits = self.segment(self.normalization(images), training=training)
        return {"probabilities": tf.nn.softmax(scores, axis=-1), "mask": tf.sigmoid(logits)}

    def get_config(self):
        return {**super().get_config(), "decoder_filters": list(self.decoder_filters)}
