"""Writes the torch-made checkpoints `tests/weights/data/*.pth` that the checkpoint reader's tests read.

Run once with PyTorch installed (the tests themselves do not need it):

    python tools/make_torch_fixtures.py tests/weights/data

Every value is an arange, so the tests check them by hand. The file holds what
real checkpoints do: a nested state dict beside other entries, a transposed
(non-contiguous) view, a slice with a storage offset, two tensors sharing one
storage, float16 / bfloat16 / int64 / bool tensors, a 0-d tensor, and an
object of an arbitrary class (which the reader must not instantiate).
"""

import argparse
import os
import sys

import torch


def fixture():
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    shared = torch.arange(10, dtype=torch.float32)
    state = {
        "conv.weight": base,
        "conv.transposed": base.t(),
        "conv.slice": shared[2:6],
        "conv.shared_tail": shared[6:],
        "half": torch.arange(4, dtype=torch.float16) / 2,
        "bfloat": torch.tensor([1.5, -2.0, 3.25], dtype=torch.bfloat16),
        "bn.num_batches_tracked": torch.tensor(7, dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
    }
    return {"epoch": 3, "state_dict": state, "args": argparse.Namespace(lr=0.1)}


def main(folder):
    os.makedirs(folder, exist_ok=True)
    torch.save(fixture(), os.path.join(folder, "torch_zip.pth"))
    torch.save(fixture(), os.path.join(folder, "torch_legacy.pth"), _use_new_zipfile_serialization=False)
    print(f"Wrote {folder}/torch_zip.pth and torch_legacy.pth with torch {torch.__version__}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/weights/data")
