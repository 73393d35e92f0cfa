"""Geometric ops: flips, quarter turns, rotation, resizes, padding, crops.

Conventions (SPEC section 7): x to the right, y down, origin top-left;
geometry pivots about the image centre ((w-1)/2, (h-1)/2); positive angles
turn counter-clockwise, like PIL, scikit-image, Keras and ``np.rot90``.

Affine ops are registered by their ``forward(params, size)`` (``registry.affine_op``);
their kernels call ``warp`` with that same matrix, so an op applied alone and an
op fused with its neighbours (see ``augcli.apply``) go through one code path.
"""
from __future__ import annotations

import math

from ..imaging import from_pil, has_alpha, hwc, mode_of, opaque, premultiplied, size_of, to_pil, to_range
from ..lazy import lazy, opencv
from ..sizes import resolve_size, scaled
from .registry import affine_op, register
from .resampling import CVAL, FILL, INTERPOLATION, RESAMPLING
from .spec import OpSpec, Param
from .symmetry import turned
from .warp import about_centre, opencv_interpolation, pad, resample, resampling_filter, translation

np = lazy("numpy")
Image = lazy("PIL.Image")



# -- exact ops: pixel permutations ---------------------------------------------------


def _hflip_forward(params: dict, size):
    w, _ = size
    return np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]), size


def _vflip_forward(params: dict, size):
    _, h = size
    return np.array([[1.0, 0, 0], [0, -1, h - 1], [0, 0, 1]]), size


def _rot90_forward(params: dict, size):
    matrix, (w, h) = np.eye(3), size
    for _ in range(params["k"] % 4):
        # one counter-clockwise quarter turn, as np.rot90: (x, y) -> (y, w-1-x)
        matrix = np.array([[0.0, 1, 0], [-1, 0, w - 1], [0, 0, 1]]) @ matrix
        w, h = h, w
    return matrix, (w, h)


def rot90(img: np.ndarray, *, k: int) -> np.ndarray:
    k %= 4
    return turned(img, _QUARTER_TURNS[k]) if k else img.copy()


# rot90's k (counter-clockwise) -> the linear part of its forward map
_QUARTER_TURNS = {1: (0, 1, -1, 0), 2: (-1, 0, 0, -1), 3: (0, -1, 1, 0)}


affine_op(
    "hflip", _hflip_forward, kernel=lambda img: turned(img, (-1, 0, 0, 1)),
    doc="Mirror left-right.", category="geometric", exact=True, example="- hflip: {p: 0.5}",
)
affine_op(
    "vflip", _vflip_forward, kernel=lambda img: turned(img, (1, 0, 0, -1)),
    doc="Mirror top-bottom.", category="geometric", exact=True, example="- vflip: {p: 0.5}",
)
affine_op(
    "rot90", _rot90_forward, kernel=rot90,
    params=(Param("k", "int", 1, doc="number of counter-clockwise quarter turns (as np.rot90)"),),
    doc="Turn by k quarter turns counter-clockwise, losslessly.", category="geometric", exact=True,
    example="- rot90: {k: {choice: [1, 2, 3]}}",
)


# -- rotate -------------------------------------------------------------------------


def _rotation_linear(angle: float) -> np.ndarray:
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return np.array([[c, s], [-s, c]])  # counter-clockwise on screen (y down)


def _rotate_forward(params: dict, size):
    linear = _rotation_linear(params["angle"])
    w, h = size
    if params.get("expand"):
        # the smallest canvas holding every rotated pixel centre, +1 for the pixels' extent
        c, s = abs(linear[0, 0]), abs(linear[0, 1])
        ow = math.ceil(c * (w - 1) + s * (h - 1) - 1e-6) + 1
        oh = math.ceil(s * (w - 1) + c * (h - 1) - 1e-6) + 1
        return about_centre(linear, size, (ow, oh)), (ow, oh)
    return about_centre(linear, size), size


affine_op(
    "rotate", _rotate_forward,
    params=(
        Param("angle", "float", lo=-360, hi=360, doc="degrees, positive = counter-clockwise"),
        *RESAMPLING,
        Param("expand", "bool", False, doc="grow the canvas to hold the whole rotated image"),
    ),
    doc="Rotate about the image centre.", category="geometric",
    example="- rotate: {angle: [-20, 20], fill: reflect, p: 0.8}",
)


# -- resize, by a side, letterbox ------------------------------------------------------


def pillow_resize(img: np.ndarray, size, interpolation: str, box=None) -> np.ndarray:
    """Pillow's resize, the definition of augcli's (antialiased when shrinking,
    premultiplied for alpha): the one kernel that crosses to Pillow and back,
    since OpenCV's resize does not antialias."""
    if size_of(img) == tuple(size) and box is None:
        return img.copy()
    resampling = resampling_filter(interpolation)

    def per_channel(work: np.ndarray) -> np.ndarray:
        """Pillow resizes float images one channel (mode F) at a time."""
        return np.dstack([np.asarray(Image.fromarray(np.ascontiguousarray(work[:, :, c])).resize(
            tuple(size), resampling, box=box)) for c in range(work.shape[2])])

    if has_alpha(img) and interpolation != "nearest" and not opaque(img):
        # premultiplied in float (Pillow's own 8-bit RGBa loses most of a faint pixel's colour)
        return premultiplied(img, per_channel)
    if img.dtype.kind == "f":  # Pillow's F is float32; bicubic overshoots 0..1
        return to_range(per_channel(img), img.dtype)
    return from_pil(to_pil(img).resize(tuple(size), resampling, box=box))


def resize(img: np.ndarray, *, size, interpolation: str) -> np.ndarray:
    return pillow_resize(img, resolve_size(size, size_of(img)), interpolation)


def _side_size(side):
    """out_size of an op that scales the image until ``side`` (min or max) of
    its sides is ``max_size``."""
    return lambda params, size: scaled(size, params["max_size"] / side(size))


def _side_kernel(side):
    out_size = _side_size(side)

    def kernel(img: np.ndarray, *, max_size: int, interpolation: str) -> np.ndarray:
        return pillow_resize(img, out_size({"max_size": max_size}, size_of(img)), interpolation)

    return kernel


def _padded_size(params: dict, size) -> tuple[int, int]:
    return max(params["size"][0], size[0]), max(params["size"][1], size[1])


def pad_if_needed(img: np.ndarray, *, size, fill: str, cval: float) -> np.ndarray:
    """Pad to at least ``size``, the image centred; the extra pixel of an odd
    margin goes right and down. Never crops."""
    width, height = size_of(img)
    w, h = _padded_size({"size": size}, (width, height))
    dw, dh = w - width, h - height
    if not dw and not dh:
        return img.copy()
    return pad(img, dw // 2, dh // 2, dw - dw // 2, dh - dh // 2, fill, cval)


register(OpSpec(
    "resize", resize,
    params=(
        Param("size", "size", doc="output [width, height] in pixels; n means [n, n]; a null side keeps the "
                                  "aspect ratio"),
        INTERPOLATION,
    ),
    doc="Scale to [width, height] (antialiased when shrinking, as Pillow's resize); [w, null] keeps the aspect "
        "ratio.",
    category="geometric", out_size=lambda params, size: resolve_size(params["size"], size),
    example="- resize: {size: [224, 224]}",
))
register(OpSpec(
    "smallest_max_size", _side_kernel(min),
    params=(Param("max_size", "int", lo=1, doc="the shorter side's length afterwards, in pixels"), INTERPOLATION),
    doc="Scale so the shorter side is max_size, keeping the aspect ratio (albumentations SmallestMaxSize, "
        "torchvision Resize(n)).",
    category="geometric", out_size=_side_size(min), example="- smallest_max_size: {max_size: 256}",
))
register(OpSpec(
    "longest_max_size", _side_kernel(max),
    params=(Param("max_size", "int", lo=1, doc="the longer side's length afterwards, in pixels"), INTERPOLATION),
    doc="Scale so the longer side is max_size, keeping the aspect ratio (albumentations LongestMaxSize).",
    category="geometric", out_size=_side_size(max), example="- longest_max_size: {max_size: 512}",
))
register(OpSpec(
    "pad_if_needed", pad_if_needed,
    params=(Param("size", "pair", doc="the least [width, height] in pixels; n means [n, n]"), FILL, CVAL),
    doc="Pad to at least [width, height] with the image centred (a letterbox; albumentations PadIfNeeded); "
        "never crops.",
    category="geometric", out_size=_padded_size,
    example="- pad_if_needed: {size: [224, 224], fill: constant}",
))


# -- translate, zoom, shear, affine ---------------------------------------------------

UNIT = Param("unit", "enum", "pixels", choices=("pixels", "fraction"),
             doc="x/y in pixels, or as a fraction of the width/height")


def _shift(params: dict, size) -> tuple[float, float]:
    x, y = params.get("x", 0.0), params.get("y", 0.0)
    if params.get("unit") == "fraction":
        return x * size[0], y * size[1]
    return x, y


def _translate_forward(params: dict, size):
    return translation(*_shift(params, size)), size


def _zoom_forward(params: dict, size):
    sx = params["x"] if params.get("x") is not None else params["scale"]
    sy = params["y"] if params.get("y") is not None else params["scale"]
    return about_centre(np.diag([sx, sy]), size), size


def _shear_linear(sx_deg: float, sy_deg: float) -> np.ndarray:
    # x' = x + tan(sx) * (y - cy), y' = y + tan(sy) * (x - cx)
    return np.array([[1.0, math.tan(math.radians(sx_deg))], [math.tan(math.radians(sy_deg)), 1.0]])


def _shear_forward(params: dict, size):
    return about_centre(_shear_linear(params["x"], params["y"]), size), size


def _affine_forward(params: dict, size):
    linear = _rotation_linear(params["angle"]) @ np.diag([params["scale"]] * 2) @ _shear_linear(
        params["shear_x"], params["shear_y"])
    dx, dy = _shift({"x": params["translate_x"], "y": params["translate_y"], "unit": params["unit"]}, size)
    return translation(dx, dy) @ about_centre(linear, size), size


affine_op(
    "translate", _translate_forward,
    params=(
        Param("x", "float", 0.0, doc="shift right (negative: left)"),
        Param("y", "float", 0.0, doc="shift down (negative: up)"),
        UNIT, *RESAMPLING,
    ),
    doc="Shift the content; exposed pixels are filled.", category="geometric",
    example="- translate: {x: [-0.1, 0.1], y: [-0.1, 0.1], unit: fraction, fill: reflect}",
)
affine_op(
    "zoom", _zoom_forward,
    params=(
        Param("scale", "float", 1.0, 0.05, 20, doc="> 1 enlarges the content (crops back to size), < 1 shrinks and pads"),
        Param("x", "float", None, 0.05, 20, nullable=True, doc="horizontal scale (overrides scale)"),
        Param("y", "float", None, 0.05, 20, nullable=True, doc="vertical scale (overrides scale)"),
        *RESAMPLING,
    ),
    doc="Scale the content about the centre, keeping the image size.", category="geometric",
    example="- zoom: {scale: [0.9, 1.2], fill: reflect}",
)
affine_op(
    "shear", _shear_forward,
    params=(
        Param("x", "float", 0.0, -80, 80, doc="degrees: x' = x + tan(x) * (y - cy)"),
        Param("y", "float", 0.0, -80, 80, doc="degrees: y' = y + tan(y) * (x - cx)"),
        *RESAMPLING,
    ),
    doc="Shear about the centre.", category="geometric", example="- shear: {x: [-10, 10], fill: edge}",
)
affine_op(
    "affine", _affine_forward,
    params=(
        Param("angle", "float", 0.0, -360, 360, doc="degrees, counter-clockwise"),
        Param("scale", "float", 1.0, 0.05, 20, doc="> 1 enlarges the content"),
        Param("shear_x", "float", 0.0, -80, 80, doc="degrees"),
        Param("shear_y", "float", 0.0, -80, 80, doc="degrees"),
        Param("translate_x", "float", 0.0, doc="shift right, in unit"),
        Param("translate_y", "float", 0.0, doc="shift down, in unit"),
        UNIT, *RESAMPLING,
    ),
    doc="Rotate, scale, shear (about the centre) and translate in one resample.", category="geometric",
    parts={"rotate": {"angle": 0.0}, "zoom": {"scale": 1.0}, "shear": {"shear_x": 0.0, "shear_y": 0.0},
           "translate": {"translate_x": 0.0, "translate_y": 0.0}},
    example="- affine: {angle: [-15, 15], scale: [0.9, 1.1], translate_x: [-0.05, 0.05], unit: fraction}",
)


# -- crops --------------------------------------------------------------------------


def _clamp_box(box, size) -> list[int]:
    """A crop box [x0, y0, x1, y1] clipped to the image and at least 1x1."""
    w, h = size
    x0, y0 = min(max(int(box[0]), 0), w - 1), min(max(int(box[1]), 0), h - 1)
    x1, y1 = min(max(int(box[2]), x0 + 1), w), min(max(int(box[3]), y0 + 1), h)
    return [x0, y0, x1, y1]


def _crop_forward(params: dict, size):
    x0, y0, x1, y1 = params["box"]
    return translation(-x0, -y0), (x1 - x0, y1 - y0)


def _crop_kernel(img: np.ndarray, *, box, **_) -> np.ndarray:
    """A view: crops copy nothing (the box is within the image, ``_clamp_box``)."""
    x0, y0, x1, y1 = box
    return img[y0:y1, x0:x1]


def _resolve_crop(params: dict, rng, size) -> dict:
    return {**params, "box": _clamp_box(params["box"], size)}


def _resolve_random_crop(params: dict, rng, size) -> dict:
    w, h = size
    cw, ch = min(params["size"][0], w), min(params["size"][1], h)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return {**params, "box": [x0, y0, x0 + cw, y0 + ch]}


def _resolve_center_crop(params: dict, rng, size) -> dict:
    w, h = size
    cw, ch = min(params["size"][0], w), min(params["size"][1], h)
    x0, y0 = (w - cw) // 2, (h - ch) // 2
    return {**params, "box": [x0, y0, x0 + cw, y0 + ch]}


affine_op(
    "crop", _crop_forward, kernel=_crop_kernel,
    params=(Param("box", "box", doc="[x0, y0, x1, y1] in pixels, x1/y1 exclusive; clipped to the image"),),
    doc="Cut out a fixed box.", category="geometric", exact=True,
    resolve=_resolve_crop, example="- crop: {box: [10, 10, 210, 160]}",
)
affine_op(
    "random_crop", _crop_forward, kernel=_crop_kernel,
    params=(Param("size", "pair", doc="[width, height] of the crop (at most the image size)"),),
    doc="Cut out a box of a fixed size at a random position (recorded as box).", category="geometric",
    exact=True, resolve=_resolve_random_crop, example="- random_crop: {size: [200, 150]}",
)
affine_op(
    "center_crop", _crop_forward, kernel=_crop_kernel,
    params=(Param("size", "pair", doc="[width, height] of the crop (at most the image size)"),),
    doc="Cut out a box of a fixed size from the centre.", category="geometric", exact=True,
    resolve=_resolve_center_crop, example="- center_crop: {size: [200, 200]}",
)


def _resolve_random_resized_crop(params: dict, rng, size) -> dict:
    """torchvision's RandomResizedCrop: an area fraction and a log-uniform aspect
    ratio, ten tries to fit, else the largest centred box of a clamped ratio."""
    w, h = size
    (a0, a1), (r0, r1) = params["scale"], params["ratio"]
    for _ in range(10):
        area = w * h * float(rng.uniform(a0, a1))
        ratio = math.exp(float(rng.uniform(math.log(r0), math.log(r1))))
        cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < cw <= w and 0 < ch <= h:
            x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
            break
    else:
        ratio = min(max(w / h, r0), r1)
        cw, ch = (w, round(w / ratio)) if w / h < ratio else (round(h * ratio), h)
        cw, ch = min(max(cw, 1), w), min(max(ch, 1), h)
        x0, y0 = (w - cw) // 2, (h - ch) // 2
    return {"size": params["size"], "interpolation": params["interpolation"], "box": [x0, y0, x0 + cw, y0 + ch]}


def _random_resized_crop(img: np.ndarray, *, size, box, interpolation, **_) -> np.ndarray:
    # Pillow's resize with box= crops and resamples in one antialiased pass
    return pillow_resize(img, size, interpolation, box=tuple(box))


register(OpSpec(
    "random_resized_crop", _random_resized_crop,
    params=(
        Param("size", "pair", doc="output [width, height]"),
        Param("scale", "pair_float", [0.08, 1.0], 0.001, 1, doc="[lo, hi] range of the crop's area fraction"),
        Param("ratio", "pair_float", [0.75, 1.3333], 0.05, 20, doc="[lo, hi] range of width/height (log-uniform)"),
        INTERPOLATION,
    ),
    doc="A random box (area fraction x aspect ratio, as torchvision) resized to size.",
    category="geometric", out_size=lambda params, size: tuple(params["size"]),
    resolve=_resolve_random_resized_crop,
    example="- random_resized_crop: {size: [224, 224], scale: [0.5, 1.0]}",
))


# -- perspective and elastic -----------------------------------------------------------


def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3x3 projective map taking four points ``src`` to ``dst``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    coeffs = np.linalg.solve(np.array(rows, float), np.array(rhs, float))
    return np.append(coeffs, 1.0).reshape(3, 3)


def _image_corners(size) -> np.ndarray:
    w, h = size
    return np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], float)


def _resolve_perspective(params: dict, rng, size) -> dict:
    """Move each corner inwards by up to magnitude x half the side (torchvision's
    RandomPerspective), recorded as the corners' new positions."""
    w, h = size
    dx, dy = params["magnitude"] * (w - 1) / 2, params["magnitude"] * (h - 1) / 2
    signs = [(1, 1), (-1, 1), (-1, -1), (1, -1)]
    corners = [[round(float(x) + sx * float(rng.uniform(0, dx)), 2), round(float(y) + sy * float(rng.uniform(0, dy)), 2)]
               for (x, y), (sx, sy) in zip(_image_corners(size), signs)]
    return {**params, "corners": corners}


def _perspective_forward(params: dict, size):
    if min(size) < 2:
        # a line or a point has no perspective: its four corners are not a
        # quadrilateral, so no homography exists; the pixels stay put
        return np.eye(3), size
    return _homography(_image_corners(size), np.array(params["corners"], float)), size


affine_op(
    "perspective", _perspective_forward,
    params=(Param("magnitude", "float", 0.3, 0, 1, doc="how far corners may move inwards, as a fraction of half "
                                                        "the side"), *RESAMPLING),
    doc="Skew the view: the corners move inwards by random amounts (recorded as corners).",
    category="geometric", resolve=_resolve_perspective,
    example="- perspective: {magnitude: [0.1, 0.3], fill: reflect, p: 0.5}",
)


def _resolve_elastic(params: dict, rng, size) -> dict:
    return {**params, "seed": int(rng.integers(2**31))}


def elastic_mesh(size, *, grid: int, magnitude: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distortion mesh: cell edges ``xs``, ``ys`` (integers, the output's
    cells) and where each mesh point samples the input, ``px``, ``py``
    ((gy+1) x (gx+1)); inner points move by up to ``magnitude`` pixels, the
    border stays put."""
    w, h = size
    rng = np.random.default_rng(seed)
    gx, gy = min(grid, w), min(grid, h)  # at least one pixel per cell
    xs, ys = np.round(np.linspace(0, w, gx + 1)), np.round(np.linspace(0, h, gy + 1))
    px, py = np.meshgrid(xs, ys)
    limit = min(magnitude, 0.45 * w / gx, 0.45 * h / gy)  # keep every quad convex
    inner = (slice(1, gy), slice(1, gx))
    px[inner] += rng.uniform(-limit, limit, px[inner].shape)
    py[inner] += rng.uniform(-limit, limit, py[inner].shape)
    return xs.astype(int), ys.astype(int), px, py


def _cell_coordinates(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``n`` output pixel centres: its cell, and where it lies across
    that cell (0..1, measured on pixel edges, as a quad mesh maps a box)."""
    cell = np.clip(np.searchsorted(edges, np.arange(n), side="right") - 1, 0, len(edges) - 2)
    return cell, (np.arange(n) + 0.5 - edges[cell]) / (edges[cell + 1] - edges[cell])


def elastic_maps(size, *, grid: int, magnitude: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The remap grid of one elastic draw: for every output pixel, the input
    pixel-centre coordinate it samples (float32 ``map_x``, ``map_y``, h x w).
    Pixels and masks are remapped with it, and points moved through it
    (``augcli.targets``), so annotations follow the very same distortion."""
    w, h = size
    xs, ys, px, py = elastic_mesh((w, h), grid=grid, magnitude=magnitude, seed=seed)
    i, u = _cell_coordinates(xs, w)
    j, v = _cell_coordinates(ys, h)
    u, v = u.astype(np.float32), v[:, None].astype(np.float32)
    px, py = px.astype(np.float32), py.astype(np.float32)

    def across(points: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of the mesh points over every output pixel (along
        each mesh row first, then between rows), minus Pillow's half pixel: the
        pixel-centre input coordinate."""
        rows = points[:, i] * (1 - u) + points[:, i + 1] * u  # (gy + 1) x w
        return rows[j] * (1 - v) + rows[j + 1] * v - np.float32(0.5)

    return across(px), across(py)


def elastic(img: np.ndarray, *, grid: int, magnitude: float, interpolation: str, seed: int, **_) -> np.ndarray:
    """Grid distortion (Augmentor's random distortion): each cell of the output is
    drawn from the quadrilateral between its moved corners, bilinearly across the
    cell (Pillow's quad mesh), resampled with ``cv2.remap``. The border stays
    put, so no fill is needed."""
    cv2 = opencv()
    map_x, map_y = elastic_maps(size_of(img), grid=grid, magnitude=magnitude, seed=seed)
    flag = opencv_interpolation(interpolation)
    return resample(img, interpolation,
                    lambda pixels, _: cv2.remap(pixels, map_x, map_y, flag, borderMode=cv2.BORDER_REPLICATE))


register(OpSpec(
    "elastic", elastic,
    params=(
        Param("grid", "int", 5, 2, 32, doc="cells per side of the distortion mesh"),
        Param("magnitude", "float", 8.0, 0, 1000, doc="largest displacement of a mesh point, in pixels"),
        INTERPOLATION,
    ),
    doc="Elastic grid distortion (random mesh displacements, recorded as a seed).", category="geometric",
    resolve=_resolve_elastic, example="- elastic: {grid: 5, magnitude: [4, 10], p: 0.3}",
))
