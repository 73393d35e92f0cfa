"""Colour ops. They act on the colour bands only: alpha is never recoloured.

Point-wise ops are built as lookup tables (``imaging.map_values``), so they
cost one Pillow ``point`` call whatever their formula.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageStat

from ..imaging import colour_op, map_values
from . import register
from .spec import OpSpec, Param


def brightness(img: Image.Image, *, factor: float) -> Image.Image:
    """PIL ``ImageEnhance.Brightness``: a blend with black, ``trunc(float32(v * factor))``."""
    f = np.float32(factor)
    if img.mode == "F":
        return map_values(img, lambda v, band: v * factor)
    return map_values(img, lambda v, band: np.floor(v.astype(np.float32) * f).astype(np.float64))


def contrast(img: Image.Image, *, factor: float) -> Image.Image:
    """``(x - mean_c) * factor + mean_c`` per colour channel, clipped (Keras RandomContrast)."""

    def per_band(base: Image.Image) -> Image.Image:
        means = ImageStat.Stat(base).mean if base.mode in ("L", "RGB") else [float(np.asarray(base).mean())]
        return map_values(base, lambda v, band: (v - means[band]) * factor + means[band])

    return colour_op(per_band)(img)


register(OpSpec(
    "brightness", brightness,
    params=(Param("factor", "float", lo=0, hi=10, doc="multiplier: 1 = unchanged, 0 = black"),),
    doc="Scale pixel values (PIL ImageEnhance.Brightness).",
    example="- brightness: {factor: [0.8, 1.2]}",
))
register(OpSpec(
    "contrast", contrast,
    params=(Param("factor", "float", lo=0, hi=10, doc="1 = unchanged, 0 = flat mean colour, >1 stronger"),),
    doc="Stretch values about each channel's mean: (x - mean) * factor + mean, clipped.",
    example="- contrast: {factor: [0.5, 1.5]}",
))
