"""The benchmark's helpers give real figures (no speed is asserted: speed goals live in the benchmark)."""

import gc
import mmap
import os

import pytest

from mmu_tf import bench


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads VmRSS from /proc, which only Linux has")
def test_peak_rss_follows_an_allocation():
    # Fresh anonymous pages from the kernel, each touched: an allocation through malloc may reuse
    # pages the process already holds (CI saw a 64 MiB numpy array raise the resident size by 12 MiB),
    # and the worker may free memory between the reset and the allocation, so the peak is compared
    # with the resident size just before the allocation.
    size = 64 * 2**20
    gc.collect()
    bench._reset_peak_rss()
    resident_before = bench._process_status_mb("VmRSS")
    block = mmap.mmap(-1, size)
    block.write(b"\1" * size)
    assert bench._peak_rss_mb() >= resident_before + 50
    block.close()


def test_measure_pipeline_reads_and_augments_glas_sized_bmps():
    decode_per_s, pipeline_per_s = bench.measure_pipeline(batch_size=2, num_images=4, epochs=1)
    assert decode_per_s > 0 and pipeline_per_s > 0
    _, stain_per_s = bench.measure_pipeline(batch_size=2, num_images=4, epochs=1, stain=0.05)
    assert stain_per_s > 0
