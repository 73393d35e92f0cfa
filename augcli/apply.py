"""Apply drawn ops to an image: look each kernel up and call it.

Consecutive affine ops that agree on fill, cval and interpolation are fused
into one resample (their forward matrices composed), so rotate + zoom + shear
costs one interpolation and no double blur. Runs made only of exact ops
(flips, quarter turns, crops) stay one lossless transpose and one crop. Consecutive point ops
(brightness, contrast, gamma, ...) become one lookup table.
"""
from __future__ import annotations

from functools import partial
from typing import Iterable, Iterator

import numpy as np

from .imaging import pil_compatible, point_chain, size_of
from .ops import lookup
from .ops.symmetry import symmetry_forward, turned
from .ops.spec import OpSpec
from .ops.resampling import KEYS as _RESAMPLING_KEYS
from .ops.warp import warp
from .sampling import AppliedOp


@pil_compatible
def apply(img: np.ndarray, ops: Iterable[AppliedOp]) -> np.ndarray:
    """Return ``img`` (a working array, ``augcli.imaging``) with ``ops`` applied in
    order; ``img`` is not modified. A Pillow image in gives a Pillow image back."""
    for kind, run in runs(ops):
        img = _apply_run(img, run, kind)
    return img


def runs(ops: Iterable[AppliedOp]) -> Iterator[tuple[str | None, list[AppliedOp]]]:
    """``ops`` grouped as ``apply`` runs them: (kind, ops) with kind ``affine``
    (one resample, ``fused_matrix``), ``point`` (one lookup table) or None (one op
    on its own). Targets (``augcli.targets``) follow the same runs, so boxes and
    masks move with the very matrix the pixels get."""
    run: list[AppliedOp] = []
    kind = None
    for op in ops:
        spec = lookup(op.op)
        if spec is None:
            raise ValueError(f"unknown op {op.op!r}")
        mine = _kind(spec)
        if run and mine is not None and mine == kind and (kind == "point" or _fusable(run, op)):
            run.append(op)
            continue
        if run:
            yield kind, run
        run, kind = [op], mine
    if run:
        yield kind, run


def run_geometry(run: list[AppliedOp], size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int], bool]:
    """An affine run's forward map (``fused_matrix``), its output size, and
    whether it is exact (flips, quarter turns, crops only)."""
    matrix, size = fused_matrix(run, size)
    return matrix, size, all(lookup(op.op).exact for op in run)


def _kind(spec: OpSpec) -> str | None:
    """How an op fuses with its neighbours: affine ops into one resample, point
    ops into one lookup table; anything else runs on its own."""
    if spec.forward is not None:
        return "affine"
    return "point" if spec.values is not None else None


def _apply_run(img: np.ndarray, run: list[AppliedOp], kind: str | None) -> np.ndarray:
    if not run:
        return img
    if kind == "affine":
        return _apply_affine_run(img, run)
    if kind == "point":
        return point_chain(img, [partial(lookup(op.op).values, op.kwargs()) for op in run])
    (op,) = run
    return lookup(op.op).kernel(img, **op.kwargs())


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


def fused_matrix(run: Iterable[AppliedOp], size: tuple[int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """The one forward matrix (input pixel centre -> output pixel centre) of a
    run of affine ops on an image of ``size``, and the output size: each op's
    ``forward`` composed in order. The place the fused geometry is computed."""
    matrix = np.eye(3)
    for op in run:
        step, size = lookup(op.op).forward(op.kwargs(), size)
        matrix = step @ matrix
    return matrix, size


def _apply_affine_run(img: np.ndarray, run: list[AppliedOp]) -> np.ndarray:
    if len(run) == 1:
        (op,) = run
        return lookup(op.op).kernel(img, **op.kwargs())
    matrix, size = fused_matrix(run, size_of(img))
    if all(lookup(op.op).exact for op in run):
        # flips, quarter turns and crops compose to one of the eight symmetries of
        # the rectangle and an integer shift: one lossless flip/rotate and a crop (a view)
        linear = tuple(np.rint(matrix[:2, :2]).astype(int).ravel())
        turned_img = turned(img, linear)
        # the symmetry alone maps the input onto [0, w') x [0, h'); what is left
        # of the composed map is a shift by -(x0, y0): a crop at (x0, y0)
        symmetry = symmetry_forward(linear, size_of(img))
        x0, y0 = np.rint((symmetry - matrix)[:2, 2]).astype(int)
        return turned_img[int(y0):int(y0) + size[1], int(x0):int(x0) + size[0]]
    settings = next(r for r in map(_resampling, run) if r is not None)
    return warp(img, matrix, size, **dict(zip(_RESAMPLING_KEYS, settings)))
