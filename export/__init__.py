"""Exporters (installed as `mmu_tf.export`): TF-Serving SavedModels and LiteRT models."""
