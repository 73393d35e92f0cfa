"""One output, from drawn parameters to bytes: the one path expand (``worker``),
preview (``_preview``), replay (``_replay``) and ``Augmenter`` all take.

``draw`` gives an augmented output its ops (keyed by the run seed, the source
and the copy, never by the order of work); ``augment`` applies them and then
the output size (``finish``); ``render`` encodes the result as the target's
``Encoding`` says, or passes the source's bytes through when the plan allows.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from .apply import apply
from .fit import fit
from .io import Decoded, Encoding, encode
from .plan import Target
from .recipe import Step
from .sampling import AppliedOp, item_rng, sample

Size = tuple[int, int]


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


def augment(img: np.ndarray, ops: tuple[AppliedOp, ...], encoding: Encoding) -> np.ndarray:
    """The pixels of one output before encoding: the drawn ops, then the output size."""
    return finish(apply(img, ops), encoding)


def render(decoded: Decoded, target: Target, ops: tuple[AppliedOp, ...],
           source_bytes: bytes) -> tuple[bytes, int, int, str | None]:
    """The bytes of one output, its width and height, and a note of what the
    encoding converted (alpha flattened, bit depth reduced), if anything."""
    if target.byte_copy and not decoded.rotated:
        width, height = decoded.size
        return source_bytes, width, height, None
    encoding = target.encoding
    img = augment(decoded.image, ops, encoding)
    data, written, note = encode(img, encoding.format, quality=encoding.quality, icc_profile=decoded.icc_profile,
                                 background=encoding.background)
    height, width = written.shape[:2]
    return data, width, height, note
