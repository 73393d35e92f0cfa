"""AutoAugment's learned policies and AugMix, as torchvision implements them
(``transforms/autoaugment.py``), on augcli's plain ops.

``autoaugment`` is a policy: it picks one of its 25 sub-policies, fires each
of its two operations with that operation's probability (sign of the
magnitude on a coin) and records the plain ops that fired. ``augmix`` mixes
``width`` chains of 1-3 random operations with Dirichlet weights, then blends
with the original by a Beta draw (Hendrycks et al. 2020): it cannot be
written as plain ops in a row, so it is one op whose randomness is a recorded
``seed``, like the noise ops.
"""
from __future__ import annotations

from ..lazy import lazy
from .policies import GEOMETRY, _as_op
from .registry import REGISTRY, policy, register
from .spec import OpSpec, Param

np = lazy("numpy")
Image = lazy("PIL.Image")

P = "Posterize Solarize AutoContrast Equalize Rotate Color Contrast Sharpness ShearX ShearY TranslateX " \
    "TranslateY Brightness Invert".split()
# torchvision's AutoAugmentPolicy tables: ((op, probability, magnitude bin), (op, probability, magnitude bin))
POLICIES = {
    "imagenet": [
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)), (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)), (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)), (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)), (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)), (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)), (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)), (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)), (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)), (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ],
    "cifar10": [
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)), (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)), (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)), (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)), (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)), (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)), (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)), (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)), (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)), (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)), (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)), (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)), (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ],
    "svhn": [
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)), (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)), (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)), (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)), (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)), (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)), (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)), (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)), (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)), (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)), (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ],
}
# torchvision's name -> the name policies._as_op takes
_NAMES = {"ShearX": "shear_x", "ShearY": "shear_y", "TranslateX": "translate_x", "TranslateY": "translate_y",
          "Rotate": "rotate", "Brightness": "brightness", "Color": "color", "Contrast": "contrast",
          "Sharpness": "sharpness", "Posterize": "posterize", "Solarize": "solarize",
          "AutoContrast": "autocontrast", "Equalize": "equalize", "Invert": "invert"}


def autoaugment_space(size, bins: int = 10) -> dict:
    """torchvision's AutoAugment._augmentation_space: op -> (magnitude per bin, signed)."""
    w, h = size
    lin = lambda hi: np.linspace(0.0, hi, bins)  # noqa: E731
    return {"ShearX": (lin(0.3), True), "ShearY": (lin(0.3), True), "TranslateX": (lin(150.0 / 331.0 * w), True),
            "TranslateY": (lin(150.0 / 331.0 * h), True), "Rotate": (lin(30.0), True),
            "Brightness": (lin(0.9), True), "Color": (lin(0.9), True), "Contrast": (lin(0.9), True),
            "Sharpness": (lin(0.9), True), "Posterize": (8 - np.round(np.arange(bins) / ((bins - 1) / 4)), False),
            "Solarize": (np.linspace(255.0, 0.0, bins), False), "AutoContrast": (None, False),
            "Equalize": (None, False), "Invert": (None, False)}


def plain(name: str, magnitude: float, params: dict) -> tuple[str, dict]:
    """A torchvision operation at a magnitude as an augcli plain op."""
    if name == "Invert":
        return "invert", {}
    return _as_op(_NAMES[name], magnitude, params)


def _autoaugment(params: dict, rng, size, exclude=frozenset()) -> list[tuple[str, dict]]:
    space = autoaugment_space(size)
    chosen = POLICIES[params["policy"]][int(rng.integers(len(POLICIES[params["policy"]])))]
    fired = []
    for name, p, index in chosen:
        fires, negative = rng.random() <= p, bool(rng.integers(2))
        magnitudes, signed = space[name]
        magnitude = float(magnitudes[index]) if index is not None else 0.0
        if fires:
            op = plain(name, -magnitude if signed and negative else magnitude, params)
            if op[0] not in exclude:
                fired.append(op)
    return fired


policy(
    "autoaugment", _autoaugment, excluding=True,
    params=(Param("policy", "enum", "imagenet", choices=tuple(POLICIES), doc="torchvision's learned policy"),
            *GEOMETRY),
    doc="AutoAugment: one of a learned policy's 25 sub-policies, each of its two ops on its own probability; "
        "recorded as plain ops.",
    category="policy", example="- autoaugment: {policy: imagenet}",
)


# -- AugMix ----------------------------------------------------------------------------------


def augmix_space(size, bins: int = 10) -> dict:
    """torchvision's AugMix._augmentation_space (all_ops=True)."""
    w, h = size
    lin = lambda hi: np.linspace(0.0, hi, bins)  # noqa: E731
    return {"ShearX": (lin(0.3), True), "ShearY": (lin(0.3), True), "TranslateX": (lin(w / 3.0), True),
            "TranslateY": (lin(h / 3.0), True), "Rotate": (lin(30.0), True),
            "Posterize": (4 - np.round(np.arange(bins) / ((bins - 1) / 4)), False),
            "Solarize": (np.linspace(255.0, 0.0, bins), False), "AutoContrast": (None, False),
            "Equalize": (None, False), "Brightness": (lin(0.9), True), "Color": (lin(0.9), True),
            "Contrast": (lin(0.9), True), "Sharpness": (lin(0.9), True)}


def augmix_plan(size, *, severity: int, width: int, depth: int, alpha: float, seed: int, geometry: dict):
    """The draws of one AugMix: (weight of the original, [(chain weight, [(op, params), ...]), ...])."""
    rng = np.random.default_rng(seed)
    m = rng.dirichlet([alpha, alpha])
    weights = rng.dirichlet([alpha] * width) * m[1]
    space = augmix_space(size)
    names = list(space)
    chains = []
    for i in range(width):
        ops = []
        for _ in range(depth if depth > 0 else int(rng.integers(1, 4))):
            name = names[int(rng.integers(len(names)))]
            magnitudes, signed = space[name]
            magnitude = float(magnitudes[int(rng.integers(severity))]) if magnitudes is not None else 0.0
            if signed and rng.integers(2):
                magnitude = -magnitude
            op = plain(name, magnitude, geometry)
            if name == "Posterize":  # AugMix posterizes to 4..0 bits; 0 bits is black, augcli's least is 1
                op = ("posterize", {"bits": max(1, op[1]["bits"])})
            ops.append((op[0], REGISTRY[op[0]].complete(op[1])))  # the values it drew, and the op's defaults
        chains.append((float(weights[i]), ops))
    return float(m[0]), chains


def augmix(img, *, severity: int, width: int, depth: int, alpha: float, fill: str, cval: float,
           interpolation: str, seed: int):
    """Mix ``width`` augmented chains and the original (AugMix); alpha kept.
    Takes and gives a Pillow image, or an (H, W, C) array (the array engine)."""
    geometry = {"fill": fill, "cval": cval, "interpolation": interpolation}
    arr = np.asarray(img)
    keep, chains = augmix_plan((arr.shape[1], arr.shape[0]), severity=severity, width=width, depth=depth,
                               alpha=alpha, seed=seed, geometry=geometry)
    mix = keep * arr.astype(np.float64)
    for weight, ops in chains:
        aug = img
        for name, values in ops:
            aug = REGISTRY[name].kernel(aug, **values)
        mix += weight * np.asarray(aug).astype(np.float64)
    if arr.dtype.kind != "f":
        mix = np.clip(np.rint(mix), 0, np.iinfo(arr.dtype).max)
    out = mix.astype(arr.dtype)
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        out[..., -1] = arr[..., -1]  # alpha rides along
    return out if isinstance(img, np.ndarray) else Image.fromarray(out)


def _augmix_seed(params: dict, rng, size) -> dict:
    return {**params, "seed": int(rng.integers(2**31))}


register(OpSpec(
    "augmix", augmix,
    params=(Param("severity", "int", 3, 1, 10, doc="magnitude bins drawn from (torchvision's 1..10)"),
            Param("width", "int", 3, 1, 10, doc="augmented chains mixed"),
            Param("depth", "int", -1, -1, 10, doc="ops per chain; -1 = 1 to 3 at random"),
            Param("alpha", "float", 1.0, 0.01, 100, doc="Dirichlet and Beta concentration"), *GEOMETRY),
    doc="AugMix: chains of random ops mixed with Dirichlet weights, blended with the image by a Beta draw "
        "(recorded as its seed).", resolve=_augmix_seed, example="- augmix: {severity: 3}",
))
