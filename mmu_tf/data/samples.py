"""Reading and checking the images and masks of a split, before any training.

Readers (`glas.py`, `csv_dataset.py`) list `Sample`s; `load_split` reads them
all into memory with clear errors (the file and the problem named), so a bad
dataset fails before the first epoch, not in the middle of one.
"""

import dataclasses
import os

import cv2
import numpy as np

# The largest image (in pixels) read by default: GlaS images are 0.4 megapixels, Camelyon16
# patches 0.26; 25 megapixels (5000 x 5000) leaves room for large tiles. Whole slides go
# through predict_wsi, which reads tiles. `--config.data.max_image_pixels` / `--max_image_pixels`.
DEFAULT_MAX_IMAGE_PIXELS = 25_000_000


class DataError(ValueError):
    """A dataset file or split is missing, unreadable or inconsistent."""


class MissingFilesError(DataError):
    """A split lists files that are not on disk."""

    def __init__(self, split, missing):
        self.split = split
        self.missing = list(missing)
        folders = sorted({os.path.dirname(path) for path in self.missing})
        names = [os.path.basename(path) for path in self.missing]
        shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
        super().__init__(f"split {split!r}: {len(names)} listed file(s) missing from {', '.join(folders)}: {shown}")


@dataclasses.dataclass(frozen=True)
class Sample:
    """One listed example: an image, its optional mask, its class id."""

    name: str
    image_path: str
    mask_path: str | None
    label: int


@dataclasses.dataclass
class LoadedSplit:
    """A split in memory: uint8 RGB images (H, W, 3), bool masks (H, W) or None."""

    name: str
    images: list
    masks: list
    labels: np.ndarray
    names: list
    class_names: list

    def __len__(self):
        return len(self.images)

    @property
    def has_masks(self):
        return bool(self.masks) and all(mask is not None for mask in self.masks)


def header_size(path):
    """`(width, height)` from an image file's header, without decoding its pixels; None if unreadable."""
    from PIL import Image

    # Pillow's own bomb check would refuse before telling the size; ours is the limit here.
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(path) as image:
            return image.size
    except Exception:  # noqa: BLE001 (Pillow raises many kinds for files it cannot identify)
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def check_pixel_count(width, height, max_pixels, where):
    """Raises `DataError` naming `where` when a width x height image exceeds `max_pixels`."""
    if max_pixels and width * height > max_pixels:
        raise DataError(
            f"{where}: {width}x{height} pixels is more than the limit of {max_pixels:,} "
            "(raise it with --config.data.max_image_pixels / --max_image_pixels; whole slides go through "
            "predict_wsi)"
        )


def _decode(path, kind, max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
    # The size is read from the header first: a small file declaring a huge image (a
    # decompression bomb) is refused before any pixel memory is allocated.
    if not os.path.isfile(path):
        raise DataError(f"{kind} file not found: {path}")
    size = header_size(path)
    if size is not None:
        check_pixel_count(*size, max_pixels, path)
    # np.fromfile + imdecode rather than cv2.imread: paths with spaces or
    # non-ASCII names (GlaS's folder has spaces) and a clear error on failure.
    data = np.fromfile(path, dtype=np.uint8)
    try:
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    except cv2.error:
        decoded = None
    if decoded is None:
        raise DataError(f"cannot decode {kind} (corrupt or not an image): {path}")
    check_pixel_count(decoded.shape[1], decoded.shape[0], max_pixels, path)
    return decoded


def read_image(path, max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
    """Reads an image file as uint8 RGB (H, W, 3); grayscale and RGBA are converted.

    Raises `DataError` naming the file when it is missing, not an image, or
    larger than `max_pixels` (checked from its header before decoding).
    """
    image = _decode(path, "image", max_pixels)
    if image.dtype != np.uint8:
        # 16-bit images: keep the 8 most significant bits.
        image = (image / 257.0).round().astype(np.uint8) if image.dtype == np.uint16 else None
        if image is None:
            raise DataError(f"unsupported pixel type in {path}; expected 8 or 16 bits")
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    if image.shape[2] == 1:
        return cv2.cvtColor(image[..., 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask(path, image_shape=None, max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
    """Reads a mask file as bool (H, W): foreground where the value is not 0.

    Instance-id masks (GlaS: one id per gland) become foreground/background.
    A colour mask counts a pixel as foreground when any channel is non-zero.
    """
    mask = _decode(path, "mask", max_pixels)
    if mask.ndim == 3:
        mask = mask.max(axis=2)
    if image_shape is not None and tuple(mask.shape[:2]) != tuple(image_shape[:2]):
        raise DataError(
            f"mask size {mask.shape[1]}x{mask.shape[0]} differs from its image's "
            f"{image_shape[1]}x{image_shape[0]} (width x height): {path}"
        )
    return mask != 0


def check_files_exist(split, samples):
    """Raises `MissingFilesError` naming every listed file absent from disk."""
    missing = []
    for sample in samples:
        for path in (sample.image_path, sample.mask_path):
            if path is not None and not os.path.isfile(path):
                missing.append(path)
    if missing:
        raise MissingFilesError(split, missing)


def load_split(
    split, samples, class_names, require_masks=False, missing_mask="none", max_pixels=DEFAULT_MAX_IMAGE_PIXELS
):
    """Reads every sample of a split into memory, checking each file.

    A sample without a mask file has no mask (`missing_mask="none"`: no pixel
    metrics for it) or an all-background one (`"background"`: Camelyon16's
    normal patches).

    Raises `DataError` for an empty split, `MissingFilesError` for absent
    files (all of them named), and `DataError` naming the file for an
    unreadable image or a mask whose size differs from its image.
    """
    if not samples:
        raise DataError(f"split {split!r} is empty: no rows to read")
    check_files_exist(split, samples)
    images, masks = [], []
    for sample in samples:
        image = read_image(sample.image_path, max_pixels)
        images.append(image)
        if sample.mask_path is None:
            if require_masks:
                raise DataError(f"split {split!r}: no mask given for {sample.name}")
            masks.append(np.zeros(image.shape[:2], bool) if missing_mask == "background" else None)
        else:
            masks.append(read_mask(sample.mask_path, image.shape, max_pixels))
    return LoadedSplit(
        name=split,
        images=images,
        masks=masks,
        labels=np.array([sample.label for sample in samples], dtype=np.int32),
        names=[sample.name for sample in samples],
        class_names=list(class_names),
    )
