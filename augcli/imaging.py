"""The pixel contract: which PIL modes flow between ops, and how values are
rounded and clipped back into them.

Every decoded image is normalised to one of ``WORKING_MODES`` so each kernel
handles a short, known list: 8-bit grey and colour, each with or without
alpha, 16-bit grey (``I;16``), 32-bit integer (``I``) and float (``F``).
Colour ops touch only the colour bands; alpha rides along geometrically.
"""
from __future__ import annotations

from typing import Callable

from .lazy import lazy

np = lazy("numpy")  # the op modules import this one; see lazy.py
Image = lazy("PIL.Image")

WORKING_MODES = ("L", "LA", "RGB", "RGBA", "I;16", "I", "F")

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


def max_value(mode: str) -> float:
    """The white point of a working mode (the range cval and LUTs are scaled to)."""
    return {"I;16": 65535.0, "I": 65535.0, "F": 1.0}.get(mode, 255.0)


def dtype_of(mode: str) -> np.dtype:
    return np.dtype({"I;16": np.uint16, "I": np.int32, "F": np.float32}.get(mode, np.uint8))


def split_alpha(img: Image.Image) -> tuple[Image.Image, Image.Image | None]:
    """Separate the colour bands from alpha so colour ops never recolour alpha."""
    if img.mode in ("LA", "RGBA"):
        *colour, alpha = img.split()
        base = colour[0] if len(colour) == 1 else Image.merge("RGB", colour)
        return base, alpha
    return img, None


def with_alpha(base: Image.Image, alpha: Image.Image | None) -> Image.Image:
    if alpha is None:
        return base
    return Image.merge(base.mode + "A", (*base.split(), alpha))


def colour_op(fn: Callable[[Image.Image], Image.Image]) -> Callable[[Image.Image], Image.Image]:
    """Apply ``fn`` to the colour bands only, keeping alpha untouched."""

    def apply(img: Image.Image) -> Image.Image:
        base, alpha = split_alpha(img)
        return with_alpha(fn(base), alpha)

    return apply


def to_mode_range(values: np.ndarray, mode: str) -> np.ndarray:
    """Round half to even and clip float values into ``mode``'s dtype: the one
    place where augcli rounds."""
    dtype = dtype_of(mode)
    if dtype.kind == "f":
        return values.astype(dtype)
    return np.clip(np.rint(values), 0, max_value(mode)).astype(dtype)


def _map_wide(base: Image.Image, fn: Callable[[np.ndarray, int], np.ndarray]) -> Image.Image:
    """``fn(values, band)`` on a single-band 16-bit, 32-bit or float image: a
    65536-entry table gathered by numpy for I;16, the values themselves otherwise."""
    arr = np.asarray(base)
    if base.mode == "I;16":
        return Image.fromarray(to_mode_range(fn(np.arange(65536, dtype=np.float64), 0), base.mode)[arr])
    return Image.fromarray(to_mode_range(fn(arr.astype(np.float64), 0), base.mode))


def fill_values(img: Image.Image, cval: float) -> tuple[float, ...]:
    """Per-band value used to pad ``img`` with constant fill: ``cval`` (given on
    the 0..255 scale) for colour bands, 0 (transparent) for alpha."""
    scale = max_value(img.mode) / 255.0
    bands = img.getbands()
    colour = cval * scale
    if dtype_of(img.mode).kind != "f":
        colour = float(np.clip(round(colour), 0, max_value(img.mode)))
    return tuple(0.0 if b == "A" else colour for b in bands)


def point_chain(img: Image.Image, steps: list[Callable]) -> Image.Image:
    """Apply point ops in order; each step is ``make(mode, means) -> fn(v, band)``
    (``means()`` gives the per-band means of the image the step receives).

    For 8-bit colour bands the whole chain becomes one lookup table and one
    Pillow ``point`` call: each step maps the previous table's values, and means
    come from the source histogram through the table, as exact integer sums the
    way ``ImageStat`` computes them. The result is identical to applying the steps
    one at a time; other modes do exactly that.
    """
    base, alpha = split_alpha(img)
    if base.mode not in ("L", "RGB"):
        for make in steps:
            base = _map_wide(base, make(base.mode, lambda image=base: [float(np.asarray(image).mean())]))
        return with_alpha(base, alpha)
    bands = len(base.getbands())
    tables = np.tile(np.arange(256, dtype=np.int64), (bands, 1))
    histogram = None

    def means() -> list[float]:
        nonlocal histogram
        if histogram is None:
            histogram = np.asarray(base.histogram(), dtype=np.int64).reshape(bands, 256)
        return [int((tables[b] * histogram[b]).sum()) / max(int(histogram[b].sum()), 1) for b in range(bands)]

    for make in steps:
        fn = make(base.mode, means)
        tables = np.stack([to_mode_range(fn(tables[b].astype(np.float64), b), base.mode).astype(np.int64)
                           for b in range(bands)])
    # the table is integers already: Pillow's public point() would round all 768
    # entries again in Python (a third of this function's time on a photo)
    return with_alpha(base._new(base.im.point(tables.ravel().tolist(), None)), alpha)
