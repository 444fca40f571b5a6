"""Running trained models: the predictor every entry point uses, the input checks, the LiteRT wrapper."""

from mmu_tf.inference.input_checks import InputError
from mmu_tf.inference.predictor import Predictor

__all__ = ["InputError", "Predictor"]
