"""Annotations drawn on an image for people to look at (``preview``'s contact
sheet): boxes and polygon outlines in a colour per class, a mask as a
translucent colour per label value. Never written into a dataset."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from .targets import Targets

# well-separated colours (Tableau 10); class n gets colour n mod 10
COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189),
           (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


def colour(value: int) -> tuple[int, int, int]:
    return COLOURS[int(value) % len(COLOURS)]


def overlay(image: Image.Image, targets: Targets, ignore_index: int = 0, alpha: float = 0.45) -> Image.Image:
    """``image`` (shown as RGB) with ``targets`` drawn on it; a line width that
    survives the sheet's downscaling."""
    out = image.convert("RGB")
    if targets.mask is not None:
        pixels = np.asarray(out).astype(np.float32)
        tint = np.zeros_like(pixels)
        labelled = np.zeros(targets.mask.shape, bool)
        palette = targets.info.get("palette")  # a palette mask is shown in its own colours
        for value in np.unique(targets.mask):
            if value == 0 or value == ignore_index:
                continue  # the background and what the fill brought in stay as they are
            where = targets.mask == value
            tint[where] = tuple(palette[3 * value:3 * value + 3]) if palette and 3 * value + 3 <= len(palette) \
                else colour(value)
            labelled |= where
        pixels[labelled] = pixels[labelled] * (1 - alpha) + tint[labelled] * alpha
        out = Image.fromarray(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    width = max(1, round(max(out.size) / 160))
    for cls, box, parts in zip(targets.classes, targets.boxes, targets.polygons):
        ink = colour(cls)
        for part in parts or ():
            draw.line([tuple(p) for p in np.vstack([part, part[:1]])], fill=ink, width=width)
        x0, y0, x1, y1 = box
        draw.rectangle((x0, y0, max(x0, x1 - 1), max(y0, y1 - 1)), outline=ink, width=width)
    return out
