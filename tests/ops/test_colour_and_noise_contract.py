"""Documented details of colour and noise ops, each against its definition or
Pillow: autocontrast stretches (Pillow's ImageOps.autocontrast; the same
stretch in numpy for 16-bit), Keras' channel_shift clip to the image's own
range, the recorded seed decides the noise, per_channel, cutout's boxes in x/y."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageOps

from augcli.ops import REGISTRY


def op(name: str, img: Image.Image, **params) -> np.ndarray:
    return np.asarray(REGISTRY[name].kernel(img, **params)).astype(int)


@pytest.mark.parametrize("cutoff", [0.0, 5.0])
def test_autocontrast_stretches_a_dull_image_as_pillow_does(cutoff):
    arr = np.random.default_rng(2).integers(100, 151, (24, 32, 3), np.uint8)  # values 100..150 only
    img = Image.fromarray(arr)
    out = op("autocontrast", img, cutoff=cutoff)
    assert np.array_equal(out, np.asarray(ImageOps.autocontrast(img, cutoff=cutoff)))
    assert out.min() == 0 and out.max() == 255  # not the identity: the full range is used


def test_autocontrast_stretches_16_bit_to_the_full_range():
    arr = np.random.default_rng(3).integers(20_000, 30_001, (24, 32)).astype(np.uint16)
    out = op("autocontrast", Image.fromarray(arr), cutoff=0.0)
    lo, hi = int(arr.min()), int(arr.max())
    expected = np.rint((arr.astype(float) - lo) * 65535 / (hi - lo))
    assert np.array_equal(out, expected) and out.min() == 0 and out.max() == 65535


def test_channel_shift_clips_to_the_images_own_range():
    """Keras' channel_shift_range: add the value, clip to the image's min and max
    (not to 0..255)."""
    arr = np.random.default_rng(0).integers(50, 151, (20, 30, 3), np.uint8)
    arr[0, 0], arr[0, 1] = 50, 150  # the range is exactly [50, 150]
    img = Image.fromarray(arr)
    assert np.array_equal(op("channel_shift", img, value=80.0), np.clip(arr.astype(int) + 80, 50, 150))
    assert np.array_equal(op("channel_shift", img, value=-80.0), np.clip(arr.astype(int) - 80, 50, 150))


def test_the_recorded_seed_decides_the_noise():
    grey = Image.new("RGB", (64, 64), (128, 128, 128))
    for name, params in (("gaussian_noise", {"sigma": 20.0, "per_channel": True}),
                         ("salt_pepper", {"amount": 0.2, "salt_ratio": 0.5})):
        a, b = op(name, grey, **params, seed=1), op(name, grey, **params, seed=2)
        assert np.array_equal(a, op(name, grey, **params, seed=1)), name
        assert not np.array_equal(a, b), f"{name}: seeds 1 and 2 gave the same noise"


def test_per_channel_noise_differs_between_channels_and_shared_noise_does_not():
    grey = Image.new("RGB", (64, 64), (128, 128, 128))
    shared = op("gaussian_noise", grey, sigma=20.0, per_channel=False, seed=4)
    assert np.array_equal(shared[..., 0], shared[..., 1]) and np.array_equal(shared[..., 0], shared[..., 2])
    assert shared.std() > 15
    own = op("gaussian_noise", grey, sigma=20.0, per_channel=True, seed=4)
    assert abs(np.corrcoef(own[..., 0].ravel(), own[..., 1].ravel())[0, 1]) < 0.1


def test_cutout_erases_exactly_its_boxes_in_x_y_order():
    arr = np.random.default_rng(1).integers(1, 256, (30, 40, 3), np.uint8)
    out = op("cutout", Image.fromarray(arr), boxes=[[28, 3, 38, 13], [0, 20, 5, 30]], value=0.0, noise=False, seed=0)
    expected = arr.astype(int).copy()
    expected[3:13, 28:38] = 0  # box [x0, y0, x1, y1]: rows y0..y1, columns x0..x1
    expected[20:30, 0:5] = 0
    assert np.array_equal(out, expected)
