"""ml-collections configs (installed as `mmu_tf.configs`): `python train_main.py --config=configs/<name>.py`."""
