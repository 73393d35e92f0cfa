"""Colour ops. They act on the colour bands only: alpha is never recoloured.

Point ops are declared by their value mapping alone (``registry.point_op``) and run as
lookup tables (``imaging.point_chain``), so a run of them costs one ``cv2.LUT``
whatever their formulas.
"""
from __future__ import annotations

import io
import math

from ..imaging import (alpha_weighted, colour_op, from_pil, hwc, max_value, mode_of, opaque, split_alpha, to_pil,
                       to_range, with_alpha)
from ..lazy import lazy, opencv
from .registry import point_op, register
from .spec import OpSpec, Param

np = lazy("numpy")
Image = lazy("PIL.Image")
ImageOps = lazy("PIL.ImageOps")


def _brightness(params: dict, mode: str, means):
    """PIL ``ImageEnhance.Brightness``: a blend with black, ``trunc(float32(v * factor))``."""
    factor = params["factor"]
    if max_value(mode) == 1:  # float modes: no levels to truncate to
        return lambda v, band: v * factor  # clipped to 0..1 by the chain
    f = np.float32(factor)
    return lambda v, band: np.floor(v.astype(np.float32) * f).astype(np.float64)


def _contrast(params: dict, mode: str, means):
    """``(x - mean_c) * factor + mean_c`` per colour channel, clipped (Keras RandomContrast)."""
    factor, mean = params["factor"], means()
    return lambda v, band: (v - mean[band]) * factor + mean[band]


brightness = point_op(
    "brightness", _brightness,
    params=(Param("factor", "float", lo=0, hi=10, doc="multiplier: 1 = unchanged, 0 = black"),),
    doc="Scale pixel values (PIL ImageEnhance.Brightness).",
    example="- brightness: {factor: [0.8, 1.2]}",
)
contrast = point_op(
    "contrast", _contrast,
    params=(Param("factor", "float", lo=0, hi=10, doc="1 = unchanged, 0 = flat mean colour, >1 stronger"),),
    doc="Stretch values about each channel's mean: (x - mean) * factor + mean, clipped.",
    example="- contrast: {factor: [0.5, 1.5]}",
)


# -- the rest of the colour catalogue -------------------------------------------------
#
# Every op takes every working mode (``augcli.imaging``). Alpha is never touched.
# Ops that mix neighbouring pixels (blur, sharpen) weight colours by alpha
# (``alpha_weighted``), so transparent pixels lend none of their colour. Ops
# that mean something for colour only (saturation, hue) leave grey images as
# they are. No op lowers the bit depth except jpeg, whose whole point is 8-bit
# JPEG artefacts.

# ITU-R 601-2 luma as Pillow's L conversion computes it: 16-bit fixed point, rounded
_LUMA = (19595, 38470, 7471)


def luma(rgb: np.ndarray) -> np.ndarray:
    """8-bit RGB (H, W, 3) -> 8-bit grey (H, W, 1), exactly Pillow's ``convert("L")``
    (OpenCV's ``RGB2GRAY`` rounds its own weights: 1 level off on 0.1% of colours)."""
    wide = rgb.astype(np.uint32)
    return ((wide[:, :, 0:1] * _LUMA[0] + wide[:, :, 1:2] * _LUMA[1] + wide[:, :, 2:3] * _LUMA[2] + 0x8000)
            >> 16).astype(np.uint8)


def saturation(img: np.ndarray, *, factor: float) -> np.ndarray:
    """Blend each pixel with its own ITU-R 601-2 luma: ``luma + factor * (rgb -
    luma)``, clipped (what PIL ``ImageEnhance.Color`` means; Pillow rounds the
    luma and truncates the blend, so it differs by up to one level for factors
    in 0..2). One ``cv2.transform`` with that 3x3 matrix, whose 8-bit path is
    fixed point: within 0.7 of the exact value. Grey images are unchanged."""

    def blend(colour: np.ndarray) -> np.ndarray:
        if colour.shape[2] != 3 or factor == 1:
            return colour.copy()
        weights = np.array(_LUMA, np.float64) / 65536
        matrix = factor * np.eye(3) + (1 - factor) * np.tile(weights, (3, 1))
        out = opencv().transform(np.ascontiguousarray(colour), matrix)
        return out if out.dtype == np.uint8 else to_range(out, out.dtype)  # 8 bits saturate by themselves

    return colour_op(blend)(img)


def hue(img: np.ndarray, *, shift: float) -> np.ndarray:
    """Rotate the hue by ``shift`` degrees in HSV (hexcone, as scikit-image's
    ``rgb2hsv``): saturation and value stay, positive shifts turn red towards
    yellow. Computed in float32 (OpenCV's ``RGB2HSV``) and rounded once, so a
    colour moves by at most one level from the exact rotation. Grey images are
    unchanged."""

    def rotate(colour: np.ndarray) -> np.ndarray:
        if colour.shape[2] != 3 or shift % 360 == 0:
            return colour.copy()
        cv2 = opencv()
        # HSV's hue and saturation are ratios and V is the maximum, so OpenCV's
        # float conversion works on 0..255 as on 0..1: no scaling either way
        # (float32 only: float64 images lose their last digits here)
        hsv = cv2.cvtColor(colour.astype(np.float32), cv2.COLOR_RGB2HSV)
        hsv[:, :, 0] += np.float32(shift % 360)  # HSV2RGB takes hues past 360 round the wheel
        out = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        # no negative values: convertScaleAbs rounds and saturates in one pass
        return cv2.convertScaleAbs(out) if colour.dtype == np.uint8 else to_range(out, colour.dtype)

    return colour_op(rotate)(img)


def _gamma(params: dict, mode: str, means):
    """``max * (x / max) ** gamma``: < 1 brightens shadows, > 1 darkens them."""
    top, gamma = max_value(mode), params["gamma"]
    return lambda v, band: top * (v / top) ** gamma


def shift_channels(img: np.ndarray, value: float) -> np.ndarray:
    """Keras' channel shift: add ``value`` (0..255 scale) to every colour channel,
    clipped to the image's own min and max."""

    def shift(colour: np.ndarray) -> np.ndarray:
        lo, hi = colour.min(), colour.max()
        out = np.clip(colour.astype(np.float32) + value * max_value(mode_of(img)) / 255.0, lo, hi)
        return to_range(out, colour.dtype)

    return colour_op(shift)(img)


def channel_shift(img: np.ndarray, *, value: float) -> np.ndarray:
    return shift_channels(img, value)


def grayscale(img: np.ndarray, *, channels: int) -> np.ndarray:
    """ITU-R 601-2 luma (Pillow's L conversion, ``luma``). ``channels: 3`` keeps
    RGB with three equal channels (tensor shapes do not change), ``channels: 1``
    writes L (RGBA becomes LA). Grey images are unchanged."""
    colour, alpha = split_alpha(img)
    if colour.shape[2] != 3:
        return img.copy()
    if colour.dtype == np.uint8:
        grey = luma(colour)
    else:
        grey = to_range(colour.astype(np.float64) @ (np.array(_LUMA) / 65536), colour.dtype)[:, :, None]
    return with_alpha(np.repeat(grey, 3, axis=2) if channels == 3 else grey, alpha)


def _equalize_table(hist: np.ndarray) -> np.ndarray:
    """Pillow's ``ImageOps.equalize`` table for one channel's histogram (exact integers)."""
    size = hist.size
    used = hist[hist > 0]
    if used.size <= 1:
        return np.arange(size)
    step = (int(used.sum()) - int(used[-1])) // (size - 1)
    if not step:
        return np.arange(size)
    before = np.concatenate([[0], np.cumsum(hist)[:-1]])
    return np.minimum((step // 2 + before) // step, size - 1)


def equalize(img: np.ndarray) -> np.ndarray:
    """Histogram equalisation (Pillow's ``ImageOps.equalize`` tables, per channel;
    the same rule over 65536 levels for 16-bit)."""

    def apply(colour: np.ndarray) -> np.ndarray:
        if colour.dtype == np.uint8:
            tables = [_equalize_table(np.bincount(colour[:, :, c].ravel(), minlength=256))
                      for c in range(colour.shape[2])]
            lut = np.stack(tables, axis=-1).astype(np.uint8).reshape(256, 1, len(tables))
            return hwc(opencv().LUT(np.ascontiguousarray(colour), lut))
        if colour.dtype == np.uint16:
            return _equalize16(colour)
        # 32-bit and float: equalise their 16-bit rendering, then scale back
        levels = to_range(colour.astype(np.float64) * (65535 / max_value(mode_of(img))), np.uint16)
        return to_range(_equalize16(levels).astype(np.float64) * (max_value(mode_of(img)) / 65535), colour.dtype)

    return colour_op(apply)(img)


def _equalize16(arr: np.ndarray) -> np.ndarray:
    hist = np.bincount(arr.ravel(), minlength=65536)
    cdf = np.cumsum(hist)
    nonzero = cdf[cdf > 0]
    if nonzero.size == 0 or nonzero[-1] == nonzero[0]:
        return arr.copy()
    lut = np.clip(np.rint((cdf - nonzero[0]) / (nonzero[-1] - nonzero[0]) * 65535), 0, 65535).astype(np.uint16)
    return lut[arr]


def autocontrast(img: np.ndarray, *, cutoff: float) -> np.ndarray:
    """Stretch to the full range, ignoring ``cutoff`` percent at each end (PIL
    ``ImageOps.autocontrast`` for 8-bit, its definition; percentiles otherwise)."""

    def apply(colour: np.ndarray) -> np.ndarray:
        if colour.dtype == np.uint8:
            return from_pil(ImageOps.autocontrast(to_pil(colour), cutoff=cutoff))
        arr = colour.astype(np.float64)
        lo, hi = np.percentile(arr, [cutoff, 100 - cutoff])
        if hi <= lo:
            return colour.copy()
        return to_range((arr - lo) * max_value(mode_of(img)) / (hi - lo), colour.dtype)

    return colour_op(apply)(img)


def _posterize(params: dict, mode: str, means):
    """Keep the top ``bits`` bits of each 8-bit value (PIL ``ImageOps.posterize``);
    other modes keep the same levels of their own range (a step of 2**(8-bits)
    on the 0..255 scale, scaled to 0..65535 or 0..1)."""
    step = 2 ** (8 - params["bits"]) * max_value(mode) / 255
    return lambda v, band: np.floor(v / step) * step


def _solarize(params: dict, mode: str, means):
    """Invert values at or above ``threshold`` (0..255 scale), as PIL ``ImageOps.solarize``."""
    top = max_value(mode)
    cut = params["threshold"] * top / 255
    return lambda v, band: np.where(v < cut, v, top - v)


def _invert(params: dict, mode: str, means):
    """Negative: ``max - x`` (PIL ``ImageOps.invert``)."""
    top = max_value(mode)
    return lambda v, band: top - v




def _smooth_kernel() -> np.ndarray:
    """Pillow's SMOOTH filter, the blur ``ImageEnhance.Sharpness`` blends against."""
    return np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13


def sharpen(img: np.ndarray, *, factor: float) -> np.ndarray:
    """Blend with a softened copy: ``smooth + factor * (x - smooth)``, where smooth
    is Pillow's SMOOTH kernel ([1 1 1; 1 5 1; 1 1 1] / 13) and the one-pixel
    border is left as it is, as PIL ``ImageEnhance.Sharpness`` does (Pillow
    rounds the smooth image and truncates the blend: up to one level apart for
    factors in 0..2). 1 = unchanged, > 1 sharper, < 1 softer. Colours are
    weighted by alpha."""
    h, w = img.shape[:2]
    if factor == 1 or min(h, w) < 3:
        return img.copy()
    cv2 = opencv()
    colour, alpha = split_alpha(img)
    if (alpha is None or opaque(img)) and img.dtype == np.uint8:
        # one pass: the blend folded into the kernel, OpenCV rounds and saturates
        kernel = (1 - factor) * _smooth_kernel()
        kernel[1, 1] += factor
        out = with_alpha(hwc(cv2.filter2D(np.ascontiguousarray(colour), -1, kernel, borderType=cv2.BORDER_REPLICATE)),
                         alpha)
    else:
        work = colour.astype(np.float32)
        smooth = alpha_weighted(img, lambda a: hwc(cv2.filter2D(a, -1, _smooth_kernel(), borderType=cv2.BORDER_REPLICATE)))
        out = with_alpha(to_range(smooth + np.float32(factor) * (work - smooth), img.dtype), alpha)
    out[0], out[-1], out[:, 0], out[:, -1] = img[0], img[-1], img[:, 0], img[:, -1]
    return out


def blur(img: np.ndarray, *, radius: float) -> np.ndarray:
    """Gaussian blur with standard deviation ``radius`` pixels (as Pillow's
    ``GaussianBlur`` names it): a true Gaussian truncated at 4 sigma like
    scikit-image's ``gaussian``, edges extended, every bit depth on one path,
    colours weighted by alpha. OpenCV filters in float and rounds once (its
    8-bit ``GaussianBlur`` uses fixed-point weights, up to 1.4 levels off, for
    no gain in speed)."""
    if radius == 0:
        return img.copy()
    cv2 = opencv()
    wide = img.dtype in (np.int32, np.float64)  # 32-bit integers need double precision
    depth = cv2.CV_64F if wide else cv2.CV_32F
    weights = cv2.getGaussianKernel(2 * math.ceil(4 * radius) + 1, radius, depth)

    def gaussian(pixels: np.ndarray) -> np.ndarray:
        return hwc(cv2.sepFilter2D(pixels, depth, weights, weights, borderType=cv2.BORDER_REPLICATE))

    colour, alpha = split_alpha(img)
    if (alpha is None or opaque(img)) and img.dtype == np.uint8:
        # straight to 8 bits: OpenCV filters in float and rounds once (the same
        # bytes as filtering to float32 and rounding, a fifth less time)
        return with_alpha(hwc(cv2.sepFilter2D(np.ascontiguousarray(colour), -1, weights, weights,
                                              borderType=cv2.BORDER_REPLICATE)), alpha)
    if alpha is None:
        return to_range(gaussian(img.astype(np.float64) if wide else img), img.dtype)
    return with_alpha(to_range(alpha_weighted(img, gaussian), img.dtype), alpha)


def jpeg(img: np.ndarray, *, quality: int) -> np.ndarray:
    """Re-encode as JPEG at ``quality`` and decode again (Pillow's codec, as
    ``encode`` writes files): compression artefacts. Deeper modes go through
    8-bit JPEG and come back scaled to their range."""

    def apply(colour: np.ndarray) -> np.ndarray:
        top = max_value(mode_of(img))
        eight = colour if colour.dtype == np.uint8 else to_range(colour.astype(np.float64) * (255 / top), np.uint8)
        buffer = io.BytesIO()
        to_pil(eight).save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out = from_pil(decoded.convert(to_pil(eight).mode))
        if colour.dtype == np.uint8:
            return out
        return to_range(out.astype(np.float64) * (top / 255), colour.dtype)

    return colour_op(apply)(img)


register(OpSpec(
    "saturation", saturation,
    params=(Param("factor", "float", lo=0, hi=10, doc="1 = unchanged, 0 = grey, > 1 more vivid"),),
    doc="Colour saturation (PIL ImageEnhance.Color).", example="- saturation: {factor: [0.7, 1.3]}",
))
register(OpSpec(
    "hue", hue, params=(Param("shift", "float", lo=-180, hi=180, doc="degrees around the colour wheel"),),
    doc="Shift the hue in HSV.", example="- hue: {shift: [-10, 10]}",
))
gamma = point_op(
    "gamma", _gamma, params=(Param("gamma", "float", lo=0.05, hi=20, doc="< 1 brighter shadows, > 1 darker"),),
    doc="Gamma curve: max * (x / max) ** gamma.", example="- gamma: {gamma: [0.8, 1.25]}",
)
register(OpSpec(
    "channel_shift", channel_shift,
    params=(Param("value", "float", lo=-255, hi=255, doc="added to every colour channel (0..255 scale)"),),
    doc="Add one value to all channels, clipped to the image's own range (Keras channel_shift_range).",
    example="- channel_shift: {value: [-20, 20]}",
))
register(OpSpec(
    "grayscale", grayscale,
    params=(Param("channels", "int", 3, 1, 3, doc="3 keeps RGB (equal channels), 1 writes L"),),
    doc="ITU-R 601-2 luma (Pillow's L conversion).", example="- grayscale: {channels: 3, p: 0.1}",
))
register(OpSpec("equalize", equalize, doc="Histogram equalisation (PIL ImageOps.equalize).",
                example="- equalize: {p: 0.2}"))
register(OpSpec(
    "autocontrast", autocontrast,
    params=(Param("cutoff", "float", 0.0, 0, 49, doc="percent of darkest/brightest pixels to ignore"),),
    doc="Stretch values to the full range (PIL ImageOps.autocontrast).", example="- autocontrast: {cutoff: 1}",
))
posterize = point_op(
    "posterize", _posterize, params=(Param("bits", "int", lo=1, hi=8, doc="bits kept per channel"),),
    doc="Reduce the number of levels (PIL ImageOps.posterize).", example="- posterize: {bits: [4, 6]}",
)
solarize = point_op(
    "solarize", _solarize, params=(Param("threshold", "float", 128.0, 0, 256, doc="0..255 scale; 256 = unchanged"),),
    doc="Invert values at or above a threshold (PIL ImageOps.solarize).", example="- solarize: {threshold: [128, 256]}",
)
invert = point_op("invert", _invert, doc="Negative image (PIL ImageOps.invert).", example="- invert: {p: 0.05}")
register(OpSpec(
    "sharpen", sharpen, params=(Param("factor", "float", lo=0, hi=10, doc="1 = unchanged, > 1 sharper"),),
    doc="Sharpness (PIL ImageEnhance.Sharpness).", example="- sharpen: {factor: [1, 2]}",
))
register(OpSpec(
    "blur", blur, params=(Param("radius", "float", lo=0, hi=50, doc="Gaussian radius (standard deviation) in pixels"),),
    doc="Gaussian blur (PIL ImageFilter.GaussianBlur).", example="- blur: {radius: [0.5, 1.5], p: 0.3}",
))
register(OpSpec(
    "jpeg", jpeg, params=(Param("quality", "int", lo=1, hi=100, doc="JPEG quality of the round trip"),),
    doc="JPEG compression artefacts: encode at a quality and decode again.", example="- jpeg: {quality: [30, 70]}",
))
