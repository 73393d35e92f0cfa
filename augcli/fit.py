"""``output.size``: the last step before encoding, shared by expand, preview
and replay (``render.finish`` calls ``fit``).

* ``stretch`` resizes to exactly [width, height]; the aspect ratio may change.
* ``cover`` scales until the image covers the size, keeping its aspect ratio,
  and cuts out the centre (torchvision's Resize + CenterCrop).
* ``contain`` scales until the image fits inside and centres it on bars of
  ``background`` (a letterbox; the bars are transparent where the image has alpha).

A null side (``[224, null]``) keeps the aspect ratio whatever the mode. Output
resizing is bicubic (Pillow's, antialiased when shrinking); sizes round to the
nearest pixel, halves to even.
"""
from __future__ import annotations

from PIL import Image

from .ops.geometric import pad_if_needed, resize, resolve_size, scaled


def fit(img: Image.Image, size: tuple[int | None, int | None], mode: str, background: float) -> Image.Image:
    """``img`` fitted to ``size`` by ``mode`` (stretch, cover or contain)."""
    if mode == "stretch" or None in size:
        return _resized(img, resolve_size(size, img.size))
    w, h = size
    pick = max if mode == "cover" else min
    img = _resized(img, scaled(img.size, pick(w / img.width, h / img.height)))
    if mode == "cover":
        left, top = (img.width - w) // 2, (img.height - h) // 2
        return img.crop((left, top, left + w, top + h))
    return pad_if_needed(img, size=(w, h), fill="constant", cval=background)


def fit_sizes(current: tuple[int, int], size: tuple[int | None, int | None], mode: str) -> list[tuple[int, int]]:
    """The sizes ``fit`` makes from an image of size ``current`` (a cover or
    contain scales first, then cuts or pads), so their pixels can be bounded
    before any is allocated."""
    if mode == "stretch" or None in size:
        return [resolve_size(size, current)]
    w, h = size
    pick = max if mode == "cover" else min
    return [scaled(current, pick(w / current[0], h / current[1])), (w, h)]


def _resized(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return img if img.size == size else resize(img, size=size, interpolation="bicubic")
