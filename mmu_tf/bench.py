"""`python -m mmu_tf.bench` runs the throughput benchmark, which lives in `benchmarks/bench.py`."""

from benchmarks.bench import run

if __name__ == "__main__":
    run()
