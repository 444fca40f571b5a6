"""Reading torch checkpoints without torch: files written by torch itself, hostile and broken files."""

import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from mmu_tf.weights.checkpoint_reader import CheckpointError, read_checkpoint

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.mark.parametrize("name", ["torch_zip.pth", "torch_legacy.pth"])
def test_reads_what_torch_save_wrote_in_both_formats(name):
    # Written by tools/make_torch_fixtures.py with torch 2.13 (every value an arange).
    state = read_checkpoint(os.path.join(DATA, name))
    base = np.arange(12, dtype="float32").reshape(3, 4)
    np.testing.assert_array_equal(state["conv.weight"], base)
    np.testing.assert_array_equal(state["conv.transposed"], base.T)  # a non-contiguous view
    np.testing.assert_array_equal(state["conv.slice"], [2, 3, 4, 5])  # storage offset 2
    np.testing.assert_array_equal(state["conv.shared_tail"], [6, 7, 8, 9])  # same storage, offset 6
    assert state["half"].dtype == np.float16
    np.testing.assert_array_equal(state["half"], [0.0, 0.5, 1.0, 1.5])
    assert state["bfloat"].dtype == np.float32  # bfloat16 widened exactly
    np.testing.assert_array_equal(state["bfloat"], [1.5, -2.0, 3.25])
    assert state["bn.num_batches_tracked"].shape == () and int(state["bn.num_batches_tracked"]) == 7
    np.testing.assert_array_equal(state["mask"], [True, False, True])
    # The state dict was found under "state_dict"; "epoch" and the Namespace object are not tensors.
    assert set(state) == {
        "conv.weight",
        "conv.transposed",
        "conv.slice",
        "conv.shared_tail",
        "half",
        "bfloat",
        "bn.num_batches_tracked",
        "mask",
    }


class _RunsACommand:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_calls_a_function_runs_nothing(tmp_path):
    marker = tmp_path / "was_run"
    path = tmp_path / "hostile.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hostile/data.pkl", pickle.dumps({"weight": _RunsACommand(marker)}, protocol=2))
    with pytest.raises(CheckpointError, match="hostile.pth: holds no tensors"):
        read_checkpoint(str(path))
    assert not marker.exists()


def test_a_truncated_legacy_checkpoint_is_an_error_naming_the_file(tmp_path):
    with open(os.path.join(DATA, "torch_legacy.pth"), "rb") as handle:
        data = handle.read()
    path = tmp_path / "cut.pth"
    path.write_bytes(data[:-20])
    with pytest.raises(CheckpointError, match="cut.pth"):
        read_checkpoint(str(path))


def test_a_file_that_is_no_checkpoint_is_an_error_naming_it(tmp_path):
    path = tmp_path / "notes.pth"
    path.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="notes.pth: not a"):
        read_checkpoint(str(path))
    with pytest.raises(CheckpointError, match="no such file"):
        read_checkpoint(str(tmp_path / "absent.pth"))


def _safetensors(entries):
    """A safetensors file by hand: `entries` is name -> (dtype code, shape, raw bytes)."""
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in entries.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header).encode()
    return struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs)


def test_reads_safetensors_with_bfloat16_and_strips_a_dataparallel_prefix(tmp_path):
    # bfloat16 1.5 = 0x3FC0 and -2.0 = 0xC000: the high halves of the float32 patterns.
    path = tmp_path / "w.safetensors"
    path.write_bytes(
        _safetensors(
            {
                "module.fc.weight": ("F32", (2, 2), np.arange(4, dtype="<f4").tobytes()),
                "module.fc.bias": ("BF16", (2,), struct.pack("<2H", 0x3FC0, 0xC000)),
            }
        )
    )
    state = read_checkpoint(str(path))
    np.testing.assert_array_equal(state["fc.weight"], [[0, 1], [2, 3]])
    np.testing.assert_array_equal(state["fc.bias"], [1.5, -2.0])


def test_a_safetensors_header_claiming_more_bytes_than_the_file_is_refused(tmp_path):
    data = bytearray(_safetensors({"w": ("F32", (1000, 1000), b"\0" * 4_000_000)}))
    path = tmp_path / "lies.safetensors"
    path.write_bytes(bytes(data[: len(data) - 3_999_000]))
    with pytest.raises(CheckpointError, match="lies.safetensors: not a readable safetensors file"):
        read_checkpoint(str(path))


def test_a_legacy_storage_claiming_more_elements_than_the_file_is_refused(tmp_path):
    # The legacy format: five pickles, then each storage's int64 element count and bytes.
    class Anything:
        def __init__(self, *arguments):
            pass

        def __setstate__(self, state):
            pass

    class SkippingUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            return Anything

        def persistent_load(self, persistent_id):
            return None

    with open(os.path.join(DATA, "torch_legacy.pth"), "rb") as handle:
        for _ in range(5):
            SkippingUnpickler(handle).load()
        storages_start = handle.tell()
        handle.seek(0)
        original = handle.read()
    path = tmp_path / "huge.pth"
    path.write_bytes(original[:storages_start] + struct.pack("<q", 10**12) + original[storages_start + 8 :])
    # Refused from the header, before anything of that size is read or allocated.
    with pytest.raises(CheckpointError, match="huge.pth: storage .* declares 1000000000000 elements"):
        read_checkpoint(str(path))
