"""Models: the shared backbone and the Max-Min method."""

from mmu_tf.models.backbones import build_backbone
from mmu_tf.models.max_min import MaxMinModel

METHODS = ("maxmin",)


def build_model(config, class_names):
    """The model `config.method.name` names, built from `config.model` and `config.method`."""
    if config.method.name not in METHODS:
        raise ValueError(f"`--config.method.name` must be one of {METHODS}. Received: {config.method.name!r}")
    backbone = build_backbone(config.model.backbone, config.model.pretrained)
    return MaxMinModel(
        backbone,
        num_classes=len(class_names),
        class_names=list(class_names),
        modalities=config.model.modalities,
        kmax=config.model.kmax,
        kmin=config.model.kmin,
        alpha=config.model.alpha,
        dropout=config.model.dropout,
        omega=config.method.omega,
        sigma=config.method.sigma,
        background=config.method.background,
        background_weight=config.method.background_weight,
        size_constraint=config.method.size_constraint,
        normalize_sizes=config.method.normalize_sizes,
        barrier_t=config.method.t,
        classifier_scale=config.method.classifier_scale,
    )


__all__ = ["METHODS", "MaxMinModel", "build_backbone", "build_model"]
