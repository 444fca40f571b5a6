"""Keras layers of the Max-Min method (WILDCAT pooling, the soft mask) and of its baselines."""

from mmu_tf.layers.class_wise_pooling import ClassWisePooling
from mmu_tf.layers.log_sum_exp_pooling import LogSumExpPooling
from mmu_tf.layers.soft_mask import SoftMask
from mmu_tf.layers.wildcat_head import WildcatHead
from mmu_tf.layers.wildcat_pooling import WildcatPooling

__all__ = ["ClassWisePooling", "LogSumExpPooling", "SoftMask", "WildcatHead", "WildcatPooling"]
