"""Models: the shared backbone, the Max-Min method, and the baselines of paper Table 1.

Each method registers its model class under its `--config.method.name`
(`mmu_tf.models.registry`); `build_model` asks the class to build itself from
the run's config.
"""

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
from mmu_tf.models.registry import method_class, method_names
from mmu_tf.models.unet import UNetModel

# Every --config.method.name, once every model module above has registered its own.
METHODS = method_names()


def build_model(config, class_names):
    """The model `config.method.name` names, built by its class from the run's `config`.

    Every model takes float RGB images in [0, 1] and returns at least
    `{"probabilities": (B, K), "mask": (B, H, W)}`.
    """
    name = config.method.name
    problems = method_class(name).config_problems(config, mode="build")
    if problems:
        raise ValueError("; ".join(problems))
    return method_class(name).from_run_config(config, list(class_names), name)


__all__ = [
    "METHODS",
    "AllOnesModel",
    "ClassActivationModel",
    "DeepMilModel",
    "ErasingModel",
    "GradCamModel",
    "LocalizationMapModel",
    "MaxMinModel",
    "MethodModel",
    "PresenceConstraintModel",
    "RefineModel",
    "UNetModel",
    "build_backbone",
    "build_model",
    "method_class",
]
