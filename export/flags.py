"""The flags every exporter shares."""

from absl import app, flags


def define_workdir_flags(output_help):
    """Defines --workdir, --output, --checkpoint, --max_image_pixels (called by each command, not at import)."""
    flags.DEFINE_string("workdir", None, "A training workdir (holding checkpoints/best.keras).")
    flags.DEFINE_string("output", None, output_help)
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"], "Which checkpoint of the workdir.")
    flags.DEFINE_integer(
        "max_image_pixels",
        None,
        "The largest image (pixels) the exported model accepts (default: the training config's "
        "data.max_image_pixels, 25,000,000, or 2048 x 2048 for a model that runs at the image's own "
        "resolution, data.resize_mode=none, whose memory grows with the image).",
        lower_bound=1,
    )


def ensure_writable_folder(folder, flag):
    """Creates `folder` if needed; raises `OSError` naming `flag` when it cannot be written."""
    import os

    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        raise OSError(f"{flag}: cannot create {folder} ({error.strerror})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OSError(f"{flag}: {folder} is not writable")


def check_workdir_flags(argv):
    """Rejects stray arguments and missing --workdir / --output."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.workdir or not flags.FLAGS.output:
        raise app.UsageError("--workdir and --output are required")
