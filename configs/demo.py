"""The embedded default: generated histology-like images, no download, minutes on a CPU.

python train_main.py --config=configs/demo.py --workdir=runs/demo
"""

from mmu_tf.configs import common


def get_config():
    config = common.base_config()
    config.epochs = 10
    config.batch_size = 8
    config.data.name = "synthetic"
    config.data.num_images = {"train": 128, "valid": 40, "test": 40}
    config.data.synthetic_size = 160
    config.data.resize_mode = "none"
    config.data.crop_size = 0
    config.data.brightness = 0.2
    config.data.contrast = 0.2
    config.data.saturation = 0.2
    config.data.hue = 0.02
    config.data.rotate90 = True
    # Sizes as fractions of the image and a lambda that matters: with the
    # paper's raw pixel sums and lambda = 1e-7 both terms are close to inert.
    config.method.normalize_sizes = True
    config.method.background_weight = 0.1
    config.optimizer.learning_rate = 1e-2
    config.eval.batch_size = 20
    config.eval.tensorboard_images_every = 2
    return config
