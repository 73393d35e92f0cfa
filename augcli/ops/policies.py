"""Augmentation policies that expand to plain catalogue ops when sampled.

RandAugment (Cubuk et al. 2020) and TrivialAugment (Müller & Hutter 2021),
with the operation lists and magnitude ranges torchvision implements
(``transforms/autoaugment.py``, 31 magnitude bins). The manifest records the
concrete ops that were chosen (a rotate of 12 degrees, a posterize to 5
bits), so replay needs no policy. Geometry pivots about the image centre, as
everywhere in augcli (torchvision shears about the top-left corner).
"""
from __future__ import annotations

import math

from ..lazy import lazy
from .registry import policy
from .resampling import resampling, resampling_params
from .spec import Param

np = lazy("numpy")

BINS = 31


def _space(wide: bool, size) -> dict[str, tuple[np.ndarray, bool]]:
    """op -> (magnitudes per bin, signed), as torchvision's _augmentation_space."""
    w, h = size
    zero = np.zeros(BINS)
    return {
        "identity": (zero, False),
        "shear_x": (np.linspace(0.0, 0.99 if wide else 0.3, BINS), True),
        "shear_y": (np.linspace(0.0, 0.99 if wide else 0.3, BINS), True),
        "translate_x": (np.linspace(0.0, 32.0 if wide else 150.0 / 331.0 * w, BINS), True),
        "translate_y": (np.linspace(0.0, 32.0 if wide else 150.0 / 331.0 * h, BINS), True),
        "rotate": (np.linspace(0.0, 135.0 if wide else 30.0, BINS), True),
        "brightness": (np.linspace(0.0, 0.99 if wide else 0.9, BINS), True),
        "color": (np.linspace(0.0, 0.99 if wide else 0.9, BINS), True),
        "contrast": (np.linspace(0.0, 0.99 if wide else 0.9, BINS), True),
        "sharpness": (np.linspace(0.0, 0.99 if wide else 0.9, BINS), True),
        "posterize": (8 - np.round(np.arange(BINS) / ((BINS - 1) / (6 if wide else 4))), False),
        "solarize": (np.linspace(255.0, 0.0, BINS), False),
        "autocontrast": (zero, False),
        "equalize": (zero, False),
    }


# the augcli op each policy operation becomes (what a class rule's exclude names)
PLAIN_OP = {"identity": None, "shear_x": "shear", "shear_y": "shear", "translate_x": "translate",
            "translate_y": "translate", "rotate": "rotate", "brightness": "brightness", "color": "saturation",
            "contrast": "contrast", "sharpness": "sharpen", "posterize": "posterize", "solarize": "solarize",
            "autocontrast": "autocontrast", "equalize": "equalize"}


def _left(space: dict, exclude: frozenset) -> dict:
    """The operations a class may get: those whose augcli op it does not exclude."""
    return {name: entry for name, entry in space.items() if PLAIN_OP[name] not in exclude}


def _as_op(name: str, magnitude: float, params: dict) -> tuple[str, dict] | None:
    """One policy operation as a plain augcli op (None for identity): the values
    it draws; the sampler completes the rest from the op's defaults."""
    geometry = resampling(params)
    m = round(float(magnitude), 4)
    if name == "identity":
        return None
    if name in ("shear_x", "shear_y"):
        return "shear", {name[-1]: round(math.degrees(math.atan(m)), 4), **geometry}
    if name in ("translate_x", "translate_y"):
        return "translate", {name[-1]: m, **geometry}
    if name == "rotate":
        return "rotate", {"angle": m, **geometry}
    if name in ("brightness", "color", "contrast", "sharpness"):
        return PLAIN_OP[name], {"factor": round(1.0 + m, 4)}
    if name == "posterize":
        return "posterize", {"bits": int(m)}
    if name == "solarize":
        return "solarize", {"threshold": m}
    if name == "autocontrast":
        return "autocontrast", {}
    return "equalize", {}


def _pick(space: dict, rng: np.random.Generator, bin_index: int | None) -> tuple[str, float]:
    names = list(space)
    name = names[int(rng.integers(len(names)))]
    magnitudes, signed = space[name]
    index = int(rng.integers(BINS)) if bin_index is None else bin_index
    magnitude = float(magnitudes[index])
    if signed and rng.integers(2):
        magnitude = -magnitude
    return name, magnitude


def _randaugment(params: dict, rng: np.random.Generator, size, exclude=frozenset()) -> list[tuple[str, dict]]:
    space = _left(_space(False, size), exclude)
    chosen = [_as_op(*_pick(space, rng, params["m"]), params) for _ in range(params["n"])]
    return [op for op in chosen if op is not None]


def _trivialaugment(params: dict, rng: np.random.Generator, size, exclude=frozenset()) -> list[tuple[str, dict]]:
    op = _as_op(*_pick(_left(_space(True, size), exclude), rng, None), params)
    return [op] if op is not None else []


GEOMETRY = resampling_params(interpolation="nearest", fill_doc="fill for shear/translate/rotate (torchvision: black)",
                             cval_doc="constant fill value", interpolation_doc="torchvision's default is nearest")


policy(
    "randaugment", _randaugment, excluding=True,
    params=(Param("n", "int", 2, 0, 10, doc="operations applied per image"),
            Param("m", "int", 9, 0, BINS - 1, doc="magnitude bin, 0..30 (torchvision's default 9)"), *GEOMETRY),
    doc="RandAugment: n operations drawn uniformly (with replacement) at magnitude bin m; recorded as plain ops.",
    category="policy", example="- randaugment: {n: 2, m: 9}",
)
policy(
    "trivialaugment", _trivialaugment, excluding=True, params=GEOMETRY,
    doc="TrivialAugment Wide: one operation at a random magnitude; recorded as a plain op.",
    category="policy", example="- trivialaugment: {}",
)
