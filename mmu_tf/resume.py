"""Resuming a training workdir: whether its settings are the run's, and its history cut back to the backup."""

import csv
import json
import os


def changed_fields(saved, current, defaults, prefix=""):
    """Dotted names of the config fields whose values differ (all three dicts from config JSON).

    A field the saved config lacks was added to the code after that run
    started; it is not a change when it holds its default (`defaults`: the
    base config, as JSON).

    Example:
    >>> changed_fields({"seed": 0}, {"seed": 1, "new": 2}, {"seed": 0, "new": 2})
    ['seed: 0 -> 1']
    """
    changed = []
    for key in sorted(set(saved) | set(current)):
        old, new = saved.get(key), current.get(key)
        default = defaults.get(key) if isinstance(defaults, dict) else None
        if key not in saved and isinstance(defaults, dict) and key in defaults and new == default:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            changed += changed_fields(old, new, default if isinstance(default, dict) else {}, f"{prefix}{key}.")
        elif old != new:
            changed.append(f"{prefix}{key}: {old!r} -> {new!r}")
    return changed


def check_resumable(current, workdir, defaults):
    """Refuses to resume a workdir whose `config.json` holds other settings than `current` (only `epochs` may grow).

    `current` and `defaults` are configs as JSON dicts; raises `ValueError` naming the changed fields.
    """
    path = os.path.join(workdir, "config.json")
    if not os.path.isfile(path):
        return
    with open(path) as handle:
        saved = json.load(handle)
    changed = [field for field in changed_fields(saved, current, defaults) if not field.startswith("epochs:")]
    if changed:
        raise ValueError(
            f"--workdir {workdir} holds a run with other settings ({'; '.join(changed)}): "
            "resume it with the same flags, or train in a new --workdir"
        )


def truncate_history(path, epochs):
    """Keeps the header and the rows of epochs < `epochs` (a resumed run redoes the rest)."""
    if not os.path.isfile(path):
        return
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    kept = [rows[0]] + [row for row in rows[1:] if row and int(row[0]) < epochs]
    with open(path, "w", newline="") as handle:
        csv.writer(handle).writerows(kept)


def saved_config(workdir, defaults, overrides=None):
    """The config a workdir was trained with (its `config.json` over `defaults`), then `overrides`.

    `defaults` is the base ConfigDict (fields added to the code after the run
    keep their defaults); `overrides` a flat `{"data.root": ...}` dict (the
    command line's `--config.<field>` flags). Raises `ValueError` without a
    readable `config.json`.

    Example:
    >>> import ml_collections, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(os.path.join(folder, "config.json"), "w").write('{"data": {"name": "glas", "splits": ["a"]}}')
    >>> base = ml_collections.ConfigDict({"data": {"name": "synthetic", "splits": ("b",), "root": ""}})
    >>> config = saved_config(folder, base, {"data.root": "/data"})
    >>> config.data.name, config.data.splits, config.data.root
    ('glas', ('a',), '/data')
    """
    path = os.path.join(workdir, "config.json")
    try:
        with open(path) as handle:
            saved = json.load(handle)
    except (OSError, ValueError) as error:
        raise ValueError(f"--workdir: cannot read its config.json ({error})") from None

    def merge(target, values):
        for key, value in values.items():
            if key not in target:
                continue  # a field the code no longer has
            current = target[key]
            if hasattr(current, "keys") and isinstance(value, dict):
                merge(current, value)
            elif isinstance(current, tuple) and isinstance(value, list):
                target[key] = tuple(value)
            else:
                target[key] = value

    config = defaults
    with config.unlocked():
        merge(config, saved)
    if overrides:
        config.update_from_flattened_dict(overrides)
    return config
