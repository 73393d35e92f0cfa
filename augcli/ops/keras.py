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
Keras composes them), channel shift, flips, brightness. Given the same drawn
values the pixels are Keras 3.15's (``tests/test_keras_fidelity.py`` holds the
op to golden outputs of the real Keras), with ``constant`` filled as scipy
fills it. Three differences are deliberate: Keras' code pivots non-square
images off-centre and swaps the two shift axes, where augcli pivots about the
true centre and width_shift moves the content horizontally, as Keras
documents; and ``wrap`` is periodic (numpy's), not scipy's legacy wrap.
Positive angles turn counter-clockwise (the draws are symmetric, so the
distribution is Keras').
"""
from __future__ import annotations

import math

from ..imaging import fill_values, size_of
from ..lazy import lazy
from .color import brightness as enhance_brightness
from .color import shift_channels
from .symmetry import turned
from .registry import policy, register
from .spec import Kind, OpSpec, Param, is_number, kind, plain_number
from .warp import INTERPOLATIONS, about_centre, translation, warp

np = lazy("numpy")

KERAS_FILL = {"nearest": "edge", "reflect": "symmetric", "wrap": "wrap", "constant": "constant"}

# Arguments of a notebook's ImageDataGenerator that act on the arrays handed to the
# model, not on the images: a pasted block runs, each gets a notice and is listed in
# augcli.json, none is applied.
TRAINING_TIME = {
    "rescale": "it scales pixel values for the model (image files keep 0..255)",
    "featurewise_center": "it subtracts the training set's mean, computed at training time",
    "featurewise_std_normalization": "it divides by the training set's standard deviation, computed at training time",
    "samplewise_center": "it subtracts each image's own mean as the model reads it",
    "samplewise_std_normalization": "it divides each image by its own standard deviation as the model reads it",
    "zca_whitening": "it whitens with a matrix fitted on the training set at training time",
    "zca_epsilon": "it is a setting of zca_whitening",
    # (after "; ": what to do instead of moving it into the training code)
    "validation_split": "splitting augcli's output at training time puts augmented copies of one source in both "
                        "training and validation; split by source before augmenting instead: augcli split SRC "
                        "SPLIT --val 0.2, then augcli expand SPLIT OUT (only train/ is augmented)",
    "dtype": "it is the array type handed to the model (files keep the image's own pixel type)",
    "data_format": "it is the array layout handed to the model (augcli reads the layout from the files)",
}
REFUSED = {
    "preprocessing_function": "a Python function cannot be written in a YAML recipe (augcli never runs code from "
                              "one); write what it does as ops in a pipeline, or keep it in your training code",
}


# -- the kinds of value Keras' arguments take (recipe checks, transforms, schema) ---------------


class _KerasKind(Kind):
    list_valued, schema_choice = True, False  # Keras' own forms: a number or a list


@kind
class _KerasShift(_KerasKind):
    """Keras' width/height_shift_range: float range, int n -> +-(n-1), list -> signed choice."""

    name, label = "keras_shift", "number or list"

    def allowed(self, param: Param) -> str:
        return "a number >= 0 (float < 1: fraction of the side, >= 1: pixels; int n: integers in +-(n-1)) " \
               "or a list of numbers (signed choice)"

    def valid(self, param: Param, value) -> bool:
        return is_number(value) and value >= 0 or (
            isinstance(value, (list, tuple)) and bool(value) and all(is_number(v) for v in value))

    def schema(self, param: Param) -> dict:
        return {"anyOf": [{"type": "number", "minimum": 0}, {"type": "array", "items": {"type": "number"}}]}


@kind
class _KerasFactor(_KerasKind):
    """Keras layers' factors: f -> [-f, f], or [lo, hi], within the layer's bounds."""

    name, label = "keras_factor", "number or [lo, hi]"

    def allowed(self, param: Param) -> str:
        null = " or null" if param.nullable else ""
        if param.lo is None or param.hi is None:
            return "a number >= 0 (f: drawn from [-f, f]) or a pair [lo, hi]" + null
        lo, hi = plain_number(param.lo), plain_number(param.hi)
        return f"a number from 0 to {hi} (f: drawn from [-f, f]) or a pair [lo, hi] with {lo} <= lo <= hi <= {hi}" \
               + null

    def valid(self, param: Param, value) -> bool:
        return is_number(value) and value >= 0 and param.within(value) or (
            isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v) for v in value)
            and value[0] <= value[1] and param.within(value[0]) and param.within(value[1]))

    def schema(self, param: Param) -> dict:
        lo = {} if param.lo is None else {"minimum": param.lo}
        hi = {} if param.hi is None else {"maximum": param.hi}
        return {"anyOf": [{"type": "number", "minimum": 0, **hi},
                          {"type": "array", "items": {"type": "number", **lo, **hi}, "minItems": 2, "maxItems": 2}]}


@kind
class _KerasZoom(_KerasKind):
    """Keras' zoom_range: z -> [1-z, 1+z], or [lo, hi]."""

    name, label = "keras_zoom", "number or [lo, hi]"

    def allowed(self, param: Param) -> str:
        return "a number from 0 to 1 (z: zoom drawn from [1-z, 1+z]) or a pair [lo, hi]"

    def valid(self, param: Param, value) -> bool:
        return is_number(value) and 0 <= value < 1 or (
            isinstance(value, (list, tuple)) and len(value) == 2 and all(is_number(v) and v > 0 for v in value)
            and value[0] <= value[1])

    def schema(self, param: Param) -> dict:
        return {"anyOf": [{"type": "number", "minimum": 0},
                          {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}]}


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
    # Keras' shear, in (x, y) = (column, row): the source column leans with the row
    shear_m = about_centre(np.array([[1.0, -math.sin(shear)], [0.0, math.cos(shear)]]), size)
    zoom = about_centre(np.diag([drawn["zoom_x"], drawn["zoom_y"]]), size)
    return np.linalg.inv(rotation @ shift @ shear_m @ zoom)


def constant_beyond_edge(img: np.ndarray, forward: np.ndarray, cval: float) -> np.ndarray:
    """scipy's ``constant`` mode, which Keras' ImageDataGenerator uses: an output
    pixel whose source lies beyond the outermost pixel centres is ``cval``
    (augcli's ``constant`` blends the edge pixel with ``cval`` there, as skimage)."""
    w, h = size_of(img)
    inverse = np.linalg.inv(forward)
    ys, xs = np.mgrid[0:h, 0:w]
    src_x = inverse[0, 0] * xs + inverse[0, 1] * ys + inverse[0, 2]
    src_y = inverse[1, 0] * xs + inverse[1, 1] * ys + inverse[1, 2]
    outside = (src_x < 0) | (src_x > w - 1) | (src_y < 0) | (src_y > h - 1)
    if not outside.any():
        return img
    arr = img.copy()
    arr[outside] = fill_values(img, cval)
    return arr


def keras(img: np.ndarray, *, rotate, shift_x, shift_y, shear, zoom_x, zoom_y, hflip, vflip, channel_shift: float,
          brightness: float, fill, cval, interpolation, **_) -> np.ndarray:
    drawn = dict(rotate=rotate, shift_x=shift_x, shift_y=shift_y, shear=shear, zoom_x=zoom_x, zoom_y=zoom_y)
    if any(v != 0 for v in (rotate, shift_x, shift_y, shear)) or zoom_x != 1 or zoom_y != 1:
        forward = keras_forward(drawn, size_of(img))
        img = warp(img, forward, size_of(img), fill=fill, cval=cval, interpolation=interpolation)
        if fill == "constant":
            img = constant_beyond_edge(img, forward, cval)
    if channel_shift:
        img = shift_channels(img, channel_shift)
    if hflip:
        img = turned(img, (-1, 0, 0, 1))
    if vflip:
        img = turned(img, (1, 0, 0, -1))
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
    category="geometric", resolve=_resolve, refused=REFUSED, training_time=TRAINING_TIME,
    parts={"rotate": {"rotate": 0.0}, "translate": {"shift_x": 0.0, "shift_y": 0.0}, "shear": {"shear": 0.0},
           "zoom": {"zoom_x": 1.0, "zoom_y": 1.0}, "channel_shift": {"channel_shift": 0.0},
           "hflip": {"hflip": False}, "vflip": {"vflip": False}, "brightness": {"brightness": 1.0}},
    example="- keras: {rotation_range: 30, width_shift_range: 10.0, height_shift_range: 10.0, shear_range: 10, "
            "zoom_range: 0.1, vertical_flip: true, fill_mode: nearest}",
))


# -- Keras preprocessing layers: expanded into the plain ops they mean --------------------
#
# Their factors follow Keras 3 (keras.layers.Random*): a number f means [-f, f],
# a pair [lo, hi] is used as is. Rotation factors are fractions of a full turn
# (0.1 = 36 degrees), zoom and translation factors fractions of the side. Each
# layer is recorded as the plain op it means (rotate, zoom, translate, hflip,
# vflip, contrast), so it fuses with neighbouring geometry into one resample and
# replays without Keras rules. Keras 3 layers pivot about the true centre
# ((w-1)/2, (h-1)/2) and pad like numpy, as augcli's plain ops do.

LAYER_FILL = Param("fill_mode", "enum", "reflect", choices=tuple(KERAS_FILL),
                   doc="Keras names: reflect=symmetric, nearest=edge, wrap, constant")
LAYER_VALUE = Param("fill_value", "float", 0.0, 0, 255, doc="fill value for fill_mode constant")
LAYER_INTERPOLATION = Param("interpolation", "enum", "bilinear", choices=("nearest", "bilinear"),
                            doc="Keras layer interpolation")


def _range(factor) -> tuple[float, float]:
    return (-factor, factor) if not isinstance(factor, (list, tuple)) else tuple(factor)


def _uniform(rng: np.random.Generator, factor) -> float:
    lo, hi = _range(factor)
    return float(rng.uniform(lo, hi)) if lo != hi else float(lo)


def _resampling(params: dict) -> dict:
    """A layer's fill settings as a plain geometric op's (fill, cval, interpolation)."""
    return {"fill": KERAS_FILL[params["fill_mode"]], "cval": params["fill_value"],
            "interpolation": params["interpolation"]}


def _expand_flip(params: dict, rng, size) -> list[tuple[str, dict]]:
    # Keras 3 draws one coin per image for all the mode's axes: horizontal_and_vertical
    # gives the image or its half turn (both flips), never a single flip
    if not rng.random() < 0.5:
        return []
    return [(op, {}) for op, axis in (("hflip", "horizontal"), ("vflip", "vertical")) if axis in params["mode"]]


def _expand_rotation(params: dict, rng, size) -> list[tuple[str, dict]]:
    angle = round(_uniform(rng, params["factor"]) * 360, 4)
    return [("rotate", {"angle": angle, **_resampling(params)})]


def _expand_zoom(params: dict, rng, size) -> list[tuple[str, dict]]:
    # Keras samples the input at (1 + f) x the distance from the centre: f > 0 zooms
    # out, and augcli's zoom scales the content by 1 / (1 + f)
    zoom_y = 1 + _uniform(rng, params["height_factor"])
    if params["width_factor"] is None:  # Keras keeps the aspect ratio: one draw for both sides
        return [("zoom", {"scale": round(1 / zoom_y, 4), **_resampling(params)})]
    zoom_x = 1 + _uniform(rng, params["width_factor"])
    return [("zoom", {"x": round(1 / zoom_x, 4), "y": round(1 / zoom_y, 4), **_resampling(params)})]


def _expand_translation(params: dict, rng, size) -> list[tuple[str, dict]]:
    w, h = size
    x = round(_uniform(rng, params["width_factor"]) * w, 4)
    y = round(_uniform(rng, params["height_factor"]) * h, 4)
    return [("translate", {"x": x, "y": y, **_resampling(params)})]


def _expand_contrast(params: dict, rng, size) -> list[tuple[str, dict]]:
    # as Keras documents: f -> [1 - f, 1 + f], [lo, hi] -> [1 - lo, 1 + hi]
    # (Keras 3.15's code draws a single number f from [1, 1 + f])
    factor = params["factor"]
    lower, upper = factor if isinstance(factor, (list, tuple)) else (factor, factor)
    return [("contrast", {"factor": round(float(rng.uniform(1 - lower, 1 + upper)), 4)})]


_LAYER_PARAMS = (LAYER_FILL, LAYER_INTERPOLATION, LAYER_VALUE)
policy(
    "RandomFlip", _expand_flip,
    params=(Param("mode", "enum", "horizontal_and_vertical",
                  choices=("horizontal", "vertical", "horizontal_and_vertical"),
                  doc="axes flipped together on one coin (p 0.5), as Keras 3"),),
    doc="Keras RandomFlip: one coin (p 0.5) flips every axis of mode (recorded as hflip / vflip).",
    category="geometric", example="- RandomFlip: {mode: horizontal}",
)
policy(
    "RandomRotation", _expand_rotation,
    params=(Param("factor", "keras_factor", lo=-1, hi=1,
                  doc="fraction of a full turn: f -> [-f, f] x 360 degrees, positive = counter-clockwise"),
            *_LAYER_PARAMS),
    doc="Keras RandomRotation (factor in turns; recorded as rotate).", category="geometric",
    example="- RandomRotation: {factor: 0.05}",
)
policy(
    "RandomZoom", _expand_zoom,
    params=(Param("height_factor", "keras_factor", lo=-0.95, hi=1,
                  doc="f -> [-f, f]; positive zooms out (content x 1/(1+f)), negative zooms in"),
            Param("width_factor", "keras_factor", None, lo=-0.95, hi=1, nullable=True,
                  doc="null keeps the aspect ratio"),
            *_LAYER_PARAMS),
    doc="Keras RandomZoom (recorded as zoom, content scale 1/(1+f)).", category="geometric",
    example="- RandomZoom: {height_factor: 0.2}",
)
policy(
    "RandomTranslation", _expand_translation,
    params=(Param("height_factor", "keras_factor", lo=-1, hi=1,
                  doc="fraction of the height: f -> [-f, f], positive = down"),
            Param("width_factor", "keras_factor", lo=-1, hi=1,
                  doc="fraction of the width: f -> [-f, f], positive = right"),
            *_LAYER_PARAMS),
    doc="Keras RandomTranslation (recorded as translate, in pixels).", category="geometric",
    example="- RandomTranslation: {height_factor: 0.1, width_factor: 0.1}",
)
policy(
    "RandomContrast", _expand_contrast,
    params=(Param("factor", "keras_factor", lo=0, hi=1,
                  doc="f -> contrast factor in [1-f, 1+f]; [lo, hi] -> [1-lo, 1+hi]"),),
    doc="Keras RandomContrast: (x - mean) * c + mean per channel (recorded as contrast).",
    example="- RandomContrast: {factor: 0.2}",
)
