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

from ..lazy import lazy
from . import register
from .color import brightness as enhance_brightness
from .color import shift_channels
from .spec import OpSpec, Param
from .warp import INTERPOLATIONS, about_centre, translation, warp

np = lazy("numpy")
Image = lazy("PIL.Image")

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
    parts={"rotate": {"rotate": 0.0}, "translate": {"shift_x": 0.0, "shift_y": 0.0}, "shear": {"shear": 0.0},
           "zoom": {"zoom_x": 1.0, "zoom_y": 1.0}, "channel_shift": {"channel_shift": 0.0},
           "hflip": {"hflip": False}, "vflip": {"vflip": False}, "brightness": {"brightness": 1.0}},
    example="- keras: {rotation_range: 30, width_shift_range: 10.0, height_shift_range: 10.0, shear_range: 10, "
            "zoom_range: 0.1, vertical_flip: true, fill_mode: nearest}",
))


# -- Keras preprocessing layers, where the mapping onto augcli is exact -------------------
#
# Their factors follow Keras: a number f means [-f, f], a pair [lo, hi] is used
# as is. Rotation factors are fractions of a full turn (0.1 = 36 degrees),
# zoom and translation factors fractions of the side. The drawn values are
# recorded, so replay needs no Keras rules.

LAYER_FILL = Param("fill_mode", "enum", "reflect", choices=tuple(KERAS_FILL),
                   doc="Keras names: reflect=symmetric, nearest=edge, wrap, constant")
LAYER_VALUE = Param("fill_value", "float", 0.0, 0, 255, doc="fill value for fill_mode constant")
LAYER_INTERPOLATION = Param("interpolation", "enum", "bilinear", choices=("nearest", "bilinear"),
                            doc="Keras layer interpolation")


def _range(factor) -> tuple[float, float]:
    return (-factor, factor) if not isinstance(factor, (list, tuple)) else tuple(factor)


def _uniform(rng: np.random.Generator, factor) -> float:
    lo, hi = _range(factor)
    return round(float(rng.uniform(lo, hi)), 4) if lo != hi else float(lo)


def _layer_warp(img: Image.Image, forward: np.ndarray, fill_mode: str, fill_value: float, interpolation: str):
    return warp(img, forward, img.size, fill=KERAS_FILL[fill_mode], cval=fill_value, interpolation=interpolation)


def _resolve_flip(params: dict, rng, size) -> dict:
    mode = params["mode"]
    return {"mode": mode, "hflip": "horizontal" in mode and bool(rng.random() < 0.5),
            "vflip": "vertical" in mode and bool(rng.random() < 0.5)}


def random_flip(img: Image.Image, *, hflip: bool, vflip: bool, **_) -> Image.Image:
    if hflip:
        img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if vflip:
        img = img.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return img


def _resolve_rotation(params: dict, rng, size) -> dict:
    return {**params, "angle": round(_uniform(rng, params["factor"]) * 360, 4)}


def random_rotation(img: Image.Image, *, angle, fill_mode, fill_value, interpolation, **_) -> Image.Image:
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    return _layer_warp(img, about_centre(np.array([[c, s], [-s, c]]), img.size), fill_mode, fill_value,
                       interpolation)


def _resolve_zoom(params: dict, rng, size) -> dict:
    zoom_y = 1 + _uniform(rng, params["height_factor"])
    zoom_x = zoom_y if params["width_factor"] is None else 1 + _uniform(rng, params["width_factor"])
    return {**params, "zoom_x": round(zoom_x, 4), "zoom_y": round(zoom_y, 4)}


def random_zoom(img: Image.Image, *, zoom_x, zoom_y, fill_mode, fill_value, interpolation, **_) -> Image.Image:
    # Keras zooms out for positive factors: the content shrinks by 1 / (1 + factor)
    forward = about_centre(np.diag([1 / zoom_x, 1 / zoom_y]), img.size)
    return _layer_warp(img, forward, fill_mode, fill_value, interpolation)


def _resolve_translation(params: dict, rng, size) -> dict:
    w, h = size
    return {**params, "x": round(_uniform(rng, params["width_factor"]) * w, 4),
            "y": round(_uniform(rng, params["height_factor"]) * h, 4)}


def random_translation(img: Image.Image, *, x, y, fill_mode, fill_value, interpolation, **_) -> Image.Image:
    return _layer_warp(img, translation(x, y), fill_mode, fill_value, interpolation)


def _resolve_contrast(params: dict, rng, size) -> dict:
    factor = params["factor"]
    lower, upper = factor if isinstance(factor, (list, tuple)) else (factor, factor)
    lo, hi = 1 - lower, 1 + upper
    return {**params, "contrast": round(float(rng.uniform(max(lo, 0), hi)), 4)}


def random_contrast(img: Image.Image, *, contrast, **_) -> Image.Image:
    from .color import contrast as adjust

    return adjust(img, factor=contrast)


_LAYER_PARAMS = (LAYER_FILL, LAYER_INTERPOLATION, LAYER_VALUE)
register(OpSpec(
    "RandomFlip", random_flip,
    params=(Param("mode", "enum", "horizontal_and_vertical",
                  choices=("horizontal", "vertical", "horizontal_and_vertical"), doc="which axes may flip (p 0.5 each)"),),
    doc="Keras RandomFlip: each allowed axis flips with probability 0.5.", category="geometric",
    resolve=_resolve_flip, example="- RandomFlip: {mode: horizontal}",
))
register(OpSpec(
    "RandomRotation", random_rotation,
    params=(Param("factor", "keras_factor", doc="fraction of a full turn: f -> [-f, f] x 360 degrees, "
                                                 "positive = counter-clockwise"), *_LAYER_PARAMS),
    doc="Keras RandomRotation (factor in turns; recorded as angle in degrees).", category="geometric",
    resolve=_resolve_rotation, example="- RandomRotation: {factor: 0.05}",
))
register(OpSpec(
    "RandomZoom", random_zoom,
    params=(Param("height_factor", "keras_factor", doc="f -> [-f, f]; positive zooms out (content x 1/(1+f))"),
            Param("width_factor", "keras_factor", None, nullable=True, doc="null keeps the aspect ratio"),
            *_LAYER_PARAMS),
    doc="Keras RandomZoom (recorded as zoom_x, zoom_y in Keras' sense).", category="geometric",
    resolve=_resolve_zoom, example="- RandomZoom: {height_factor: 0.2}",
))
register(OpSpec(
    "RandomTranslation", random_translation,
    params=(Param("height_factor", "keras_factor", doc="fraction of the height: f -> [-f, f], positive = down"),
            Param("width_factor", "keras_factor", doc="fraction of the width: f -> [-f, f], positive = right"),
            *_LAYER_PARAMS),
    doc="Keras RandomTranslation (recorded as x, y in pixels).", category="geometric",
    resolve=_resolve_translation, example="- RandomTranslation: {height_factor: 0.1, width_factor: 0.1}",
))
register(OpSpec(
    "RandomContrast", random_contrast,
    params=(Param("factor", "keras_factor", doc="f -> contrast factor in [1-f, 1+f]; [lo, hi] -> [1-lo, 1+hi]"),),
    doc="Keras RandomContrast: (x - mean) * c + mean per channel (recorded as contrast).",
    resolve=_resolve_contrast, example="- RandomContrast: {factor: 0.2}",
))
