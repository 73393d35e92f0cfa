"""Ops users of albumentations and torchvision look for: CLAHE, median and
motion blur, channel shuffle, downscale, and ColorJitter as one op.

Each op's math is a function on a colour array (H, W, C) (``_*_array``),
made a kernel by ``adapt.colour_kernel`` (alpha untouched). Values are
rounded and clipped once, at the end of each op.
"""
from __future__ import annotations

import math

from ..lazy import lazy, opencv
from .adapt import colour_kernel
from .registry import register
from .spec import OpSpec, Param

np = lazy("numpy")


def _rounded(values, like):
    if like.dtype.kind == "f":
        return values.astype(like.dtype)
    return np.clip(np.rint(values), 0, np.iinfo(like.dtype).max).astype(like.dtype)


# -- CLAHE -------------------------------------------------------------------------------------


def _clahe_array(arr, top, *, clip_limit: float, tiles: int):
    """OpenCV's CLAHE (``cv2.createCLAHE(clip_limit, (tiles, tiles))``) on grey,
    or on the L channel of CIE L*a*b* for colour (as albumentations' CLAHE)."""
    cv2 = opencv()
    clahe = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    if arr.shape[2] == 1:
        if arr.dtype in (np.uint8, np.uint16):
            return clahe.apply(np.ascontiguousarray(arr[..., 0]))[..., None]
        # 32-bit and float grey (OpenCV's CLAHE takes 8 and 16 bits): on their
        # 16-bit rendering, scaled back
        levels = np.clip(np.rint(arr[..., 0].astype(np.float64) * (65535 / top)), 0, 65535).astype(np.uint16)
        out = clahe.apply(levels)[..., None].astype(np.float64) * (top / 65535)
        return np.clip(out, 0, top).astype(arr.dtype) if arr.dtype.kind == "f" else _rounded(out, arr)
    if arr.dtype != np.uint8:
        # float colour: L* (0..100) as 16 bits for the CLAHE, the rest in float
        lab = cv2.cvtColor(np.ascontiguousarray(arr, dtype=np.float32), cv2.COLOR_RGB2LAB)
        lightness = np.clip(np.rint(lab[..., 0] * 655.35), 0, 65535).astype(np.uint16)
        lab[..., 0] = clahe.apply(lightness).astype(np.float32) / np.float32(655.35)
        return np.clip(cv2.cvtColor(lab, cv2.COLOR_LAB2RGB), 0, 1).astype(arr.dtype)
    lab = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2LAB)
    lab[..., 0] = clahe.apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


# -- blurs -------------------------------------------------------------------------------------


def _odd(params: dict, rng, size) -> dict:
    """A kernel side is odd: an even drawn size becomes the next odd one (recorded as applied)."""
    key = "size" if "size" in params else "length"
    return {**params, key: params[key] | 1}


def _median_array(arr, top, *, size: int):
    """The median of each ``size`` x ``size`` window, edges repeated (OpenCV's
    ``medianBlur``; 16-bit beyond 5x5, where OpenCV has no path: numpy in strips)."""
    if size == 1:
        return arr.copy()
    cv2 = opencv()
    if arr.dtype == np.uint8 or size <= 5 and arr.dtype in (np.uint16, np.float32):
        out = cv2.medianBlur(np.ascontiguousarray(arr), size)
        return out[..., None] if out.ndim == 2 else out
    r = size // 2
    padded = np.pad(arr, ((r, r), (r, r), (0, 0)), mode="edge")
    out = np.empty_like(arr)
    for y0 in range(0, arr.shape[0], 64):  # strips bound the window views' memory
        y1 = min(y0 + 64, arr.shape[0])
        windows = np.lib.stride_tricks.sliding_window_view(padded[y0:y1 + 2 * r], (size, size), axis=(0, 1))
        out[y0:y1] = np.median(windows.reshape(*windows.shape[:3], -1), axis=-1)
    return out


def motion_kernel(length: int, angle: float):
    """A ``length`` x ``length`` kernel: a line of ``length`` pixels through the
    centre at ``angle`` degrees (counter-clockwise, y down), each 1/count."""
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    a = math.radians(angle)
    for t in np.linspace(-c, c, 2 * length):
        k[int(round(c - t * math.sin(a))), int(round(c + t * math.cos(a)))] = 1
    return k / k.sum()


def _motion_array(arr, top, *, length: int, angle: float):
    """Blur along a line (a camera moving during the exposure): the image
    correlated with ``motion_kernel``, edges repeated."""
    if length == 1:
        return arr.copy()
    cv2 = opencv()
    out = cv2.filter2D(arr.astype(np.float32), -1, motion_kernel(length, angle), borderType=cv2.BORDER_REPLICATE)
    return _rounded(out.reshape(arr.shape), arr)


# -- channels and resolution -------------------------------------------------------------------


def _permutation(params: dict, rng, size) -> dict:
    return {**params, "order": [int(i) for i in rng.permutation(3)]}


def _shuffle_array(arr, top, *, order):
    """Colour channels reordered: output channel i is input channel ``order[i]`` (grey is unchanged)."""
    return arr[..., list(order)].copy() if arr.shape[2] == 3 else arr.copy()


_INTERPOLATION = {"nearest": "INTER_NEAREST", "bilinear": "INTER_LINEAR", "area": "INTER_AREA"}


def _downscale_array(arr, top, *, scale: float, interpolation: str):
    """Lose resolution: resize to ``scale`` of each side (at least 1 pixel) and back."""
    cv2 = opencv()
    h, w = arr.shape[:2]
    flag = getattr(cv2, _INTERPOLATION[interpolation])
    small = cv2.resize(np.ascontiguousarray(arr), (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=flag)
    up = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST if interpolation == "area" else flag)
    return up.reshape(arr.shape)


# -- ColorJitter -------------------------------------------------------------------------------

LUMA = (0.299, 0.587, 0.114)


def _jitter_draw(params: dict, rng, size) -> dict:
    """torchvision's ColorJitter.get_params: each factor uniform in [max(0, 1 - v),
    1 + v] (hue in [-h, h]), drawn in that order, then the order they are applied in."""
    factors = []
    for name in ("brightness", "contrast", "saturation"):
        v = params[name]
        factors.append(round(float(rng.uniform(max(0.0, 1 - v), 1 + v)), 4) if v else 1.0)
    h = params["hue"]
    factors.append(round(float(rng.uniform(-h, h)), 4) if h else 0.0)
    return {**params, "factors": factors, "order": [int(i) for i in rng.permutation(4)]}


def _jitter_array(arr, top, *, factors, order, **_):
    """Brightness ``x * b``; contrast ``c * x + (1 - c) * mean(grey)``;
    saturation ``s * x + (1 - s) * grey`` (grey: ITU-R 601 luma); hue: rotate H
    in HSV by ``h`` turns. Applied in ``order`` (0 brightness, 1 contrast, 2
    saturation, 3 hue), each clipped to the range, as torchvision does; one
    rounding at the end. Grey images get brightness and contrast only."""
    x = arr.astype(np.float32) * np.float32(255.0 / top)
    colour = x.shape[2] == 3
    for step in order:
        f = factors[step]
        if step == 0:
            x = x * f
        elif step == 1:
            grey = x @ np.array(LUMA, np.float32) if colour else x[..., 0]
            x = f * x + (1 - f) * float(grey.mean())
        elif step == 2 and colour:
            x = f * x + (1 - f) * (x @ np.array(LUMA, np.float32))[..., None]
        elif step == 3 and colour and f:
            cv2 = opencv()
            hsv = cv2.cvtColor(np.ascontiguousarray(x / 255.0), cv2.COLOR_RGB2HSV)  # H in degrees
            hsv[..., 0] = (hsv[..., 0] + f * 360.0) % 360.0
            x = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0
        x = np.clip(x, 0, 255)
    return _rounded(x * np.float32(top / 255.0), arr)


clahe = colour_kernel(_clahe_array)
median_blur = colour_kernel(_median_array)
motion_blur = colour_kernel(_motion_array)
channel_shuffle = colour_kernel(_shuffle_array)
downscale = colour_kernel(_downscale_array)
color_jitter = colour_kernel(_jitter_array)

register(OpSpec(
    "clahe", clahe,
    params=(Param("clip_limit", "float", 4.0, 0.01, 100, doc="contrast limit per tile (OpenCV's clipLimit)"),
            Param("tiles", "int", 8, 1, 64, doc="tiles per side (tileGridSize)")),
    doc="Contrast-limited adaptive histogram equalisation (OpenCV CLAHE; colour: on L of L*a*b*).",
    example="- clahe: {clip_limit: [1, 4], p: 0.5}",
))
register(OpSpec(
    "median_blur", median_blur, params=(Param("size", "int", lo=1, hi=99, doc="window side (an even one becomes odd)"),),
    doc="Median of each size x size window (OpenCV medianBlur).", resolve=_odd,
    example="- median_blur: {size: [3, 7]}",
))
register(OpSpec(
    "motion_blur", motion_blur,
    params=(Param("length", "int", lo=1, hi=99, doc="line length in pixels (an even one becomes odd)"),
            Param("angle", "float", 0.0, -180, 180, doc="direction, degrees counter-clockwise")),
    doc="Blur along a line of length pixels at an angle (camera motion).", resolve=_odd,
    example="- motion_blur: {length: [3, 9], angle: [-180, 180]}",
))
register(OpSpec(
    "channel_shuffle", channel_shuffle,
    doc="Reorder the colour channels at random (recorded as order); grey is unchanged.", resolve=_permutation,
    example="- channel_shuffle: {p: 0.2}",
))
register(OpSpec(
    "downscale", downscale,
    params=(Param("scale", "float", lo=0.01, hi=1, doc="fraction of each side kept"),
            Param("interpolation", "enum", "nearest", choices=tuple(_INTERPOLATION), doc="of both resizes "
                                                                                        "(area: down; up nearest)")),
    doc="Lose resolution: resize down by scale and back up (albumentations Downscale).",
    example="- downscale: {scale: [0.25, 0.5]}",
))
register(OpSpec(
    "color_jitter", color_jitter,
    params=(Param("brightness", "float", 0.0, 0, 10, doc="factor drawn from [max(0, 1 - v), 1 + v]"),
            Param("contrast", "float", 0.0, 0, 10, doc="factor drawn from [max(0, 1 - v), 1 + v]"),
            Param("saturation", "float", 0.0, 0, 10, doc="factor drawn from [max(0, 1 - v), 1 + v]"),
            Param("hue", "float", 0.0, 0, 0.5, doc="turns drawn from [-v, v]")),
    doc="torchvision ColorJitter: brightness, contrast, saturation and hue in a random order (recorded).",
    resolve=_jitter_draw, example="- color_jitter: {brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1}",
))
