"""The paper's Camelyon16-P512 protocol (METHOD.md §1, §5).

Its data loader is not written yet: the numbers are here so runs can be
planned; `data.name=csv` with a CSV split folder trains on patches today.
"""

from configs import common


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
    config.model.modalities = 4
    config.model.kmax = 0.1
    config.model.kmin = 0.1
    config.model.alpha = 0.6
    config.model.dropout = 0.1
    config.method.t = 10.0
    config.method.t_factor = 1.1
    config.method.t_max = 30.0
    # lr 1e-3 divided by 10 at half of training (the classifier's 10x is not implemented yet).
    config.optimizer.decay_factor = 0.1
    config.optimizer.decay_epochs = 10
    return config
