"""Decoding: OpenCV decodes plain JPEGs (faster, straight into an array) only
because its pixels are exactly Pillow's; everything else goes through Pillow."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from augcli.io import Unusable, decode


def photo(mode: str, size=(83, 61), seed=0) -> Image.Image:
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = ((xx * 3 + yy * 2)[..., None] + np.arange(3) * 50) % 256
    arr = np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)
    return Image.fromarray(arr).convert(mode)


def jpeg_bytes(img: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", **options)
    return buffer.getvalue()


@pytest.mark.parametrize("options", [
    {"quality": 90}, {"quality": 95, "subsampling": 0}, {"quality": 80, "subsampling": 1},
    {"quality": 75, "progressive": True}, {"quality": 85, "optimize": True}, {"quality": 50, "restart_marker_rows": 1},
])
@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_opencv_decodes_jpegs_as_pillow_does(mode, options):
    data = jpeg_bytes(photo(mode), **options)
    with Image.open(io.BytesIO(data)) as reference:
        expected = np.asarray(reference.convert(mode))
    decoded = decode(data)
    assert decoded.format == "JPEG" and not decoded.rotated
    assert np.array_equal(decoded.image.reshape(expected.shape), expected)


def test_rotated_cmyk_and_truncated_jpegs_go_through_pillow():
    img = photo("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 270 to be upright
    rotated = decode(jpeg_bytes(img, quality=90, exif=exif.tobytes()))
    with Image.open(io.BytesIO(jpeg_bytes(img, quality=90))) as plain:
        assert rotated.rotated and np.array_equal(rotated.image, np.asarray(plain.transpose(Image.Transpose.ROTATE_270)))
    cmyk = decode(jpeg_bytes(img.convert("CMYK"), quality=90))
    assert cmyk.image.shape == (61, 83, 3)
    data = jpeg_bytes(img, quality=90)
    with pytest.raises(Unusable, match="cannot decode: image file is truncated"):
        decode(data[: len(data) // 2])
