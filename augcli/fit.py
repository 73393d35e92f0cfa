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

import numpy as np

from .imaging import pil_compatible, size_of
from .ops.geometric import pad_if_needed, pillow_resize
from .sizes import fit_sizes


@pil_compatible
def fit(img: np.ndarray, size: tuple[int | None, int | None], mode: str, background: float) -> np.ndarray:
    """``img`` (a working array) fitted to ``size`` by ``mode`` (stretch, cover
    or contain): the sizes ``fit_sizes`` bounds, then the cut or the bars."""
    scaled_size, *final = fit_sizes(size_of(img), size, mode)
    img = _resized(img, scaled_size)
    if not final:
        return img
    w, h = final[0]
    if mode == "cover":
        width, height = size_of(img)
        left, top = (width - w) // 2, (height - h) // 2
        return img[top:top + h, left:left + w]
    return pad_if_needed(img, size=(w, h), fill="constant", cval=background)


def _resized(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return img if size_of(img) == size else pillow_resize(img, size, "bicubic")
