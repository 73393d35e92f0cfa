"""The ``keras`` op: Keras ``ImageDataGenerator`` keyword arguments, drawn the
way Keras draws them, so a user can paste the arguments from a notebook.

Drawing rules (``ImageDataGenerator.get_random_transform``):

* ``rotation_range`` r: angle uniform in [-r, r] degrees.
* ``width_shift_range`` / ``height_shift_range``: a float f is uniform in
  [-f, f]; an int n is an integer in +-(n-1) (``np.random.choice(n)`` with a
  random sign); a list is a choice with a random sign. When the largest value
  is < 1 the shift is a fraction of the side, otherwise pixels.
* ``shear_range`` s: uniform in [-s, s] degrees (Keras' own shear matrix).
* ``zoom_range`` z: zx and zy drawn independently from [1-z, 1+z] (or from
  [lo, hi]); z > 1 zooms out (the content shrinks by 1/z).
* ``channel_shift_range`` c: one value uniform in [-c, c] added to every
  channel, clipped to the image's own min and max.
* ``brightness_range`` [lo, hi]: a PIL ``ImageEnhance.Brightness`` factor.
* ``horizontal_flip`` / ``vertical_flip``: each with probability 0.5.

Applied in Keras' order: one affine (rotation, shift, shear, zoom composed as
Keras composes them), channel shift, flips, brightness. Two Keras bugs are not
copied: its code pivots non-square images off-centre and swaps the two shift
axes; here geometry pivots about the true centre and width_shift moves the
content horizontally, as Keras documents. Positive angles turn
counter-clockwise (the draws are symmetric, so the distribution is Keras').
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

from ..imaging import colour_op, max_value
from . import register
from .color import brightness as enhance_brightness
from .spec import OpSpec, Param
from .warp import INTERPOLATIONS, about_centre, translation, warp

KERAS_FILL = {"nearest": "edge", "reflect": "symmetric", "wrap": "wrap", "constant": "constant"}

REFUSED = {
    "featurewise_center": "it needs the mean of the whole training set at training time; normalise in your "
                          "training code, not in augmented files",
    "samplewise_center": "it is per-sample normalisation at training time, not augmentation; do it in your "
                         "model's input pipeline",
    "featurewise_std_normalization": "it needs dataset statistics at training time; normalise in your training code",
    "samplewise_std_normalization": "it is normalisation at training time; do it in your model's input pipeline",
    "zca_whitening": "it needs a whitening matrix fitted on the dataset at training time and yields float tensors, "
                     "not images",
    "zca_epsilon": "it belongs to zca_whitening, which an offline tool cannot do",
    "rescale": "it scales pixel values to floats for the model; image files keep 0..255, rescale in your "
               "training code",
    "preprocessing_function": "an arbitrary Python function cannot be written in a recipe; add an op instead",
    "data_format": "augcli reads the layout from the image files",
    "validation_split": "splits are folders here (train/ val/ test/), and validation data should not be augmented",
    "dtype": "output files keep the image's own pixel type",
}


def draw_shift(spec, side: int, rng: np.random.Generator) -> float:
    """One shift in pixels following Keras' rules for ``spec``."""
    if not spec:
        return 0.0
    if isinstance(spec, (list, tuple)) or isinstance(spec, int):
        choices = list(spec) if isinstance(spec, (list, tuple)) else list(range(spec))
        value = float(choices[int(rng.integers(len(choices)))]) * (1 if rng.random() < 0.5 else -1)
    else:
        value = float(rng.uniform(-spec, spec))
    largest = max(spec) if isinstance(spec, (list, tuple)) else spec
    return value * side if largest < 1 else value


def _resolve(params: dict, rng: np.random.Generator, size) -> dict:
    w, h = size
    r4 = lambda v: round(float(v), 4)  # noqa: E731 - readable manifests, exact replay
    angle = rng.uniform(-params["rotation_range"], params["rotation_range"]) if params["rotation_range"] else 0.0
    shift_x = draw_shift(params["width_shift_range"], w, rng)
    shift_y = draw_shift(params["height_shift_range"], h, rng)
    shear = rng.uniform(-params["shear_range"], params["shear_range"]) if params["shear_range"] else 0.0
    zoom = params["zoom_range"]
    lo, hi = (1 - zoom, 1 + zoom) if not isinstance(zoom, (list, tuple)) else zoom
    zoom_x, zoom_y = (1.0, 1.0) if lo == hi == 1 else rng.uniform(lo, hi, 2)
    shift_c = params["channel_shift_range"]
    channel = rng.uniform(-shift_c, shift_c) if shift_c else 0.0
    hflip = bool(params["horizontal_flip"] and rng.random() < 0.5)
    vflip = bool(params["vertical_flip"] and rng.random() < 0.5)
    bright = params["brightness_range"]
    factor = rng.uniform(bright[0], bright[1]) if bright is not None else 1.0
    return {
        "rotate": r4(angle), "shift_x": r4(shift_x), "shift_y": r4(shift_y), "shear": r4(shear),
        "zoom_x": r4(zoom_x), "zoom_y": r4(zoom_y), "hflip": hflip, "vflip": vflip,
        "channel_shift": r4(channel), "brightness": r4(factor),
        "fill": KERAS_FILL[params["fill_mode"]], "cval": params["cval"], "interpolation": params["interpolation"],
    }


def keras_forward(drawn: dict, size) -> np.ndarray:
    """Keras' composition ``rotation @ shift @ shear @ zoom`` (a map from output
    to input pixels) about the true centre, returned as the forward map."""
    theta, shear = math.radians(drawn["rotate"]), math.radians(drawn["shear"])
    c, s = math.cos(theta), math.sin(theta)
    rotation = about_centre(np.array([[c, -s], [s, c]]), size)  # inverse of a counter-clockwise turn
    shift = translation(-drawn["shift_x"], -drawn["shift_y"])
    shear_m = about_centre(np.array([[math.cos(shear), 0.0], [-math.sin(shear), 1.0]]), size)
    zoom = about_centre(np.diag([drawn["zoom_x"], drawn["zoom_y"]]), size)
    return np.linalg.inv(rotation @ shift @ shear_m @ zoom)


def shift_channels(img: Image.Image, value: float) -> Image.Image:
    """Add ``value`` (0..255 scale) to every colour channel, clipped to the image's own min and max."""

    def shift(base: Image.Image) -> Image.Image:
        arr = np.asarray(base)
        lo, hi = arr.min(), arr.max()
        scaled = value * max_value(base.mode) / 255.0
        out = np.clip(arr.astype(np.float32) + scaled, lo, hi)
        return Image.fromarray(np.rint(out).astype(arr.dtype) if arr.dtype.kind != "f" else out.astype(arr.dtype))

    return colour_op(shift)(img)


def keras(img: Image.Image, *, rotate, shift_x, shift_y, shear, zoom_x, zoom_y, hflip, vflip, channel_shift: float,
          brightness: float, fill, cval, interpolation, **_) -> Image.Image:
    drawn = dict(rotate=rotate, shift_x=shift_x, shift_y=shift_y, shear=shear, zoom_x=zoom_x, zoom_y=zoom_y)
    if any(v != 0 for v in (rotate, shift_x, shift_y, shear)) or zoom_x != 1 or zoom_y != 1:
        img = warp(img, keras_forward(drawn, img.size), img.size, fill=fill, cval=cval, interpolation=interpolation)
    if channel_shift:
        img = shift_channels(img, channel_shift)
    if hflip:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if vflip:
        img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    if brightness != 1:
        img = enhance_brightness(img, factor=brightness)
    return img


register(OpSpec(
    "keras", keras,
    params=(
        Param("rotation_range", "float", 0.0, 0, 360, doc="degrees: angle uniform in [-r, r]"),
        Param("width_shift_range", "keras_shift", 0.0, doc="horizontal shift (Keras rules)"),
        Param("height_shift_range", "keras_shift", 0.0, doc="vertical shift (Keras rules)"),
        Param("shear_range", "float", 0.0, 0, 80, doc="degrees: shear uniform in [-s, s]"),
        Param("zoom_range", "keras_zoom", 0.0, doc="z -> zx, zy each from [1-z, 1+z]; > 1 zooms out"),
        Param("channel_shift_range", "float", 0.0, 0, 255, doc="one shift in [-c, c] for all channels"),
        Param("brightness_range", "pair_float", None, 0, 10, nullable=True, doc="[lo, hi] brightness factor"),
        Param("horizontal_flip", "bool", False, doc="flip left-right with p 0.5"),
        Param("vertical_flip", "bool", False, doc="flip top-bottom with p 0.5"),
        Param("fill_mode", "enum", "nearest", choices=tuple(KERAS_FILL), doc="Keras names: nearest=edge, "
              "reflect=symmetric, wrap=wrap, constant=constant"),
        Param("cval", "float", 0.0, 0, 255, doc="fill value for fill_mode constant"),
        Param("interpolation", "enum", "bilinear", choices=INTERPOLATIONS, doc="Keras uses order 1 (bilinear)"),
    ),
    doc="Keras ImageDataGenerator arguments, drawn with Keras' rules (recorded as drawn values).",
    category="geometric", resolve=_resolve, refused=REFUSED,
    example="- keras: {rotation_range: 30, width_shift_range: 10.0, height_shift_range: 10.0, shear_range: 10, "
            "zoom_range: 0.1, vertical_flip: true, fill_mode: nearest}",
))
