"""Colour ops. They act on the colour bands only: alpha is never recoloured.

Point ops are declared by their value mapping alone (``registry.point_op``) and run as
lookup tables (``imaging.point_chain``), so a run of them costs one Pillow
``point`` call whatever their formulas.
"""
from __future__ import annotations

import io
import math

from ..lazy import lazy, opencv
from ..imaging import colour_op, max_value, split_alpha, to_mode_range, with_alpha
from .registry import point_op, register
from .spec import OpSpec, Param

np = lazy("numpy")
Image = lazy("PIL.Image")
ImageEnhance = lazy("PIL.ImageEnhance")
ImageFilter = lazy("PIL.ImageFilter")
ImageOps = lazy("PIL.ImageOps")
ImageStat = lazy("PIL.ImageStat")


def _brightness(params: dict, mode: str, means):
    """PIL ``ImageEnhance.Brightness``: a blend with black, ``trunc(float32(v * factor))``."""
    factor = params["factor"]
    if mode == "F":
        return lambda v, band: v * factor
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
# Every op takes L, LA, RGB, RGBA and 16-bit grey (I;16). Alpha is never touched.
# Where Pillow has no 16-bit path, the op uses numpy (or scikit-image for the
# Gaussian) on the 16-bit values; no op lowers the bit depth except jpeg, whose
# whole point is 8-bit JPEG artefacts.


def saturation(img: Image.Image, *, factor: float) -> Image.Image:
    """PIL ``ImageEnhance.Color``: blend with the image's own greyscale. Grey images are unchanged."""
    return colour_op(lambda base: ImageEnhance.Color(base).enhance(factor) if base.mode == "RGB" else base.copy())(img)


def hue(img: Image.Image, *, shift: float) -> Image.Image:
    """Rotate the hue by ``shift`` degrees in HSV. Like torchvision's PIL path this
    goes through Pillow's 8-bit HSV, so colours can move by a level or two in the
    round trip. Grey images are unchanged."""

    def rotate(base: Image.Image) -> Image.Image:
        if base.mode != "RGB" or shift % 360 == 0:
            return base.copy()
        h, s, v = base.convert("HSV").split()
        offset = int(round(shift * 256 / 360)) % 256
        h = h.point(lambda x: (x + offset) % 256)
        return Image.merge("HSV", (h, s, v)).convert("RGB")

    return colour_op(rotate)(img)


def _gamma(params: dict, mode: str, means):
    """``max * (x / max) ** gamma``: < 1 brightens shadows, > 1 darkens them."""
    top, gamma = max_value(mode), params["gamma"]
    return lambda v, band: top * (v / top) ** gamma


def shift_channels(img: Image.Image, value: float) -> Image.Image:
    """Keras' channel shift: add ``value`` (0..255 scale) to every colour channel,
    clipped to the image's own min and max."""

    def shift(base: Image.Image) -> Image.Image:
        arr = np.asarray(base)
        lo, hi = arr.min(), arr.max()
        out = np.clip(arr.astype(np.float32) + value * max_value(base.mode) / 255.0, lo, hi)
        return Image.fromarray(np.rint(out).astype(arr.dtype) if arr.dtype.kind != "f" else out.astype(arr.dtype))

    return colour_op(shift)(img)


def channel_shift(img: Image.Image, *, value: float) -> Image.Image:
    return shift_channels(img, value)


def grayscale(img: Image.Image, *, channels: int) -> Image.Image:
    """ITU-R 601-2 luma (Pillow's L conversion). ``channels: 3`` keeps RGB with
    three equal channels (tensor shapes do not change), ``channels: 1`` writes L
    (RGBA becomes LA). Grey images are unchanged."""
    base, alpha = split_alpha(img)
    if base.mode != "RGB":
        return img.copy()
    grey = base.convert("L")
    return with_alpha(grey.convert("RGB") if channels == 3 else grey, alpha)


def _equalize16(arr: np.ndarray) -> np.ndarray:
    hist = np.bincount(arr.ravel(), minlength=65536)
    cdf = np.cumsum(hist)
    nonzero = cdf[cdf > 0]
    if nonzero.size == 0 or nonzero[-1] == nonzero[0]:
        return arr.copy()
    lut = np.clip(np.rint((cdf - nonzero[0]) / (nonzero[-1] - nonzero[0]) * 65535), 0, 65535).astype(np.uint16)
    return lut[arr]


def equalize(img: Image.Image) -> Image.Image:
    """Histogram equalisation (PIL ``ImageOps.equalize``; a numpy CDF for 16-bit)."""

    def apply(base: Image.Image) -> Image.Image:
        if base.mode == "I;16":
            return Image.fromarray(_equalize16(np.asarray(base)))
        return ImageOps.equalize(base)

    return colour_op(apply)(img)


def autocontrast(img: Image.Image, *, cutoff: float) -> Image.Image:
    """Stretch to the full range, ignoring ``cutoff`` percent at each end (PIL ``ImageOps.autocontrast``)."""

    def apply(base: Image.Image) -> Image.Image:
        if base.mode != "I;16":
            return ImageOps.autocontrast(base, cutoff=cutoff)
        arr = np.asarray(base).astype(np.float64)
        lo, hi = np.percentile(arr, [cutoff, 100 - cutoff])
        if hi <= lo:
            return base.copy()
        return Image.fromarray(to_mode_range((arr - lo) * 65535 / (hi - lo), "I;16"))

    return colour_op(apply)(img)


def _posterize(params: dict, mode: str, means):
    """Keep the top ``bits`` bits of each 8-bit value (PIL ``ImageOps.posterize``;
    16-bit images keep the same share of their 16 bits' top)."""
    bits = params["bits"]
    step = 2 ** (8 - bits) * max_value(mode) / 255 if mode == "I;16" else 2 ** (8 - bits)
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


def _smooth16(arr: np.ndarray) -> np.ndarray:
    """Pillow's SMOOTH 3x3 kernel ([1 1 1; 1 5 1; 1 1 1] / 13), borders kept as Pillow does."""
    work = arr.astype(np.float64)
    h, w = work.shape
    acc = 4 * work[1:-1, 1:-1].copy()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            acc += work[1 + dy : h - 1 + dy, 1 + dx : w - 1 + dx]
    out = work.copy()
    out[1:-1, 1:-1] = acc / 13
    return out


def sharpen(img: Image.Image, *, factor: float) -> Image.Image:
    """PIL ``ImageEnhance.Sharpness``: 1 = unchanged, > 1 sharper, < 1 softer
    (16-bit: the same blend with Pillow's SMOOTH kernel, in numpy)."""

    def apply(base: Image.Image) -> Image.Image:
        if base.mode != "I;16":
            return ImageEnhance.Sharpness(base).enhance(factor)
        arr = np.asarray(base).astype(np.float64)
        if min(arr.shape) < 3:
            return base.copy()
        return Image.fromarray(to_mode_range(_smooth16(arr) + factor * (arr - _smooth16(arr)), "I;16"))

    return colour_op(apply)(img)


def blur(img: Image.Image, *, radius: float) -> Image.Image:
    """Gaussian blur with standard deviation ``radius`` pixels (as Pillow's
    ``GaussianBlur`` names it): a true Gaussian truncated at 4 sigma like
    scikit-image's ``gaussian``, edges extended, every bit depth on one path.
    OpenCV filters in float and rounds once (its 8-bit ``GaussianBlur`` uses
    fixed-point weights, up to 1.4 levels off, for no gain in speed)."""

    def apply(base: Image.Image) -> Image.Image:
        if radius == 0:
            return base.copy()
        cv2 = opencv()
        arr = np.asarray(base)
        wide = base.mode == "I"  # 32-bit integers need double precision
        weights = cv2.getGaussianKernel(2 * math.ceil(4 * radius) + 1, radius, cv2.CV_64F if wide else cv2.CV_32F)
        out = cv2.sepFilter2D(arr.astype(np.float64) if wide else arr, cv2.CV_64F if wide else cv2.CV_32F,
                              weights, weights, borderType=cv2.BORDER_REPLICATE)
        if arr.dtype == np.uint8:
            return Image.fromarray(cv2.convertScaleAbs(out))  # rounds and saturates in one pass
        return Image.fromarray(to_mode_range(out, base.mode))

    return colour_op(apply)(img)


def jpeg(img: Image.Image, *, quality: int) -> Image.Image:
    """Re-encode as JPEG at ``quality`` and decode again: compression artefacts.
    16-bit grey goes through 8-bit JPEG and comes back scaled to 16 bits."""

    def apply(base: Image.Image) -> Image.Image:
        eight = base
        if base.mode == "I;16":
            eight = Image.fromarray(to_mode_range(np.asarray(base).astype(np.float64) / 257, "L"))
        buffer = io.BytesIO()
        eight.save(buffer, "JPEG", quality=quality)
        buffer.seek(0)
        with Image.open(buffer) as decoded:
            out = decoded.convert(eight.mode)
        if base.mode == "I;16":
            return Image.fromarray(np.asarray(out).astype(np.uint16) * 257)
        return out

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
