r"""Where the time of one Max-Min training step goes: the TensorFlow profiler, summarised.

    python -m benchmarks.profile_step --output=runs/profile [--size=416 --batch_size=4 --steps=3]

Traces `--steps` training steps (after two untimed ones) with
`tf.profiler.experimental`, keeps the trace in OUTPUT/trace (open it with
TensorBoard's profile plugin), and reads it back: every TensorFlow op the
executor ran, with its duration, is grouped

- by phase: forward, backward (ops under `gradient_tape/`), optimizer update;
- by part of the model: each backbone pass (the localizer's on X, then the
  classifier's on X+ and on X-), the heads, the rest;
- by op type (Conv2D, Conv2DBackpropFilter, ...).

Writes OUTPUT/profile.md and OUTPUT/profile.json. Op times are summed over
the executor's threads: when two ops overlap their sum exceeds the wall
time, so the tables give shares of the summed op time as well as seconds.
"""

import collections
import glob
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402


def executor_ops(xplane_path):
    """`[(name, op type, seconds)]` of the ops the TensorFlow executor ran, from an .xplane.pb file."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as handle:
        space.ParseFromString(handle.read())
    ops = []
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                metadata = plane.event_metadata[event.metadata_id]
                # Op events are named "scope/op_name:OpType"; "A::B" events are the executor's own.
                if ":" in metadata.name and "::" not in metadata.name:
                    name, op_type = metadata.name.rsplit(":", 1)
                    ops.append((name, op_type, event.duration_ps * 1e-12))
    return ops


def phase_of(name, op_type):
    if name.startswith("gradient_tape/"):
        return "backward"
    if name.split("/")[0].lower() in ("sgd", "optimizer", "loss_scale_optimizer") or op_type.startswith(
        "ResourceApply"
    ):
        return "optimizer update"
    return "forward"


def summarize(ops, backbone_labels):
    """Tables (dicts of seconds) by phase, by model part and phase, and by op type."""
    by_phase = collections.Counter()
    by_part = collections.defaultdict(collections.Counter)
    by_type = collections.Counter()
    backbone_scopes = []
    for name, op_type, seconds in ops:
        phase = phase_of(name, op_type)
        scopes = name.split("/")
        scope = scopes[1] if phase == "backward" and len(scopes) > 1 else scopes[0]
        if scope.startswith(("res_net_backbone", "efficient_net_backbone")):
            if scope not in backbone_scopes:
                backbone_scopes.append(scope)
            index = backbone_scopes.index(scope)
            part = backbone_labels[index] if index < len(backbone_labels) else f"backbone pass {index + 1}"
        elif "head" in scope:
            part = "WILDCAT heads"
        elif phase == "optimizer update":
            part = "optimizer"
        else:
            part = "losses, mask, resizing, metrics"
        by_phase[phase] += seconds
        by_part[part][phase] += seconds
        by_type[op_type] += seconds
    return by_phase, by_part, by_type


def _share(seconds, total):
    return f"{seconds:.3f} | {100 * seconds / total:.1f}"


def format_report(by_phase, by_part, by_type, wall_seconds_per_step, steps, settings):
    total = sum(by_phase.values())
    lines = [
        "# Profile of the Max-Min training step",
        "",
        f"{settings}. {steps} steps traced; wall time {wall_seconds_per_step:.3f} s per step; "
        f"executor op time {total / steps:.3f} s per step (summed over threads).",
        "",
        "| phase | s per step | % of op time |",
        "|---|---|---|",
        *(f"| {phase} | {_share(seconds / steps, total / steps)} |" for phase, seconds in by_phase.most_common()),
        "",
        "| part of the model | forward s | backward s | total s per step | % of op time |",
        "|---|---|---|---|---|",
    ]
    parts = sorted(by_part.items(), key=lambda item: -sum(item[1].values()))
    for part, phases in parts:
        part_total = sum(phases.values())
        lines.append(
            f"| {part} | {phases['forward'] / steps:.3f} | {phases['backward'] / steps:.3f} | "
            f"{_share(part_total / steps, total / steps)} |"
        )
    lines += ["", "| op type | s per step | % of op time |", "|---|---|---|"]
    for op_type, seconds in by_type.most_common(12):
        lines.append(f"| {op_type} | {_share(seconds / steps, total / steps)} |")
    return "\n".join(lines) + "\n"


# Ops whose dtype says where the arithmetic happens (their `T` attribute).
COMPUTE_OPS = (
    "Conv2D",
    "Conv2DBackpropInput",
    "Conv2DBackpropFilter",
    "DepthwiseConv2dNative",
    "DepthwiseConv2dNativeBackpropInput",
    "DepthwiseConv2dNativeBackpropFilter",
    "MatMul",
    "BatchMatMulV2",
    "FusedBatchNormV3",
    "FusedBatchNormGradV3",
    "ResizeBilinear",
    "ResizeBilinearGrad",
)


def graph_op_counts(function, *arguments):
    """`Counter` of the `Cast` ops (by source -> destination dtype) and compute ops (by dtype) in the
    graph `function` (a `tf.function`) traces for `arguments`, nested functions included.

    The traced graph is the same on every CPU, so these counts can be taken where
    bfloat16 is only emulated.
    """
    counts = collections.Counter()

    def walk(graph):
        for operation in graph.get_operations():
            if operation.type == "Cast":
                source, destination = operation.get_attr("SrcT").name, operation.get_attr("DstT").name
                counts[f"Cast {source} -> {destination}"] += 1
            elif operation.type in COMPUTE_OPS:
                counts[f"{operation.type} {operation.get_attr('T').name}"] += 1
        for nested in graph._functions.values():
            walk(nested.graph)

    walk(function.get_concrete_function(*arguments).graph)
    return counts


def count_ops_report(model, images, labels, settings):
    """A Markdown table of `graph_op_counts` for the training step and for inference."""
    import tensorflow as tf

    train = graph_op_counts(tf.function(lambda x, y: model.train_step((x, y))), images, labels)
    infer = graph_op_counts(tf.function(lambda x: model(x, training=False)), images)
    lines = [f"# Casts and compute ops in the traced graphs ({settings})", "", "| op | train step | inference |"]
    lines.append("|---|---|---|")
    for key in sorted(set(train) | set(infer)):
        lines.append(f"| {key} | {train[key]} | {infer[key]} |")
    casts = [sum(value for key, value in counts.items() if key.startswith("Cast")) for counts in (train, infer)]
    lines.append(f"| **all casts** | **{casts[0]}** | **{casts[1]}** |")
    return "\n".join(lines) + "\n"


def define_flags():
    """Defines this command's flags (at run time, so importing the module defines none)."""
    flags.DEFINE_string("output", "runs/profile", "Folder for the trace and the summary.")
    flags.DEFINE_integer("size", 416, "Training image side.")
    flags.DEFINE_integer("batch_size", 4, "Training batch size.")
    flags.DEFINE_integer("steps", 3, "Training steps traced.")
    flags.DEFINE_string("precision", "float32", "float32 | bfloat16 | float16 | auto.")
    flags.DEFINE_enum("backbone", "resnet18", ["resnet18", "efficientnet_lite0"], "The backbone (random weights).")
    flags.DEFINE_bool(
        "count_ops", False, "Instead of profiling: count the casts and compute ops (by dtype) of the traced graphs."
    )


def main(argv):
    del argv
    import keras
    import numpy as np
    import tensorflow as tf

    from mmu_tf.configs.common import base_config
    from mmu_tf.models import MaxMinModel, build_backbone
    from mmu_tf.precision import set_precision

    if flags.FLAGS.steps < 1 or flags.FLAGS.size < 32 or flags.FLAGS.batch_size < 1:
        raise app.UsageError("--steps and --batch_size must be >= 1 and --size >= 32")
    policy = set_precision(flags.FLAGS.precision, flags.FLAGS.backbone)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((flags.FLAGS.batch_size, flags.FLAGS.size, flags.FLAGS.size, 3), np.float32))
    labels = tf.constant(np.arange(flags.FLAGS.batch_size) % 2)
    arguments = MaxMinModel.run_arguments(base_config(), "maxmin")  # GlaS's settings
    model = MaxMinModel(build_backbone(flags.FLAGS.backbone), num_classes=2, **arguments)
    model.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9, nesterov=True))
    if flags.FLAGS.count_ops:
        model(images[:1])
        report = count_ops_report(model, images, labels, f"policy {policy}, {flags.FLAGS.backbone}")
        os.makedirs(flags.FLAGS.output, exist_ok=True)
        with open(os.path.join(flags.FLAGS.output, "op_counts.md"), "w") as handle:
            handle.write(report)
        print(report)
        return
    for _ in range(2):
        model.train_on_batch(images, labels)
    trace = os.path.join(flags.FLAGS.output, "trace")
    os.makedirs(trace, exist_ok=True)
    tf.profiler.experimental.start(trace)
    start = time.perf_counter()
    for _ in range(flags.FLAGS.steps):
        model.train_on_batch(images, labels)
    wall = (time.perf_counter() - start) / flags.FLAGS.steps
    tf.profiler.experimental.stop()
    newest = max(glob.glob(os.path.join(trace, "**", "*.xplane.pb"), recursive=True), key=os.path.getmtime)
    by_phase, by_part, by_type = summarize(
        executor_ops(newest),
        ["backbone on X (localizer M)", "backbone on X+ (classifier C, 0.8 scale)", "backbone on X- (C, 0.8 scale)"],
    )
    settings = (
        f"Batch {flags.FLAGS.batch_size}, {flags.FLAGS.size}x{flags.FLAGS.size}, policy {policy}, "
        f"random {flags.FLAGS.backbone} weights, {os.cpu_count()} CPU cores"
    )
    report = format_report(by_phase, by_part, by_type, wall, flags.FLAGS.steps, settings)
    with open(os.path.join(flags.FLAGS.output, "profile.md"), "w") as handle:
        handle.write(report)
    with open(os.path.join(flags.FLAGS.output, "profile.json"), "w") as handle:
        json.dump(
            {
                "wall_seconds_per_step": wall,
                "steps": flags.FLAGS.steps,
                "by_phase_seconds": dict(by_phase),
                "by_part_seconds": {part: dict(phases) for part, phases in by_part.items()},
                "by_op_type_seconds": dict(by_type),
            },
            handle,
            indent=2,
        )
    print(report)
    print(f"Trace in {trace} (TensorBoard, profile plugin); summary in {flags.FLAGS.output}/profile.md")


if __name__ == "__main__":
    define_flags()
    app.run(main)
