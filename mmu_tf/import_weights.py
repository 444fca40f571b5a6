r"""Turns a PyTorch backbone checkpoint into a keras-hub preset folder, offline.

    python -m mmu_tf.import_weights --checkpoint=resnet18-f37072fd.pth --architecture=resnet18 \
        --output=presets/resnet18_imagenet
    python train_main.py --config=configs/glas.py --workdir=runs/glas \
        --config.model.pretrained=presets/resnet18_imagenet

Reads `.pth` files in both of torch's formats (zip, and the legacy one of
torch < 1.6) and `.safetensors`, without PyTorch and without running any code
from the file; renames the tensors to timm's names (torchvision's ResNets
already use them; the `efficientnet_pytorch` naming of EfficientNets is
translated); checks every tensor against what keras-hub's converter for the
architecture reads, failing with the names that do not fit; writes
`config.json` + `model.safetensors`; and loads the folder back with
`keras_hub.models.Backbone.from_preset` to prove it. The ImageNet classifier,
when the checkpoint has one, is kept (`keras_hub.models.ImageClassifier`
loads it); training uses the backbone alone.
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402

from mmu_tf.cli import run_main  # noqa: E402
from mmu_tf.weights.presets import ARCHITECTURES  # noqa: E402


def define_flags():
    flags.DEFINE_string(
        "checkpoint", None, "The PyTorch checkpoint: .pth / .pt / .bin (zip or legacy) or .safetensors."
    )
    flags.DEFINE_enum(
        "architecture",
        None,
        sorted(ARCHITECTURES),
        "The network the checkpoint holds, in timm's naming (torchvision's resnet18 is timm's resnet18).",
    )
    flags.DEFINE_string("output", None, "The preset folder to write (replaced if it exists).")


def import_weights(checkpoint, architecture, output):
    """Converts, writes and reloads; returns the lines to print."""
    import keras_hub

    from mmu_tf.weights.presets import write_preset

    start = time.perf_counter()
    summary = write_preset(checkpoint, architecture, output)
    backbone = keras_hub.models.Backbone.from_preset(output)
    return [
        f"Read {checkpoint}: {summary['tensors']} tensors fit `{architecture}` "
        f"({summary['parameters']:,} parameters; ImageNet classifier: "
        f"{'kept' if summary['imagenet_classifier'] else 'none in the checkpoint'}).",
        f"Wrote the preset {output} (config.json, model.safetensors, source.json) and loaded it back: "
        f"{type(backbone).__name__}, {backbone.count_params():,} backbone parameters "
        f"({time.perf_counter() - start:.1f} s).",
        f"Train on it with --config.model.pretrained={output}",
    ]


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    for name in ("checkpoint", "architecture", "output"):
        if not getattr(flags.FLAGS, name):
            raise app.UsageError(f"--{name} is required")
    try:
        lines = import_weights(flags.FLAGS.checkpoint, flags.FLAGS.architecture, flags.FLAGS.output)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    print("\n".join(lines))


def run():
    define_flags()
    run_main(main)


if __name__ == "__main__":
    run()
