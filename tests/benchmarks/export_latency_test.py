"""benchmarks.export_latency measures the deployable forms (a smoke test on a tiny shape; no timing asserted).

The TFLite forms are left out here: their conversion is slow and tested in tflite_test.py.
"""

from benchmarks.export_latency import FORMATS, format_table, measure
from mmu_tf.workdir import load_workdir


def test_measure_covers_every_form_and_shape(trained_workdir):
    model, data_config = load_workdir(trained_workdir[0])
    shapes = {"48x64": (64, 48)}
    formats = ("keras_eager", "keras_compiled", "saved_model")
    results = measure(model, data_config, repeats=1, shapes=shapes, formats=formats)
    assert tuple(results) == formats and set(formats) < set(FORMATS)
    for row in results.values():
        assert row["size_mb"] > 0 and row["48x64_ms"] > 0
    table = format_table(results, shapes)
    assert table.count("\n") == len(formats) + 1 and "| saved_model |" in table
