"""Documented details of the geometric ops, each against an oracle built from
the documentation (README "Interpolation", the op docs), never from augcli's
own matrices: Keys bicubic, premultiplied alpha, crop boxes clipped to the
image, random_resized_crop's box, and fusion only of ops that agree on their
resampling settings."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from augcli.apply import apply
from augcli.ops import REGISTRY
from augcli.recipe import Recipe
from augcli.sampling import AppliedOp, item_rng, sample


def noise(h=30, w=40, channels=3, seed=0) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def kernel(name: str, arr: np.ndarray, **params) -> np.ndarray:
    return np.asarray(REGISTRY[name].kernel(Image.fromarray(arr), **params))


def keys(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    """Keys' cubic convolution kernel (README: OpenCV's bicubic, a = -0.75)."""
    t = np.abs(t)
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * (t**3 - 5 * t**2 + 8 * t - 4)
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


@pytest.mark.parametrize("dx", [0.5, 0.25])
def test_bicubic_is_keys_cubic_convolution(dx):
    """A sub-pixel shift right by dx: output column x samples input x - dx, a
    weighted sum of its four neighbours with Keys' weights (edges extended)."""
    arr = noise()
    out = kernel("translate", arr, x=dx, y=0.0, unit="pixels", fill="edge", cval=0.0, interpolation="bicubic")
    padded = np.pad(arr.astype(float), ((0, 0), (2, 2), (0, 0)), mode="edge")
    u = np.arange(arr.shape[1]) - dx  # where each output column samples the input
    base = np.floor(u).astype(int)
    expected = sum(keys(u - (base + k))[None, :, None] * padded[:, base + k + 2] for k in (-1, 0, 1, 2))
    expected = np.clip(np.rint(expected), 0, 255)
    assert np.abs(out.astype(float) - expected).max() <= 1


@pytest.mark.parametrize("name,params", [
    ("translate", {"x": 0.5, "y": 0.0, "unit": "pixels"}),
    ("rotate", {"angle": 10.0, "expand": False}),
])
@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_transparent_colour_never_bleeds_into_visible_pixels(name, params, interpolation):
    """Left half opaque red, right half fully transparent green: resampled
    premultiplied, every pixel that is at all visible is pure red (a straight
    resample mixes green into the edge)."""
    arr = np.zeros((30, 40, 4), np.uint8)
    arr[:, :20] = (255, 0, 0, 255)
    arr[:, 20:] = (0, 255, 0, 0)
    out = kernel(name, arr, **params, fill="edge", cval=0.0, interpolation=interpolation).astype(int)
    visible = out[..., 3] >= 8  # a few levels of alpha: enough for colour to be meaningful
    edge = visible & (out[..., 3] < 255)
    assert edge.any(), "the shift should produce partly transparent pixels"
    assert np.abs(out[visible][:, :3] - [255, 0, 0]).max() <= 2


def test_crop_boxes_are_clipped_to_the_image():
    """``crop`` documents x1/y1 exclusive, clipped to the image: a box beyond
    the right and bottom edges keeps the last column and row."""
    arr = noise(30, 40)
    recipe = Recipe.from_yaml("pipeline:\n  - crop: {box: [30, 20, 100, 100]}\n  - crop: {box: [-5, -5, 4, 3]}\n")
    ops = sample(recipe.pipeline, item_rng(0, "x.png", 1)[0], (40, 30))
    assert [op.kwargs()["box"] for op in ops] == [[30, 20, 40, 30], [0, 0, 4, 3]]
    assert np.array_equal(np.asarray(apply(Image.fromarray(arr), ops[:1])), arr[20:30, 30:40])
    assert np.array_equal(np.asarray(apply(Image.fromarray(arr), ops)), arr[20:23, 30:34])


def test_random_resized_crop_shows_its_box():
    """The output is the content of the recorded box, resized: a box the size
    of the output is cut out unchanged, and a box scaled up 2x with nearest
    repeats each of the box's pixels in a 2 x 2 block."""
    arr = noise(60, 80)
    same = kernel("random_resized_crop", arr, size=[30, 20], box=[7, 11, 37, 31], interpolation="bilinear")
    assert np.array_equal(same, arr[11:31, 7:37])
    doubled = kernel("random_resized_crop", arr, size=[40, 30], box=[9, 4, 29, 19], interpolation="nearest")
    assert np.array_equal(doubled, arr[4:19, 9:29].repeat(2, axis=0).repeat(2, axis=1))


def test_affine_ops_with_different_fills_are_not_fused():
    """Each op fills with its own settings: shift right 10 with a black fill,
    then back left 10 with wrap, brings the black band round to the right edge.
    (Fused under one setting the two shifts would cancel and show no band.)"""
    arr = noise(30, 40)
    ops = [AppliedOp("translate", tuple({"x": 10.0, "y": 0.0, "unit": "pixels", "fill": "constant", "cval": 0.0,
                                         "interpolation": "bilinear"}.items())),
           AppliedOp("translate", tuple({"x": -10.0, "y": 0.0, "unit": "pixels", "fill": "wrap", "cval": 0.0,
                                         "interpolation": "bilinear"}.items()))]
    expected = arr.copy()
    expected[:, 30:] = 0
    assert np.array_equal(np.asarray(apply(Image.fromarray(arr), ops)), expected)
