"""Noise and occlusion: the only kernels that need randomness.

Their randomness is drawn at sampling time as a ``seed`` (and, for cutout,
the concrete boxes) recorded in the manifest, so replay regenerates the same
pixels: a kernel builds ``np.random.default_rng(seed)`` (or seeds OpenCV's
generator with it) and draws nothing else.
Values are on the 0..255 scale (scaled for 16-bit images); alpha is untouched.
"""
from __future__ import annotations

from ..imaging import colour_op, hwc, max_value, mode_of, to_range
from ..lazy import lazy, opencv
from .registry import register
from .spec import OpSpec, Param

np = lazy("numpy")


def _with_seed(params: dict, rng: np.random.Generator, size) -> dict:
    return {**params, "seed": int(rng.integers(2**31))}


def gaussian_noise(img: np.ndarray, *, sigma: float, per_channel: bool, seed: int) -> np.ndarray:
    """Add zero-mean Gaussian noise with standard deviation ``sigma`` (0..255 scale).

    The noise comes from OpenCV's generator seeded with ``seed`` (``cv2.randn``,
    a third of numpy's time for a photo's worth of values); 8-bit images get it
    rounded and added with saturation in one pass, other modes are clipped to
    their range."""

    def add(colour: np.ndarray) -> np.ndarray:
        if sigma == 0:
            return colour.copy()
        cv2 = opencv()
        channels = colour.shape[2]
        bands = channels if per_channel else 1
        eight_bit = colour.dtype == np.uint8
        noise = np.empty(colour.shape[:2] + (bands,), np.int16 if eight_bit else np.float32)
        cv2.setRNGSeed(seed)  # OpenCV's generator is per thread: seeding here makes the call deterministic
        cv2.randn(noise, (0.0,) * bands, (sigma * max_value(mode_of(img)) / 255,) * bands)
        if bands != channels:
            noise = np.repeat(noise, channels, axis=2)  # the same value on every channel
        if eight_bit:
            return hwc(cv2.add(np.ascontiguousarray(colour), noise, dtype=cv2.CV_8U))
        return to_range(colour + noise.astype(np.float64), colour.dtype)

    return colour_op(add)(img)


def salt_pepper(img: np.ndarray, *, amount: float, salt_ratio: float, seed: int) -> np.ndarray:
    """Set a fraction ``amount`` of pixels to white (``salt_ratio`` of them) or black."""

    def sprinkle(colour: np.ndarray) -> np.ndarray:
        arr = colour.copy()
        rng = np.random.default_rng(seed)
        draw = rng.random(arr.shape[:2], dtype=np.float32)
        arr[draw < amount * salt_ratio] = max_value(mode_of(img))
        arr[(draw >= amount * salt_ratio) & (draw < amount)] = 0
        return arr

    return colour_op(sprinkle)(img)


def _resolve_cutout(params: dict, rng: np.random.Generator, size) -> dict:
    w, h = size
    side = max(1, round(params["size"] * min(w, h)))
    boxes = []
    for _ in range(params["count"]):
        x0, y0 = int(rng.integers(0, max(w - side, 0) + 1)), int(rng.integers(0, max(h - side, 0) + 1))
        boxes.append([x0, y0, min(x0 + side, w), min(y0 + side, h)])
    return {**params, "boxes": boxes, "seed": int(rng.integers(2**31))}


def cutout(img: np.ndarray, *, boxes, value: float, noise: bool, seed: int, **_) -> np.ndarray:
    """Erase square boxes (random erasing): fill with ``value`` or with uniform noise."""

    def erase(colour: np.ndarray) -> np.ndarray:
        arr = colour.copy()
        rng = np.random.default_rng(seed)
        top = max_value(mode_of(img))
        for x0, y0, x1, y1 in boxes:
            region = arr[y0:y1, x0:x1]
            if noise:
                region[...] = to_range(rng.uniform(0, top, region.shape), arr.dtype)
            else:
                region[...] = to_range(np.array(value * top / 255), arr.dtype)
        return arr

    return colour_op(erase)(img)


register(OpSpec(
    "gaussian_noise", gaussian_noise,
    params=(Param("sigma", "float", lo=0, hi=255, doc="standard deviation, 0..255 scale"),
            Param("per_channel", "bool", True, doc="independent noise per channel (false: the same for all)")),
    doc="Additive Gaussian noise (recorded with its seed).", category="noise", resolve=_with_seed,
    example="- gaussian_noise: {sigma: [0, 8]}",
))
register(OpSpec(
    "salt_pepper", salt_pepper,
    params=(Param("amount", "float", lo=0, hi=1, doc="fraction of pixels replaced"),
            Param("salt_ratio", "float", 0.5, 0, 1, doc="share of white among them")),
    doc="Impulse noise: random white and black pixels (recorded with its seed).", category="noise",
    resolve=_with_seed, example="- salt_pepper: {amount: [0, 0.02]}",
))
register(OpSpec(
    "cutout", cutout,
    params=(Param("count", "int", 1, 0, 100, doc="number of boxes"),
            Param("size", "float", 0.2, 0, 1, doc="box side as a fraction of the shorter image side"),
            Param("value", "float", 0.0, 0, 255, doc="fill value (0..255 scale)"),
            Param("noise", "bool", False, doc="fill with uniform noise instead of value")),
    doc="Random erasing: square boxes filled with a value or noise (recorded as boxes and seed).",
    category="noise", resolve=_resolve_cutout, example="- cutout: {count: [1, 3], size: [0.1, 0.25], p: 0.5}",
))
