"""Reads the tensors of a PyTorch checkpoint without PyTorch: `.pth` (zip and legacy) and `.safetensors`.

A `.pth` file is a pickle. Unpickling one with `pickle` runs whatever callables
it names, so this reader never calls any: every global the pickle refers to
is replaced by an inert stand-in, except the few that rebuild tensors and
dictionaries, which are re-implemented here with numpy. A hostile file can
therefore at worst fail to read; it cannot execute code. Sizes are checked
against the file before any tensor is built.

Formats (what `torch.save` writes):
- zip (torch >= 1.6): `<name>/data.pkl` holds the object, each storage is the
  raw little-endian bytes of `<name>/data/<key>`;
- legacy: five pickles in a row (magic number, protocol version, system info,
  the object, the list of storage keys), then each storage as an int64 element
  count and its raw bytes;
- `.safetensors`: read by the safetensors library, which parses no code either.
"""

import collections
import os
import pickle
import struct
import zipfile

import numpy as np
import safetensors

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL_VERSION = 1001

# torch's storage classes -> numpy dtypes ("bfloat16" has no numpy dtype: read as uint16, widened below).
STORAGE_DTYPES = {
    "FloatStorage": "float32",
    "DoubleStorage": "float64",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
}
# Where a training script usually keeps the weights inside a saved dictionary.
STATE_DICT_ENTRIES = ("state_dict", "model_state_dict", "model", "module", "net", "network", "weights")


class CheckpointError(ValueError):
    """A file that is not a readable checkpoint; the message names the file and what is wrong."""


def _itemsize(dtype):
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


def _as_array(raw_bytes, dtype, count):
    """`count` elements of `dtype` from `raw_bytes` (little-endian); bfloat16 widened to float32 exactly."""
    if dtype == "bfloat16":
        high_halves = np.frombuffer(raw_bytes, dtype="<u2", count=count).astype(np.uint32)
        return (high_halves << 16).view(np.float32)
    return np.frombuffer(raw_bytes, dtype=np.dtype(dtype).newbyteorder("<"), count=count).astype(dtype)


class _Storage:
    """One storage of the checkpoint; its bytes arrive after the pickle in the legacy format."""

    def __init__(self, key, dtype, count):
        self.key, self.dtype, self.count = key, dtype, count
        self.values = None


class _TensorReference:
    """A tensor to cut out of a storage once its bytes are known (`torch._utils._rebuild_tensor_v2`)."""

    def __init__(self, storage, offset, shape, strides):
        self.storage, self.offset, self.shape, self.strides = storage, int(offset), tuple(shape), tuple(strides)

    def materialize(self, path):
        values = self.storage.values
        if not self.shape:
            needed = self.offset + 1
        else:
            needed = self.offset + 1 + sum((size - 1) * stride for size, stride in zip(self.shape, self.strides))
        if any(size == 0 for size in self.shape):
            return np.zeros(self.shape, values.dtype)
        if min(self.strides, default=0) < 0 or needed > values.size:
            raise CheckpointError(f"{path}: a tensor of shape {self.shape} reaches beyond its storage")
        item = values.itemsize
        view = np.lib.stride_tricks.as_strided(
            values[self.offset :], shape=self.shape, strides=[stride * item for stride in self.strides]
        )
        return np.array(view)  # a contiguous copy, detached from the storage


class _Inert:
    """Stands in for any object the pickle names that is not a tensor or a dictionary; runs nothing."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass

    def __call__(self, *args, **kwargs):
        return _Inert()


def _rebuild_tensor(storage, offset, shape, strides, *unused):
    return _TensorReference(storage, offset, shape, strides)


def _rebuild_parameter(data, *unused):
    return data


class _SafeUnpickler(pickle.Unpickler):
    """Unpickles a torch checkpoint, resolving only what rebuilds tensors and dictionaries."""

    ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    }

    def __init__(self, handle, storage_for):
        super().__init__(handle)
        self.storage_for = storage_for

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return self.ALLOWED[(module, name)]
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        return _Inert

    def persistent_load(self, persistent_id):
        if not isinstance(persistent_id, tuple) or len(persistent_id) < 5 or persistent_id[0] != "storage":
            raise pickle.UnpicklingError(f"unexpected persistent id {str(persistent_id)[:80]}")
        _, dtype, key, _location, count = persistent_id[:5]
        if dtype not in STORAGE_DTYPES.values():
            raise pickle.UnpicklingError(f"storage of an unsupported type ({dtype})")
        return self.storage_for(str(key), dtype, int(count))


def _materialize(value, path):
    if isinstance(value, _TensorReference):
        return value.materialize(path)
    if isinstance(value, dict):
        return {key: _materialize(item, path) for key, item in value.items()}
    return value


def _storage_registry():
    storages = {}

    def storage_for(key, dtype, count):
        if count < 0:
            raise pickle.UnpicklingError("a storage of negative size")
        return storages.setdefault(key, _Storage(key, dtype, count))

    return storages, storage_for


def _read_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("/data.pkl") or name == "data.pkl"]
        if len(pickles) != 1:
            raise CheckpointError(f"{path}: a zip file, but not a torch checkpoint (no single data.pkl inside)")
        prefix = pickles[0][: -len("data.pkl")]
        if f"{prefix}byteorder" in names and archive.read(f"{prefix}byteorder").strip() == b"big":
            raise CheckpointError(f"{path}: written on a big-endian machine, which this reader does not support")
        storages, storage_for = _storage_registry()
        with archive.open(pickles[0]) as handle:
            state = _SafeUnpickler(handle, storage_for).load()
        for key, storage in storages.items():
            member = f"{prefix}data/{key}"
            if member not in names:
                raise CheckpointError(f"{path}: storage {key!r} is missing from the archive")
            needed = storage.count * _itemsize(storage.dtype)
            if archive.getinfo(member).file_size < needed:
                raise CheckpointError(f"{path}: storage {key!r} holds fewer bytes than its {storage.count} elements")
            storage.values = _as_array(archive.read(member)[:needed], storage.dtype, storage.count)
    return _materialize(state, path)


def _read_legacy(path):
    file_size = os.path.getsize(path)
    with open(path, "rb") as handle:
        try:
            magic = pickle.load(handle)
        except Exception as error:
            raise CheckpointError(f"{path}: not a PyTorch checkpoint ({type(error).__name__})") from None
        if magic != LEGACY_MAGIC_NUMBER:
            raise CheckpointError(f"{path}: not a PyTorch checkpoint (no torch magic number)")
        protocol_version = _SafeUnpickler(handle, None).load()
        if protocol_version != LEGACY_PROTOCOL_VERSION:
            raise CheckpointError(f"{path}: unsupported legacy protocol version {protocol_version!r}")
        _SafeUnpickler(handle, None).load()  # system information (endianness, type sizes)
        storages, storage_for = _storage_registry()
        state = _SafeUnpickler(handle, storage_for).load()
        keys = _SafeUnpickler(handle, None).load()
        if not isinstance(keys, list):
            raise CheckpointError(f"{path}: the storage list is missing or malformed")
        for key in keys:
            storage = storages.get(str(key))
            header = handle.read(8)
            if storage is None or len(header) != 8:
                raise CheckpointError(f"{path}: storage {key!r} is not where the checkpoint says it is")
            (count,) = struct.unpack("<q", header)
            nbytes = count * _itemsize(storage.dtype)
            if count != storage.count or handle.tell() + nbytes > file_size:
                raise CheckpointError(f"{path}: storage {key!r} declares {count} elements the file does not hold")
            storage.values = _as_array(handle.read(nbytes), storage.dtype, count)
        missing = [key for key, storage in storages.items() if storage.values is None]
        if missing:
            raise CheckpointError(f"{path}: storages {missing[:3]} are referenced but not stored")
    return _materialize(state, path)


def _read_safetensors(path):
    """The tensors of a `.safetensors` file, read by the safetensors library (which checks the header's
    byte ranges against the file); bfloat16 widened to float32 exactly."""
    try:
        with safetensors.safe_open(path, framework="numpy") as handle:
            state = {}
            for name in handle.keys():
                values = handle.get_tensor(name)
                if values.dtype.name == "bfloat16":
                    values = values.astype(np.float32)
                state[name] = values
    except safetensors.SafetensorError as error:
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from None
    return state


def find_state_dict(loaded, path):
    """The flat name -> array dictionary inside what a checkpoint file held."""
    if isinstance(loaded, dict):
        arrays = {str(key): value for key, value in loaded.items() if isinstance(value, np.ndarray)}
        if arrays:
            return arrays
        for entry in STATE_DICT_ENTRIES:
            if isinstance(loaded.get(entry), dict):
                return find_state_dict(loaded[entry], path)
    raise CheckpointError(
        f"{path}: holds no tensors by name (looked at the top level and at {', '.join(STATE_DICT_ENTRIES)})"
    )


def read_checkpoint(path):
    """The named tensors of a PyTorch checkpoint or a safetensors file, as numpy arrays.

    Accepts what `torch.save(model.state_dict(), path)` writes in either
    format, a dictionary holding one under a usual key (`state_dict`, `model`,
    ...), and `.safetensors`. A `module.` prefix (DataParallel) is removed.
    bfloat16 tensors come back as float32 (exactly). Raises `CheckpointError`
    naming the file for anything else; never runs code from the file.

    Example:
    >>> import tempfile, safetensors.numpy
    >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
    >>> safetensors.numpy.save_file({"fc.bias": np.ones(3, "float32")}, path)
    >>> read_checkpoint(path)["fc.bias"]
    array([1., 1., 1.], dtype=float32)
    """
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no such file")
    try:
        if path.endswith(".safetensors"):
            loaded = _read_safetensors(path)
        elif zipfile.is_zipfile(path):
            loaded = _read_zip(path)
        else:
            loaded = _read_legacy(path)
    except CheckpointError:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, struct.error) as error:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({error})") from None
    state = find_state_dict(loaded, path)
    if all(name.startswith("module.") for name in state):
        state = {name[len("module.") :]: value for name, value in state.items()}
    return state
