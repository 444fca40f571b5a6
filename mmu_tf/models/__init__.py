"""Models: the shared backbone, the Max-Min method, and the baselines of paper Table 1."""

from mmu_tf.models.backbones import build_backbone
from mmu_tf.models.class_activation import ClassActivationModel
from mmu_tf.models.deep_mil import DeepMilModel
from mmu_tf.models.grad_cam import GradCamModel
from mmu_tf.models.max_min import MaxMinModel
from mmu_tf.models.weakly_supervised import WeaklySupervisedModel

# --config.method.name -> the pooling of a ClassActivationModel.
CAM_POOLINGS = {"cam_avg": "avg", "cam_max": "max", "cam_lse": "lse", "wildcat": "wildcat"}
METHODS = ("maxmin", *CAM_POOLINGS, "grad_cam", "deep_mil")


def build_model(config, class_names):
    """The model `config.method.name` names, on the backbone of `config.model`.

    Every model takes float RGB images in [0, 1] and returns at least
    `{"probabilities": (B, K), "mask": (B, H, W)}`.
    """
    name = config.method.name
    if name not in METHODS:
        raise ValueError(f"`--config.method.name` must be one of {METHODS}. Received: {name!r}")
    backbone = build_backbone(config.model.backbone, config.model.pretrained)
    common = dict(num_classes=len(class_names), class_names=list(class_names))
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
    if name == "grad_cam":
        return GradCamModel(backbone, **common)
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
    )


__all__ = [
    "METHODS",
    "ClassActivationModel",
    "DeepMilModel",
    "GradCamModel",
    "MaxMinModel",
    "WeaklySupervisedModel",
    "build_backbone",
    "build_model",
]
