"""ml-collections configs (installed as `mmu_tf.configs`): `python train_main.py --config=configs/<name>.py`."""

import os

# The config file a command uses when given none: the embedded synthetic data.
DEFAULT_CONFIG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.py")
