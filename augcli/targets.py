"""Targets ride with the image: boxes, polygons and a label mask moved by the
very geometry the pixels get.

``moves(ops, size)`` turns drawn ops into the geometric steps ``apply`` takes:
each fused affine run (``apply.runs`` / ``apply.run_geometry``) is one 3x3
matrix, each resize-like op its scale, ``elastic`` its remap grid
(``geometric.elastic_maps``); colour, noise and blur are no step at all.
``Targets.moved`` applies them: polygon vertices and box corners are mapped
(a box becomes the enclosing rectangle of its mapped corners, or of its mapped
polygon when it has one), masks are resampled with nearest sampling and
``ignore_index`` where the fill brings pixels in. ``Targets.sanitised`` clips
to the frame and drops what fell under ``min_visibility`` / ``min_size``.

Coordinates here are pixel *edges* (a box [0, 0, w, h] covers the whole
image, as YOLO and COCO write them); the ops' matrices are in pixel *centres*
(SPEC section 7), so a matrix M moves edge points as T(+1/2) M T(-1/2).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np

from .apply import run_geometry, runs
from .label_rules import LabelRules
from .lazy import opencv
from .ops import lookup
from .ops.geometric import elastic_maps, resolve_size, scaled
from .ops.warp import translation
from .sampling import AppliedOp

Size = tuple[int, int]

MAX_ATTEMPTS = 10  # on_empty: redraw tries at most this many draws, then keeps the last


# -- the geometric steps ------------------------------------------------------------------


@dataclass(frozen=True)
class Move:
    """One geometric step: a 3x3 forward matrix on pixel centres (affine or
    projective) to ``size``, or (``maps``) an elastic remap grid."""

    size: Size
    matrix: Any = None
    maps: Any = None  # (map_x, map_y): output pixel -> input pixel centre


def _scale(size: Size, out: Size) -> np.ndarray:
    """A resize from ``size`` to ``out`` as a centre-coordinate matrix (pixel
    edges 0 and w map to 0 and w', as Pillow's resize)."""
    sx, sy = out[0] / size[0], out[1] / size[1]
    return translation(-0.5, -0.5) @ np.diag([sx, sy, 1.0]) @ translation(0.5, 0.5)


def _flips(params: dict, size: Size) -> np.ndarray:
    w, h = size
    matrix = np.eye(3)
    if params["hflip"]:
        matrix = np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]) @ matrix
    if params["vflip"]:
        matrix = np.array([[1.0, 0, 0], [0, -1, h - 1], [0, 0, 1]]) @ matrix
    return matrix


def _keras(params: dict, size: Size) -> list[Move]:
    from .ops.keras import keras_forward

    geometric = any(params[k] != 0 for k in ("rotate", "shift_x", "shift_y", "shear")) or \
        params["zoom_x"] != 1 or params["zoom_y"] != 1
    forward = keras_forward(params, size) if geometric else np.eye(3)
    return [Move(size, _flips(params, size) @ forward)]


def _random_resized_crop(params: dict, size: Size) -> list[Move]:
    x0, y0, x1, y1 = params["box"]
    out = tuple(params["size"])
    return [Move((x1 - x0, y1 - y0), translation(-x0, -y0)), Move(out, _scale((x1 - x0, y1 - y0), out))]


def _pad(params: dict, size: Size) -> list[Move]:
    out = lookup("pad_if_needed").out_size(params, size)
    return [Move(out, translation((out[0] - size[0]) // 2, (out[1] - size[1]) // 2))]


def _resized(name: str):
    def moves(params: dict, size: Size) -> list[Move]:
        out = tuple(lookup(name).out_size(params, size))
        return [Move(out, _scale(size, out))]
    return moves


def _elastic(params: dict, size: Size) -> list[Move]:
    maps = elastic_maps(size, grid=params["grid"], magnitude=params["magnitude"], seed=params["seed"])
    return [Move(size, maps=maps)]


# geometric ops with no forward matrix of their own: how each moves targets
_OWN_MOVES = {
    "resize": _resized("resize"), "smallest_max_size": _resized("smallest_max_size"),
    "longest_max_size": _resized("longest_max_size"), "pad_if_needed": _pad,
    "random_resized_crop": _random_resized_crop, "elastic": _elastic, "keras": _keras,
}


def can_move(name: str) -> bool:
    """Whether op ``name`` moves targets the way it moves pixels (or leaves both
    in place). A geometric op augcli cannot follow (a plugin's) is refused for
    annotated layouts before any image is read."""
    spec = lookup(name)
    if spec is None or spec.expand is not None:
        return True  # unknown ops are the recipe's problem; policies expand into plain ops
    return spec.category != "geometric" or spec.forward is not None or name in _OWN_MOVES


def moves(ops: Iterable[AppliedOp], size: Size) -> list[Move]:
    """The geometric steps of ``ops`` on an image of ``size``, as ``apply`` runs them."""
    out: list[Move] = []
    for kind, run in runs(ops):
        if kind == "affine":
            matrix, new_size, _ = run_geometry(run, size)
            out.append(Move(tuple(new_size), matrix))
        elif kind is None and run[0].op in _OWN_MOVES:
            out += _OWN_MOVES[run[0].op](run[0].kwargs(), size)
        elif kind is None and not can_move(run[0].op):
            raise ValueError(f"op {run[0].op!r} cannot move boxes or masks")
        if out:
            size = out[-1].size
    return out


def fit_moves(size: Size, wanted, mode: str) -> list[Move]:
    """``output.size`` as steps (``augcli.fit``: stretch, cover, contain)."""
    if wanted is None:
        return []
    if mode == "stretch" or None in wanted:
        out = resolve_size(wanted, size)
        return [Move(out, _scale(size, out))] if out != size else []
    w, h = wanted
    pick = max if mode == "cover" else min
    between = scaled(size, pick(w / size[0], h / size[1]))
    steps = [Move(between, _scale(size, between))] if between != size else []
    if mode == "cover":
        return steps + [Move((w, h), translation(-((between[0] - w) // 2), -((between[1] - h) // 2)))]
    return steps + [Move((w, h), translation((w - between[0]) // 2, (h - between[1]) // 2))]


# -- moving points and masks ------------------------------------------------------------


def _edge_matrix(matrix: np.ndarray) -> np.ndarray:
    return translation(0.5, 0.5) @ matrix @ translation(-0.5, -0.5)


def _map_points(points: np.ndarray, move: Move) -> np.ndarray:
    """(n, 2) edge-coordinate points through one step."""
    if len(points) == 0:
        return points
    if move.maps is not None:
        return _through_grid(points - 0.5, *move.maps) + 0.5
    m = _edge_matrix(move.matrix)
    homogeneous = np.c_[points, np.ones(len(points))] @ m.T
    return homogeneous[:, :2] / homogeneous[:, 2:3]


def _through_grid(points: np.ndarray, map_x: np.ndarray, map_y: np.ndarray) -> np.ndarray:
    """Where input pixel-centre points land under a remap grid (which maps the
    other way, output -> input): solve map(q) = p by fixed-point steps, as the
    grid is the identity plus a smooth displacement that keeps cells convex."""
    h, w = map_x.shape

    def sample(grid: np.ndarray, q: np.ndarray, axis: int) -> np.ndarray:
        x, y = np.clip(q[:, 0], 0, w - 1), np.clip(q[:, 1], 0, h - 1)
        x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
        x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
        fx, fy = x - x0, y - y0
        top = grid[y0, x0] * (1 - fx) + grid[y0, x1] * fx
        bottom = grid[y1, x0] * (1 - fx) + grid[y1, x1] * fx
        # beyond the outermost pixel centres the border (which stays put) goes on as a shift
        return top * (1 - fy) + bottom * fy + q[:, axis] - (x, y)[axis]

    q = points.astype(float).copy()
    for _ in range(60):
        step = points - np.c_[sample(map_x, q, 0), sample(map_y, q, 1)]
        q += step
        if np.abs(step).max() < 1e-4:
            break
    return q


def _densify(points: np.ndarray, closed: bool, spacing: float = 4.0) -> np.ndarray:
    """Points every ``spacing`` px along a polygon's edges: a curved move (elastic)
    bends straight edges, so their ends alone do not bound them."""
    ring = np.vstack([points, points[:1]]) if closed else points
    out = []
    for a, b in zip(ring[:-1], ring[1:]):
        n = max(1, int(np.ceil(np.hypot(*(b - a)) / spacing)))
        out.append(a + (b - a) * (np.arange(n)[:, None] / n))
    out.append(ring[-1:])
    return np.vstack(out)


def warp_mask(mask: np.ndarray, move: Move, fill: int) -> np.ndarray:
    """A label map through one step: nearest sampling, ``fill`` where the step
    brings in pixels from beyond the border (elastic keeps its border put)."""
    cv2 = opencv()
    work = mask if mask.dtype in (np.uint8, np.uint16) else mask.astype(np.uint16)
    if move.maps is not None:
        out = cv2.remap(work, move.maps[0], move.maps[1], cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
        return out.astype(mask.dtype, copy=False)
    inverse = np.linalg.inv(_snapped(move.matrix))
    inverse = _snapped(inverse)
    # as warp does for nearest: a sample exactly halfway between two pixels takes
    # the right/lower one (Pillow's rule), not whichever way float32 rounds
    inverse = translation(2.0**-10, 2.0**-10) @ inverse
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    kwargs = dict(flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=int(fill))
    if np.array_equal(inverse[2], [0.0, 0.0, 1.0]):
        out = cv2.warpAffine(work, inverse[:2], tuple(move.size), **kwargs)
    else:
        out = cv2.warpPerspective(work, inverse, tuple(move.size), **kwargs)
    return out.astype(mask.dtype, copy=False)


def _snapped(matrix: np.ndarray) -> np.ndarray:
    """Entries within 1e-9 of an integer rounded to it, as ``warp`` does, so quarter
    turns and flips sample exact pixel centres."""
    nearest = np.round(matrix)
    return np.where(np.abs(matrix - nearest) < 1e-9, nearest, matrix)


# -- the targets ------------------------------------------------------------------------


def polygon_area(points: np.ndarray) -> float:
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def clip_polygon(points: np.ndarray, size: Size) -> np.ndarray:
    """Sutherland-Hodgman: the part of a polygon inside [0, w] x [0, h]."""
    w, h = size
    edges = ((0, 0.0, 1), (0, float(w), -1), (1, 0.0, 1), (1, float(h), -1))  # (axis, bound, inside sign)
    out = [tuple(p) for p in points]
    for axis, bound, sign in edges:
        if not out:
            break
        inside = lambda p: sign * (p[axis] - bound) >= 0  # noqa: E731
        result = []
        for i, current in enumerate(out):
            previous = out[i - 1]
            if inside(current):
                if not inside(previous):
                    result.append(_crossing(previous, current, axis, bound))
                result.append(current)
            elif inside(previous):
                result.append(_crossing(previous, current, axis, bound))
        out = result
    return np.array(out, float).reshape(-1, 2)


def _crossing(a, b, axis: int, bound: float) -> tuple[float, float]:
    t = (bound - a[axis]) / (b[axis] - a[axis])
    point = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])]
    point[axis] = bound
    return tuple(point)


@dataclass(frozen=True)
class Targets:
    """The annotations of one image of ``size``: objects (a class, a box
    [x0, y0, x1, y1] in pixel-edge coordinates, and optionally a polygon of one
    or more parts, (k, 2) arrays) and an optional label mask (h x w, uint8 or
    uint16). A box with a polygon is the polygon's extent after every move."""

    size: Size
    classes: tuple[int, ...] = ()
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    polygons: tuple[tuple[np.ndarray, ...] | None, ...] = ()  # per object: its parts (None: a box only)
    mask: np.ndarray | None = None
    info: dict = field(default_factory=dict, compare=False)  # what the layout needs to write them back
    states: tuple[str, ...] = ()  # per object after sanitising: kept | clipped
    # per box-only object after moving: its box's moved outline (a rotated box is a
    # quadrilateral), clipped by ``sanitised`` so the box hugs what is left in the frame
    outlines: tuple[np.ndarray | None, ...] = field(default=(), compare=False, repr=False)
    fresh: bool = True  # not moved yet: a box inside the frame is kept as it was given (COCO's own bbox)

    def __post_init__(self) -> None:
        if not self.polygons and self.classes:
            object.__setattr__(self, "polygons", (None,) * len(self.classes))

    def moved(self, steps: Iterable[Move], fill: int = 0) -> "Targets":
        """The targets through ``steps``; boxes and polygons are not clipped yet
        (``sanitised`` does that, measuring what left the frame). Every object's
        points (polygon parts, or a box's outline) go through each step at once."""
        steps = list(steps)
        if not steps:
            return self
        shapes = []  # per object: its polygon's parts, or its box's outline
        for i, box in enumerate(self.boxes):
            if self.polygons[i] is not None:
                shapes.append(list(self.polygons[i]))
            elif self.outlines and self.outlines[i] is not None:
                shapes.append([self.outlines[i]])
            else:
                x0, y0, x1, y1 = box
                shapes.append([np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], float)])
        mask = self.mask
        for move in steps:
            if shapes:
                if move.maps is not None:  # a curved move bends straight edges: follow points along them
                    shapes = [[_densify(part, True) for part in parts] for parts in shapes]
                flat = [part for parts in shapes for part in parts]
                mapped = np.split(_map_points(np.vstack(flat), move), np.cumsum([len(p) for p in flat])[:-1])
                it = iter(mapped)
                shapes = [[next(it) for _ in parts] for parts in shapes]
            if mask is not None:
                mask = warp_mask(mask, move, fill)
        boxes = np.array([[*np.vstack(parts).min(axis=0), *np.vstack(parts).max(axis=0)] for parts in shapes],
                         float).reshape(-1, 4)
        written = [polygon is not None for polygon in self.polygons]
        return replace(self, size=tuple(steps[-1].size), boxes=boxes, mask=mask, fresh=False,
                       polygons=tuple(tuple(parts) if w else None for parts, w in zip(shapes, written)),
                       outlines=tuple(None if w else parts[0] for parts, w in zip(shapes, written)))

    def sanitised(self, rules: LabelRules) -> tuple["Targets", dict]:
        """Clip to the frame; drop objects under ``min_visibility`` / ``min_size``.
        Returns the targets left and the counts {kept, clipped, dropped}
        (kept counts objects untouched by the border, clipped those cut by it)."""
        keep, states, boxes, polygons = [], [], [], []
        counts = {"kept": 0, "clipped": 0, "dropped": 0}
        outlines = self.outlines or (None,) * len(self.boxes)
        for i, box in enumerate(self.boxes):
            written = self.polygons[i] is not None
            parts = self.polygons[i] if written else (outlines[i],) if outlines[i] is not None else None
            clipped_box, visible, cut = self._clipped(box, parts)
            side = min(clipped_box[2] - clipped_box[0], clipped_box[3] - clipped_box[1])
            if side <= 0 or side < rules.min_size or visible < rules.min_visibility or visible <= 0:
                counts["dropped"] += 1
                continue
            state = "kept" if float(np.abs(clipped_box - box).max()) < 1e-6 else "clipped"
            counts[state] += 1
            keep.append(i)
            states.append(state)
            boxes.append(clipped_box)
            polygons.append(cut if written else None)
        out = replace(self, classes=tuple(self.classes[i] for i in keep), outlines=(),
                      boxes=np.array(boxes, float).reshape(-1, 4), polygons=tuple(polygons), states=tuple(states))
        return out, counts

    def _clipped(self, box: np.ndarray, parts) -> tuple[np.ndarray, float, tuple | None]:
        """One object's box clipped to the frame, the fraction of it still in
        view, and its polygon's parts clipped. Measured on its moved outline (or
        polygon) when it has one, so a rotated box hugs what is left in view."""
        w, h = self.size
        if self.fresh and box.min() >= 0 and box[2] <= w and box[3] <= h:
            return box, 1.0, parts  # as given (an original's labels are not rewritten)
        points = np.vstack(parts) if parts is not None else None
        if points is not None and points.min() >= 0 and points[:, 0].max() <= w and points[:, 1].max() <= h:
            return np.r_[points.min(axis=0), points.max(axis=0)], 1.0, parts  # wholly inside: the common case
        whole = sum(polygon_area(part) for part in parts) if parts is not None else 0.0
        if whole > 0:
            cuts = [cut for cut in (clip_polygon(part, self.size) for part in parts) if polygon_area(cut) > 0]
            inside = np.vstack(cuts) if cuts else np.zeros((1, 2))
            visible = sum(polygon_area(cut) for cut in cuts) / whole
            return np.r_[inside.min(axis=0), inside.max(axis=0)], visible, tuple(cuts)
        # a box alone (or a degenerate outline): clip the rectangle itself
        clipped = np.r_[np.maximum(box[:2], 0), np.minimum(box[2:], [w, h])]
        area = max(box[2] - box[0], 0) * max(box[3] - box[1], 0)
        inside = max(clipped[2] - clipped[0], 0) * max(clipped[3] - clipped[1], 0)
        return clipped, inside / area if area > 0 else float(inside > 0), None

    @property
    def empty(self) -> bool:
        return not self.classes
