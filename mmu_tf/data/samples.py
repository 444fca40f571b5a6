"""Reading and checking the images and masks of a split, before any training.

Readers (`glas.py`, `csv_dataset.py`) list `Sample`s; `load_split` reads them
all into memory with clear errors (the file and the problem named), so a bad
dataset fails before the first epoch, not in the middle of one.
"""

import dataclasses
import os

import numpy as np

from mmu_tf.configs.common import base_config

# The largest image (in pixels) a reader takes unless told: the default of
# `--config.data.max_image_pixels` (its value and reasons are in configs/common.py).
DEFAULT_MAX_IMAGE_PIXELS = base_config().data.max_image_pixels


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


def check_pixel_count(width, height, max_pixels, where):
    """Raises `DataError` naming `where` when a width x height image exceeds `max_pixels`."""
    if max_pixels and width * height > max_pixels:
        raise DataError(
            f"{where}: {width}x{height} pixels is more than the limit of {max_pixels:,} "
            "(raise it with --config.data.max_image_pixels / --max_image_pixels; whole slides go through "
            "predict_wsi)"
        )


# Formats whose compression changes pixel values: a mask in one is thresholded at half range.
LOSSY_FORMATS = ("JPEG", "MPO", "WEBP")
_warned_lossy = []


def _open(path, kind, max_pixels):
    """The first frame of an image file as a Pillow image, its size checked before any pixel is decoded.

    Pillow reads the header (every format it can size, an animation's first
    frame at its own size, not its logical screen's), the size is checked
    against `max_pixels`, then only that frame is decoded. Files Pillow cannot
    identify are refused from their first bytes, whatever their length: no
    other decoder reads them. EXIF orientation is applied, as viewers show the
    image. Every failure is a `DataError` naming the file.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not os.path.isfile(path):
        raise DataError(f"{kind} file not found: {path}")
    # Pillow's own bomb check would refuse before telling the size; ours is the limit here.
    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(path) as image:
            check_pixel_count(*image.size, max_pixels, path)
            image.seek(0)
            image.load()
            return ImageOps.exif_transpose(image), image.format
    except DataError:
        raise
    except UnidentifiedImageError:
        raise DataError(f"cannot decode {kind} (not an image format this package reads): {path}") from None
    except PermissionError:
        raise DataError(f"cannot read {kind} (permission denied): {path}") from None
    except (OSError, ValueError, SyntaxError, EOFError) as error:
        raise DataError(f"cannot decode {kind} (corrupt or truncated: {error}): {path}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def _high_bytes(values):
    """16-bit samples to 8 bits (the 8 most significant)."""
    return (np.asarray(values, np.float64) / 257.0).round().clip(0, 255).astype(np.uint8)


def read_image(path, max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
    """Reads an image file as uint8 RGB (H, W, 3); grayscale, palette, CMYK, RGBA and 16-bit are converted.

    Raises `DataError` naming the file when it is missing, unreadable, not an
    image, or larger than `max_pixels` (checked from its header before decoding).
    """
    image, _ = _open(path, "image", max_pixels)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        gray = _high_bytes(np.asarray(image))
        return np.repeat(gray[..., None], 3, axis=2)
    if image.mode == "F":
        raise DataError(f"unsupported pixel type in {path} (32-bit float); expected 8 or 16 bits")
    # An alpha channel is dropped, not composited: the colours are what the scanner saw.
    return np.asarray(image.convert("RGB"), np.uint8)


def read_mask(path, image_shape=None, max_pixels=DEFAULT_MAX_IMAGE_PIXELS):
    """Reads a mask file as bool (H, W): foreground where the value is not 0.

    Instance-id masks (GlaS: one id per gland) become foreground/background.
    A colour mask counts a pixel as foreground when any colour channel is
    non-zero; an alpha channel is ignored (an opaque background is background).
    A mask in a lossy format (JPEG, WebP) counts values of at least half the
    range, since compression turns zeros near edges into small values; a
    warning says so once.
    """
    import sys

    image, image_format = _open(path, "mask", max_pixels)
    if image.mode in ("1", "L", "I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image)
    else:
        values = np.asarray(image.convert("RGB")).max(axis=2)
    if image_shape is not None and tuple(values.shape[:2]) != tuple(image_shape[:2]):
        raise DataError(
            f"mask size {values.shape[1]}x{values.shape[0]} differs from its image's "
            f"{image_shape[1]}x{image_shape[0]} (width x height): {path}"
        )
    if image_format in LOSSY_FORMATS:
        if not _warned_lossy:
            _warned_lossy.append(path)
            print(
                f"warning: mask {path} is {image_format} (lossy): foreground is taken as values >= half "
                "the range; a lossless format (PNG, BMP, TIFF) keeps the mask exact",
                file=sys.stderr,
            )
        full = 1 if image.mode == "1" else (65535 if image.mode.startswith("I") else 255)
        return values >= (full + 1) // 2
    return values != 0


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
    from mmu_tf.data.loaded_split import LoadedSplit  # TensorFlow's import waits for a split to read

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
