"""What every command line shares: flag parsing that fails in one line, and running `main`."""

import re
import sys

from absl import app, flags


def parse_flags(argv):
    """absl's flag parsing, with a mistyped `--config.<field>` reported in one line.

    ml-collections raises an `AttributeError` (not a flags error) for an
    override naming a field the config lacks; absl would print its whole
    traceback with the hint at the end.
    """
    try:
        return flags.FLAGS(argv)
    except flags.Error as error:
        print(f"error: {error}", file=sys.stderr)
        print("Pass --helpfull to see every flag.", file=sys.stderr)
        sys.exit(2)
    except (AttributeError, KeyError) as error:
        # The message arrives as a repr of a repr: "'\\'field\\'\\nDid you mean ...'".
        text = " ".join(str(error).replace("\\n", " ").replace("\\", "").split())
        field = re.search(r"'([^'\s]+)'", text)
        name = field.group(1) if field else ""
        named = [argument.split("=")[0] for argument in argv[1:] if name and name in argument.split("=")[0]]
        hint = re.search(r"Did you mean [^?]*\?", text)
        print(
            f"error: {named[0] if named else 'a --config override'}: no such config field"
            + (f" ({hint.group(0)})" if hint else ""),
            file=sys.stderr,
        )
        sys.exit(2)


def run_main(main):
    """`app.run(main)` with `parse_flags`."""
    app.run(main, flags_parser=parse_flags)
