"""Kernels defined by their documented meaning on arrays, each against an
independent oracle (scikit-image's HSV, numpy formulas written here from the
docstrings), and the premultiplied rule for every op that mixes neighbours."""
from __future__ import annotations

import numpy as np
import pytest
from skimage.color import hsv2rgb, rgb2hsv

from augcli.apply import apply
from augcli.imaging import from_pil, mode_of, point_chain, to_pil
from augcli.ops import REGISTRY
from augcli.sampling import AppliedOp

from .test_every_op import example_params


def rgb(h=32, w=48, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)


def levels_apart(a, b) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


# -- hue, saturation, sharpen -----------------------------------------------------------------


@pytest.mark.parametrize("shift", [-170.0, -30.0, 7.5, 90.0, 180.0])
def test_hue_is_a_rotation_in_skimage_hsv(shift):
    arr = rgb()
    hsv = rgb2hsv(arr)
    hsv[..., 0] = (hsv[..., 0] + shift / 360) % 1.0
    expected = hsv2rgb(hsv) * 255
    out = REGISTRY["hue"].kernel(arr, shift=shift)
    assert out.dtype == np.uint8 and out.shape == arr.shape
    assert levels_apart(out, expected) <= 1.0  # float32 HSV, rounded once


def test_hue_keeps_alpha_and_grey():
    rgba = np.dstack([rgb(), np.arange(32 * 48, dtype=np.uint8).reshape(32, 48, 1)])
    out = REGISTRY["hue"].kernel(rgba, shift=45.0)
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert levels_apart(out[..., :3], REGISTRY["hue"].kernel(rgba[..., :3], shift=45.0)) == 0
    grey = np.full((4, 4, 3), 90, np.uint8)
    assert np.array_equal(REGISTRY["hue"].kernel(grey, shift=77.0), grey)


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.6, 3.0])
def test_saturation_blends_with_601_luma(factor):
    arr = rgb()
    x = arr.astype(np.float64)
    luma = x @ np.array([0.299, 0.587, 0.114])
    expected = np.clip(luma[..., None] + factor * (x - luma[..., None]), 0, 255)
    # OpenCV's 8-bit cv2.transform works in fixed point: 0.7 rather than 0.5 of rounding once
    assert levels_apart(REGISTRY["saturation"].kernel(arr, factor=factor), expected) <= 0.7


def _smooth(x: np.ndarray) -> np.ndarray:
    """Pillow's SMOOTH kernel by hand, the one-pixel border left as it is."""
    out = x.copy()
    acc = 4 * x[1:-1, 1:-1]
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            acc = acc + x[1 + dy:x.shape[0] - 1 + dy, 1 + dx:x.shape[1] - 1 + dx]
    out[1:-1, 1:-1] = acc / 13
    return out


@pytest.mark.parametrize("factor", [0.0, 0.5, 2.0, 4.0])
def test_sharpen_blends_with_the_smooth_filter(factor):
    arr = rgb()
    x = arr.astype(np.float64)
    smooth = _smooth(x)
    expected = np.clip(smooth + factor * (x - smooth), 0, 255)
    out = REGISTRY["sharpen"].kernel(arr, factor=factor)
    assert levels_apart(out, expected) <= 0.5 + 1e-3
    assert np.array_equal(out[0], arr[0]) and np.array_equal(out[:, -1], arr[:, -1])


def test_brightness_then_contrast_is_one_table_with_the_mean_of_what_contrast_sees():
    """The fused chain equals the two steps one at a time, contrast taking the
    mean of the brightened image (exact integer sums)."""
    arr = rgb(41, 37)
    ops = [AppliedOp("brightness", (("factor", 1.37),)), AppliedOp("contrast", (("factor", 1.6),))]
    fused = apply(arr, ops)
    stepwise = REGISTRY["contrast"].kernel(REGISTRY["brightness"].kernel(arr, factor=1.37), factor=1.6)
    assert np.array_equal(fused, stepwise)
    bright = np.floor(arr.astype(np.float32) * np.float32(1.37)).clip(0, 255)
    mean = bright.reshape(-1, 3).mean(axis=0)
    assert levels_apart(fused, np.clip((bright - mean) * 1.6 + mean, 0, 255)) <= 0.5 + 1e-9


def test_point_chain_leaves_alpha_alone():
    rgba = np.dstack([rgb(), np.full((32, 48, 1), 77, np.uint8)])
    out = point_chain(rgba, [lambda mode, means: (lambda v, band: 255 - v)])
    assert np.array_equal(out[..., 3], rgba[..., 3]) and np.array_equal(out[..., :3], 255 - rgba[..., :3])


# -- arrays and views ------------------------------------------------------------------------------


def test_crops_are_views_and_flips_copy():
    arr = rgb()
    crop = apply(arr, [AppliedOp("crop", (("box", [3, 4, 20, 30]),))])
    assert np.shares_memory(crop, arr) and np.array_equal(crop, arr[4:30, 3:20])
    flipped = apply(arr, [AppliedOp("hflip", ()), AppliedOp("crop", (("box", [3, 4, 20, 30]),))])
    assert not np.shares_memory(flipped, arr) and np.array_equal(flipped, arr[:, ::-1][4:30, 3:20])


def test_pillow_in_gives_pillow_back_with_the_same_pixels():
    arr = rgb()
    ops = [AppliedOp("rotate", (("angle", 10.0), ("fill", "reflect"), ("cval", 0.0),
                                ("interpolation", "bilinear"), ("expand", False)))]
    img = apply(to_pil(arr), ops)
    assert img.mode == "RGB" and np.array_equal(from_pil(img), apply(arr, ops))


# -- premultiplied: no colour from transparent pixels ----------------------------------------------------

# every op that mixes neighbouring pixels, with parameters that make it mix
MIXING = {
    "blur": {"radius": 2.0},
    "sharpen": {"factor": 3.0},
    "elastic": {"grid": 4, "magnitude": 6.0, "interpolation": "bilinear", "seed": 3},
    "rotate": {"angle": 17.0, "fill": "reflect", "cval": 0.0, "interpolation": "bilinear", "expand": False},
    "zoom": {"scale": 1.3, "x": None, "y": None, "fill": "edge", "cval": 0.0, "interpolation": "bicubic"},
    "shear": {"x": 12.0, "y": 0.0, "fill": "symmetric", "cval": 0.0, "interpolation": "bilinear"},
    "translate": {"x": 2.5, "y": 0.5, "unit": "pixels", "fill": "wrap", "cval": 0.0, "interpolation": "bilinear"},
    "affine": {"angle": 9.0, "scale": 0.9, "shear_x": 4.0, "shear_y": 0.0, "translate_x": 1.5, "translate_y": 0.0,
               "unit": "pixels", "fill": "reflect", "cval": 0.0, "interpolation": "bilinear"},
    "perspective": {"magnitude": 0.2, "corners": [[2, 1], [44, 3], [46, 29], [1, 30]], "fill": "reflect", "cval": 0.0,
                    "interpolation": "bilinear"},
    "resize": {"size": (29, 17), "interpolation": "bicubic"},
    "smallest_max_size": {"max_size": 20, "interpolation": "bilinear"},
    "longest_max_size": {"max_size": 70, "interpolation": "bicubic"},
    "random_resized_crop": {"size": [40, 40], "box": [5, 3, 40, 29], "interpolation": "bilinear"},
    "keras": {"rotate": 11.0, "shift_x": 1.5, "shift_y": 0.0, "shear": 5.0, "zoom_x": 1.1, "zoom_y": 0.9,
              "hflip": False, "vflip": False, "channel_shift": 0.0, "brightness": 1.0, "fill": "reflect", "cval": 0.0,
              "interpolation": "bilinear"},
}


def green_beside_transparent_red(channels: int) -> np.ndarray:
    """Opaque green stripes (grey 200 for LA) between fully transparent red (grey 30) ones."""
    h, w = 32, 48
    visible = (np.arange(w) // 5 % 2 == 0)[None, :].repeat(h, 0)
    if channels == 4:
        arr = np.zeros((h, w, 4), np.uint8)
        arr[visible] = (0, 255, 0, 255)
        arr[~visible] = (255, 0, 0, 0)
    else:
        arr = np.zeros((h, w, 2), np.uint8)
        arr[visible] = (200, 255)
        arr[~visible] = (30, 0)
    return arr


def test_every_op_that_mixes_neighbours_is_listed():
    """A new resampling or filtering op needs its entry in MIXING (its kernel is
    then checked for colour bleeding out of transparent pixels)."""
    geometric = {n for n, s in REGISTRY.items() if s.category == "geometric" and s.expand is None and not s.exact}
    assert geometric - {"pad_if_needed"} <= set(MIXING), "pad_if_needed only copies pixels"


@pytest.mark.parametrize("channels", [2, 4])
@pytest.mark.parametrize("name", sorted(MIXING))
def test_no_colour_bleeds_from_transparent_pixels(name, channels):
    arr = green_beside_transparent_red(channels)
    out = REGISTRY[name].kernel(arr, **MIXING[name])
    assert mode_of(out) == mode_of(arr)
    seen = out[..., -1] > 0
    assert seen.any()
    colour = out[seen][:, :-1].astype(int)
    if channels == 4:
        assert colour[:, 0].max() <= 1, f"{name}: red from transparent pixels"
        assert colour[:, 1].min() >= 254 and colour[:, 2].max() <= 1
    else:
        assert np.abs(colour - 200).max() <= 1, f"{name}: grey from transparent pixels"


@pytest.mark.parametrize("name", ["blur", "sharpen"])
def test_colour_filters_keep_alpha_as_it_was(name):
    arr = green_beside_transparent_red(4)
    assert np.array_equal(REGISTRY[name].kernel(arr, **MIXING[name])[..., 3], arr[..., 3])


def test_example_params_of_mixing_ops_still_draw():
    """MIXING's parameters are hand-picked; each op's own example still fires."""
    for name in MIXING:
        assert example_params(name, (48, 32)) is not None


@pytest.mark.parametrize("channels", [1, 3])
def test_nearest_takes_the_right_or_lower_pixel_at_exact_halves(channels):
    """warp's documented rule (a pixel covers [x - 0.5, x + 0.5)) where float32
    coordinates would otherwise round either way: a 1.5x vertical stretch puts
    every other sample exactly between two rows (1/1.5 is inexact in binary)."""
    from augcli.ops.warp import warp

    arr = np.random.default_rng(0).integers(0, 256, (31, 37, channels), np.uint8)
    forward = np.array([[1.0, 0, 0], [0, 1.5, 0.75], [0, 0, 1]])  # output row y shows input row (y - 0.75) / 1.5
    rows = np.clip(np.floor((np.arange(31) - 0.75) / 1.5 + 0.5).astype(int), 0, 30)
    assert np.array_equal(warp(arr, forward, (37, 31), fill="edge", interpolation="nearest"), arr[rows])


@pytest.mark.parametrize("name", sorted(MIXING))
def test_an_opaque_rgba_image_gets_the_bytes_of_its_rgb_twin(name):
    """Weighting by an alpha of 255 changes nothing, so it is skipped: a colour
    one level off would be stretched by a later posterize or solarize."""
    arr = rgb()
    rgba = np.dstack([arr, np.full(arr.shape[:2] + (1,), 255, np.uint8)])
    params = MIXING[name]
    out = REGISTRY[name].kernel(rgba, **params)
    assert np.array_equal(out[..., :3], REGISTRY[name].kernel(arr, **params)) and (out[..., 3] == 255).all()
