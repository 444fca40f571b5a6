"""Exporters: TF-Serving SavedModels (and, next, TFLite / LiteRT models)."""
