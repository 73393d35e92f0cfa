"""What the encoder is told: ``output.quality`` is the JPEG quality, and a
source's colour profile travels with every image made from it."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageCms

from .conftest import load, make_image


@pytest.mark.parametrize("quality", [20, 60])
def test_output_quality_is_the_jpeg_quality(run, tmp_path, quality):
    root = tmp_path / "src"
    source = make_image(root / "cat" / "a.png", (64, 48), seed=1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"copies: 1\noutput: {{format: jpeg, quality: {quality}}}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    buffer = io.BytesIO()
    load(source).save(buffer, "JPEG", quality=quality)  # the original, re-encoded by Pillow at that quality
    with Image.open(buffer) as expected:
        assert np.array_equal(np.asarray(load(out / "cat/a.jpg")), np.asarray(expected.convert("RGB")))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_source_colour_profile_is_kept(run, tmp_path, fmt):
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    root = tmp_path / "src"
    make_image(root / "cat" / f"a.{fmt.lower()}", fmt=fmt, icc_profile=profile)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 2\npipeline: [hflip]\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    paths = [json.loads(line)["path"] for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(paths) == 3
    for path in paths:
        assert load(out / path).info.get("icc_profile") == profile, path


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("quality", [1, 35, 90, 95, 100])
def test_jpeg_bytes_are_pillows(channels, quality):
    """JPEGs are encoded by OpenCV (faster, no Pillow image needed) only because
    its bytes are exactly Pillow's: same libjpeg-turbo, same settings."""
    from augcli.io import encode

    rng = np.random.default_rng(quality)
    yy, xx = np.mgrid[0:61, 0:83]
    smooth = (xx * 3 + yy * 2)[..., None] + np.arange(channels) * 40
    arr = np.clip(smooth + rng.normal(0, 9, smooth.shape), 0, 255).astype(np.uint8)
    expected = io.BytesIO()
    Image.fromarray(arr[..., 0] if channels == 1 else arr).save(expected, "JPEG", quality=quality)
    data, written, note = encode(arr, "JPEG", quality=quality)
    assert data == expected.getvalue() and note is None and written.shape == arr.shape


@pytest.mark.parametrize("quality", [30, 90])
def test_a_jpeg_with_a_colour_profile_is_pillows_at_the_asked_quality(quality):
    """OpenCV cannot embed a profile: such JPEGs go through Pillow, at the same quality."""
    from augcli.io import encode

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    arr = np.random.default_rng(quality).integers(0, 256, (40, 56, 3), np.uint8)
    expected = io.BytesIO()
    Image.fromarray(arr).save(expected, "JPEG", quality=quality, icc_profile=profile)
    data, _, _ = encode(arr, "JPEG", quality=quality, icc_profile=profile)
    assert data == expected.getvalue()
    with Image.open(io.BytesIO(data)) as written:
        assert written.info.get("icc_profile") == profile
