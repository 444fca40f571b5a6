"""export.benchmark measures every deployable form (a smoke test on a tiny shape; no timing asserted)."""

from export.benchmark import FORMATS, format_table, measure
from mmu_tf.workdir import load_workdir


def test_measure_covers_every_form_and_shape(trained_workdir):
    model, data_config = load_workdir(trained_workdir[0])
    shapes = {"48x64": (64, 48)}
    results = measure(model, data_config, repeats=1, shapes=shapes)
    assert tuple(results) == FORMATS
    for row in results.values():
        assert row["size_mb"] > 0 and row["48x64_ms"] > 0
    # The quantised model stores int8 weights: well under the float one.
    assert results["tflite_dynamic"]["size_mb"] < results["tflite_float"]["size_mb"] / 3
    table = format_table(results, shapes)
    assert table.count("\n") == len(FORMATS) + 1 and "| tflite_dynamic |" in table
