"""Checks every registered op passes, so a new op is covered the moment it is
registered: its neutral parameters are the identity (or it says why it has
none), its drawn values stay within its declared bounds over many seeds,
what the manifest records of it survives a JSON round trip to the same
pixels, and its kernel keeps the mode and leaves its input alone."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml
from PIL import Image

from augcli.apply import apply
from augcli.ops import REGISTRY
from augcli.recipe import Recipe
from augcli.sampling import AppliedOp, item_rng, sample


def noise(h=30, w=40, channels=3, seed=0) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def example_params(name: str, size) -> dict:
    """The params an op's documented example draws (so every op is covered)."""
    spec = REGISTRY[name]
    recipe = Recipe.from_yaml("pipeline:\n  " + re.sub(r"p: 0\.\d+", "p: 1", spec.example))
    for copy in range(50):
        ops = sample(recipe.pipeline, item_rng(0, name, copy)[0], size)
        if ops:
            return ops[0].kwargs()
    raise AssertionError(f"{name}'s example never fires")


def colour_image(mode: str) -> Image.Image:
    if mode == "I;16":
        return Image.fromarray(noise(channels=1).astype(np.uint16) * 257)
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    return Image.fromarray(noise(channels=channels), mode=None) if channels != 2 else \
        Image.fromarray(noise(channels=2))


@pytest.fixture(autouse=True)
def model_files(example_models):
    """The model file the onnx op's documented example names (conftest.example_models)."""


KERNELS = sorted(name for name, spec in REGISTRY.items() if spec.expand is None)  # policies expand to these


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "I;16"])
@pytest.mark.parametrize("name", KERNELS)
def test_every_op_keeps_mode_and_leaves_its_input_alone(name, mode):
    img = colour_image(mode)
    before = img.tobytes()
    params = example_params(name, img.size)
    out = REGISTRY[name].kernel(img, **params)
    assert img.tobytes() == before, "input mutated"
    if name != "grayscale":
        assert out.mode == mode
    if mode in ("LA", "RGBA") and REGISTRY[name].category == "colour":
        assert out.getchannel("A").tobytes() == img.getchannel("A").tobytes(), "alpha recoloured"
    json.dumps(params)  # what the manifest records is plain JSON


# -- neutral parameters ---------------------------------------------------------------------

RESAMPLING = {"fill": "reflect", "cval": 0.0, "interpolation": "bilinear"}
W, H = 48, 32  # the test image's size, for ops whose neutral value is a size or a box
LAYER = {"fill_mode": "reflect", "interpolation": "bilinear", "fill_value": 0.0}

# every registered op: the parameters that leave an image as it is, or why it has none
NEUTRAL: dict[str, dict | str] = {
    # colour and noise
    "brightness": {"factor": 1.0}, "contrast": {"factor": 1.0}, "saturation": {"factor": 1.0},
    "hue": {"shift": 0.0}, "gamma": {"gamma": 1.0}, "channel_shift": {"value": 0.0}, "sharpen": {"factor": 1.0},
    "blur": {"radius": 0.0}, "posterize": {"bits": 8}, "solarize": {"threshold": 256.0},
    "autocontrast": {"cutoff": 0.0},  # on an image that spans the full range already
    "gaussian_noise": {"sigma": 0.0, "per_channel": True, "seed": 1},
    "salt_pepper": {"amount": 0.0, "salt_ratio": 0.5, "seed": 1},
    "cutout": {"count": 0, "size": 0.2, "value": 0.0, "noise": False, "boxes": [], "seed": 1},
    "invert": "a negative: no parameter", "equalize": "a histogram equalisation: no parameter",
    "grayscale": "either channel count changes a colour image", "jpeg": "lossy at every quality",
    "clahe": "an equalisation: no clip limit leaves every image", "median_blur": {"size": 1},
    "motion_blur": {"length": 1, "angle": 0.0}, "channel_shuffle": {"order": [0, 1, 2]},
    "downscale": {"scale": 1.0, "interpolation": "nearest"},
    "color_jitter": {"brightness": 0.0, "contrast": 0.0, "saturation": 0.0, "hue": 0.0, "factors": [1.0, 1.0, 1.0, 0.0],
                     "order": [0, 1, 2, 3]},
    "augmix": "mixes augmented chains whatever its parameters", "autoaugment": "every sub-policy may fire",
    "onnx": {"model": "models/mosaic-9.onnx", "sha256": None, "size": None, "scale": 1.0, "mean": 0.0, "std": 1.0,
             "order": "rgb", "strength": 0.0},
    # geometry
    "rotate": {"angle": 0.0, "expand": False, **RESAMPLING},
    "translate": {"x": 0.0, "y": 0.0, "unit": "pixels", **RESAMPLING},
    "zoom": {"scale": 1.0, "x": None, "y": None, **RESAMPLING},
    "shear": {"x": 0.0, "y": 0.0, **RESAMPLING},
    "affine": {"angle": 0.0, "scale": 1.0, "shear_x": 0.0, "shear_y": 0.0, "translate_x": 0.0, "translate_y": 0.0,
               "unit": "pixels", **RESAMPLING},
    "perspective": {"magnitude": 0.0, "corners": [[0, 0], [W - 1, 0], [W - 1, H - 1], [0, H - 1]], **RESAMPLING},
    "elastic": {"grid": 5, "magnitude": 0.0, "interpolation": "bilinear", "seed": 1},
    "rot90": {"k": 0}, "hflip": "a mirror: no parameter", "vflip": "a mirror: no parameter",
    "crop": {"box": [0, 0, W, H]}, "random_crop": {"size": [W, H], "box": [0, 0, W, H]},
    "center_crop": {"size": [W, H], "box": [0, 0, W, H]},
    "random_resized_crop": {"size": [W, H], "box": [0, 0, W, H], "interpolation": "bilinear"},
    "resize": {"size": (W, H), "interpolation": "bilinear"},
    "smallest_max_size": {"max_size": H, "interpolation": "bilinear"},
    "longest_max_size": {"max_size": W, "interpolation": "bilinear"},
    "pad_if_needed": {"size": (W, H), "fill": "constant", "cval": 0.0},
    "keras": {"rotate": 0.0, "shift_x": 0.0, "shift_y": 0.0, "shear": 0.0, "zoom_x": 1.0, "zoom_y": 1.0,
              "hflip": False, "vflip": False, "channel_shift": 0.0, "brightness": 1.0, "fill": "edge", "cval": 0.0,
              "interpolation": "bilinear"},
    # ops that expand into plain ops: the ops they choose are the identity
    "RandomRotation": {"factor": 0.0, **LAYER}, "RandomZoom": {"height_factor": 0.0, "width_factor": None, **LAYER},
    "RandomTranslation": {"height_factor": 0.0, "width_factor": 0.0, **LAYER},
    "RandomContrast": {"factor": 0.0}, "randaugment": {"n": 0, "m": 9, **RESAMPLING, "interpolation": "nearest"},
    "RandomFlip": "flips on a coin, whatever its mode", "trivialaugment": "always draws an operation",
}


def full_range(mode: str) -> Image.Image:
    """Noise in ``mode`` with each channel's lowest and highest value in it (autocontrast leaves it be)."""
    arr = np.random.default_rng(0).integers(0, 256, (H, W, 3), np.uint8)
    arr[0, 0], arr[0, 1] = 0, 255
    base = Image.fromarray(arr)
    return {"L": base.convert("L"), "RGB": base, "RGBA": base.convert("RGBA"),
            "I;16": Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257)}[mode]


def test_every_op_has_a_neutral_entry():
    assert sorted(NEUTRAL) == sorted(REGISTRY), "a new op needs its neutral parameters (or why it has none) here"


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "I;16"])
@pytest.mark.parametrize("name", sorted(k for k, v in NEUTRAL.items() if isinstance(v, dict)))
def test_neutral_parameters_are_the_identity(name, mode):
    img = full_range(mode)
    spec, params = REGISTRY[name], NEUTRAL[name]
    if spec.expand is not None:  # the plain ops it chooses, completed from their defaults as sampling does
        chosen = spec.expand(params, np.random.default_rng(0), img.size)
        out = apply(img, [AppliedOp(op, tuple(REGISTRY[op].complete(values).items())) for op, values in chosen])
    else:  # parameters left out are at their defaults
        out = spec.kernel(img, **{**{p.name: p.default for p in spec.params if not p.required}, **params})
    assert out.mode == img.mode and np.array_equal(np.asarray(out), np.asarray(img))


# -- drawn values -----------------------------------------------------------------------------


def widest_step(name: str) -> str:
    """The op's documented example, always firing, with every bounded number
    drawn from its whole declared range."""
    spec = REGISTRY[name]
    (params,) = yaml.safe_load(spec.example)[0].values()
    params = {**(params or {}), "p": 1}
    for param in spec.params:
        if param.rangeable and param.lo is not None and param.hi is not None:
            params[param.name] = [param.lo, param.hi]
    return json.dumps([{name: params}])


SEEDS = 400


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_drawn_values_stay_within_the_declared_bounds(name):
    """Over many seeds, every value drawn for one of the op's declared
    parameters (and for those of the plain ops it expands into, as recorded)
    is one its parameter allows, and a small integer range is drawn in full,
    both ends included."""
    spec = REGISTRY[name]
    (step,) = Recipe.from_yaml(f"pipeline: {widest_step(name)}\n").pipeline
    drawn: dict[str, list] = {}
    for copy in range(SEEDS):
        rng = item_rng(0, name, copy)[0]
        for key, value in step.params:
            drawn.setdefault(key, []).append(value.draw(spec.param(key), rng))
        for op in sample((step,), rng, (W, H)):
            for key, value in op.params:
                assert_allowed(op.op, key, value)
    for key, values in drawn.items():
        for value in values:
            assert_allowed(name, key, value)
        param = spec.param(key)
        if param.kind == "int" and param.lo is not None and param.hi is not None and param.hi - param.lo <= 31:
            assert set(values) == set(range(int(param.lo), int(param.hi) + 1)), key


def assert_allowed(op: str, key: str, value) -> None:
    param = REGISTRY[op].param(key)
    if param is None:  # drawn by the op itself (a box, a seed): replay checks those
        return
    issue = param.check(list(value) if isinstance(value, tuple) else value)
    assert issue is None, f"{op}.{key} = {value!r}: {issue.message}"


# -- the manifest's form ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_recorded_ops_replay_to_the_same_pixels_after_a_json_round_trip(name):
    """What the manifest records (``to_json``, through JSON text and back) is
    the op as drawn: the same record, the same pixels."""
    img = full_range("RGB")
    recipe = Recipe.from_yaml("pipeline:\n  " + re.sub(r"p: 0\.\d+", "p: 1", REGISTRY[name].example))
    drawn = [ops for copy in range(8) if (ops := sample(recipe.pipeline, item_rng(1, name, copy)[0], img.size))]
    assert drawn, f"{name}'s example never fires"
    for ops in drawn:
        text = json.dumps([op.to_json() for op in ops])
        replayed = tuple(AppliedOp.from_json(record) for record in json.loads(text))
        assert [op.to_json() for op in replayed] == [op.to_json() for op in ops]
        assert np.array_equal(np.asarray(apply(img, replayed)), np.asarray(apply(img, ops))), text
