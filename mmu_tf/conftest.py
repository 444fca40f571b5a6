"""The names every docstring example may use without importing them (pytest's doctest namespace)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    import keras
    import tensorflow as tf

    from mmu_tf.models.backbones import build_backbone

    doctest_namespace.update(np=np, tf=tf, keras=keras, os=os, build_backbone=build_backbone)
