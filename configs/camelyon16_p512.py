r"""The paper's Camelyon16-P512 protocol (docs/method.md §1, §5).

    python train_main.py --config=configs/camelyon16_p512.py --workdir=runs/camelyon \
        --config.data.root=/path/to/camelyon16_p512

The folder holds train.csv, valid.csv and test.csv with rows
`relative_image,relative_mask_or_empty,label`, labels normal / tumor; a normal
patch has no mask and its truth is all background. Without the real patches,
`python -m tools.make_camelyon_standin --output=DIR` writes generated
ones with the same conventions. To stream from shards instead of memory:
`python -m mmu_tf.data.make_shards --config=configs/camelyon16_p512.py
--config.data.root=DIR --split=train --output=SHARDS` (each split), then
`--config.data.shards=SHARDS`.
"""

from mmu_tf.configs import common


def get_config():
    config = common.base_config()
    config.epochs = 20
    config.batch_size = 8
    config.data.name = "csv"
    config.data.class_names = ("normal", "tumor")
    config.data.resize_mode = "none"
    config.data.crop_size = 416  # 512x512 patches, random 416 crop
    config.data.rotate90 = True
    config.data.brightness = 0.5
    config.data.contrast = 0.5
    config.data.saturation = 0.5
    config.data.hue = 0.05
    config.data.f1_rule = "camelyon"
    config.data.missing_mask = "background"
    config.model.modalities = 4
    config.model.kmax = 0.1
    config.model.kmin = 0.1
    config.model.alpha = 0.6
    config.model.dropout = 0.1
    config.method.t = 10.0
    config.method.t_factor = 1.1
    config.method.t_max = 30.0
    # lr 1e-3 divided by 10 at half of training; the classifier part (the WILDCAT heads) at 10x.
    config.optimizer.decay_factor = 0.1
    config.optimizer.decay_epochs = 10
    config.optimizer.head_learning_rate_multiplier = 10.0
    return config
