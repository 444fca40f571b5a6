r"""The paper's GlaS protocol (docs/method.md §1-5): 80 epochs, batch 4, SEM, lambda 1e-7.

    python train_main.py --config=configs/glas.py --workdir=runs/glas \
        --config.data.root=/path/to/glas
"""

import os

from mmu_tf.configs import common

# Where the GlaS release is unpacked: the MMU_GLAS_ROOT environment variable, else data/glas under
# the working directory; --config.data.root overrides both. (The repository's Makefile points
# MMU_GLAS_ROOT at the team's copy.)
DEFAULT_ROOT = os.environ.get("MMU_GLAS_ROOT", os.path.join("data", "glas"))


def get_config():
    config = common.base_config()
    config.epochs = 80
    config.batch_size = 4
    config.data.name = "glas"
    config.data.root = os.path.normpath(DEFAULT_ROOT)
    # (ref): short side to 432, random 416x416 crop; flips; colour jitter.
    config.data.resize_mode = "short_side"
    config.data.resize_short_side = 432
    config.data.crop_size = 416
    config.data.brightness = 0.5
    config.data.contrast = 0.5
    config.data.saturation = 0.5
    config.data.hue = 0.05
    config.model.modalities = 5
    config.model.kmax = 0.3
    config.model.kmin = 0.0
    config.model.dropout = 0.1
    config.method.background = "sem"
    config.method.background_weight = 1e-7
    config.eval.batch_size = 1
    return config
