"""Data: GlaS, CSV datasets, the embedded synthetic default, and tf.data pipelines."""
