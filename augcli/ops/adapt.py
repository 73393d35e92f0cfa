"""Colour math as a kernel.

Newer ops (``filters``, ``models``; plugins too, see the README) write their
math as a function of the colour channels, an (H, W, C) array with C = 1 or
3 and values on the mode's range (``top`` is its white point: 255, 65535, or
1 for floats). ``colour_kernel`` makes such a function a kernel: alpha is set
aside and put back unchanged (``imaging.colour_op``), and the registry's door
lets it take a Pillow image by hand as every kernel does.
"""
from __future__ import annotations

from functools import wraps

from ..imaging import colour_op, top


def colour_kernel(fn):
    """A kernel from ``fn(colour (H, W, C), top, **params) -> array``."""

    @wraps(fn)
    def kernel(arr, **params):
        return colour_op(lambda colour: fn(colour, top(arr), **params))(arr)

    return kernel
