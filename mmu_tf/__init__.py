"""mmu_tf: weakly-supervised classification and segmentation of histology
images by Max-Min uncertainty (Belharbi et al., IEEE TMI 2021), in Keras 3."""

__version__ = "0.1.0"
