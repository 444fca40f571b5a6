"""Models: the shared backbone, the Max-Min method, and the baselines of paper Table 1."""

from mmu_tf.models.all_ones import AllOnesModel
from mmu_tf.models.backbones import build_backbone
from mmu_tf.models.class_activation import ClassActivationModel
from mmu_tf.models.deep_mil import DeepMilModel
from mmu_tf.models.erasing import ErasingModel
from mmu_tf.models.grad_cam import GradCamModel
from mmu_tf.models.max_min import MaxMinModel
from mmu_tf.models.presence_constraints import PresenceConstraintModel
from mmu_tf.models.unet import UNetModel
from mmu_tf.models.weakly_supervised import WeaklySupervisedModel

# --config.method.name -> the pooling of a ClassActivationModel.
CAM_POOLINGS = {"cam_avg": "avg", "cam_max": "max", "cam_lse": "lse", "wildcat": "wildcat"}
METHODS = ("maxmin", *CAM_POOLINGS, "gradcam", "deep_mil", "erase", "pn", "unet", "all_ones")
# The methods whose training batches carry the true masks (full supervision).
METHODS_WITH_MASKS = ("unet",)


def build_model(config, class_names):
    """The model `config.method.name` names, on the backbone of `config.model`.

    Every model takes float RGB images in [0, 1] and returns at least
    `{"probabilities": (B, K), "mask": (B, H, W)}`.
    """
    name = config.method.name
    if name not in METHODS:
        raise ValueError(f"`--config.method.name` must be one of {METHODS}. Received: {name!r}")
    common = dict(num_classes=len(class_names), class_names=list(class_names))
    if name == "all_ones":
        return AllOnesModel(**common)
    backbone = build_backbone(
        config.model.backbone, config.model.pretrained, config.model.frozen_batch_norm, config.model.output_stride
    )
    wildcat = dict(
        modalities=config.model.modalities,
        kmax=config.model.kmax,
        kmin=config.model.kmin,
        alpha=config.model.alpha,
        dropout=config.model.dropout,
    )
    if name in CAM_POOLINGS:
        return ClassActivationModel(
            backbone, pooling=CAM_POOLINGS[name], lse_sharpness=config.method.lse_sharpness, **common, **wildcat
        )
    if name == "gradcam":
        return GradCamModel(backbone, **common)
    if name == "erase":
        return ErasingModel(backbone, erase_fraction=config.method.erase_fraction, **common, **wildcat)
    if name == "pn":
        return PresenceConstraintModel(backbone, penalty_weight=config.method.pn_penalty_weight, **common, **wildcat)
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
        **wildcat,
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
    "METHODS_WITH_MASKS",
    "AllOnesModel",
    "ClassActivationModel",
    "DeepMilModel",
    "ErasingModel",
    "GradCamModel",
    "MaxMinModel",
    "PresenceConstraintModel",
    "UNetModel",
    "WeaklySupervisedModel",
    "build_backbone",
    "build_model",
]
