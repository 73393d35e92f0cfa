"""Apply drawn ops to an image: look each kernel up and call it.

Consecutive affine ops that agree on fill, cval and interpolation are fused
into one resample (their forward matrices composed), so rotate + zoom + shear
costs one interpolation and no double blur. Runs made only of exact ops
(flips, quarter turns) stay lossless transposes.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
from PIL import Image

from .ops import lookup
from .ops.warp import warp
from .sampling import AppliedOp

_RESAMPLING_KEYS = ("fill", "cval", "interpolation")


def apply(img: Image.Image, ops: Iterable[AppliedOp]) -> Image.Image:
    """Return ``img`` with ``ops`` applied in order; ``img`` is not modified."""
    run: list[AppliedOp] = []
    for op in ops:
        spec = lookup(op.op)
        if spec is None:
            raise ValueError(f"unknown op {op.op!r}")
        if spec.forward is not None and (not run or _fusable(run, op)):
            run.append(op)
            continue
        img = _apply_run(img, run)
        run = [op] if spec.forward is not None else []
        if spec.forward is None:
            img = spec.kernel(img, **op.kwargs())
    return _apply_run(img, run)


def _resampling(op: AppliedOp) -> tuple | None:
    """An op's (fill, cval, interpolation), or None for exact ops that need none."""
    params = op.kwargs()
    if lookup(op.op).exact:
        return None
    return tuple(params[k] for k in _RESAMPLING_KEYS)


def _fusable(run: list[AppliedOp], op: AppliedOp) -> bool:
    mine = _resampling(op)
    theirs = {r for r in map(_resampling, run) if r is not None}
    return mine is None or not theirs or theirs == {mine}


def _apply_run(img: Image.Image, run: list[AppliedOp]) -> Image.Image:
    if not run:
        return img
    if len(run) == 1 or all(lookup(op.op).exact for op in run):
        for op in run:
            img = lookup(op.op).kernel(img, **op.kwargs())
        return img
    matrix, size = np.eye(3), img.size
    for op in run:
        step, size = lookup(op.op).forward(op.kwargs(), size)
        matrix = step @ matrix
    settings = next(r for r in map(_resampling, run) if r is not None)
    return warp(img, matrix, size, **dict(zip(_RESAMPLING_KEYS, settings)))
