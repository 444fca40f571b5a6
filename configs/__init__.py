"""ml-collections configs: `python train_main.py --config=configs/<name>.py`."""
