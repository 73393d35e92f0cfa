"""The geometric catalogue against independent references: numpy slicing and
np.pad for integer shifts and crops, scikit-image's warp for resampling ops,
and Keras' documented drawing rules for the keras block and layers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from skimage.transform import AffineTransform, warp as sk_warp

from augcli.apply import apply
from augcli.ops import REGISTRY
from augcli.recipe import Recipe
from augcli.sampling import AppliedOp, item_rng, sample

FILLS = ("constant", "edge", "reflect", "symmetric", "wrap")
RESAMPLE = {"cval": 40.0, "interpolation": "bilinear"}


def noise_image(w=40, h=30, channels=3, seed=0) -> tuple[np.ndarray, Image.Image]:
    arr = np.random.default_rng(seed).integers(0, 256, (h, w, channels) if channels > 1 else (h, w), np.uint8)
    return arr, Image.fromarray(arr)


def kernel(name: str, img: Image.Image, **params) -> np.ndarray:
    return np.asarray(REGISTRY[name].kernel(img, **params))


def draws(yaml_pipeline: str, size=(200, 100), n=400) -> list[dict]:
    """The first op's recorded params for n outputs."""
    recipe = Recipe.from_yaml("pipeline:\n" + yaml_pipeline)
    out = []
    for copy in range(n):
        rng, _ = item_rng(3, "x.jpg", copy)
        ops = sample(recipe.pipeline, rng, size)
        out.append(ops[0].to_json() if ops else None)
    return out


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("dx,dy", [(5, -3), (-7, 4)])
def test_integer_translate_is_np_pad(fill, dx, dy):
    arr, img = noise_image()
    out = kernel("translate", img, x=dx, y=dy, unit="pixels", fill=fill, **RESAMPLE)
    h, w = arr.shape[:2]
    pad = ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0)), (0, 0))
    padded = np.pad(arr, pad, mode=fill, **({"constant_values": 40} if fill == "constant" else {}))
    top, left = max(-dy, 0), max(-dx, 0)
    assert np.array_equal(out, padded[top: top + h, left: left + w])


def test_translate_fraction_is_relative_to_the_side():
    _, img = noise_image(40, 30)
    a = kernel("translate", img, x=0.25, y=-0.1, unit="fraction", fill="wrap", **RESAMPLE)
    b = kernel("translate", img, x=10, y=-3, unit="pixels", fill="wrap", **RESAMPLE)
    assert np.array_equal(a, b)


def documented_forward(name: str, params: dict, w: int, h: int) -> np.ndarray:
    """Each op's forward map written from its documentation (README conventions,
    SPEC section 7), not from augcli's code: a linear part about the centre
    ((w-1)/2, (h-1)/2), x right, y down, positive angles counter-clockwise."""
    cx, cy = (w - 1) / 2, (h - 1) / 2

    def shear(sx, sy):  # x' = x + tan(sx) * (y - cy), y' = y + tan(sy) * (x - cx)
        return np.array([[1, math.tan(math.radians(sx))], [math.tan(math.radians(sy)), 1]])

    if name == "zoom":
        sx = params["x"] if params["x"] is not None else params["scale"]
        sy = params["y"] if params["y"] is not None else params["scale"]
        linear, shift = np.diag([sx, sy]), (0, 0)
    elif name == "shear":
        linear, shift = shear(params["x"], params["y"]), (0, 0)
    else:  # affine: rotate . scale . shear about the centre, then translate
        a = math.radians(params["angle"])
        turn = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])  # ccw on screen
        linear = turn @ (params["scale"] * shear(params["shear_x"], params["shear_y"]))
        shift = (params["translate_x"], params["translate_y"])
    forward = np.eye(3)
    forward[:2, :2] = linear
    forward[:2, 2] = np.array([cx, cy]) - linear @ [cx, cy] + shift
    return forward


def skimage_reference(name: str, arr: np.ndarray, params: dict) -> np.ndarray:
    forward = documented_forward(name, params, arr.shape[1], arr.shape[0])
    return sk_warp(arr.astype(float), AffineTransform(matrix=np.linalg.inv(forward)), order=1,
                   mode=params["fill"], cval=params["cval"], preserve_range=True)


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("name,params", [
    ("zoom", {"scale": 1.3, "x": None, "y": None}),
    ("zoom", {"scale": 1.0, "x": 0.7, "y": 1.2}),
    ("shear", {"x": 12.0, "y": -7.0}),
    ("affine", {"angle": 17.0, "scale": 0.9, "shear_x": 5.0, "shear_y": 0.0, "translate_x": 3.0,
                "translate_y": -2.0, "unit": "pixels"}),
])
def test_resampling_ops_match_skimage_warp(fill, name, params):
    arr, img = noise_image()
    params = {**params, "fill": fill, **RESAMPLE}
    out = kernel(name, img, **params).astype(float)
    reference = skimage_reference(name, arr, params)
    assert np.abs(out - reference).max() <= 1  # rounded to the nearest level, fill region included


def test_zoom_enlarges_and_shear_leans_as_documented():
    dot = np.zeros((41, 41), np.uint8)
    dot[20, 30] = 255  # 10 px right of the centre (20, 20)
    zoomed = kernel("zoom", Image.fromarray(dot), scale=2.0, x=None, y=None, fill="constant", cval=0,
                    interpolation="nearest")
    # the pixel [29.5, 30.5] x [19.5, 20.5] doubles about the centre: [39, 41] x [19, 21]
    assert np.argwhere(zoomed == 255).tolist() == [[19, 39], [19, 40], [20, 39], [20, 40]]
    dot = np.zeros((41, 41), np.uint8)
    dot[30, 20] = 255  # 10 px below the centre
    sheared = kernel("shear", Image.fromarray(dot), x=45.0, y=0.0, fill="constant", cval=0,
                     interpolation="nearest")
    assert np.argwhere(sheared == 255).tolist() == [[30, 30]]  # x' = x + tan(45) * (y - cy)


def test_affine_rotation_alone_equals_rotate():
    _, img = noise_image()
    params = {"fill": "reflect", **RESAMPLE}
    a = kernel("affine", img, angle=23.0, scale=1.0, shear_x=0.0, shear_y=0.0, translate_x=0.0, translate_y=0.0,
               unit="pixels", **params)
    b = kernel("rotate", img, angle=23.0, expand=False, **params)
    assert np.array_equal(a, b)


def test_fused_rotate_zoom_shear_resamples_once():
    _, img = noise_image(64, 48)
    common = {"fill": "reflect", **RESAMPLE}
    ops = [AppliedOp("rotate", tuple({"angle": 10.0, "expand": False, **common}.items())),
           AppliedOp("zoom", tuple({"scale": 1.1, "x": None, "y": None, **common}.items())),
           AppliedOp("shear", tuple({"x": 5.0, "y": 0.0, **common}.items()))]
    fused = np.asarray(apply(img, ops)).astype(int)
    matrix = np.eye(3)
    for op in ops:
        matrix = REGISTRY[op.op].forward(op.kwargs(), img.size)[0] @ matrix
    from augcli.ops.warp import warp

    assert np.array_equal(fused, np.asarray(warp(img, matrix, img.size, **common)))
    chained = img
    for op in ops:
        chained = REGISTRY[op.op].kernel(chained, **op.kwargs())
    # three resamples blur more than one: the fused result keeps more detail
    assert np.asarray(chained).astype(float).std() < fused.astype(float).std()


def test_crops_are_numpy_slices():
    arr, img = noise_image(40, 30)
    assert np.array_equal(kernel("crop", img, box=[5, 6, 25, 20]), arr[6:20, 5:25])
    for params in draws("  - random_crop: {size: [50, 40]}", size=(200, 100)):
        x0, y0, x1, y1 = params["box"]
        assert (x1 - x0, y1 - y0) == (50, 40) and 0 <= x0 <= 150 and 0 <= y0 <= 60
    assert draws("  - center_crop: {size: [50, 40]}", n=1)[0]["box"] == [75, 30, 125, 70]
    assert draws("  - random_crop: {size: [500, 40]}", n=1)[0]["box"][::2] == [0, 200]  # clamped to the image


def test_random_resized_crop_draws_within_torchvision_ranges():
    for params in draws("  - random_resized_crop: {size: [32, 32], scale: [0.3, 0.6], ratio: [0.75, 1.3333]}"):
        x0, y0, x1, y1 = params["box"]
        w, h = x1 - x0, y1 - y0
        assert 0 <= x0 and x1 <= 200 and 0 <= y0 and y1 <= 100
        assert 0.28 <= w * h / 20000 <= 0.62 and 0.7 <= w / h <= 1.4
    _, img = noise_image(200, 100)
    out = REGISTRY["random_resized_crop"].kernel(img, size=[32, 24], box=[10, 10, 110, 85], interpolation="bilinear")
    assert out.size == (32, 24)


def test_perspective_with_unmoved_corners_is_identity_and_records_corners():
    arr, img = noise_image(40, 30)
    corners = [[0, 0], [39, 0], [39, 29], [0, 29]]
    out = kernel("perspective", img, magnitude=0.0, corners=corners, fill="constant", **RESAMPLE)
    assert np.array_equal(out, arr)
    for params in draws("  - perspective: {magnitude: 0.2}", size=(101, 51), n=50):
        (x0, y0), (x1, _), (_, y2), _ = params["corners"]
        assert 0 <= x0 <= 10 and 0 <= y0 <= 5 and 90 <= x1 <= 100 and 45 <= y2 <= 50


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("grid,magnitude,seed", [(4, 3.0, 1), (5, 8.0, 2), (2, 20.0, 3)])
def test_elastic_resamples_the_quad_mesh_as_pillow_does(channels, grid, magnitude, seed):
    """Pillow's MESH transform (each output cell drawn from the quadrilateral of
    its moved corners) is the oracle for the same mesh; Pillow's bilinear
    truncates, so it sits up to one level below."""
    from augcli.ops.geometric import elastic_mesh

    arr, img = noise_image(channels=channels, seed=seed)
    xs, ys, px, py = elastic_mesh(img.size, grid=grid, magnitude=magnitude, seed=seed)
    mesh = [((int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1])),
             (px[j, i], py[j, i], px[j + 1, i], py[j + 1, i], px[j + 1, i + 1], py[j + 1, i + 1],
              px[j, i + 1], py[j, i + 1]))
            for j in range(len(ys) - 1) for i in range(len(xs) - 1)]
    reference = np.asarray(img.transform(img.size, Image.Transform.MESH, mesh, resample=Image.Resampling.BILINEAR))
    out = kernel("elastic", img, grid=grid, magnitude=magnitude, interpolation="bilinear", seed=seed)
    diff = out.astype(int) - reference
    assert diff.min() >= 0 and diff.max() <= 1
    assert not np.array_equal(out, arr)


def test_elastic_is_seeded_and_zero_magnitude_is_identity():
    arr, img = noise_image(40, 30)
    assert np.array_equal(kernel("elastic", img, grid=4, magnitude=0.0, interpolation="bilinear", seed=1), arr)
    a = kernel("elastic", img, grid=4, magnitude=3.0, interpolation="bilinear", seed=1)
    b = kernel("elastic", img, grid=4, magnitude=3.0, interpolation="bilinear", seed=1)
    c = kernel("elastic", img, grid=4, magnitude=3.0, interpolation="bilinear", seed=2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


# -- Keras ------------------------------------------------------------------------------


def keras_draws(args: str, n=600, size=(200, 100)) -> list[dict]:
    return draws(f"  - keras: {{{args}}}", size=size, n=n)


def test_keras_int_shift_draws_integers_within_n_minus_1():
    shifts = {d["shift_x"] for d in keras_draws("width_shift_range: 3")}
    assert shifts == {-2.0, -1.0, 0.0, 1.0, 2.0}


def test_keras_float_shifts_below_1_are_fractions_above_are_pixels():
    fractions = [d["shift_x"] for d in keras_draws("width_shift_range: 0.1")]
    assert max(map(abs, fractions)) <= 20 and max(map(abs, fractions)) > 15  # 0.1 x width 200
    pixels = [d["shift_y"] for d in keras_draws("height_shift_range: 10.0")]
    assert max(map(abs, pixels)) <= 10 and len(set(pixels)) > 500


def test_keras_list_shift_is_a_signed_choice():
    assert {d["shift_x"] for d in keras_draws("width_shift_range: [5, 8]")} == {-8.0, -5.0, 5.0, 8.0}


def test_keras_zoom_draws_two_independent_factors_and_flips_half_the_time():
    found = keras_draws("zoom_range: 0.2, horizontal_flip: true")
    zx, zy = np.array([d["zoom_x"] for d in found]), np.array([d["zoom_y"] for d in found])
    assert zx.min() >= 0.8 and zx.max() <= 1.2 and abs(np.corrcoef(zx, zy)[0, 1]) < 0.15
    flips = sum(d["hflip"] for d in found)
    assert abs(flips - 300) < 4 * math.sqrt(600 * 0.25)
    assert not any(d["vflip"] for d in found)


def test_keras_zoom_above_1_shrinks_the_content():
    dot = np.zeros((41, 41), np.uint8)
    dot[20, 30] = 255
    out = REGISTRY["keras"].kernel(Image.fromarray(dot), rotate=0.0, shift_x=0.0, shift_y=0.0, shear=0.0,
                                   zoom_x=2.0, zoom_y=2.0, hflip=False, vflip=False, channel_shift=0.0,
                                   brightness=1.0, fill="constant", cval=0.0, interpolation="nearest")
    assert np.argwhere(np.asarray(out) == 255).tolist() == [[20, 25]]


def test_keras_channel_shift_clips_to_the_image_range():
    arr = np.array([[[10, 100, 200]]], np.uint8).repeat(4, 0)
    out = REGISTRY["keras"].kernel(Image.fromarray(arr), rotate=0.0, shift_x=0.0, shift_y=0.0, shear=0.0,
                                   zoom_x=1.0, zoom_y=1.0, hflip=False, vflip=False, channel_shift=50.0,
                                   brightness=1.0, fill="edge", cval=0.0, interpolation="bilinear")
    assert np.asarray(out)[0, 0].tolist() == [60, 150, 200]


def test_keras_width_shift_moves_content_horizontally():
    dot = np.zeros((21, 41), np.uint8)
    dot[10, 20] = 255
    out = REGISTRY["keras"].kernel(Image.fromarray(dot), rotate=0.0, shift_x=5.0, shift_y=0.0, shear=0.0,
                                   zoom_x=1.0, zoom_y=1.0, hflip=False, vflip=False, channel_shift=0.0,
                                   brightness=1.0, fill="constant", cval=0.0, interpolation="nearest")
    assert np.argwhere(np.asarray(out) == 255).tolist() == [[10, 25]]
