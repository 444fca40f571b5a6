r"""Trains, selects and evaluates a model from a checkout: the command of `mmu_tf.train`.

    python train_main.py --config=configs/demo.py --workdir=runs/demo
    python train_main.py --config=configs/glas.py --workdir=runs/glas --config.data.root=/path/to/glas

Installed, the same command is `mmu-train` or `python -m mmu_tf.train`; `--help` lists the flags.
"""

from mmu_tf.train import run

if __name__ == "__main__":
    run()
