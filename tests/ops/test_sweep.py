"""Every registered op on the images the common case misses: non-square, 16-bit,
partly transparent, and its parameters at the ends of their declared ranges.

Each check is an oracle that follows from what the op means, not from its code,
and goes through the ``Augmenter`` on numpy arrays (what a user calls), so it
holds whatever carries the pixels inside:

* 16-bit: values are on the 0..255 scale for every depth, so an op on
  ``image * 257`` is the op on ``image``, times 257 (within a level's rounding);
* partial alpha: a colour op never looks at alpha (the colour bands of an RGBA
  result are the RGB result, alpha untouched), except that blur and sharpen
  weight each neighbour by its alpha; a geometric op moves alpha like
  a grey image filled with 0 (transparent), and premultiplied resampling keeps
  a uniform colour uniform under any alpha;
* non-square: transposing the image and swapping the op's axes commutes with
  the op (a mix-up of width and height shows only on a non-square image);
  ops whose draws scale with a side draw within that side.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from augcli import Augmenter
from augcli.ops import REGISTRY

H, W = 27, 45  # non-square, odd sides


def pattern(h: int = H, w: int = W) -> np.ndarray:
    """8-bit RGB with structure in both directions and both extremes present."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = (xx * 5 + yy * 3) % 256
    rgb = np.stack([base, (base * 2 + yy) % 256, 255 - base], axis=-1).astype(np.uint8)
    rgb[0, 0], rgb[0, 1] = 0, 255
    return rgb


def example(name: str) -> dict:
    """The op's documented example, firing always."""
    (params,) = yaml.safe_load(REGISTRY[name].example)[0].values()
    return {**(params or {}), "p": 1}


def boundary_steps(name: str) -> list[dict]:
    """The example, then each bounded number of the op at its lowest and highest
    allowed value (the rest as in the example); an op that fills, once more
    with a constant fill of a grey that is neither end."""
    steps = [example(name)]
    if REGISTRY[name].param("fill") is not None:
        steps.append({**example(name), "fill": "constant", "cval": 200})
    for param in REGISTRY[name].params:
        if param.kind in ("float", "int") and param.lo is not None and param.hi is not None:
            for end in (param.lo, param.hi):
                steps.append({**example(name), param.name: int(end) if param.kind == "int" else float(end)})
    return steps


@pytest.fixture(autouse=True)
def model_files(example_models):
    """The model file the onnx op's documented example names (conftest.example_models)."""


def run(step_name: str, params: dict, image: np.ndarray, key: str = "k.png", copy: int = 1):
    return Augmenter({"pipeline": [{step_name: params}]})(image, key=key, copy=copy)


CASES = [(name, i, params) for name in sorted(REGISTRY) for i, params in enumerate(boundary_steps(name))]
IDS = [f"{name}-{i}" for name, i, _ in CASES]

# equalize is Pillow's on 8-bit and an exact CDF on 16-bit: the same idea, different rounding;
# OpenCV's CLAHE histograms 16-bit images in 65536 bins (the same idea, a finer histogram), and
# augmix's chains may hold equalize
NOT_SCALE_FREE = {"equalize", "clahe", "augmix"}
# levels of difference allowed beyond one: autocontrast's cutoff 49 stretches the
# two cutoff roundings (Pillow's histogram, numpy's percentile) ~50x; a policy
# chains up to 10 ops, each within a level
LOOSER = {"autocontrast": 9.0, "randaugment": 2.5}
# exact maps of levels and pixel permutations: exact on 16-bit too (jpeg goes
# through 8-bit JPEG and comes back times 257, as it says)
EXACT = {"jpeg", "posterize", "solarize", "invert", "salt_pepper", "cutout", "hflip", "vflip", "rot90", "crop",
         "center_crop", "random_crop", "pad_if_needed", "RandomFlip"}


@pytest.mark.parametrize("name,i,params", CASES, ids=IDS)
def test_an_op_on_16_bit_is_the_op_on_8_bit_scaled(name, i, params):
    grey = pattern()[..., 0]
    out8, record8 = run(name, params, grey)
    out16, record16 = run(name, params, grey.astype(np.uint16) * 257)
    assert out16.dtype == np.uint16 and out8.dtype == np.uint8
    assert record16["ops"] == record8["ops"], "draws depend on the size only"
    assert out16.shape == out8.shape
    if name in NOT_SCALE_FREE:
        return
    difference = np.abs(out16 / 257 - out8.astype(np.float64))
    if name in EXACT:
        assert np.array_equal(out16, out8.astype(np.uint16) * 257), params
    assert difference.max() <= LOOSER.get(name, 1.0) + 1e-9, (params, difference.max())


def partly_transparent(h: int = H, w: int = W) -> np.ndarray:
    rgba = np.zeros((h, w, 4), np.uint8)
    rgba[..., :3] = pattern(h, w)
    rgba[..., 3] = np.linspace(0, 255, w, dtype=np.uint8)[None, :]  # every alpha from 0 to 255
    rgba[: h // 3, :, 3] = 128
    return rgba


# colour ops that mix neighbouring pixels: they weight colours by alpha (issue 21)
MIXES_NEIGHBOURS = {"blur", "sharpen"}
# colour ops whose chains hold such ops or premultiplied resamples (AugMix's shear,
# rotate, translate, sharpness): their colours depend on alpha where alpha varies
CHAINS_THAT_MIX = {"augmix"}



@pytest.mark.parametrize("name,i,params", CASES, ids=IDS)
def test_partial_alpha(name, i, params):
    rgba = partly_transparent()
    out, record = run(name, params, rgba)
    assert out.dtype == np.uint8
    if REGISTRY[name].category in ("colour", "noise"):
        colour, _ = run(name, params, np.ascontiguousarray(rgba[..., :3]))
        if name in MIXES_NEIGHBOURS or name in CHAINS_THAT_MIX:
            # neighbours are weighted by their alpha (no colour from transparent
            # pixels): fully opaque, that is the RGB result; a uniform colour
            # stays uniform under any alpha
            opaque = rgba.copy()
            opaque[..., 3] = 255
            if name in CHAINS_THAT_MIX:
                # its chains resample with a transparent constant fill, premultiplied in
                # float where RGB rounds in 8 bits, and a later posterize can stretch
                # that rounding to a step: only alpha is pinned here (colour bleeding
                # is test_array_kernels.py's, op by op)
                assert np.array_equal(out[..., -1], rgba[..., 3]), "alpha recoloured"
                return
            assert np.array_equal(run(name, params, opaque)[0][..., :3], colour)
            uniform = rgba.copy()
            uniform[..., :3] = (200, 120, 40)
            assert (run(name, params, uniform)[0][..., :3] == (200, 120, 40)).all(), "colour from its neighbours' alpha"
        elif out.shape[-1] == 2:  # grayscale to one channel: RGBA becomes LA
            assert np.array_equal(out[..., 0], colour[..., 0])
        else:  # augmix too: its chains run on the colour channels alone
            assert np.array_equal(out[..., :3], colour), "a colour op's result depends on alpha"
        assert np.array_equal(out[..., -1], rgba[..., 3]), "alpha recoloured"
        return
    assert out.shape[-1] == 4
    if name in ("randaugment", "trivialaugment") or (
            name == "keras" and (params.get("channel_shift_range") or params.get("brightness_range"))):
        return  # colour ops among the geometry would recolour a grey stand-in for alpha
    # alpha moves as a grey image does, filled with 0 (transparent) wherever the
    # fill is a constant, whatever cval says for the colour
    alpha, alpha_record = run(name, {**params, **({"cval": 0} if "cval" in params else {})},
                              np.ascontiguousarray(rgba[..., 3]))
    assert [op["op"] for op in alpha_record["ops"]] == [op["op"] for op in record["ops"]]
    assert alpha.shape == out.shape[:2]
    assert np.abs(alpha.astype(int) - out[..., 3]).max() <= 1, params


@pytest.mark.parametrize("name", sorted(n for n in REGISTRY if REGISTRY[n].category == "geometric"))
def test_geometry_keeps_a_uniform_colour_uniform_under_partial_alpha(name):
    """Premultiplied resampling: blending a colour with itself at any weights is
    that colour, so no dark fringe where alpha varies; a constant fill is
    transparent, never an opaque cval."""
    rgba = partly_transparent()
    rgba[..., :3] = (200, 120, 40)
    constant = {"fill": "constant", "cval": 255} if REGISTRY[name].param("fill") is not None else {}
    for params in boundary_steps(name):
        if params.get("channel_shift_range") or params.get("brightness_range"):
            continue  # keras' colour parts recolour on purpose
        out, _ = run(name, {**params, **constant}, rgba)
        visible = out[..., 3] >= 64
        assert visible.any()
        # 8-bit premultiplied colour is exact to 255 / alpha levels; resampling rounds on top
        tolerance = 1.5 * 255 / out[visible][:, 3:].astype(float) + 1
        assert (np.abs(out[visible][:, :3].astype(int) - (200, 120, 40)) <= tolerance).all(), params


# -- non-square: transposing commutes with the op, its axes swapped -------------------------------

TRANSPOSED = [
    ("hflip", {}, "vflip", {}),
    ("rot90", {"k": 1}, "rot90", {"k": 3}),
    ("rotate", {"angle": 30, "fill": "reflect"}, "rotate", {"angle": -30, "fill": "reflect"}),
    ("rotate", {"angle": 30, "expand": True}, "rotate", {"angle": -30, "expand": True}),
    ("rotate", {"angle": -100, "expand": True, "fill": "edge"}, "rotate", {"angle": 100, "expand": True, "fill": "edge"}),
    ("translate", {"x": 3, "y": -5}, "translate", {"x": -5, "y": 3}),
    ("translate", {"x": 0.1, "y": -0.2, "unit": "fraction", "fill": "wrap"},
     "translate", {"x": -0.2, "y": 0.1, "unit": "fraction", "fill": "wrap"}),
    ("zoom", {"x": 1.3, "y": 0.7, "fill": "symmetric"}, "zoom", {"x": 0.7, "y": 1.3, "fill": "symmetric"}),
    ("shear", {"x": 15}, "shear", {"y": 15}),
    ("affine", {"angle": 20, "scale": 1.1, "shear_x": 8, "translate_x": 0.05, "translate_y": -0.1, "unit": "fraction"},
     "affine", {"angle": -20, "scale": 1.1, "shear_y": 8, "translate_x": -0.1, "translate_y": 0.05, "unit": "fraction"}),
    ("resize", {"size": [30, 20]}, "resize", {"size": [20, 30]}),
    ("resize", {"size": [None, 20]}, "resize", {"size": [20, None]}),
    ("smallest_max_size", {"max_size": 20}, "smallest_max_size", {"max_size": 20}),
    ("longest_max_size", {"max_size": 20}, "longest_max_size", {"max_size": 20}),
    ("pad_if_needed", {"size": [50, 40], "fill": "reflect"}, "pad_if_needed", {"size": [40, 50], "fill": "reflect"}),
    ("pad_if_needed", {"size": [48, 30]}, "pad_if_needed", {"size": [30, 48]}),
    ("crop", {"box": [3, 5, 30, 20]}, "crop", {"box": [5, 3, 20, 30]}),
    ("center_crop", {"size": [20, 9]}, "center_crop", {"size": [9, 20]}),
]


@pytest.mark.parametrize("name,params,other,swapped", TRANSPOSED,
                         ids=[f"{t[0]}-{i}" for i, t in enumerate(TRANSPOSED)])
def test_transposing_commutes_with_the_op_axes_swapped(name, params, other, swapped):
    image = pattern()
    out, _ = run(name, {**params, "p": 1}, image)
    turned, _ = run(other, {**swapped, "p": 1}, np.ascontiguousarray(image.transpose(1, 0, 2)))
    assert turned.shape == out.transpose(1, 0, 2).shape, (out.shape, turned.shape)
    assert np.abs(turned.astype(int) - out.transpose(1, 0, 2)).max() <= 1


@pytest.mark.parametrize("name,params,size", [
    ("resize", {"size": [None, 20]}, (33, 20)),  # 45 * 20 / 27 = 33.3
    ("resize", {"size": [20, None]}, (20, 12)),  # 27 * 20 / 45 = 12
    ("smallest_max_size", {"max_size": 20}, (33, 20)),
    ("longest_max_size", {"max_size": 20}, (20, 12)),
    ("rotate", {"angle": 90, "expand": True}, (27, 45)),
    ("pad_if_needed", {"size": [40, 40]}, (45, 40)),
])
def test_sizes_on_a_non_square_image(name, params, size):
    out, _ = run(name, {**params, "p": 1}, pattern())
    assert (out.shape[1], out.shape[0]) == size


def test_a_quarter_turn_with_expand_is_rot90_on_a_non_square_image():
    image = pattern()
    for interpolation in ("nearest", "bilinear", "bicubic"):
        out, _ = run("rotate", {"angle": 90, "expand": True, "interpolation": interpolation}, image)
        assert np.array_equal(out, np.rot90(image)), interpolation


# -- draws that scale with a side stay within that side ----------------------------------------------


def draws(step: dict, image: np.ndarray, n: int = 150) -> list[dict]:
    aug = Augmenter({"pipeline": [step]})
    return [op for copy in range(1, n + 1) for op in aug(image, key="k.png", copy=copy)[1]["ops"]]


@pytest.mark.parametrize("h,w", [(27, 45), (45, 27)])
def test_random_translation_draws_each_axis_from_its_own_side(h, w):
    ops = draws({"RandomTranslation": {"height_factor": 0.5, "width_factor": 0.25}}, pattern(h, w))
    assert all(abs(op["y"]) <= 0.5 * h + 1e-3 and abs(op["x"]) <= 0.25 * w + 1e-3 for op in ops)
    assert max(abs(op["y"]) for op in ops) > 0.4 * h and max(abs(op["x"]) for op in ops) > 0.2 * w


@pytest.mark.parametrize("h,w", [(27, 45), (45, 27)])
def test_randaugment_translations_at_the_top_bin_are_150_331_of_their_side(h, w):
    ops = [op for op in draws({"randaugment": {"n": 1, "m": 30}}, pattern(h, w), n=300) if op["op"] == "translate"]
    assert ops
    for op in ops:
        if op["x"]:
            assert abs(op["x"]) == round(150 / 331 * w, 4) and op["y"] == 0
        else:
            assert abs(op["y"]) == round(150 / 331 * h, 4)


@pytest.mark.parametrize("h,w", [(27, 45), (45, 27)])
def test_keras_fraction_shifts_are_fractions_of_their_own_side(h, w):
    ops = draws({"keras": {"width_shift_range": 0.5, "height_shift_range": 0.25}}, pattern(h, w))
    assert all(abs(op["shift_x"]) <= 0.5 * w + 1e-3 and abs(op["shift_y"]) <= 0.25 * h + 1e-3 for op in ops)
    assert max(abs(op["shift_x"]) for op in ops) > 0.4 * w and max(abs(op["shift_y"]) for op in ops) > 0.2 * h


def test_keras_zoom_samples_each_axis_by_its_own_factor():
    """Keras' zoom (zx, zy): output pixel (x, y) shows the input at the centre plus
    (zx * (x - cx), zy * (y - cy)), bilinear, edges repeated ('nearest')."""
    from scipy.ndimage import map_coordinates

    image = pattern()[..., 1]
    aug = Augmenter({"keras": {"zoom_range": [0.6, 1.4]}})
    for copy in range(1, 4):
        out, record = aug(image, key="k.png", copy=copy)
        zx, zy = record["ops"][0]["zoom_x"], record["ops"][0]["zoom_y"]
        assert abs(zx - zy) > 0.02
        cy, cx = (H - 1) / 2, (W - 1) / 2
        yy, xx = np.mgrid[0:H, 0:W]
        expected = map_coordinates(image.astype(float), [cy + zy * (yy - cy), cx + zx * (xx - cx)], order=1,
                                   mode="nearest")
        assert np.abs(out - expected).max() <= 1.0, (zx, zy)


@pytest.mark.parametrize("h,w", [(27, 45), (45, 27)])
def test_random_crop_reaches_every_position_on_a_non_square_image(h, w):
    boxes = {tuple(op["box"]) for op in draws({"random_crop": {"size": [w - 2, h - 3]}}, pattern(h, w), n=120)}
    assert {b[0] for b in boxes} == {0, 1, 2} and {b[1] for b in boxes} == {0, 1, 2, 3}
    assert all(b[2] - b[0] == w - 2 and b[3] - b[1] == h - 3 for b in boxes)


def test_cutout_reaches_both_edges_of_the_short_side():
    # size 0.9 of a 27-pixel side: a 24-pixel box has 4 places down and 22 across
    ops = draws({"cutout": {"size": 0.9}}, pattern(), n=80)
    rows = {op["boxes"][0][1] for op in ops}
    assert rows == {0, 1, 2, 3}
    assert all(op["boxes"][0][2] - op["boxes"][0][0] == 24 == op["boxes"][0][3] - op["boxes"][0][1] for op in ops)


def test_solarize_inverts_values_at_the_threshold_itself():
    grey = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out, _ = run("solarize", {"threshold": 100}, grey)
    expected = np.where(grey < 100, grey, 255 - grey)
    assert np.array_equal(out, expected)
    assert math.isclose(float(out.ravel()[100]), 155)


def test_pad_if_needed_puts_the_odd_pixel_right_and_down():
    image = pattern()  # 45 x 27 -> 48 x 30: 1 left, 2 right, 1 top, 2 bottom
    out, _ = run("pad_if_needed", {"size": [48, 30], "cval": 9}, image)
    assert np.array_equal(out[1:28, 1:46], image)
    assert (out[0] == 9).all() and (out[28:] == 9).all() and (out[:, 0] == 9).all() and (out[:, 46:] == 9).all()
