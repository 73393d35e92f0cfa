"""Output sizes as arithmetic: what a resize, a side scale or ``output.size``
makes of an image's size, with no pixel touched and no kernel imported, so
the pixel bound (``render.check_pixels``) and the kernels share one rounding.
"""
from __future__ import annotations

Size = tuple[int, int]


def scaled(size: Size, scale: float) -> Size:
    """``size`` times ``scale``, each side rounded to the nearest pixel (halves to
    even, as albumentations rounds) and at least 1."""
    return tuple(max(1, round(side * scale)) for side in size)


def resolve_size(wanted, size: Size) -> Size:
    """A [width, height] with at most one side null: the null side keeps the
    aspect ratio of ``size``."""
    w, h = wanted
    if w is None:
        return scaled(size, h / size[1])[0], h
    if h is None:
        return w, scaled(size, w / size[0])[1]
    return w, h


def fit_sizes(current: Size, size: tuple[int | None, int | None], mode: str) -> list[Size]:
    """The sizes ``fit`` makes from an image of size ``current`` (a cover or
    contain scales first, then cuts or pads), so their pixels can be bounded
    before any is allocated."""
    if mode == "stretch" or None in size:
        return [resolve_size(size, current)]
    w, h = size
    pick = max if mode == "cover" else min
    return [scaled(current, pick(w / current[0], h / current[1])), (w, h)]
