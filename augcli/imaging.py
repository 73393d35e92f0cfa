"""The pixel contract: what an image is between decode and encode.

An image is a numpy array of shape (H, W, C), always three dimensions, in one
of the working layouts below; its *mode* (Pillow's name, the vocabulary of
recipes, notes and tests) follows from the dtype and the channel count, and
so does alpha (the last channel when C is 2 or 4):

=========  =======  ===  =====================================================
mode       dtype    C    values
=========  =======  ===  =====================================================
L, LA      uint8    1 2  0..255 grey (+ alpha)
RGB, RGBA  uint8    3 4  0..255 colour (+ alpha)
I;16       uint16   1    0..65535 grey
I          int32    1    0..65535 is black..white; decoded values beyond stay
F          float32  1    0..1 grey (float64 too, from the ``Augmenter``)
RGBF       float32  3    0..1 colour (float64 too; arrays handed to the
                         ``Augmenter`` only: Pillow has no such mode, and
                         ``encode`` writes 8 bits)
=========  =======  ===  =====================================================

Kernels take such an array and return a new one (never writing into their
input; a view of it is fine, e.g. a crop); colour ops touch only the colour
channels, alpha rides along geometrically. Every value an op computes goes
through ``to_range``, the one place where augcli rounds (half to even) and
clips (to the mode's range: floats to 0..1).

Pillow sits at the edges only: ``from_pil`` (after decoding: palette, CMYK,
modes normalised) and ``to_pil`` (before encoding, and for the few kernels
where Pillow's own C path is the definition, e.g. antialiased resize).
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from .lazy import lazy, opencv

np = lazy("numpy")  # the op modules import this one; see lazy.py
Image = lazy("PIL.Image")

WORKING_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "I", "F")  # Pillow's modes, what decode gives
ARRAY_MODES = WORKING_MODES + ("RGBF",)

# (dtype kind, itemsize, channels) -> mode, and back
_LAYOUTS = {
    ("u", 1, 1): "L", ("u", 1, 2): "LA", ("u", 1, 3): "RGB", ("u", 1, 4): "RGBA",
    ("u", 2, 1): "I;16", ("i", 4, 1): "I", ("f", 4, 1): "F", ("f", 4, 3): "RGBF",
    ("f", 8, 1): "F", ("f", 8, 3): "RGBF",  # float64 arrays handed to the Augmenter stay float64
}
_DTYPES = {"I;16": "uint16", "I": "int32", "F": "float32", "RGBF": "float32"}
_CHANNELS = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "I;16": 1, "I": 1, "F": 1, "RGBF": 3}

_MODE_MAP = {
    "1": "L",
    "P": None,  # RGB or RGBA, depending on transparency
    "PA": "RGBA",
    "CMYK": "RGB",
    "YCbCr": "RGB",
    "LAB": "RGB",
    "HSV": "RGB",
    "La": "LA",
    "RGBa": "RGBA",
    "RGBX": "RGB",
    "I;16L": "I;16",
    "I;16B": "I;16",
    "I;16N": "I;16",
}


# -- the edges: Pillow in, Pillow out ------------------------------------------------------


def normalize(img: Image.Image) -> Image.Image:
    """Return ``img`` in a working mode (palette expanded, CMYK to RGB, ...)."""
    mode = img.mode
    if mode in WORKING_MODES:
        return img
    if mode == "P":
        has_alpha = "transparency" in img.info or img.palette is not None and img.palette.mode == "RGBA"
        return img.convert("RGBA" if has_alpha else "RGB")
    target = _MODE_MAP.get(mode)
    if target is None:
        target = "RGBA" if "A" in mode else "RGB"
    return img.convert(target)


def from_pil(img: Image.Image) -> np.ndarray:
    """A decoded Pillow image as a working array (H, W, C); read-only (it shares
    Pillow's buffer), which kernels never write into anyway."""
    img = normalize(img)
    arr = np.asarray(img)
    return arr[:, :, None] if arr.ndim == 2 else arr


def to_pil(arr: np.ndarray) -> Image.Image:
    """A working array as a Pillow image of its mode (not RGBF: Pillow has no
    float colour; ``encode`` reduces it to 8 bits first)."""
    if mode_of(arr) == "RGBF":
        raise ValueError("Pillow has no float RGB mode")
    if arr.shape[2] == 1:
        return Image.fromarray(np.ascontiguousarray(arr[:, :, 0]))
    return Image.fromarray(np.ascontiguousarray(arr))


def pil_compatible(fn: Callable) -> Callable:
    """Let an array function also take a Pillow image first (tests, plugins and
    users calling a kernel by hand): the image crosses in through ``from_pil``
    and the result goes back as a Pillow image. Arrays pass straight through,
    so the path between decode and encode never touches Pillow."""

    @wraps(fn)
    def door(img, *args, **kwargs):
        if isinstance(img, np.ndarray):
            return fn(img, *args, **kwargs)
        return to_pil(fn(from_pil(img), *args, **kwargs))

    door.__wrapped_array__ = fn
    return door


# -- what an array is ---------------------------------------------------------------------


def mode_of(arr: np.ndarray) -> str:
    """The working mode of an array, or ``ValueError`` naming what it is."""
    mode = _LAYOUTS.get((arr.dtype.kind, arr.dtype.itemsize, arr.shape[2] if arr.ndim == 3 else 0))
    if mode is None:
        raise ValueError(f"not a working image: {arr.dtype} array of shape {arr.shape}")
    return mode


def size_of(arr: np.ndarray) -> tuple[int, int]:
    """(width, height), Pillow's order, which recipes and sampling use."""
    return arr.shape[1], arr.shape[0]


def hwc(arr: np.ndarray) -> np.ndarray:
    """OpenCV returns one-channel results as (H, W): put the channel axis back."""
    return arr[:, :, None] if arr.ndim == 2 else arr


def has_alpha(arr: np.ndarray) -> bool:
    return arr.shape[2] in (2, 4)


def opaque(arr: np.ndarray) -> bool:
    """Whether ``arr`` has alpha and every pixel is fully opaque: weighting by
    alpha then changes nothing, so ops take the path of colour without alpha
    and an opaque RGBA image gets exactly the bytes of its RGB twin."""
    return has_alpha(arr) and bool((arr[:, :, -1] == 255).all())


def dtype_of(mode: str) -> np.dtype:
    return np.dtype(_DTYPES.get(mode, "uint8"))


def blank(mode: str, size: tuple[int, int], value=0) -> np.ndarray:
    """A (height, width) array of ``mode`` filled with ``value``."""
    w, h = size
    return np.full((h, w, _CHANNELS[mode]), value, dtype_of(mode))


def max_value(mode: str) -> float:
    """The white point of a working mode (the range cval and LUTs are scaled to)."""
    return {"I;16": 65535.0, "I": 65535.0, "F": 1.0, "RGBF": 1.0}.get(mode, 255.0)


def top(arr: np.ndarray) -> float:
    """The white point of ``arr``'s mode."""
    return max_value(mode_of(arr))


def to_range(values: np.ndarray, dtype) -> np.ndarray:
    """Round half to even and clip values into ``dtype``'s working range (floats
    to 0..1): the one place where augcli rounds."""
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return np.clip(values, 0.0, 1.0).astype(dtype)
    hi = 255 if dtype == np.uint8 else 65535
    return np.clip(np.rint(values), 0, hi).astype(dtype)


def to_mode_range(values: np.ndarray, mode: str) -> np.ndarray:
    """``to_range`` by mode name."""
    return to_range(values, dtype_of(mode))


# -- colour and alpha ------------------------------------------------------------------------


def split_alpha(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The colour channels and the alpha channel (None without), as views."""
    if has_alpha(arr):
        return arr[:, :, :-1], arr[:, :, -1:]
    return arr, None


def with_alpha(colour: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
    if alpha is None:
        return colour
    return np.concatenate([colour, alpha], axis=2)


def colour_op(fn: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """Apply ``fn`` to the colour channels only, keeping alpha untouched."""

    def apply(arr: np.ndarray) -> np.ndarray:
        colour, alpha = split_alpha(arr)
        return with_alpha(fn(colour), alpha)

    return apply


def premultiplied(arr: np.ndarray, run: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``run`` on ``arr`` with its colour weighted by its alpha, for every op that
    mixes neighbouring pixels (resamples, blur, sharpen, elastic): a fully
    transparent pixel then contributes nothing, whatever colour it stores, and
    no colour bleeds out of transparent areas. Arrays without alpha go as they
    are. ``run`` gets float32 (H, W, C) and returns float32 of any (H', W', C);
    colour comes back divided by the new alpha (transparent: black), rounded."""
    if not has_alpha(arr):
        return run(arr)
    work = arr.astype(np.float32)
    alpha = work[:, :, -1:] * np.float32(1 / 255)
    work[:, :, :-1] *= alpha
    out = run(work)
    out_alpha = out[:, :, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        colour = np.where(out_alpha > 0, out[:, :, :-1] * (np.float32(255) / out_alpha), 0)
    return np.concatenate([to_range(colour, np.uint8), to_range(out_alpha, np.uint8)], axis=2)


def alpha_weighted(arr: np.ndarray, filt: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """The colour channels of ``arr`` through a linear filter ``filt`` ((H, W, C)
    float -> (H, W, C) float), each neighbour weighted by its alpha: for colour
    ops that mix neighbours but keep alpha (blur, sharpen). A fully transparent
    pixel lends none of its colour; where every neighbour is transparent the
    pixel keeps its own. Unrounded floats (float64 for 32-bit integers)."""
    work_type = np.float64 if arr.dtype == np.int32 else np.float32
    if not has_alpha(arr):
        return filt(arr.astype(work_type))
    work = arr.astype(work_type)
    alpha = work[:, :, -1:] * work_type(1 / 255)
    work[:, :, :-1] *= alpha
    work[:, :, -1:] = alpha
    out = filt(work)
    weight = out[:, :, -1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weight > 1e-6, out[:, :, :-1] / weight, arr[:, :, :-1])


def fill_values(arr: np.ndarray, cval: float) -> tuple[float, ...]:
    """Per-channel value used to pad ``arr`` with constant fill: ``cval`` (given
    on the 0..255 scale) for colour channels, 0 (transparent) for alpha."""
    mode = mode_of(arr)
    colour = cval * max_value(mode) / 255.0
    if arr.dtype.kind != "f":
        colour = float(np.clip(round(colour), 0, max_value(mode)))
    channels = arr.shape[2]
    return tuple(0.0 if has_alpha(arr) and c == channels - 1 else colour for c in range(channels))


def cv_scalar(values: tuple[float, ...]) -> tuple[float, ...]:
    """A per-channel value as OpenCV's four-element scalar."""
    return tuple(values) + (0.0,) * (4 - len(values))


# -- point ops --------------------------------------------------------------------------------


def point_chain(arr: np.ndarray, steps: list[Callable]) -> np.ndarray:
    """Apply point ops in order; each step is ``make(mode, means) -> fn(v, band)``
    (``means()`` gives the per-channel means of the image the step receives).

    For 8-bit images the whole chain becomes one lookup table per channel and
    one ``cv2.LUT`` (alpha's table is the identity): each step maps the previous
    table's values, and a step's means are those of the source seen through the
    table so far, ``cv2.mean`` of exact integer sums in double precision. The
    result is identical to applying the steps one at a time; other modes do
    exactly that, on the values themselves (a 65536-entry table for 16-bit).
    """
    mode = mode_of(arr)
    colour, alpha = split_alpha(arr)
    bands = colour.shape[2]
    if arr.dtype != np.uint8:  # no alpha: one channel, or float RGB
        for make in steps:
            fn = make(mode, lambda image=colour: [float(image[:, :, b].mean(dtype=np.float64)) for b in range(bands)])
            if mode == "I;16":
                colour = to_range(fn(np.arange(65536, dtype=np.float64), 0), np.uint16)[colour]
            else:
                colour = np.concatenate([to_range(fn(colour[:, :, b:b + 1].astype(np.float64), b), arr.dtype)
                                         for b in range(bands)], axis=2)
        return colour
    cv2 = opencv()
    tables = np.tile(np.arange(256, dtype=np.float64), (bands, 1))
    untouched = True  # tables is still the identity

    def means() -> list[float]:
        seen = arr if untouched else cv2.LUT(arr, _lut(tables, arr))
        return list(cv2.mean(hwc(seen))[:bands])

    for make in steps:
        fn = make(mode, means)
        # to_range's rounding and clipping, on all channels' tables at once
        tables = np.clip(np.rint(np.array([fn(tables[b].copy(), b) for b in range(bands)], np.float64)), 0, 255)
        untouched = False
    return hwc(cv2.LUT(arr, _lut(tables, arr)))


def _lut(tables: np.ndarray, arr: np.ndarray) -> np.ndarray:
    """Per-channel tables as ``cv2.LUT``'s (256, 1, C) uint8 table, alpha's the
    identity; one (256,) table when every channel has the same (OpenCV's
    single-table path is twice as fast)."""
    if not has_alpha(arr) and (tables == tables[0]).all():
        return tables[0].astype(np.uint8)
    columns = list(tables)
    if has_alpha(arr):
        columns.append(np.arange(256))
    return np.stack(columns, axis=-1).astype(np.uint8).reshape(256, 1, len(columns))
