"""One affine resample with numpy/scikit-image border semantics on Pillow's C path.

Pillow's ``Image.transform`` is fast but knows only a constant fill, and it
treats a sample that straddles the border as entirely outside. So we pad the
image with ``np.pad``-style borders by exactly the margin the output can reach
(plus the interpolation kernel's support) and then resample: every fill mode
behaves like ``numpy.pad`` / ``skimage.transform.warp`` with the same name.

Coordinates are pixel-centre: pixel (x, y) covers [x-0.5, x+0.5]; the image
centre is ((w-1)/2, (h-1)/2). Pillow's own coordinates put centres at x+0.5,
hence the half-pixel shifts below.
"""
from __future__ import annotations

import math

from ..lazy import lazy
from ..imaging import fill_values

np = lazy("numpy")
Image = lazy("PIL.Image")

FILL_MODES = ("constant", "edge", "reflect", "symmetric", "wrap")
INTERPOLATIONS = ("nearest", "bilinear", "bicubic")
_SUPPORT = {"nearest": 1, "bilinear": 1, "bicubic": 2}


def resampling_filter(interpolation: str):
    """Pillow's filter for one of ``INTERPOLATIONS``."""
    return Image.Resampling[interpolation.upper()]


def translation(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def about_centre(linear: np.ndarray, size: tuple[int, int], out_size: tuple[int, int] | None = None) -> np.ndarray:
    """A 2x2 linear map applied about the image centre, as a 3x3 forward matrix
    (input centre goes to the output centre)."""
    w, h = size
    ow, oh = out_size or size
    m = np.eye(3)
    m[:2, :2] = linear
    return translation((ow - 1) / 2, (oh - 1) / 2) @ m @ translation(-(w - 1) / 2, -(h - 1) / 2)


def _strips(canvas: Image.Image, start: int, n: int, span: tuple[int, int], before: int, after: int,
            fill: str, axis: int) -> tuple[Image.Image, Image.Image]:
    """The two border strips ``np.pad(mode=fill)`` adds along one axis (0: x, 1: y)
    to the ``n`` pixels from ``start`` of ``canvas`` (covering ``span`` on the other
    axis), cut with Pillow (crop/transpose/resize are C loops; no array copies)."""
    flip = Image.Transpose.FLIP_LEFT_RIGHT if axis == 0 else Image.Transpose.FLIP_TOP_BOTTOM
    lo, hi = span

    def cut(a: int, b: int) -> Image.Image:
        return canvas.crop((start + a, lo, start + b, hi) if axis == 0 else (lo, start + a, hi, start + b))

    def stretch(strip: Image.Image, length: int) -> Image.Image:
        size = (max(length, 1), strip.height) if axis == 0 else (strip.width, max(length, 1))
        return strip.resize(size, Image.Resampling.NEAREST)

    if fill == "edge":
        return stretch(cut(0, 1), before), stretch(cut(n - 1, n), after)
    if fill == "symmetric":  # dcba|abcd
        return cut(0, before).transpose(flip), cut(n - after, n).transpose(flip)
    if fill == "reflect":  # dcb|abcd
        return cut(1, before + 1).transpose(flip), cut(n - after - 1, n - 1).transpose(flip)
    return cut(n - before, n), cut(0, after)  # wrap: bcd|abcd


def _pad_in_place(img: Image.Image, left: int, top: int, right: int, bottom: int, fill: str) -> Image.Image:
    """One canvas: the image in the middle, then the x strips beside it, then the
    y strips cut from the x-padded rows (these modes map x and y independently,
    so the corners come out as numpy's)."""
    w, h = img.size
    width = w + left + right
    canvas = Image.new(img.mode, (width, h + top + bottom), None)  # uninitialised: all pasted below
    canvas.paste(img, (left, top))
    for axis, before, after, start, n, span in ((0, left, right, left, w, (top, top + h)),
                                                (1, top, bottom, top, h, (0, width))):
        if not before and not after:
            continue
        first, last = _strips(canvas, start, n, span, before, after, fill, axis)
        if before:
            canvas.paste(first, (start - before, span[0]) if axis == 0 else (0, start - before))
        if after:
            canvas.paste(last, (start + n, span[0]) if axis == 0 else (0, start + n))
    return canvas


def pad(img: Image.Image, left: int, top: int, right: int, bottom: int, fill: str, cval: float) -> Image.Image:
    """Extend ``img`` by the given margins, filling like ``numpy.pad(mode=fill)``;
    ``constant`` uses ``cval`` for colour bands and 0 for alpha."""
    w, h = img.size
    if fill == "constant":
        values = fill_values(img, cval)
        colour = values[0] if len(values) == 1 else tuple(int(v) for v in values)
        if img.mode == "F":
            colour = float(values[0])
        elif len(values) == 1:
            colour = int(colour)
        canvas = Image.new(img.mode, (w + left + right, h + top + bottom), colour)
        canvas.paste(img, (left, top))
        return canvas
    # margins up to the image's own size come from Pillow crops; numpy handles the
    # rare larger ones (repeated reflections), with identical results
    limit_x, limit_y = (w - 1, h - 1) if fill == "reflect" else (w, h)
    if max(left, right) <= limit_x and max(top, bottom) <= limit_y and w > 1 and h > 1:
        return _pad_in_place(img, left, top, right, bottom, fill)
    arr = np.asarray(img)
    widths = ((top, bottom), (left, right)) + ((0, 0),) * (arr.ndim - 2)
    return Image.fromarray(np.pad(arr, widths, mode=fill))


def _snap(matrix: np.ndarray) -> np.ndarray:
    """Round entries within 1e-9 of an integer (cos 90 deg is 6e-17), so quarter
    turns and flips sample exact pixel centres."""
    nearest = np.round(matrix)
    return np.where(np.abs(matrix - nearest) < 1e-9, nearest, matrix)


def warp(
    img: Image.Image,
    forward: np.ndarray,
    out_size: tuple[int, int],
    *,
    fill: str = "constant",
    cval: float = 0,
    interpolation: str = "bilinear",
) -> Image.Image:
    """Resample ``img`` so that output pixel ``forward @ p`` shows input pixel ``p``
    (``forward`` is a 3x3 affine or projective matrix).

    Pillow's 8-bit affine resample truncates instead of rounding, so bilinear and
    bicubic outputs sit up to one level (half a level on average) below the exact
    value; the oracle tests allow for that. RGBA is resampled premultiplied (no
    dark fringes around transparent areas), so fully transparent pixels come out
    as transparent black.
    """
    inverse = _snap(np.linalg.inv(_snap(forward)))
    w, h = img.size
    ow, oh = out_size
    corners = np.array([[0, ow - 1, 0, ow - 1], [0, 0, oh - 1, oh - 1], [1, 1, 1, 1]], dtype=float)
    src = inverse @ corners
    src = src[:2] / src[2]  # projective maps (perspective) divide; affine ones have w = 1
    s = _SUPPORT[interpolation]
    left = max(0, math.ceil(-src[0].min() - 1e-9) + s)
    top = max(0, math.ceil(-src[1].min() - 1e-9) + s)
    right = max(0, math.ceil(src[0].max() - (w - 1) - 1e-9) + s)
    bottom = max(0, math.ceil(src[1].max() - (h - 1) - 1e-9) + s)
    if left or top or right or bottom:
        img = pad(img, left, top, right, bottom, fill, cval)
        inverse = translation(left, top) @ inverse
    # Pillow's coordinates put pixel centres at +0.5
    pil = translation(0.5, 0.5) @ inverse @ translation(-0.5, -0.5)
    pil = pil / pil[2, 2]
    if np.allclose(pil[2, :2], 0):
        method, data = Image.Transform.AFFINE, tuple(pil[:2].ravel())
    else:
        method, data = Image.Transform.PERSPECTIVE, tuple(pil.ravel()[:8])
    if img.mode == "I;16":
        # Pillow interpolates I;16 as if it were 8-bit; resample in 32-bit instead
        wide = img.convert("I").transform((ow, oh), method, data, resample=resampling_filter(interpolation))
        return Image.fromarray(np.clip(np.asarray(wide), 0, 65535).astype(np.uint16))
    return img.transform((ow, oh), method, data, resample=resampling_filter(interpolation))
