"""Models: the shared backbone, the Max-Min method, and the baselines of paper Table 1."""

from mmu_tf.layers.wildcat_head import WILDCAT_DEFAULTS
from mmu_tf.models.all_ones import AllOnesModel
from mmu_tf.models.backbones import build_backbone
from mmu_tf.models.base import MethodModel
from mmu_tf.models.class_activation import ClassActivationModel
from mmu_tf.models.deep_mil import DeepMilModel
from mmu_tf.models.erasing import ErasingModel
from mmu_tf.models.grad_cam import GradCamModel
from mmu_tf.models.localization_map import LocalizationMapModel
from mmu_tf.models.max_min import MaxMinModel
from mmu_tf.models.presence_constraints import PresenceConstraintModel
from mmu_tf.models.refine import RefineModel
from mmu_tf.models.unet import UNetModel

# --config.method.name -> the pooling of a ClassActivationModel.
CAM_POOLINGS = {"cam_avg": "avg", "cam_max": "max", "cam_lse": "lse", "wildcat": "wildcat"}
# --config.method.name -> the class of its model.
METHOD_CLASSES = {
    "maxmin": MaxMinModel,
    **{name: ClassActivationModel for name in CAM_POOLINGS},
    "gradcam": GradCamModel,
    "deep_mil": DeepMilModel,
    "erase": ErasingModel,
    "pn": PresenceConstraintModel,
    "unet": UNetModel,
    "all_ones": AllOnesModel,
    "refine": RefineModel,
}
METHODS = tuple(METHOD_CLASSES)


def method_class(name):
    """The model class of `--config.method.name`; its class attributes (`needs_masks`, ...) need no model."""
    if name not in METHOD_CLASSES:
        raise ValueError(f"`--config.method.name` must be one of {METHODS}. Received: {name!r}")
    return METHOD_CLASSES[name]


# The evaluation resize a teacher must share with the run it teaches (its masks are of those images).
TEACHER_SHARED_DATA = ("resize_mode", "resize_short_side", "image_size")


def load_teacher(config, class_names):
    """The trained model of `config.method.teacher` (a workdir), checked against this run's data."""
    from mmu_tf.workdir import load_workdir

    workdir = config.method.teacher
    if not workdir:
        raise ValueError("--config.method.teacher: the refine method needs the workdir of a trained model")
    try:
        teacher, teacher_data = load_workdir(workdir)
    except FileNotFoundError as error:
        raise ValueError(f"--config.method.teacher: {error}") from error
    for key in TEACHER_SHARED_DATA:
        ours = config.data[key]
        theirs = teacher_data.get(key)
        if (list(ours) if isinstance(ours, (tuple, list)) else ours) != theirs:
            raise ValueError(
                f"--config.method.teacher: {workdir} was trained with data.{key}={theirs!r}, this run has "
                f"{ours!r}; the teacher's masks must be of the images this run sees"
            )
    if list(teacher.class_names or []) != list(class_names):
        raise ValueError(
            f"--config.method.teacher: {workdir} classifies {teacher.class_names}, "
            f"this run's data has {list(class_names)}"
        )
    return teacher


def build_model(config, class_names):
    """The model `config.method.name` names, on the backbone of `config.model`.

    Every model takes float RGB images in [0, 1] and returns at least
    `{"probabilities": (B, K), "mask": (B, H, W)}`.
    """
    name = config.method.name
    method_class(name)
    common = dict(num_classes=len(class_names), class_names=list(class_names))
    if name == "all_ones":
        return AllOnesModel(**common)
    if name == "refine":
        return RefineModel(load_teacher(config, class_names), **common, seed=config.seed, **config.method.refine)
    feature_level = config.model.get("feature_level", "P5")
    if name == "unet" and feature_level != "P5":
        raise ValueError("`model.feature_level` must be 'P5' for U-Net: its decoder reads the whole pyramid")
    backbone = build_backbone(
        config.model.backbone,
        config.model.pretrained,
        config.model.frozen_batch_norm,
        config.model.output_stride,
        feature_level,
    )
    # The WILDCAT head's settings live flat in `config.model` (the command-line flags), one dict here.
    wildcat = {key: config.model[key] for key in WILDCAT_DEFAULTS}
    if name in CAM_POOLINGS:
        return ClassActivationModel(
            backbone, pooling=CAM_POOLINGS[name], lse_sharpness=config.method.lse_sharpness, wildcat=wildcat, **common
        )
    if name == "gradcam":
        return GradCamModel(backbone, **common)
    if name == "erase":
        return ErasingModel(backbone, erase_fraction=config.method.erase_fraction, wildcat=wildcat, **common)
    if name == "pn":
        return PresenceConstraintModel(
            backbone, penalty_weight=config.method.pn_penalty_weight, wildcat=wildcat, **common
        )
    if name == "unet":
        return UNetModel(backbone, **common)
    if name == "deep_mil":
        return DeepMilModel(
            backbone,
            embedding_size=config.method.mil_embedding_size,
            attention_size=config.method.mil_attention_size,
            **common,
        )
    return MaxMinModel(
        backbone,
        **common,
        wildcat=wildcat,
        omega=config.method.omega,
        sigma=config.method.sigma,
        background=config.method.background,
        background_weight=config.method.background_weight,
        size_constraint=config.method.size_constraint,
        normalize_sizes=config.method.normalize_sizes,
        barrier_t=config.method.t,
        classifier_scale=config.method.classifier_scale,
        head_learning_rate_multiplier=config.optimizer.get("head_learning_rate_multiplier", 1.0),
        masked_batch_norm=config.method.masked_batch_norm,
    )


__all__ = [
    "METHODS",
    "METHOD_CLASSES",
    "AllOnesModel",
    "ClassActivationModel",
    "DeepMilModel",
    "ErasingModel",
    "GradCamModel",
    "MaxMinModel",
    "MethodModel",
    "PresenceConstraintModel",
    "RefineModel",
    "UNetModel",
    "LocalizationMapModel",
    "build_backbone",
    "build_model",
    "method_class",
]
