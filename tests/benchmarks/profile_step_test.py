"""The profile summary groups the executor's ops by phase, model part and op type."""

import pytest

from benchmarks.profile_step import format_report, phase_of, summarize


def test_phase_of_names_backward_optimizer_and_forward_ops():
    assert phase_of("gradient_tape/res_net_backbone_1/conv1/Conv2DBackpropInput", "Conv2DBackpropInput") == "backward"
    assert phase_of("sgd/Mul_3", "Mul") == "optimizer update"
    assert phase_of("res_net_backbone_1/conv1/convolution", "Conv2D") == "forward"


def test_summarize_labels_backbone_passes_in_order_of_appearance_and_sums_by_type():
    ops = [
        ("res_net_backbone_1/conv/convolution", "Conv2D", 1.0),
        ("res_net_backbone_3/conv/convolution", "Conv2D", 2.0),
        ("localizer_head/conv", "Conv2D", 0.5),
        ("gradient_tape/res_net_backbone_3/conv/Conv2DBackpropInput", "Conv2DBackpropInput", 4.0),
        ("gradient_tape/res_net_backbone_1/conv/Conv2DBackpropFilter", "Conv2DBackpropFilter", 3.0),
        ("sgd/Mul", "Mul", 0.25),
        ("Mean_2", "Mean", 0.25),
    ]
    by_phase, by_part, by_type = summarize(ops, ["pass on X", "pass on X+ and X-"])
    assert by_phase == {"forward": 3.75, "backward": 7.0, "optimizer update": 0.25}
    assert by_part["pass on X"] == {"forward": 1.0, "backward": 3.0}
    assert by_part["pass on X+ and X-"] == {"forward": 2.0, "backward": 4.0}
    assert by_part["WILDCAT heads"] == {"forward": 0.5}
    assert by_part["optimizer"] == {"optimizer update": 0.25}
    assert by_part["losses, mask, resizing, metrics"] == {"forward": 0.25}
    assert by_type["Conv2D"] == 3.5
    report = format_report(by_phase, by_part, by_type, wall_seconds_per_step=10.0, steps=1, settings="test")
    assert "| backward | 7.000 | 63.6 |" in report  # 7 of 11 s of op time
    assert report.index("pass on X+ and X-") < report.index("| pass on X |")  # largest part first


@pytest.mark.parametrize("missing", ["forward", "backward"])
def test_a_part_without_a_phase_reports_zero(missing):
    ops = (
        [("res_net_backbone_1/c", "Conv2D", 1.0)]
        if missing == "backward"
        else [("gradient_tape/res_net_backbone_1/c", "Conv2DBackpropInput", 1.0)]
    )
    by_phase, by_part, by_type = summarize(ops, ["pass"])
    report = format_report(by_phase, by_part, by_type, 1.0, 1, "test")
    assert "| pass | " in report and "0.000" in report
