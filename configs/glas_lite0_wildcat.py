r"""GlaS: WILDCAT on the offline ImageNet EfficientNet-Lite0, the second teacher of `configs/glas_lite0_refine.py`.

    python train_main.py --config=configs/glas_lite0_wildcat.py --workdir=runs/glas_lite0_wildcat

`configs/glas_lite0.py` (the paper's GlaS protocol on Lite0) with the WILDCAT method (a CAM head,
no Max-Min terms), trained at the learning rate of the paper's baselines (`configs/reproduction.py`)
for 20 epochs. Its mask ranks gland pixels better than Max-Min's but covers a quarter of their
area; as a teacher beside Max-Min it lifts the refined mask (docs/results.md). Measured on GlaS
valid (2026-12-03, 2-core CPU, float32, 485 s): error 0.00, F1+ 30.88, F1- 66.82, pixel AUC 69.18,
PxAP 67.32, predicted / true foreground 0.13 / 0.49.
"""

from mmu_tf.configs import glas_lite0


def get_config():
    config = glas_lite0.get_config()
    config.method.name = "wildcat"
    config.optimizer.learning_rate = 1e-2
    config.epochs = 20
    return config
