"""The pixel engine, and whether an output tree was written by one that makes
the same bytes as this one.

Output bytes depend, besides the recipe and the sources, on the libraries
that compute and encode the pixels (OpenCV, Pillow, numpy). A version number
is a poor proxy for that: a patch release that changes nothing must not orphan
every OUT (a CI cache, a ``--resume``), and a release that does change pixels
must not be replayed silently. So ``augcli.json`` records, next to the
engine's name, its ``fingerprint``: a digest per canary of what this engine
writes for a fixed set of small synthetic images (RGB, RGBA with transparent
pixels, 16-bit grey) put through every built-in op (its catalogue example,
drawn with a fixed seed), a few interpolation and fill variants, and each
output codec (encoded, then decoded again). ``replay`` and ``--resume``
refuse a record only when its fingerprint differs, and say for which canaries.

The fingerprint is computed once per process (a few hundred small images,
well under a second) and only when needed: a record that names this very
engine is taken as is.
"""
from __future__ import annotations

import functools
import hashlib
import io

import numpy as np

from .lazy import opencv

_PILLOW_ENGINE = "pillow"  # augcli 0.1.0 resampled with Pillow and recorded no engine
# The generation of augcli's own kernels: 0.2.0 passed Pillow images between its
# OpenCV kernels and recorded "opencv X"; 0.3.0 works on arrays with kernels of
# their own definition (hue, saturation, sharpen, premultiplied alpha, clipped
# floats), so the same OpenCV writes other bytes. Bump it whenever kernels change bytes
# (the fingerprint notices anyway; the name tells people why).
_KERNELS = "arrays"


def engine() -> str:
    """The pixel engine's name, recorded in ``augcli.json`` (e.g. ``arrays opencv 5.1.0``)."""
    return f"{_KERNELS} opencv {opencv().__version__}"


def other_engine(recorded: str | None, recorded_fingerprint: dict | None = None) -> str | None:
    """None when a run recorded with engine ``recorded`` (None: 0.1.0's Pillow)
    and ``recorded_fingerprint`` makes the bytes this engine makes; otherwise
    what differs, in words: the recorded engine's name, and the canaries whose
    pixels differ when the record has a fingerprint to compare."""
    if recorded is None:  # 0.1.0: Pillow's resampling, and no fingerprint to compare
        return repr(_PILLOW_ENGINE)
    if recorded == engine():
        return None
    theirs = recorded_fingerprint.get("canaries") if isinstance(recorded_fingerprint, dict) else None
    if not isinstance(theirs, dict):
        return repr(recorded)
    differ = differing(theirs)
    if not differ:
        return None  # another version, the same bytes: nothing that matters changed
    shown = ", ".join(differ[:4]) + (f" and {len(differ) - 4} more" if len(differ) > 4 else "")
    return f"{recorded!r} (its pixels differ from this engine's for {shown})"


def differing(theirs: dict) -> list[str]:
    """The canaries whose digest differs from this engine's (or that one side lacks)."""
    mine = fingerprint()["canaries"]
    return sorted(name for name in set(mine) | set(theirs) if mine.get(name) != theirs.get(name))


@functools.cache
def fingerprint() -> dict:
    """``{"sha256": digest of all, "canaries": {name: 16 hex digits}}``, once per process."""
    canaries = compute()
    everything = "".join(f"{name}={digest}\n" for name, digest in sorted(canaries.items()))
    return {"sha256": hashlib.sha256(everything.encode()).hexdigest(), "canaries": canaries}


# besides every op's catalogue example: the resampler's interpolation and fill variants
VARIANTS = (
    "- rotate: {angle: 17.5, fill: constant, cval: 40, interpolation: nearest}",
    "- rotate: {angle: -33, fill: edge, interpolation: bicubic}",
    "- rotate: {angle: 71, fill: wrap, interpolation: bilinear}",
    "- rotate: {angle: 8, fill: symmetric, interpolation: bicubic, expand: true}",
    "- shear: {x: 12, y: -5, fill: reflect, interpolation: nearest}",
    "- resize: {size: [11, 7], interpolation: bicubic}",
    "- resize: {size: [41, 30], interpolation: nearest}",
    "- perspective: {magnitude: 0.3, fill: edge, interpolation: bicubic}",
    "- elastic: {grid: 3, magnitude: 4, interpolation: nearest}",
    "- blur: {radius: 2.2}",
)
CODECS = (("JPEG", 95), ("JPEG", 60), ("PNG", 95), ("WEBP", 80))
OWN_RECORD = {"onnx"}  # its pixels come from a model file, whose sha256 augcli.json records on its own


def canary_images() -> dict:
    """Small synthetic images, the same everywhere (a formula, no random numbers):
    non-square, with edges and gradients, one with transparent pixels, one 16-bit."""
    from PIL import Image

    yy, xx = np.mgrid[0:19, 0:27]
    wave = (xx * 37 + yy * 11 + (xx * yy) % 23 * 5) % 256
    rgb = np.stack([wave, (wave * 3 + 64) % 256, (255 - wave + yy * 4) % 256], axis=-1).astype(np.uint8)
    alpha = np.where((xx + yy) % 5 == 0, 0, (xx * 9) % 256).astype(np.uint8)
    grey16 = ((xx * 2311 + yy * 977) % 65536).astype(np.uint16)
    return {"rgb": Image.fromarray(rgb, "RGB"), "rgba": Image.fromarray(np.dstack([rgb, alpha]), "RGBA"),
            "i16": Image.fromarray(grey16[:17, :23])}


def compute() -> dict[str, str]:
    """Digest of every canary's pixels (not cached: ``fingerprint`` is)."""
    from PIL import Image

    from .apply import apply
    from .errors import RecipeError
    from .imaging import from_pil, size_of
    from .io import encode
    from .ops import REGISTRY
    from .recipe import Recipe
    from .sampling import sample

    examples = [spec.example for name, spec in sorted(REGISTRY.items()) if name not in OWN_RECORD
                and spec.example and spec.kernel is not None and spec.kernel.__module__.startswith("augcli.")]
    steps = {}
    for example in examples + list(VARIANTS):
        try:
            (steps[example],) = Recipe.from_yaml(f"pipeline:\n  {example}\n", max_pixels=0).pipeline
        except (RecipeError, ValueError):  # an example that needs more than itself: not a canary
            continue
    digests: dict[str, str] = {}
    for image_name, picture in canary_images().items():
        img = from_pil(picture)  # the working array every kernel takes
        for example, step in steps.items():
            label = f"{image_name} {example[2:]}"
            rng = np.random.default_rng(20261205)
            try:
                ops = sample([_always(step)], rng, size_of(img))
                digests[label] = _digest(apply(img, ops))
            except Exception as exc:  # an op that refuses this mode: the refusal is part of its behaviour
                digests[label] = "refused " + type(exc).__name__
        for fmt, quality in CODECS:
            data, _, _ = encode(img, fmt, quality=quality, background=255)
            with Image.open(io.BytesIO(data)) as back:
                back.load()
                digests[f"{image_name} {fmt} q{quality}"] = _digest(from_pil(back))
    return digests


def _always(step):
    """The step with p = 1, so the canary exercises its kernel every time."""
    import dataclasses

    return dataclasses.replace(step, p=1.0)


def _digest(arr) -> str:
    arr = np.ascontiguousarray(arr)
    return hashlib.sha256(f"{arr.dtype.str} {arr.shape}".encode() + arr.tobytes()).hexdigest()[:16]
