"""The Max-Min uncertainty model (Belharbi et al., IEEE TMI 2021)."""

import keras
import tensorflow as tf

from mmu_tf import losses
from mmu_tf.layers import SoftMask, WildcatHead
from mmu_tf.layers.map_upsampling import upsample_maps
from mmu_tf.layers.wildcat_head import wildcat_from_config, wildcat_settings
from mmu_tf.models.base import MethodModel
from mmu_tf.models.registry import register_method
from mmu_tf.models.schedules import AnnealVariable

MASKED_BATCH_NORM = ("batch", "moving")
BACKGROUND_TERMS = {
    "eem": losses.negative_entropy,
    "sem": losses.uniform_cross_entropy,
    "none": None,
}


@register_method("maxmin")
@keras.saving.register_keras_serializable(package="mmu_tf")
class MaxMinModel(MethodModel):
    """Classifies a histology image and segments the evidence, from image labels only.

    A localizer M (shared backbone + WILDCAT head) classifies the whole image
    X; its class maps, weighted by its posterior, give the foreground map,
    which `SoftMask` turns into the pseudo-binary mask M+ (paper Eq. 12). A
    classifier C (the same backbone + its own WILDCAT head) must be confident
    on `X+ = X * M+` and uncertain on `X- = X * (1 - M+)`, while a
    log-barrier keeps both regions from vanishing (paper Eq. 7, docs/method.md §2):

        L = CE(p_M(X), y) + CE(p_C(X+), y) + lambda R(p_C(X-))
            + mean_i [psi_t(-s+_i) + psi_t(-s-_i)]

    `call` is inference only (paper Algorithm 1, lines 7-11): two backbone
    passes, returning a dict with `probabilities` = p_C(X+) `(B, K)`,
    `mask` = M+ `(B, H, W)` at the input's resolution, and
    `localizer_probabilities` = p_M(X). `compute_losses` computes the full
    loss; the shared training step (`MethodModel`) logs each term.

    Inputs are float RGB images in [0, 1], any size the backbone accepts; the
    ImageNet normalisation happens inside the model.

    Args:
        backbone: a Keras model mapping images to features (B, h, w, C),
            shared by M and C (paper §3.3a).
        num_classes: int, the number of classes K.
        class_names: optional list of K names, kept for deployment.
        wildcat: the two WILDCAT heads' settings, one dict (keys of
            `mmu_tf.layers.wildcat_head.WILDCAT_KEYS`: modalities, kmax,
            kmin, alpha, dropout, hidden_units).
        omega, sigma: the soft mask's sharpness and initial threshold (Eq. 12).
        background: "sem" (Eq. 9), "eem" (Eq. 8) or "none" (no background term).
        background_weight: lambda in Eq. 7.
        size_constraint: bool, whether the log-barrier size terms are used.
        normalize_sizes: bool, sizes as fractions of the image area instead of
            raw pixel counts (the paper's setting is raw counts).
        barrier_t: the initial t of the log barrier; a callback anneals it.
        classifier_scale: X+ and X- are resized by this factor before C
            (the reference code's 0.8, to save compute).
        head_learning_rate_multiplier: the gradients of the two WILDCAT heads
            are multiplied by it, which for SGD multiplies their learning rate
            (Camelyon16-P512: "classifier part x10", docs/method.md §5).
        masked_batch_norm: how the backbone's batch normalisation treats X+ and
            X- while training: "batch" (the reference code: by their own batch
            statistics, which rescale the masked images and so undo part of the
            masking) or "moving" (by the moving statistics of the unmasked
            images, which the pass on X keeps updating).

    Example:
    >>> from mmu_tf.models.backbones import build_backbone
    >>> from mmu_tf.configs.common import base_config
    >>> settings = MaxMinModel.run_arguments(base_config(), "maxmin")  # wildcat, omega, sigma, ...
    >>> model = MaxMinModel(build_backbone("resnet18"), num_classes=2, **settings)
    >>> outputs = model(np.random.rand(1, 64, 64, 3).astype("float32"))
    >>> outputs["probabilities"].shape, outputs["mask"].shape
    (TensorShape([1, 2]), TensorShape([1, 64, 64]))
    """

    loss_terms = ("localizer_ce", "foreground_ce", "background", "size")
    accuracy_metrics = ("accuracy", "localizer_accuracy")

    @classmethod
    def run_arguments(cls, config, name):
        method = config.method
        return {
            "wildcat": wildcat_from_config(config.model),
            "omega": method.omega,
            "sigma": method.sigma,
            "background": method.background,
            "background_weight": method.background_weight,
            "size_constraint": method.size_constraint,
            "normalize_sizes": method.normalize_sizes,
            "barrier_t": method.t,
            "classifier_scale": method.classifier_scale,
            "head_learning_rate_multiplier": config.optimizer.head_learning_rate_multiplier,
            "masked_batch_norm": method.masked_batch_norm,
        }

    @classmethod
    def config_problems(cls, config, mode):
        method, problems = config.method, []
        if method.background not in BACKGROUND_TERMS:
            problems.append(
                f"--config.method.background must be one of {sorted(BACKGROUND_TERMS)} (got {method.background!r})"
            )
        # The schedules cap their variable: a start above the cap would be lowered after epoch 1.
        for name, cap in (("sigma", "sigma_max"), ("t", "t_max")):
            if method[name] > method[cap]:
                problems.append(
                    f"--config.method.{name}={method[name]} is above --config.method.{cap}="
                    f"{method[cap]}, to which the schedule would lower it after the first epoch"
                )
        return problems

    def __init__(
        self,
        backbone,
        num_classes,
        class_names=None,
        *,
        wildcat,
        omega,
        sigma,
        background,
        background_weight,
        size_constraint,
        normalize_sizes,
        barrier_t,
        classifier_scale,
        head_learning_rate_multiplier,
        masked_batch_norm,
        **kwargs,
    ):
        super().__init__(backbone, num_classes, class_names, **kwargs)
        if background not in BACKGROUND_TERMS:
            raise ValueError(f"`background` must be one of {sorted(BACKGROUND_TERMS)}. Received: {background!r}")
        if masked_batch_norm not in MASKED_BATCH_NORM:
            raise ValueError(f"`masked_batch_norm` must be one of {MASKED_BATCH_NORM}. Received: {masked_batch_norm!r}")
        if not 0.0 < classifier_scale <= 1.0:
            raise ValueError(f"`classifier_scale` must be in (0, 1]. Received: {classifier_scale}")
        self.wildcat = wildcat_settings(wildcat)
        self.omega = omega
        self.sigma = sigma
        self.background = background
        self.background_weight = float(background_weight)
        self.size_constraint = bool(size_constraint)
        self.normalize_sizes = bool(normalize_sizes)
        self.initial_barrier_t = float(barrier_t)
        self.classifier_scale = float(classifier_scale)
        self.head_learning_rate_multiplier = float(head_learning_rate_multiplier)
        self.masked_batch_norm = masked_batch_norm

        self.localizer_head = WildcatHead(self.num_classes, **self.wildcat, name="localizer_head")
        self.classifier_head = WildcatHead(self.num_classes, **self.wildcat, name="classifier_head")
        self.soft_mask = SoftMask(omega=omega, sigma=sigma, name="soft_mask")
        # t lives in a variable so the traced train_step reads the value a
        # callback sets, and a checkpoint restores it.
        self.barrier_t = self.add_weight(
            name="barrier_t",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_barrier_t),
            trainable=False,
            dtype="float32",
        )

    # === What a run needs to know ===

    def training_callbacks(self, method_config):
        """The t and sigma schedules (docs/method.md §1-2), from `config.method`."""
        return [
            AnnealVariable(lambda model: model.barrier_t, factor=method_config.t_factor, maximum=method_config.t_max),
            AnnealVariable(
                lambda model: model.soft_mask.sigma,
                increment=method_config.sigma_increment,
                maximum=method_config.sigma_max,
            ),
        ]

    def training_state(self):
        return f"t = {float(self.barrier_t.numpy()):.4f}, sigma = {float(self.soft_mask.sigma.numpy()):.4f}"

    # === Forward passes ===

    def localize(self, normalized_images, training=False):
        """Localizer M: its logits (B, K) and the soft mask M+ (B, H, W)."""
        features = self.backbone(normalized_images, training=training)
        scores, class_maps = self.localizer_head(features, training=training)
        scores = tf.cast(scores, tf.float32)
        posterior = tf.nn.softmax(scores, axis=-1)
        # A = sum_k p_M[k] A_k, a differentiable "winning class map" (paper §3.3a).
        foreground_map = tf.reduce_sum(tf.cast(class_maps, tf.float32) * posterior[:, None, None, :], axis=-1)
        # Each cell back over the pixels it was computed from (not half a cell down-right of them).
        upsampled = upsample_maps(foreground_map, tf.shape(normalized_images)[1:3])
        return scores, self.soft_mask(upsampled)

    def classify(self, normalized_images, training=False):
        """Classifier C on (masked) normalised images: logits (B, K) in float32."""
        if self.classifier_scale != 1.0:
            size = tf.cast(tf.shape(normalized_images)[1:3], tf.float32) * self.classifier_scale
            size = tf.maximum(tf.cast(tf.round(size), tf.int32), 1)
            # In float32 (its output is float32 anyway): under XLA, ResizeBilinearGrad of a 16-bit
            # image returns float32 where the graph expects 16 bits, and the step fails to compile.
            normalized_images = tf.image.resize(tf.cast(normalized_images, tf.float32), size, method="bilinear")
        # training=False only changes what batch normalisation normalises by; gradients still flow.
        features = self.backbone(normalized_images, training=training and self.masked_batch_norm == "batch")
        scores, _ = self.classifier_head(features, training=training)
        return tf.cast(scores, tf.float32)

    def call(self, images, training=False):
        normalized = self.normalization(images)
        localizer_scores, foreground_mask = self.localize(normalized, training=training)
        foreground_images = normalized * tf.cast(tf.expand_dims(foreground_mask, -1), normalized.dtype)
        classifier_scores = self.classify(foreground_images, training=training)
        return {
            "probabilities": tf.nn.softmax(classifier_scores, axis=-1),
            "mask": foreground_mask,
            "localizer_probabilities": tf.nn.softmax(localizer_scores, axis=-1),
        }

    # === Training ===

    def compute_losses(self, images, labels, masks=None, training=False):
        """All terms of paper Eq. 7 (batch means, float32), as `MethodModel.compute_losses` returns them.

        `terms` holds the unweighted `localizer_ce`, `foreground_ce`,
        `background` (R, when enabled) and `size` (when enabled); `scores` the
        logits of C on X+ (`accuracy`) and of M on X (`localizer_accuracy`).
        """
        del masks  # image labels only
        normalized = self.normalization(images)
        localizer_scores, foreground_mask = self.localize(normalized, training=training)
        mask = tf.cast(tf.expand_dims(foreground_mask, -1), normalized.dtype)
        regularizer = BACKGROUND_TERMS[self.background]
        classifier_scores = self.classify(normalized * mask, training=training)
        if regularizer is not None:
            # X- in its own pass, as the reference code: batch normalisation sees X+ and X- apart.
            # (One batched pass of both was 9 % slower per step on a 2-core CPU: 4.38 vs 4.02 s.)
            background_scores = self.classify(normalized * (1.0 - mask), training=training)

        terms = {
            "localizer_ce": tf.reduce_mean(losses.cross_entropy(labels, localizer_scores)),
            "foreground_ce": tf.reduce_mean(losses.cross_entropy(labels, classifier_scores)),
        }
        total = terms["localizer_ce"] + terms["foreground_ce"]
        if regularizer is not None:
            terms["background"] = tf.reduce_mean(regularizer(background_scores))
            total += self.background_weight * terms["background"]
        if self.size_constraint:
            terms["size"] = tf.reduce_mean(
                losses.size_balance(foreground_mask, self.barrier_t, normalize=self.normalize_sizes)
            )
            total += terms["size"]
        return total, terms, {"accuracy": classifier_scores, "localizer_accuracy": localizer_scores}

    def adjust_gradients(self, gradients):
        if self.head_learning_rate_multiplier == 1.0:
            return gradients
        heads = {id(variable) for variable in self.localizer_head.trainable_variables}
        heads |= {id(variable) for variable in self.classifier_head.trainable_variables}
        return [
            gradient * self.head_learning_rate_multiplier if id(variable) in heads else gradient
            for gradient, variable in zip(gradients, self.trainable_variables)
        ]

    def step_logs(self):
        # The schedules' current values, so the progress bar and logs show them.
        return {"t": tf.identity(self.barrier_t), "sigma": tf.identity(self.soft_mask.sigma)}

    # === Config ===

    def get_config(self):
        return {
            **super().get_config(),
            "wildcat": self.wildcat,
            "omega": self.omega,
            "sigma": self.sigma,
            "background": self.background,
            "background_weight": self.background_weight,
            "size_constraint": self.size_constraint,
            "normalize_sizes": self.normalize_sizes,
            "barrier_t": self.initial_barrier_t,
            "classifier_scale": self.classifier_scale,
            "head_learning_rate_multiplier": self.head_learning_rate_multiplier,
            "masked_batch_norm": self.masked_batch_norm,
        }
