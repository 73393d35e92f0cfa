"""Geometric ops: flips, quarter turns, rotation, resize.

Conventions (SPEC section 7): x to the right, y down, origin top-left;
geometry pivots about the image centre ((w-1)/2, (h-1)/2); positive angles
turn counter-clockwise, like PIL, scikit-image, Keras and ``np.rot90``.

Affine ops declare ``forward(params, size)``; their kernels call ``warp`` with
that same matrix, so an op applied alone and an op fused with its neighbours
(see ``augcli.apply``) go through one code path.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from . import register
from .spec import OpSpec, Param
from .warp import FILL_MODES, INTERPOLATIONS, about_centre, warp

FILL = Param("fill", "enum", "constant", choices=FILL_MODES,
             doc="how pixels beyond the border are filled (numpy.pad names)")
CVAL = Param("cval", "float", 0.0, 0, 255, doc="constant fill value on the 0..255 scale (alpha is filled with 0)")
INTERPOLATION = Param("interpolation", "enum", "bilinear", choices=INTERPOLATIONS, doc="resampling filter")
RESAMPLING = (FILL, CVAL, INTERPOLATION)


def resampling(params: dict) -> dict:
    """The keyword arguments ``warp`` takes from an op's params."""
    return {k: params[k] for k in ("fill", "cval", "interpolation")}


def affine_kernel(forward):
    """A kernel that applies ``forward`` with one ``warp``."""

    def kernel(img: Image.Image, **params) -> Image.Image:
        matrix, out_size = forward(params, img.size)
        return warp(img, matrix, out_size, **resampling(params))

    return kernel


# -- exact ops: pixel permutations ---------------------------------------------------


def _hflip_forward(params: dict, size):
    w, _ = size
    return np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]), size


def _vflip_forward(params: dict, size):
    _, h = size
    return np.array([[1.0, 0, 0], [0, -1, h - 1], [0, 0, 1]]), size


def _rot90_forward(params: dict, size):
    matrix, (w, h) = np.eye(3), size
    for _ in range(params["k"] % 4):
        # one counter-clockwise quarter turn, as np.rot90: (x, y) -> (y, w-1-x)
        matrix = np.array([[0.0, 1, 0], [-1, 0, w - 1], [0, 0, 1]]) @ matrix
        w, h = h, w
    return matrix, (w, h)


_ROT90 = {1: Image.Transpose.ROTATE_90, 2: Image.Transpose.ROTATE_180, 3: Image.Transpose.ROTATE_270}


def rot90(img: Image.Image, *, k: int) -> Image.Image:
    k %= 4
    return img.transpose(_ROT90[k]) if k else img.copy()


register(OpSpec(
    "hflip", lambda img: img.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    doc="Mirror left-right.", category="geometric", forward=_hflip_forward, exact=True,
    example="- hflip: {p: 0.5}",
))
register(OpSpec(
    "vflip", lambda img: img.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    doc="Mirror top-bottom.", category="geometric", forward=_vflip_forward, exact=True,
    example="- vflip: {p: 0.5}",
))
register(OpSpec(
    "rot90", rot90,
    params=(Param("k", "int", 1, doc="number of counter-clockwise quarter turns (as np.rot90)"),),
    doc="Turn by k quarter turns counter-clockwise, losslessly.", category="geometric",
    forward=_rot90_forward, exact=True, example="- rot90: {k: {choice: [1, 2, 3]}}",
))


# -- rotate -------------------------------------------------------------------------


def _rotate_forward(params: dict, size):
    theta = math.radians(params["angle"])
    c, s = math.cos(theta), math.sin(theta)
    # counter-clockwise on screen, where y points down
    linear = np.array([[c, s], [-s, c]])
    w, h = size
    if params.get("expand"):
        # the smallest canvas holding every rotated pixel centre, +1 for the pixels' extent
        ow = math.ceil(abs(c) * (w - 1) + abs(s) * (h - 1) - 1e-6) + 1
        oh = math.ceil(abs(s) * (w - 1) + abs(c) * (h - 1) - 1e-6) + 1
        return about_centre(linear, size, (ow, oh)), (ow, oh)
    return about_centre(linear, size), size


register(OpSpec(
    "rotate", affine_kernel(_rotate_forward),
    params=(
        Param("angle", "float", lo=-360, hi=360, doc="degrees, positive = counter-clockwise"),
        *RESAMPLING,
        Param("expand", "bool", False, doc="grow the canvas to hold the whole rotated image"),
    ),
    doc="Rotate about the image centre.", category="geometric", forward=_rotate_forward,
    example="- rotate: {angle: [-20, 20], fill: reflect, p: 0.8}",
))


# -- resize -------------------------------------------------------------------------

_RESIZE_FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}


def resize(img: Image.Image, *, size, interpolation: str) -> Image.Image:
    return img.resize(tuple(size), _RESIZE_FILTERS[interpolation])


register(OpSpec(
    "resize", resize,
    params=(
        Param("size", "pair", doc="output [width, height] in pixels"),
        INTERPOLATION,
    ),
    doc="Scale to a fixed [width, height] (antialiased when shrinking, as Pillow's resize).",
    category="geometric", out_size=lambda params, size: tuple(params["size"]),
    example="- resize: {size: [224, 224]}",
))
