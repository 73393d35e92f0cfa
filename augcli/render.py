"""One output, from drawn parameters to bytes: the one path expand (``worker``),
preview (``_preview``), replay (``_replay``) and ``Augmenter`` all take.

``draw`` gives an augmented output its ops (keyed by the run seed, the source
and the copy, never by the order of work); ``augment`` bounds the pixels they
would make (``check_pixels``, so no caller can forget the bound), applies them
and then the output size (``finish``); ``render`` encodes the result as the
target's ``Encoding`` says, or passes the source's bytes through when the plan
allows.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .apply import apply
from .fit import fit
from .imaging import size_of
from .io import Decoded, Encoding, encode
from .limits import DEFAULT_MAX_PIXELS
from .ops import lookup
from .plan import Target
from .recipe import Step
from .sampling import AppliedOp, item_rng, sample
from .sizes import fit_sizes

Size = tuple[int, int]


class TooLarge(ValueError):
    """An image a recipe or a manifest asks for would have more pixels than allowed."""


def check_pixels(ops: Iterable[AppliedOp], size: Size, encoding: Encoding, max_pixels: int) -> None:
    """Refuse, before any pixel is allocated, ops that would make an image (at
    any step, or in the final step that fits it to ``encoding.size``) of more
    than ``max_pixels`` pixels: the bound on inputs (``--max-pixels``) holds for
    outputs too. 0: no limit."""
    if not max_pixels:
        return
    steps = []
    for op in ops:
        size = lookup(op.op).size_after(op.kwargs(), size)
        steps.append((op.op, size))
    if encoding.size is not None:
        steps += [("output.size", fitted) for fitted in fit_sizes(size, encoding.size, encoding.fit)]
    for after, (w, h) in steps:
        if w * h > max_pixels:
            raise TooLarge(f"the image would be {w}x{h} = {w * h:,} pixels after {after}, over the limit of "
                           f"{max_pixels:,} (--max-pixels)")


def draw(seed: int, source: str, copy: int, steps: Iterable[Step], size: Size) -> tuple[tuple[AppliedOp, ...], int]:
    """The ops that fire for copy ``copy`` of ``source`` (an image of ``size``),
    and the 32-bit number the manifest records as its seed."""
    rng, named = item_rng(seed, source, copy)
    return sample(steps, rng, size), named


def finish(img: np.ndarray, encoding: Encoding) -> np.ndarray:
    """The last step before encoding: ``size`` by its fit mode (``img`` itself without one)."""
    if encoding.size is None:
        return img
    return fit(img, encoding.size, encoding.fit, encoding.background)


def augment(img: np.ndarray, ops: tuple[AppliedOp, ...], encoding: Encoding,
            max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """The pixels of one output before encoding (a working array): the drawn
    ops, then the output size; ``TooLarge`` first if any step would have more
    than ``max_pixels``."""
    check_pixels(ops, size_of(img), encoding, max_pixels)
    return finish(apply(img, ops), encoding)


def render(decoded: Decoded, target: Target, ops: tuple[AppliedOp, ...], source_bytes: bytes,
           max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[bytes, int, int, str | None]:
    """The bytes of one output, its width and height, and a note of what the
    encoding converted (alpha flattened, bit depth reduced), if anything."""
    if target.byte_copy and not decoded.rotated:
        width, height = decoded.size
        return source_bytes, width, height, None
    encoding = target.encoding
    img = augment(decoded.image, ops, encoding, max_pixels)
    data, written, note = encode(img, encoding.format, quality=encoding.quality, icc_profile=decoded.icc_profile,
                                 background=encoding.background)
    height, width = written.shape[:2]
    return data, width, height, note
