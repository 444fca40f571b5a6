"""Evaluation: the paper's metrics, the evaluation loop, and pictures of the masks."""
