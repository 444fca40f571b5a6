"""A user's own CSV dataset, and every bad-input case the loader must name."""

import cv2
import numpy as np
import pytest

from mmu_tf.data.csv_dataset import read_csv_split
from mmu_tf.data.samples import DataError, MissingFilesError, load_split

CLASSES = ("normal", "tumor")


def _write(path, array):
    assert cv2.imwrite(str(path), array)


@pytest.fixture
def dataset(tmp_path):
    _write(tmp_path / "a.png", np.full((8, 10, 3), 200, np.uint8))
    _write(tmp_path / "a_mask.png", np.pad(np.full((4, 4), 3, np.uint8), ((2, 2), (3, 3))))
    _write(tmp_path / "b.png", np.zeros((6, 6, 3), np.uint8))
    return tmp_path


def _split(folder, text):
    (folder / "split.csv").write_text(text)
    return read_csv_split(str(folder / "split.csv"), str(folder), CLASSES)


def test_rows_with_and_without_masks(dataset):
    samples = _split(dataset, "image,mask,label\r\na.png,a_mask.png, tumor\r\nb.png,,0\r\n\r\n")
    assert [(s.name, s.label, s.mask_path is None) for s in samples] == [("a", 1, False), ("b", 0, True)]
    split = load_split("train", samples, CLASSES)
    assert split.masks[0].sum() == 16 and split.masks[1] is None and not split.has_masks


def test_unknown_label_names_the_file_and_line(dataset):
    with pytest.raises(DataError, match="split.csv, line 2: unknown label 'cancer'"):
        _split(dataset, "a.png,,normal\nb.png,,cancer\n")


def test_malformed_row_names_the_file_and_line(dataset):
    with pytest.raises(DataError, match="line 1: expected 3 values"):
        _split(dataset, "a.png,normal\n")


def test_missing_split_file(tmp_path):
    with pytest.raises(DataError, match="split file not found"):
        read_csv_split(str(tmp_path / "nope.csv"), str(tmp_path), CLASSES)


def test_missing_image_and_mask_are_all_named(dataset):
    samples = _split(dataset, "a.png,gone_mask.png,0\nghost.png,,1\n")
    with pytest.raises(MissingFilesError, match="2 listed file") as error:
        load_split("train", samples, CLASSES)
    assert "gone_mask.png" in str(error.value) and "ghost.png" in str(error.value)


def test_corrupt_image_is_named(dataset):
    (dataset / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DataError, match="cannot decode image .*bad.png"):
        load_split("train", _split(dataset, "bad.png,,0\n"), CLASSES)


def test_mask_of_another_size_is_named(dataset):
    _write(dataset / "small_mask.png", np.ones((3, 3), np.uint8))
    with pytest.raises(DataError, match="mask size 3x3 differs from its image's 10x8 .*small_mask.png"):
        load_split("train", _split(dataset, "a.png,small_mask.png,1\n"), CLASSES)


def test_empty_split_is_an_error(dataset):
    with pytest.raises(DataError, match="split 'train' is empty"):
        load_split("train", _split(dataset, "image,mask,label\n"), CLASSES)


def test_grayscale_and_rgba_images_are_converted_to_rgb(dataset):
    _write(dataset / "gray.png", np.full((5, 5), 90, np.uint8))
    rgba = np.zeros((5, 5, 4), np.uint8)
    rgba[..., 2] = 255  # red in OpenCV's BGRA order
    rgba[..., 3] = 128
    _write(dataset / "rgba.png", rgba)
    split = load_split("train", _split(dataset, "gray.png,,0\nrgba.png,,1\n"), CLASSES)
    assert split.images[0].shape == (5, 5, 3) and np.all(split.images[0] == 90)
    assert split.images[1].shape == (5, 5, 3) and np.all(split.images[1][..., 0] == 255)


@pytest.mark.parametrize("row", ["../outside/secret.png,,0", "/etc/hostname,,0", "a.png,../../etc/passwd,0"])
def test_paths_outside_the_data_root_are_refused_naming_the_row(tmp_path, row):
    root = tmp_path / "root"
    root.mkdir()
    _write(root / "a.png", np.zeros((4, 4, 3), np.uint8))
    (tmp_path / "outside").mkdir()
    _write(tmp_path / "outside" / "secret.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(DataError, match=r"split.csv, line 1: .* lies outside the data root .*allow_outside_root"):
        _split(root, row + "\n")


def test_a_link_pointing_out_of_the_root_is_refused_and_the_flag_lets_it_in(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    _write(tmp_path / "secret.png", np.zeros((4, 4, 3), np.uint8))
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    (root / "split.csv").write_text("link.png,,0\n../secret.png,,1\n")
    with pytest.raises(DataError, match="line 1: 'link.png' lies outside"):
        read_csv_split(str(root / "split.csv"), str(root), CLASSES)
    samples = read_csv_split(str(root / "split.csv"), str(root), CLASSES, allow_outside_root=True)
    assert [sample.name for sample in samples] == ["link", "secret"]


def test_images_of_the_same_name_in_two_folders_get_two_names(tmp_path):
    for folder in ("left", "right"):
        (tmp_path / folder).mkdir()
        _write(tmp_path / folder / "a.png", np.zeros((4, 4, 3), np.uint8))
    samples = _split(tmp_path, "left/a.png,,0\nright/a.png,,1\n")
    assert [sample.name for sample in samples] == ["left__a", "right__a"]


def png_declaring(width, height):
    """A 60-byte PNG whose header declares width x height pixels (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_an_image_declaring_more_pixels_than_the_limit_is_refused_before_decoding(tmp_path):
    from mmu_tf.data.samples import read_image

    (tmp_path / "bomb.png").write_bytes(png_declaring(20000, 20000))
    with pytest.raises(DataError, match=r"bomb.png: 20000x20000 pixels is more than the limit of 25,000,000"):
        read_image(str(tmp_path / "bomb.png"))
    (tmp_path / "huge.png").write_bytes(png_declaring(50000, 50000))
    with pytest.raises(DataError, match=r"huge.png: 50000x50000 pixels"):
        load_split("train", _split(tmp_path, "huge.png,,0\n"), CLASSES, max_pixels=10**6)
    _write(tmp_path / "small.png", np.zeros((20, 30, 3), np.uint8))
    with pytest.raises(DataError, match=r"small.png: 30x20 pixels is more than the limit of 500"):
        read_image(str(tmp_path / "small.png"), max_pixels=500)


def _gif(screen, frames):
    import struct

    out = b"GIF89a" + struct.pack("<HHBBB", *screen, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    for width, height in frames:
        out += b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return out + b"\x3b"


def test_files_are_sized_by_their_own_headers_before_any_decoding(tmp_path):
    from mmu_tf.data.samples import read_image

    # A 35-byte GIF whose one frame (10000 x 10000) is larger than its 100 x 100 screen.
    (tmp_path / "frame.gif").write_bytes(_gif((100, 100), [(10000, 10000)]))
    with pytest.raises(DataError, match=r"frame.gif: 10000x10000 pixels is more than the limit"):
        read_image(str(tmp_path / "frame.gif"))
    # A format only OpenCV decodes (Radiance HDR) declaring 12000 x 12000: refused unread.
    (tmp_path / "bomb.hdr").write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 12000 +X 12000\n" + bytes(64))
    with pytest.raises(DataError, match=r"not an image format this package reads\): .*bomb.hdr"):
        read_image(str(tmp_path / "bomb.hdr"))
    # 1.5 GB (sparse) without an image header: refused from its first bytes.
    with open(tmp_path / "large.bin", "wb") as handle:
        handle.truncate(1_500_000_000)
    with pytest.raises(DataError, match="not an image format"):
        read_image(str(tmp_path / "large.bin"))
    # An animation: its first frame only.
    from PIL import Image

    frames = [Image.new("RGB", (40, 30), (index * 5, 0, 0)) for index in range(50)]
    frames[0].save(tmp_path / "frames.gif", save_all=True, append_images=frames[1:])
    first = read_image(str(tmp_path / "frames.gif"))
    assert first.shape == (30, 40, 3) and first.max() == 0


def test_exif_orientation_is_applied_as_viewers_show_the_image(tmp_path):
    from PIL import Image

    from mmu_tf.data.samples import read_image

    stored = np.zeros((96, 128, 3), np.uint8)
    stored[:, :8] = 255  # a white band on the stored image's left
    image = Image.fromarray(stored)
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    shown = read_image(str(tmp_path / "rotated.jpg"))
    assert shown.shape == (128, 96, 3)
    assert shown[:8].mean() > 200 and shown[-8:].mean() < 50  # the band is now on top


def test_an_opaque_alpha_channel_is_not_foreground_and_lossy_masks_ignore_compression_noise(tmp_path, capsys):
    import cv2

    from mmu_tf.data import samples
    from mmu_tf.data.samples import read_mask

    drawn = np.zeros((64, 64), bool)
    drawn[16:48, 20:40] = True
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[drawn, :3] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), rgba)
    np.testing.assert_array_equal(read_mask(str(tmp_path / "mask.png")), drawn)
    cv2.imwrite(str(tmp_path / "mask.jpg"), drawn.astype(np.uint8) * 255, [cv2.IMWRITE_JPEG_QUALITY, 50])
    noisy = cv2.imread(str(tmp_path / "mask.jpg"), cv2.IMREAD_GRAYSCALE)
    assert (noisy[~drawn] != 0).sum() > 0  # JPEG made some background non-zero
    samples._warned_lossy.clear()
    assert (read_mask(str(tmp_path / "mask.jpg")) != drawn).mean() < 0.01
    assert "is JPEG (lossy)" in capsys.readouterr().err


def test_a_split_file_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    for encoding in ("utf-16", "latin-1"):
        (tmp_path / "split.csv").write_text("a.png,,0\n\u00e9t\u00e9.png,,1\n", encoding=encoding)
        with pytest.raises(DataError, match=r"split.csv: not UTF-8 text .*save it as UTF-8"):
            read_csv_split(str(tmp_path / "split.csv"), str(tmp_path), CLASSES)
