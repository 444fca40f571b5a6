"""Full-resolution masks from image labels: a decoder on a trained model's pyramid, taught by its mask."""

import os

import keras
import tensorflow as tf

from mmu_tf import losses
from mmu_tf.layers.area_downsampling import area_downsample
from mmu_tf.layers.hole_filling import fill_holes
from mmu_tf.layers.map_upsampling import upsample_maps
from mmu_tf.layers.otsu_threshold import otsu_threshold
from mmu_tf.layers.pyramid_decoder import PyramidDecoder
from mmu_tf.models.base import MethodModel
from mmu_tf.models.pseudo_labels import (
    away_from_border,
    confident_regions,
    per_image_ranks,
    ranked_with_prior,
    sample_pixels,
)
from mmu_tf.models.registry import register_method


def pyramid_of(backbone, levels):
    """A functional model from `backbone`'s input to its pyramid `levels` (the same layers and weights)."""
    pyramid = getattr(backbone, "pyramid_outputs", None) or {}
    missing = [level for level in levels if level not in pyramid]
    if missing:
        raise ValueError(
            f"`--config.method.teacher`: the teacher's backbone has no pyramid levels {missing} "
            f"(it has {sorted(pyramid) or 'none'}); a teacher trained with `model.feature_level=P5` on a "
            "keras-hub backbone has P2..P5"
        )
    return keras.Model(backbone.inputs, [pyramid[level] for level in levels], name="teacher_pyramid")


def freeze(model):
    """Makes every layer and variable of `model` non-trainable; returns it.

    `model.trainable = False` alone is not enough here: a model rebuilt from a
    checkpoint (`mmu_tf.precision.as_float32`) can hold a backbone whose inner
    layers kept `trainable=True`, and their variables then reach an enclosing
    model's `trainable_variables`.
    """
    model.trainable = False
    for layer in model._flatten_layers(include_self=True, recursive=True):
        layer.trainable = False
    for variable in model.variables:
        variable.trainable = False
    return model


# The evaluation resize a teacher must share with the run it teaches (its masks are of those images).
TEACHER_SHARED_DATA = ("resize_mode", "resize_short_side", "image_size")


def teacher_workdirs(config):
    """The workdirs of `config.method.teacher`: one, or several separated by commas (the first says the class)."""
    return [path.strip() for path in config.method.teacher.split(",") if path.strip()]


def load_teachers(config, class_names):
    """The trained models of `config.method.teacher`, each checked against this run's data."""
    workdirs = teacher_workdirs(config)
    if not workdirs:
        raise ValueError("--config.method.teacher: the refine method needs the workdir of a trained model")
    return [load_teacher(workdir, config.data, class_names) for workdir in workdirs]


def load_teacher(workdir, data_config, class_names, flag="--config.method.teacher"):
    """The trained model of the workdir `workdir`, checked against the data it is to teach on.

    Raises `ValueError`, in one line starting with `flag`, where the workdir is
    missing, was trained on other resizes (`TEACHER_SHARED_DATA`) or classifies
    other classes than `class_names`.
    """
    from mmu_tf.workdir import load_workdir

    try:
        teacher, teacher_data = load_workdir(workdir)
    except FileNotFoundError as error:
        raise ValueError(f"{flag}: {error}") from error
    for key in TEACHER_SHARED_DATA:
        ours, theirs = data_config[key], teacher_data[key]
        if ours != theirs:
            raise ValueError(
                f"{flag}: {workdir} was trained with data.{key}={theirs!r}, this run has "
                f"{ours!r}; the teacher's masks must be of the images this run sees"
            )
    if list(teacher.class_names or []) != list(class_names):
        raise ValueError(f"{flag}: {workdir} classifies {teacher.class_names}, this run's data has {list(class_names)}")
    return teacher


def combined_teacher_scores(teacher_masks, grid_size):
    """The teachers' scores `(B, h, w)` on the decoder's grid: one mask area-averaged, several ranks averaged.

    Several teachers' masks differ in scale (Max-Min's is a sigmoid near its
    size bounds, WILDCAT's a few bright cells), so each is replaced by its
    per-image ranks (`per_image_ranks`) and the ranks are averaged: a cell both
    rank high is a confident seed, a cell only one ranks high is not.

    Example:
    >>> one = tf.constant([[[0.9, 0.1], [0.2, 0.3]]])
    >>> other = tf.constant([[[0.1, 0.2], [0.3, 0.9]]])
    >>> combined_teacher_scores([one, other], [2, 2]).numpy().tolist()
    [[[0.375, 0.125], [0.375, 0.625]]]
    """
    if not isinstance(teacher_masks, (list, tuple)):
        teacher_masks = [teacher_masks]
    scores = [area_downsample(tf.cast(mask, tf.float32)[..., None], grid_size)[..., 0] for mask in teacher_masks]
    if len(scores) == 1:
        return scores[0]
    return tf.add_n([per_image_ranks(score) for score in scores]) / float(len(scores))


def mean_mask_logits(logits):
    """The logits of the mean of several masks `sigmoid(logits[i])`, each `(B, h, w)`, in float32.

    The mean is clipped to 1e-6 of 0 and 1, so the logits stay finite.

    Example: the masks 0.5 and 0.75 average to 0.625, whose logit is log(5 / 3).
    >>> mean_mask_logits([tf.zeros([1, 1, 1]), tf.fill([1, 1, 1], float(np.log(3.0)))]).numpy().round(4).tolist()
    [[[0.5108]]]
    """
    masks = [tf.sigmoid(tf.cast(one, tf.float32)) for one in logits]
    mean = tf.clip_by_value(tf.add_n(masks) / float(len(masks)), 1e-6, 1.0 - 1e-6)
    return tf.math.log(mean) - tf.math.log1p(-mean)


# Where a refined mask's 0.5 lies (`RefineModel(threshold=...)`).
MASK_THRESHOLDS = ("fixed", "otsu")


@register_method("refine")
@keras.saving.register_keras_serializable(package="mmu_tf")
class RefineModel(MethodModel):
    """A trained model with a full-resolution mask learned from its own mask (docs/method.md §8).

    The teacher (any method of this package, Max-Min by default) is frozen and
    kept as the classifier: its class probabilities are this model's, so
    classification is exactly the teacher's. A `PyramidDecoder` reads the
    classifier backbone's finer pyramid levels (strides 4-32) and predicts a
    foreground logit per stride-4 cell, trained from image labels only (the
    teacher saw only those) with

        L = PCE(z; F, B) + lambda_s E_bilateral(sigmoid(z), X) + lambda_a [psi_t(-s+) + psi_t(-s-)]

    - PCE, `losses.partial_binary_cross_entropy`: on pseudo labels, each
      image's `foreground_fraction` of cells the teacher scores highest (F) and
      `background_fraction` lowest (B), every other cell ignored
      (`confident_regions`); with `seed_pixels > 0`, that many of each drawn
      afresh at every step (`sample_pixels`), so the decoder cannot copy the
      teacher's blob outline;
    - E_bilateral, `losses.bilateral_smoothness`: nearby cells of similar
      colour share a label, which moves the outline onto the image's edges;
    - the log-barrier size terms of the paper (Eq. 10-11, sizes as fractions of
      the image): the mask can neither vanish nor fill the image.

    `call` returns `probabilities` (the classifier's), `mask` (`sigmoid` of the
    decoder's logits, with `fill_holes` and `threshold` applied, upsampled to the input with `upsample_maps`) and
    `classifier_mask`: one pass of the classifier and one of the decoder. The
    loss is computed at the decoder's resolution, the image and the teacher's
    mask area-averaged to it.

    With `decoder_count > 1`, that many decoders read the same pyramid (one
    backbone pass), each initialised and seeded apart and trained on the sum of
    their losses (so each learns as it would alone); the returned mask is the
    mean of their masks (`combined_mask_logits`): where decoders of different
    seeds disagree, the mean stays near 0.5, and a seed's luck averages out.

    A refined model can teach again: its classifier becomes this one's (the
    chain never grows at inference), its mask gives the seeds while training.

    Args:
        teacher: a trained model of this package (`mmu_tf.workdir.load_workdir`),
            whose backbone has `pyramid_outputs`, or a `RefineModel`.
        num_classes, class_names: the teacher's (checked when given).
        more_teachers: other trained models whose masks join the teacher's in
            the seeds (`combined_teacher_scores`); training only, never saved.
        levels: the pyramid levels the decoder reads, finest first.
        decoder_channels: the decoder's width.
        decoder_count: how many decoders, whose masks are averaged.
        foreground_fraction, background_fraction: the seed rule's shares.
        seed_pixels: seeds drawn per region, image and step; 0: every cell of the regions.
        border_margin: cells along the image border that never seed (`away_from_border`).
        prior_weights: empty, or one weight per class: the seeds of an image of
            class k rank its cells by `(1 - w_k) rank(teacher) + w_k rank(H)`,
            H its haematoxylin density (`mmu_tf.data.stain.haematoxylin_density`,
            smoothed over `prior_sigma` cells), an appearance prior the image
            label chooses (weak supervision: only labels are read).
        smoothness_weight, smoothness_radius, smoothness_sigma_xy, smoothness_sigma_rgb:
            lambda_s and the bilateral window (cells of the loss grid, RGB in [0, 1]).
        size_weight, barrier_t: lambda_a and the log barrier's t.
        fill_holes: the returned mask with every dip the decoder's map encloses
            raised to its rim's level (`mmu_tf.layers.hole_filling`): a gland's
            pale lumen inside its nucleus-dense rim. Inference only.
        threshold: where the returned mask's 0.5 lies: "fixed" (the decoder's own)
            or "otsu" (each image's Otsu threshold, `mask_logits`). Inference only.
        seed: the seed of the pixel draws.

    Example:
    >>> from mmu_tf.models.class_activation import ClassActivationModel
    >>> from mmu_tf.configs.common import base_config
    >>> config = base_config()
    >>> settings = ClassActivationModel.run_arguments(config, "wildcat")  # pooling, wildcat
    >>> teacher = ClassActivationModel(build_backbone("resnet18"), num_classes=2, **settings)
    >>> model = RefineModel(teacher, seed=0, **config.method.refine)
    >>> outputs = model(np.zeros((1, 64, 64, 3), "float32"))
    >>> outputs["probabilities"].shape, outputs["mask"].shape
    (TensorShape([1, 2]), TensorShape([1, 64, 64]))
    """

    loss_terms = ("seed_cross_entropy", "smoothness", "size", "foreground_fraction")

    @classmethod
    def from_run_config(cls, config, class_names, name):
        teacher, *more_teachers = load_teachers(config, class_names)
        return cls(
            teacher,
            num_classes=len(class_names),
            more_teachers=more_teachers,
            class_names=list(class_names),
            seed=config.seed,
            **config.method.refine,
        )

    @classmethod
    def config_problems(cls, config, mode):
        workdirs = teacher_workdirs(config)
        if config.method.refine.threshold not in MASK_THRESHOLDS:
            return [
                f"--config.method.refine.threshold must be one of {MASK_THRESHOLDS} "
                f"(got {config.method.refine.threshold!r})"
            ]
        trained = [os.path.isfile(os.path.join(workdir, "checkpoints", "best.keras")) for workdir in workdirs]
        if mode == "train" and (not workdirs or not all(trained)):
            return [
                "--config.method.teacher must name a trained workdir (its checkpoints/best.keras; several "
                f"separated by commas) for --config.method.name=refine (got {config.method.teacher!r})"
            ]
        return []

    def __init__(
        self,
        teacher,
        num_classes=None,
        class_names=None,
        more_teachers=(),
        *,
        levels,
        decoder_channels,
        foreground_fraction,
        background_fraction,
        seed_pixels,
        border_margin,
        prior_weights,
        prior_sigma,
        smoothness_weight,
        smoothness_radius,
        smoothness_sigma_xy,
        smoothness_sigma_rgb,
        size_weight,
        barrier_t,
        seed,
        decoder_count=1,
        fill_holes=False,
        threshold="fixed",
        **kwargs,
    ):
        # A refined model teaches again (its mask is the finer one); the class stays its classifier's.
        classifier = teacher.class_model()
        if num_classes is not None and int(num_classes) != classifier.num_classes:
            raise ValueError(f"`num_classes` {num_classes} differs from the teacher's {classifier.num_classes}")
        super().__init__(None, classifier.num_classes, class_names or classifier.class_names, **kwargs)
        if not (0.0 < foreground_fraction < 1.0 and 0.0 < background_fraction < 1.0):
            raise ValueError(
                "`foreground_fraction` and `background_fraction` must be in (0, 1). "
                f"Received: {foreground_fraction}, {background_fraction}"
            )
        if foreground_fraction + background_fraction > 1.0:
            raise ValueError(
                f"`foreground_fraction` + `background_fraction` must be <= 1. Received: "
                f"{foreground_fraction} + {background_fraction}"
            )
        if int(decoder_count) < 1:
            raise ValueError(f"`decoder_count` must be >= 1. Received: {decoder_count}")
        if int(seed_pixels) < 0 or int(smoothness_radius) < 1:
            raise ValueError(
                f"`seed_pixels` must be >= 0 and `smoothness_radius` >= 1. Received: {seed_pixels}, {smoothness_radius}"
            )
        self.classifier = freeze(classifier)
        freeze(teacher)
        for other in more_teachers:
            if other.num_classes != classifier.num_classes:
                raise ValueError(
                    f"`more_teachers`: a teacher of {other.num_classes} classes for a model of {classifier.num_classes}"
                )
            freeze(other)
        self.levels = tuple(levels)
        self.decoder_channels = int(decoder_channels)
        self.decoder_count = int(decoder_count)
        self.foreground_fraction = float(foreground_fraction)
        self.background_fraction = float(background_fraction)
        self.seed_pixels = int(seed_pixels)
        self.border_margin = int(border_margin)
        self.prior_weights = tuple(float(weight) for weight in prior_weights)
        self.prior_sigma = float(prior_sigma)
        if self.prior_weights and (
            len(self.prior_weights) != self.num_classes or not all(0.0 <= w <= 1.0 for w in self.prior_weights)
        ):
            raise ValueError(
                f"`prior_weights` must be empty or one weight in [0, 1] per class ({self.num_classes}). "
                f"Received: {prior_weights}"
            )
        self.smoothness_weight = float(smoothness_weight)
        self.smoothness_radius = int(smoothness_radius)
        self.smoothness_sigma_xy = float(smoothness_sigma_xy)
        self.smoothness_sigma_rgb = float(smoothness_sigma_rgb)
        self.size_weight = float(size_weight)
        self.barrier_t = float(barrier_t)
        self.seed = int(seed)
        if threshold not in MASK_THRESHOLDS:
            raise ValueError(f"`threshold` must be one of {MASK_THRESHOLDS}. Received: {threshold!r}")
        self.fill_holes = bool(fill_holes)
        self.threshold = threshold
        # Kept out of Keras's tracking, so no checkpoint holds them: the pyramid's layers are the
        # classifier's backbone (saved once, with it), and the teacher serves training only (a
        # refined teacher's own classifier is the classifier, and a run rebuilds its teacher
        # from `config.method.teacher`; a loaded model is its own teacher).
        object.__setattr__(self, "_pyramid", pyramid_of(classifier.backbone, self.levels))
        object.__setattr__(self, "teacher", teacher)
        object.__setattr__(self, "more_teachers", tuple(more_teachers))
        # The first decoder keeps its name (a one-decoder checkpoint's weights are found where they were).
        self.decoder = PyramidDecoder(self.decoder_channels, name="decoder")
        self.more_decoders = [
            PyramidDecoder(self.decoder_channels, name=f"decoder_{index}") for index in range(1, self.decoder_count)
        ]

    def class_model(self):
        """The teacher's classifier this model keeps: the one that says the class."""
        return self.classifier

    @property
    def decoders(self):
        """Every decoder, the first first."""
        return [self.decoder, *self.more_decoders]

    def build(self, input_shape):
        # The decoders' input shapes come from the pyramid.
        self.normalization.build(input_shape)
        for decoder in self.decoders:
            if not decoder.built:
                decoder.build([tuple(level.shape) for level in self._pyramid.outputs])
        self.built = True

    # === Forward passes ===

    def foreground_logits(self, images, training=False):
        """Every decoder's foreground logits `(B, h, w)` at the finest level, float32, of images in [0, 1].

        A list, the first decoder's first: one pass of the pyramid for all.
        """
        levels = self._pyramid(self.normalization(images), training=False)
        return [decoder(levels, training=training) for decoder in self.decoders]

    def combined_mask_logits(self, decoder_logits):
        """The logits `(B, h, w)` of the returned mask: each decoder's `mask_logits`, their masks averaged."""
        if len(decoder_logits) == 1:
            return self.mask_logits(decoder_logits[0])
        return mean_mask_logits([self.mask_logits(logits) for logits in decoder_logits])

    def mask_logits(self, logits):
        """The decoder's logits `(B, h, w)` as the returned mask reads them: holes filled, 0.5 moved.

        With `threshold="otsu"` each image's logits are shifted by the logit of
        its Otsu threshold (of the probabilities), so `mask >= 0.5` is the image's
        Otsu foreground: a shift per image, so its pixels' ranking is unchanged.
        """
        if self.fill_holes:
            logits = fill_holes(logits)
        if self.threshold == "otsu":
            level = tf.clip_by_value(otsu_threshold(tf.sigmoid(logits)), 1e-4, 1.0 - 1e-4)
            logits = logits - tf.reshape(tf.math.log(level / (1.0 - level)), [-1, 1, 1])
        return logits

    def call(self, images, training=False):
        classifier_outputs = self.classifier(images, training=False)
        logits = self.combined_mask_logits(self.foreground_logits(images, training=training))
        return {
            "probabilities": classifier_outputs["probabilities"],
            "mask": tf.sigmoid(upsample_maps(logits, tf.shape(images)[1:3])),
            "classifier_mask": classifier_outputs["mask"],
        }

    # === Training ===

    def pseudo_labels(self, teacher_mask, grid_size, small_images=None, labels=None):
        """Bool seed regions `(foreground, background)` `(B, h, w)` on the decoder's grid, from the teacher's mask.

        `teacher_mask`: one mask `(B, H, W)`, or a list of several teachers'
        masks, whose per-image ranks are averaged (`combined_teacher_scores`).
        With `prior_weights`, `small_images` (the images on the grid, RGB in [0, 1])
        and the image `labels` give the appearance prior its share. What each
        decoder trains on at a step is `drawn_seeds` of these.
        """
        scores = combined_teacher_scores(teacher_mask, grid_size)
        if small_images is not None and labels is not None:
            scores = ranked_with_prior(scores, small_images, labels, self.prior_weights, self.prior_sigma)
        foreground, background = confident_regions(scores, self.foreground_fraction, self.background_fraction)
        return away_from_border(foreground, self.border_margin), away_from_border(background, self.border_margin)

    def drawn_seeds(self, regions, decoder_index):
        """The seeds decoder `decoder_index` trains on at this step: `regions` or, with `seed_pixels`, a draw of them.

        A fresh draw at every step (the optimizer's step count, so the same on a
        resumed run) and for every decoder (each its own pair of draws).
        """
        foreground, background = regions
        if not self.seed_pixels:
            return foreground, background
        draw = 2 * (self.decoder_count * tf.cast(self.optimizer.iterations, tf.int32) + decoder_index)
        foreground = sample_pixels(foreground, self.seed_pixels, tf.stack([self.seed, draw]))
        background = sample_pixels(background, self.seed_pixels, tf.stack([self.seed, draw + 1]))
        return foreground, background

    def compute_losses(self, images, labels, masks=None, training=False):
        del masks  # never read: the pseudo labels are the teacher's
        # The teacher's class is the classifier's (a refined teacher returns its classifier's).
        teacher_outputs = self.teacher(images, training=False)
        teacher_masks = [teacher_outputs["mask"]] + [
            other(images, training=False)["mask"] for other in self.more_teachers
        ]
        decoder_logits = self.foreground_logits(images, training=training)
        grid_size = tf.shape(decoder_logits[0])[1:3]
        small_images = area_downsample(images, grid_size)
        regions = self.pseudo_labels(teacher_masks, grid_size, small_images, labels)
        # Each decoder's loss on its own draw; their sum (each decoder's gradient is its own loss's).
        loss, terms = 0.0, {}
        for index, logits in enumerate(decoder_logits):
            seeds = self.drawn_seeds(regions, index) if training else regions
            decoder_loss, decoder_terms = self.decoder_losses(logits, seeds, small_images)
            loss += decoder_loss
            for name, value in decoder_terms.items():
                terms[name] = terms.get(name, 0.0) + value / float(len(decoder_logits))
        # The teacher's class scores, for the accuracy the logs show (log p: logits up to a constant).
        scores = tf.math.log(tf.maximum(tf.cast(teacher_outputs["probabilities"], tf.float32), 1e-12))
        return loss, terms, {"accuracy": scores}

    def decoder_losses(self, logits, seeds, small_images):
        """One decoder's loss and its terms (`loss_terms`; the decoders' mean is logged)."""
        foreground, background = seeds
        probabilities = tf.sigmoid(logits)
        terms = {
            "seed_cross_entropy": tf.reduce_mean(losses.partial_binary_cross_entropy(logits, foreground, background)),
            "smoothness": tf.reduce_mean(
                losses.bilateral_smoothness(
                    probabilities,
                    small_images,
                    self.smoothness_radius,
                    self.smoothness_sigma_xy,
                    self.smoothness_sigma_rgb,
                )
            ),
            "size": tf.reduce_mean(losses.size_balance(probabilities, self.barrier_t, normalize=True)),
            "foreground_fraction": tf.reduce_mean(tf.cast(probabilities >= 0.5, tf.float32)),
        }
        loss = (
            terms["seed_cross_entropy"]
            + self.smoothness_weight * terms["smoothness"]
            + self.size_weight * terms["size"]
        )
        return loss, terms

    # === Config ===

    def get_config(self):
        config = super().get_config()
        config.pop("backbone")
        return {
            **config,
            "classifier": keras.saving.serialize_keras_object(self.classifier),
            "levels": list(self.levels),
            "decoder_channels": self.decoder_channels,
            "decoder_count": self.decoder_count,
            "foreground_fraction": self.foreground_fraction,
            "background_fraction": self.background_fraction,
            "seed_pixels": self.seed_pixels,
            "border_margin": self.border_margin,
            "prior_weights": list(self.prior_weights),
            "prior_sigma": self.prior_sigma,
            "smoothness_weight": self.smoothness_weight,
            "smoothness_radius": self.smoothness_radius,
            "smoothness_sigma_xy": self.smoothness_sigma_xy,
            "smoothness_sigma_rgb": self.smoothness_sigma_rgb,
            "size_weight": self.size_weight,
            "barrier_t": self.barrier_t,
            "seed": self.seed,
            "fill_holes": self.fill_holes,
            "threshold": self.threshold,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        classifier = keras.saving.deserialize_keras_object(config.pop("classifier"))
        return cls(classifier, **config)
