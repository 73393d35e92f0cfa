"""The one adapter between array math and the kernel signature.

New ops (``filters``, ``models``; plugins too, see the README) write their
math as functions on a colour array (H, W, C) with C = 1 or 3, values on
their dtype's range (``top`` is its white point). ``colour_kernel`` turns
such a function into a kernel that takes the working image, applies it to
the colour channels and keeps alpha: a Pillow image today, or an (H, W, C)
array with alpha last (the array pixel engine, issue 22), so the math does
not change when the engine does.
"""
from __future__ import annotations

from functools import wraps

from ..lazy import lazy

np = lazy("numpy")
Image = lazy("PIL.Image")

_TOPS = {"uint8": 255.0, "uint16": 65535.0, "int32": 65535.0}


def top_of(arr) -> float:
    """The white point of an array's dtype (floats: 1)."""
    return _TOPS.get(arr.dtype.name, 1.0)


def _on_array(fn, arr, params):
    alpha = arr.shape[2] in (2, 4)
    colour = arr[..., :-1] if alpha else arr
    out = fn(colour, top_of(arr), **params)
    return np.concatenate([out, arr[..., -1:]], axis=2) if alpha else out


def colour_kernel(fn):
    """A kernel from ``fn(colour (H, W, C), top, **params) -> array``."""

    @wraps(fn)
    def kernel(img, **params):
        if isinstance(img, np.ndarray):
            return _on_array(fn, img, params)
        arr = np.asarray(img)
        flat = arr.ndim == 2
        out = _on_array(fn, arr[..., None] if flat else arr, params)
        return Image.fromarray(np.ascontiguousarray(out[..., 0] if flat else out))

    return kernel
