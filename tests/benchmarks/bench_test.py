"""The benchmark's helpers give real figures (no speed is asserted: speed goals live in the benchmark)."""

import numpy as np

from benchmarks import bench


def test_peak_rss_follows_an_allocation():
    bench._reset_peak_rss()
    before = bench._peak_rss_mb()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, touched
    assert bench._peak_rss_mb() >= before + 50
    del block


def test_measure_pipeline_reads_and_augments_glas_sized_bmps():
    decode_per_s, pipeline_per_s = bench.measure_pipeline(batch_size=2, num_images=4, epochs=1)
    assert decode_per_s > 0 and pipeline_per_s > 0
