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

from .ops.geometric import pad_if_needed, resize
from .sizes import fit_sizes


def fit(img: Image.Image, size: tuple[int | None, int | None], mode: str, background: float) -> Image.Image:
    """``img`` fitted to ``size`` by ``mode`` (stretch, cover or contain): the
    sizes ``fit_sizes`` bounds, then the cut or the bars."""
    scaled_size, *final = fit_sizes(img.size, size, mode)
    img = _resized(img, scaled_size)
    if not final:
        return img
    w, h = final[0]
    if mode == "cover":
        left, top = (img.width - w) // 2, (img.height - h) // 2
        return img.crop((left, top, left + w, top + h))
    return pad_if_needed(img, size=(w, h), fill="constant", cval=background)


def _resized(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    return img if img.size == size else resize(img, size=size, interpolation="bicubic")
