"""The flags every exporter shares."""

from absl import app, flags


def define_workdir_flags(output_help):
    """Defines --workdir, --output and --checkpoint (called by each command, not at import)."""
    flags.DEFINE_string("workdir", None, "A training workdir (holding checkpoints/best.keras).")
    flags.DEFINE_string("output", None, output_help)
    flags.DEFINE_enum("checkpoint", "best", ["best", "last"], "Which checkpoint of the workdir.")


def check_workdir_flags(argv):
    """Rejects stray arguments and missing --workdir / --output."""
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if not flags.FLAGS.workdir or not flags.FLAGS.output:
        raise app.UsageError("--workdir and --output are required")
