"""Core kernels against numpy/Pillow/scikit-image oracles: flips, quarter
turns, rotation, fills, point ops, 16-bit images, exact runs of transposes
and crops (the checks every op passes are test_every_op.py's)."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageEnhance
from skimage.transform import rotate as sk_rotate

from augcli.ops import REGISTRY
from augcli.ops.warp import translation, warp

FILLS = ("constant", "edge", "reflect", "symmetric", "wrap")
ROT = {"fill": "constant", "cval": 0.0, "interpolation": "bilinear", "expand": False}


def noise(h=30, w=40, channels=3, seed=0) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def run(name: str, arr: np.ndarray, **params) -> np.ndarray:
    return np.asarray(REGISTRY[name].kernel(Image.fromarray(arr), **params))


def test_flips_and_quarter_turns_match_numpy():
    arr = noise()
    assert np.array_equal(run("hflip", arr), arr[:, ::-1])
    assert np.array_equal(run("vflip", arr), arr[::-1])
    assert np.array_equal(run("hflip", run("hflip", arr)), arr)
    for k in range(-2, 6):
        assert np.array_equal(run("rot90", arr, k=k), np.rot90(arr, k)), k


def test_rotate_90_equals_rot90():
    arr = noise()
    assert np.array_equal(run("rotate", arr, angle=90.0, **{**ROT, "expand": True}), np.rot90(arr))
    inner = run("rotate", arr, angle=90.0, **ROT)  # same canvas: compare where the square overlaps
    assert np.array_equal(inner[:, 5:35], np.rot90(arr)[5:35])


def test_positive_angles_turn_counter_clockwise():
    dot = np.zeros((41, 41), np.uint8)
    dot[20, 30] = 255  # right of the centre
    out = run("rotate", dot, angle=90.0, **{**ROT, "interpolation": "nearest"})
    assert np.argwhere(out == 255).tolist() == [[10, 20]]  # now above it


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("angle", [13.0, -37.5])
@pytest.mark.parametrize("channels", [1, 3])
def test_rotate_matches_skimage_rotate(fill, angle, channels):
    """scikit-image's own rotate (counter-clockwise about the true centre, the
    same fill names) is the oracle, fill region included."""
    arr = noise(channels=channels)
    out = run("rotate", arr, **{**ROT, "fill": fill, "cval": 100.0, "angle": angle}).astype(float)
    reference = sk_rotate(arr.astype(float), angle, order=1, mode=fill, cval=100, preserve_range=True)
    assert np.abs(out - reference).max() <= 1  # rounded to the nearest level (OpenCV 5 interpolates in float)
    assert abs((out - reference).mean()) < 0.05  # no bias: not truncated


@pytest.mark.parametrize("fill", ["edge", "reflect", "symmetric", "wrap"])
@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("dx,dy", [(3, 0), (0, -5), (-7, 9), (29, -19), (45, 33), (-83, -70)])
def test_shifts_past_the_border_fill_like_np_pad(fill, channels, dx, dy):
    """Any margin, even several times the image's own size (repeated reflections
    and wraps), is filled exactly as numpy pads."""
    arr = noise(channels=channels)  # 40 x 30
    h, w = arr.shape[:2]
    out = np.asarray(warp(Image.fromarray(arr), translation(dx, dy), (w, h), fill=fill, interpolation="nearest"))
    widths = ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))) + ((0, 0),) * (arr.ndim - 2)
    top, left = max(-dy, 0), max(-dx, 0)
    assert np.array_equal(out, np.pad(arr, widths, mode=fill)[top: top + h, left: left + w])


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_integer_shift_fill_modes_are_np_pad(fill, channels):
    arr = noise(channels=channels)
    out = np.asarray(warp(Image.fromarray(arr), translation(6, -4), (40, 30), fill=fill, cval=9))
    widths = ((0, 4), (6, 0)) + ((0, 0),) * (arr.ndim - 2)
    padded = np.pad(arr, widths, mode=fill, **({"constant_values": 9} if fill == "constant" else {}))
    expected = padded[4:34, 0:40].copy()
    if channels == 4:
        # Pillow resamples RGBA premultiplied (no dark fringes), so colour can move
        # by a level in the round trip; alpha is exact, and exposed alpha is 0
        if fill == "constant":
            expected[:, :6, 3] = 0
            expected[26:, :, 3] = 0
        assert np.array_equal(out[..., 3], expected[..., 3])
        visible = expected[..., 3] > 128
        assert np.abs(out[visible][:, :3].astype(int) - expected[visible][:, :3]).max() <= 1
    else:
        assert np.array_equal(out, expected)


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.7, 1.0, 1.3, 2.5])
@pytest.mark.parametrize("channels", [1, 3])
def test_brightness_is_pil_image_enhance(factor, channels):
    arr = noise(channels=channels)
    expected = np.asarray(ImageEnhance.Brightness(Image.fromarray(arr)).enhance(factor))
    assert np.array_equal(run("brightness", arr, factor=factor), expected)


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7])
def test_contrast_is_the_keras_formula(factor):
    arr = noise()
    mean = arr.reshape(-1, 3).mean(axis=0)
    expected = np.clip(np.rint((arr - mean) * factor + mean), 0, 255)
    assert np.abs(run("contrast", arr, factor=factor).astype(float) - expected).max() <= 1


def test_resize_is_pillow_resize():
    arr = noise()
    expected = np.asarray(Image.fromarray(arr).resize((17, 23), Image.Resampling.BICUBIC))
    assert np.array_equal(run("resize", arr, size=(17, 23), interpolation="bicubic"), expected)


def test_16_bit_images_stay_16_bit_and_keep_their_range():
    arr = (noise(channels=1).astype(np.uint16) * 257)
    img = Image.fromarray(arr)
    for name, params in [("rotate", {**ROT, "angle": 10.0}), ("brightness", {"factor": 0.5}),
                         ("contrast", {"factor": 1.2})]:
        out = REGISTRY[name].kernel(img, **params)
        assert out.mode == "I;16", name
    halved = np.asarray(REGISTRY["brightness"].kernel(img, factor=0.5)).astype(int)
    assert np.abs(halved - arr // 2).max() <= 1
    rotated = np.asarray(REGISTRY["rotate"].kernel(img, **{**ROT, "angle": 10.0}))
    assert rotated.max() > 255 * 100


# -- properties every registered op has ------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("channels", [1, 3])
def test_runs_of_flips_quarter_turns_and_crops_are_one_exact_transpose(seed, channels):
    """apply() composes flips, rot90 and crops into one transpose and one crop;
    pixels must equal numpy's flips, rot90 and slices applied one by one
    (non-square, so axes cannot mix)."""
    from augcli.apply import apply
    from augcli.sampling import AppliedOp

    rng = np.random.default_rng(seed)
    arr = noise(h=30, w=40, channels=channels, seed=seed)
    expected, ops = arr, []
    for _ in range(int(rng.integers(2, 6))):
        name = str(rng.choice(["hflip", "vflip", "rot90", "crop"]))
        if name == "crop":
            h, w = expected.shape[:2]
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            x1, y1 = int(rng.integers(x0 + 1, w + 1)), int(rng.integers(y0 + 1, h + 1))
            expected, op = expected[y0:y1, x0:x1], AppliedOp("crop", (("box", (x0, y0, x1, y1)),))
        elif name == "hflip":
            expected, op = expected[:, ::-1], AppliedOp("hflip", ())
        elif name == "vflip":
            expected, op = expected[::-1], AppliedOp("vflip", ())
        else:
            k = int(rng.integers(0, 4))
            expected, op = np.rot90(expected, k), AppliedOp("rot90", (("k", k),))
        ops.append(op)
    assert np.array_equal(np.asarray(apply(Image.fromarray(arr), ops)), expected), ops


def test_opencv_runs_single_threaded():
    """Workers are one per core already (-j N means N cores): OpenCV's own
    thread pool is off wherever augcli has used it."""
    warp(Image.fromarray(noise()), translation(0.5, 0), (40, 30))
    from augcli.lazy import opencv

    assert opencv().getNumThreads() == 1
