"""The geometric ops against independent oracles, one class per op (as
torchvision's ``TestRotate``): numpy flips, ``np.rot90``, slicing and
``np.pad`` for exact ops and integer shifts, scikit-image's ``rotate`` and
``warp`` (with each op's forward map written from its documentation, never
from augcli's matrices) for resampling ops, Pillow for resize and the elastic
mesh, and Keras' documented drawing rules. What every op must do whatever it
is (neutral parameters, bounds, modes, 16-bit, partial alpha, non-square) is
``test_every_op.py``'s and ``test_sweep.py``'s.

Pixels cross into the kernels at one place, ``kernel``: numpy in, numpy out.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from skimage.transform import AffineTransform
from skimage.transform import rotate as sk_rotate
from skimage.transform import warp as sk_warp

from augcli.apply import apply
from augcli.ops import REGISTRY
from augcli.recipe import Recipe
from augcli.sampling import AppliedOp, item_rng, sample

FILLS = ("constant", "edge", "reflect", "symmetric", "wrap")
ROT = {"fill": "constant", "cval": 0.0, "interpolation": "bilinear", "expand": False}
RESAMPLE = {"cval": 40.0, "interpolation": "bilinear"}


def noise(h=30, w=40, channels=3, seed=0) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def kernel(name: str, arr: np.ndarray, **params) -> np.ndarray:
    """One op applied to an array with exactly these parameters (the one place
    the tests hand pixels to a kernel)."""
    spec = REGISTRY[name]
    params = {**{p.name: p.default for p in spec.params if not p.required}, **params}
    return np.asarray(apply(Image.fromarray(arr), [AppliedOp(name, tuple(params.items()))]))


def applied(arr: np.ndarray, ops: list[AppliedOp]) -> np.ndarray:
    return np.asarray(apply(Image.fromarray(arr), ops))


def op(name: str, **params) -> AppliedOp:
    spec = REGISTRY[name]
    return AppliedOp(name, tuple({**{p.name: p.default for p in spec.params if not p.required}, **params}.items()))


def draws(yaml_pipeline: str, size=(200, 100), n=400) -> list[dict]:
    """The first op's recorded params for n outputs."""
    recipe = Recipe.from_yaml("pipeline:\n" + yaml_pipeline)
    out = []
    for copy in range(n):
        rng, _ = item_rng(3, "x.jpg", copy)
        ops = sample(recipe.pipeline, rng, size)
        out.append(ops[0].to_json() if ops else None)
    return out


def shifted_like_np_pad(arr: np.ndarray, dx: int, dy: int, fill: str, **pad) -> np.ndarray:
    """``arr`` moved right dx and down dy on its own canvas, the exposed margin
    filled by ``np.pad(mode=fill)``."""
    h, w = arr.shape[:2]
    widths = ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))) + ((0, 0),) * (arr.ndim - 2)
    top, left = max(-dy, 0), max(-dx, 0)
    return np.pad(arr, widths, mode=fill, **pad)[top: top + h, left: left + w]


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


def assert_matches_skimage_warp(name: str, params: dict, fill: str) -> None:
    arr = noise()
    params = {**params, "fill": fill, **RESAMPLE}
    out = kernel(name, arr, **params).astype(float)
    forward = documented_forward(name, params, arr.shape[1], arr.shape[0])
    reference = sk_warp(arr.astype(float), AffineTransform(matrix=np.linalg.inv(forward)), order=1,
                        mode=params["fill"], cval=params["cval"], preserve_range=True)
    assert np.abs(out - reference).max() <= 1  # rounded to the nearest level, fill region included


def assert_transparent_colour_never_bleeds(name: str, params: dict, interpolation: str) -> None:
    """Left half opaque red, right half fully transparent green: resampled
    premultiplied, every pixel that is at all visible is pure red (a straight
    resample mixes green into the edge)."""
    arr = np.zeros((30, 40, 4), np.uint8)
    arr[:, :20] = (255, 0, 0, 255)
    arr[:, 20:] = (0, 255, 0, 0)
    out = kernel(name, arr, **params, fill="edge", cval=0.0, interpolation=interpolation).astype(int)
    visible = out[..., 3] >= 8  # a few levels of alpha: enough for colour to be meaningful
    edge = visible & (out[..., 3] < 255)
    assert edge.any(), "the shift should produce partly transparent pixels"
    assert np.abs(out[visible][:, :3] - [255, 0, 0]).max() <= 2


def keys(t: np.ndarray, a: float = -0.75) -> np.ndarray:
    """Keys' cubic convolution kernel (README: OpenCV's bicubic, a = -0.75)."""
    t = np.abs(t)
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * (t**3 - 5 * t**2 + 8 * t - 4)
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


class TestFlipsAndQuarterTurns:
    def test_match_numpy(self):
        arr = noise()
        assert np.array_equal(kernel("hflip", arr), arr[:, ::-1])
        assert np.array_equal(kernel("vflip", arr), arr[::-1])
        assert np.array_equal(kernel("hflip", kernel("hflip", arr)), arr)
        for k in range(-2, 6):
            assert np.array_equal(kernel("rot90", arr, k=k), np.rot90(arr, k)), k


class TestRotate:
    def test_90_degrees_equals_rot90(self):
        arr = noise()
        assert np.array_equal(kernel("rotate", arr, angle=90.0, **{**ROT, "expand": True}), np.rot90(arr))
        inner = kernel("rotate", arr, angle=90.0, **ROT)  # same canvas: compare where the square overlaps
        assert np.array_equal(inner[:, 5:35], np.rot90(arr)[5:35])

    def test_positive_angles_turn_counter_clockwise(self):
        dot = np.zeros((41, 41), np.uint8)
        dot[20, 30] = 255  # right of the centre
        out = kernel("rotate", dot, angle=90.0, **{**ROT, "interpolation": "nearest"})
        assert np.argwhere(out == 255).tolist() == [[10, 20]]  # now above it

    @pytest.mark.parametrize("fill", FILLS)
    @pytest.mark.parametrize("angle", [13.0, -37.5])
    @pytest.mark.parametrize("channels", [1, 3])
    def test_matches_skimage_rotate(self, fill, angle, channels):
        """scikit-image's own rotate (counter-clockwise about the true centre, the
        same fill names) is the oracle, fill region included."""
        arr = noise(channels=channels)
        out = kernel("rotate", arr, **{**ROT, "fill": fill, "cval": 100.0, "angle": angle}).astype(float)
        reference = sk_rotate(arr.astype(float), angle, order=1, mode=fill, cval=100, preserve_range=True)
        assert np.abs(out - reference).max() <= 1  # rounded to the nearest level (OpenCV 5 interpolates in float)
        assert abs((out - reference).mean()) < 0.05  # no bias: not truncated

    @pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
    def test_transparent_colour_never_bleeds_into_visible_pixels(self, interpolation):
        assert_transparent_colour_never_bleeds("rotate", {"angle": 10.0, "expand": False}, interpolation)

    def test_16_bit_stays_16_bit_and_keeps_its_range(self):
        arr = noise(channels=1).astype(np.uint16) * 257
        rotated = kernel("rotate", arr, **{**ROT, "angle": 10.0})
        assert rotated.dtype == np.uint16
        assert rotated.max() > 255 * 100


class TestTranslate:
    @pytest.mark.parametrize("fill", ["edge", "reflect", "symmetric", "wrap"])
    @pytest.mark.parametrize("channels", [1, 3, 4])
    @pytest.mark.parametrize("dx,dy", [(3, 0), (0, -5), (-7, 9), (29, -19), (45, 33), (-83, -70)])
    def test_shifts_past_the_border_fill_like_np_pad(self, fill, channels, dx, dy):
        """Any margin, even several times the image's own size (repeated reflections
        and wraps), is filled exactly as numpy pads."""
        arr = noise(channels=channels)  # 40 x 30
        out = kernel("translate", arr, x=dx, y=dy, fill=fill, interpolation="nearest")
        assert np.array_equal(out, shifted_like_np_pad(arr, dx, dy, fill))

    @pytest.mark.parametrize("fill", FILLS)
    @pytest.mark.parametrize("channels", [1, 3, 4])
    def test_integer_shift_fill_modes_are_np_pad(self, fill, channels):
        arr = noise(channels=channels)
        out = kernel("translate", arr, x=6, y=-4, fill=fill, cval=9)
        expected = shifted_like_np_pad(arr, 6, -4, fill, **({"constant_values": 9} if fill == "constant" else {}))
        if channels == 4:
            # RGBA is resampled premultiplied (no dark fringes), so colour can move
            # by a level in the round trip; alpha is exact, and exposed alpha is 0
            expected = expected.copy()
            if fill == "constant":
                expected[:, :6, 3] = 0
                expected[26:, :, 3] = 0
            assert np.array_equal(out[..., 3], expected[..., 3])
            visible = expected[..., 3] > 128
            assert np.abs(out[visible][:, :3].astype(int) - expected[visible][:, :3]).max() <= 1
        else:
            assert np.array_equal(out, expected)

    @pytest.mark.parametrize("fill", FILLS)
    @pytest.mark.parametrize("dx,dy", [(5, -3), (-7, 4)])
    def test_integer_translate_is_np_pad_with_cval(self, fill, dx, dy):
        arr = noise()
        out = kernel("translate", arr, x=dx, y=dy, unit="pixels", fill=fill, **RESAMPLE)
        expected = shifted_like_np_pad(arr, dx, dy, fill, **({"constant_values": 40} if fill == "constant" else {}))
        assert np.array_equal(out, expected)

    def test_fraction_is_relative_to_the_side(self):
        arr = noise(30, 40)
        a = kernel("translate", arr, x=0.25, y=-0.1, unit="fraction", fill="wrap", **RESAMPLE)
        b = kernel("translate", arr, x=10, y=-3, unit="pixels", fill="wrap", **RESAMPLE)
        assert np.array_equal(a, b)

    @pytest.mark.parametrize("dx", [0.5, 0.25])
    def test_bicubic_is_keys_cubic_convolution(self, dx):
        """A sub-pixel shift right by dx: output column x samples input x - dx, a
        weighted sum of its four neighbours with Keys' weights (edges extended)."""
        arr = noise()
        out = kernel("translate", arr, x=dx, y=0.0, unit="pixels", fill="edge", cval=0.0, interpolation="bicubic")
        padded = np.pad(arr.astype(float), ((0, 0), (2, 2), (0, 0)), mode="edge")
        u = np.arange(arr.shape[1]) - dx  # where each output column samples the input
        base = np.floor(u).astype(int)
        expected = sum(keys(u - (base + k))[None, :, None] * padded[:, base + k + 2] for k in (-1, 0, 1, 2))
        expected = np.clip(np.rint(expected), 0, 255)
        assert np.abs(out.astype(float) - expected).max() <= 1

    @pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
    def test_transparent_colour_never_bleeds_into_visible_pixels(self, interpolation):
        assert_transparent_colour_never_bleeds("translate", {"x": 0.5, "y": 0.0, "unit": "pixels"}, interpolation)


class TestZoom:
    @pytest.mark.parametrize("fill", FILLS)
    @pytest.mark.parametrize("params", [{"scale": 1.3, "x": None, "y": None}, {"scale": 1.0, "x": 0.7, "y": 1.2}])
    def test_matches_skimage_warp(self, fill, params):
        assert_matches_skimage_warp("zoom", params, fill)

    def test_enlarges_about_the_centre(self):
        dot = np.zeros((41, 41), np.uint8)
        dot[20, 30] = 255  # 10 px right of the centre (20, 20)
        zoomed = kernel("zoom", dot, scale=2.0, x=None, y=None, fill="constant", cval=0, interpolation="nearest")
        # the pixel [29.5, 30.5] x [19.5, 20.5] doubles about the centre: [39, 41] x [19, 21]
        assert np.argwhere(zoomed == 255).tolist() == [[19, 39], [19, 40], [20, 39], [20, 40]]


    def test_nearest_takes_the_right_and_lower_pixel_at_exact_halves(self):
        """Scale 0.5 about the centre of a 40 x 30 image samples the input at
        2x - 19.5 and 2y - 14.5, exactly between two pixels: nearest takes the
        right and lower one (a pixel covers [x - 0.5, x + 0.5)), as Pillow does."""
        arr = noise(30, 40)
        out = kernel("zoom", arr, scale=0.5, fill="constant", cval=0, interpolation="nearest")
        xs, ys = np.arange(10, 29), np.arange(8, 22)  # outputs whose samples lie inside the image
        assert np.array_equal(out[np.ix_(ys, xs)], arr[np.ix_(2 * ys - 14, 2 * xs - 19)])


class TestShear:
    @pytest.mark.parametrize("fill", FILLS)
    def test_matches_skimage_warp(self, fill):
        assert_matches_skimage_warp("shear", {"x": 12.0, "y": -7.0}, fill)

    def test_leans_as_documented(self):
        dot = np.zeros((41, 41), np.uint8)
        dot[30, 20] = 255  # 10 px below the centre
        sheared = kernel("shear", dot, x=45.0, y=0.0, fill="constant", cval=0, interpolation="nearest")
        assert np.argwhere(sheared == 255).tolist() == [[30, 30]]  # x' = x + tan(45) * (y - cy)


class TestAffine:
    @pytest.mark.parametrize("fill", FILLS)
    def test_matches_skimage_warp(self, fill):
        assert_matches_skimage_warp("affine", {"angle": 17.0, "scale": 0.9, "shear_x": 5.0, "shear_y": 0.0,
                                               "translate_x": 3.0, "translate_y": -2.0, "unit": "pixels"}, fill)

    def test_rotation_alone_equals_rotate(self):
        arr = noise()
        params = {"fill": "reflect", **RESAMPLE}
        a = kernel("affine", arr, angle=23.0, scale=1.0, shear_x=0.0, shear_y=0.0, translate_x=0.0, translate_y=0.0,
                   unit="pixels", **params)
        b = kernel("rotate", arr, angle=23.0, expand=False, **params)
        assert np.array_equal(a, b)


class TestResize:
    def test_is_pillow_resize(self):
        arr = noise()
        expected = np.asarray(Image.fromarray(arr).resize((17, 23), Image.Resampling.BICUBIC))
        assert np.array_equal(kernel("resize", arr, size=(17, 23), interpolation="bicubic"), expected)


class TestCrops:
    def test_are_numpy_slices(self):
        arr = noise(30, 40)
        assert np.array_equal(kernel("crop", arr, box=[5, 6, 25, 20]), arr[6:20, 5:25])
        for params in draws("  - random_crop: {size: [50, 40]}", size=(200, 100)):
            x0, y0, x1, y1 = params["box"]
            assert (x1 - x0, y1 - y0) == (50, 40) and 0 <= x0 <= 150 and 0 <= y0 <= 60
        assert draws("  - center_crop: {size: [50, 40]}", n=1)[0]["box"] == [75, 30, 125, 70]
        assert draws("  - random_crop: {size: [500, 40]}", n=1)[0]["box"][::2] == [0, 200]  # clamped to the image

    def test_boxes_are_clipped_to_the_image(self):
        """``crop`` documents x1/y1 exclusive, clipped to the image: a box beyond
        the right and bottom edges keeps the last column and row."""
        arr = noise(30, 40)
        recipe = Recipe.from_yaml("pipeline:\n  - crop: {box: [30, 20, 100, 100]}\n  - crop: {box: [-5, -5, 4, 3]}\n")
        ops = sample(recipe.pipeline, item_rng(0, "x.png", 1)[0], (40, 30))
        assert [o.kwargs()["box"] for o in ops] == [[30, 20, 40, 30], [0, 0, 4, 3]]
        assert np.array_equal(applied(arr, list(ops[:1])), arr[20:30, 30:40])
        assert np.array_equal(applied(arr, list(ops)), arr[20:23, 30:34])


class TestRandomResizedCrop:
    def test_draws_within_torchvision_ranges(self):
        for params in draws("  - random_resized_crop: {size: [32, 32], scale: [0.3, 0.6], ratio: [0.75, 1.3333]}"):
            x0, y0, x1, y1 = params["box"]
            w, h = x1 - x0, y1 - y0
            assert 0 <= x0 and x1 <= 200 and 0 <= y0 and y1 <= 100
            assert 0.28 <= w * h / 20000 <= 0.62 and 0.7 <= w / h <= 1.4
        out = kernel("random_resized_crop", noise(100, 200), size=[32, 24], box=[10, 10, 110, 85],
                     interpolation="bilinear")
        assert out.shape[:2] == (24, 32)

    def test_shows_its_box(self):
        """The output is the content of the recorded box, resized: a box the size
        of the output is cut out unchanged, and a box scaled up 2x with nearest
        repeats each of the box's pixels in a 2 x 2 block."""
        arr = noise(60, 80)
        same = kernel("random_resized_crop", arr, size=[30, 20], box=[7, 11, 37, 31], interpolation="bilinear")
        assert np.array_equal(same, arr[11:31, 7:37])
        doubled = kernel("random_resized_crop", arr, size=[40, 30], box=[9, 4, 29, 19], interpolation="nearest")
        assert np.array_equal(doubled, arr[4:19, 9:29].repeat(2, axis=0).repeat(2, axis=1))


class TestPerspective:
    def test_unmoved_corners_are_the_identity_and_corners_are_recorded(self):
        arr = noise(30, 40)
        corners = [[0, 0], [39, 0], [39, 29], [0, 29]]
        out = kernel("perspective", arr, magnitude=0.0, corners=corners, fill="constant", **RESAMPLE)
        assert np.array_equal(out, arr)
        for params in draws("  - perspective: {magnitude: 0.2}", size=(101, 51), n=50):
            (x0, y0), (x1, _), (_, y2), _ = params["corners"]
            assert 0 <= x0 <= 10 and 0 <= y0 <= 5 and 90 <= x1 <= 100 and 45 <= y2 <= 50


class TestElastic:
    @pytest.mark.parametrize("channels", [1, 3])
    @pytest.mark.parametrize("grid,magnitude,seed", [(4, 3.0, 1), (5, 8.0, 2), (2, 20.0, 3)])
    def test_resamples_the_quad_mesh_as_pillow_does(self, channels, grid, magnitude, seed):
        """Pillow's MESH transform (each output cell drawn from the quadrilateral of
        its moved corners) is the oracle for the same mesh; Pillow's bilinear
        truncates, so it sits up to one level below."""
        from augcli.ops.geometric import elastic_mesh

        arr = noise(channels=channels, seed=seed)
        img = Image.fromarray(arr)
        xs, ys, px, py = elastic_mesh(img.size, grid=grid, magnitude=magnitude, seed=seed)
        mesh = [((int(xs[i]), int(ys[j]), int(xs[i + 1]), int(ys[j + 1])),
                 (px[j, i], py[j, i], px[j + 1, i], py[j + 1, i], px[j + 1, i + 1], py[j + 1, i + 1],
                  px[j, i + 1], py[j, i + 1]))
                for j in range(len(ys) - 1) for i in range(len(xs) - 1)]
        reference = np.asarray(img.transform(img.size, Image.Transform.MESH, mesh,
                                              resample=Image.Resampling.BILINEAR))
        out = kernel("elastic", arr, grid=grid, magnitude=magnitude, interpolation="bilinear", seed=seed)
        diff = out.astype(int) - reference
        assert diff.min() >= 0 and diff.max() <= 1
        assert not np.array_equal(out, arr)

    def test_is_seeded_and_zero_magnitude_is_the_identity(self):
        arr = noise(30, 40)
        assert np.array_equal(kernel("elastic", arr, grid=4, magnitude=0.0, interpolation="bilinear", seed=1), arr)
        a = kernel("elastic", arr, grid=4, magnitude=3.0, interpolation="bilinear", seed=1)
        b = kernel("elastic", arr, grid=4, magnitude=3.0, interpolation="bilinear", seed=1)
        c = kernel("elastic", arr, grid=4, magnitude=3.0, interpolation="bilinear", seed=2)
        assert np.array_equal(a, b) and not np.array_equal(a, c)


KERAS_NOTHING = dict(rotate=0.0, shift_x=0.0, shift_y=0.0, shear=0.0, zoom_x=1.0, zoom_y=1.0, hflip=False,
                     vflip=False, channel_shift=0.0, brightness=1.0, fill="constant", cval=0.0,
                     interpolation="nearest")


class TestKeras:
    @staticmethod
    def keras_draws(args: str, n=600, size=(200, 100)) -> list[dict]:
        return draws(f"  - keras: {{{args}}}", size=size, n=n)

    def test_int_shift_draws_integers_within_n_minus_1(self):
        shifts = {d["shift_x"] for d in self.keras_draws("width_shift_range: 3")}
        assert shifts == {-2.0, -1.0, 0.0, 1.0, 2.0}

    def test_float_shifts_below_1_are_fractions_above_are_pixels(self):
        fractions = [d["shift_x"] for d in self.keras_draws("width_shift_range: 0.1")]
        assert max(map(abs, fractions)) <= 20 and max(map(abs, fractions)) > 15  # 0.1 x width 200
        pixels = [d["shift_y"] for d in self.keras_draws("height_shift_range: 10.0")]
        assert max(map(abs, pixels)) <= 10 and len(set(pixels)) > 500

    def test_list_shift_is_a_signed_choice(self):
        assert {d["shift_x"] for d in self.keras_draws("width_shift_range: [5, 8]")} == {-8.0, -5.0, 5.0, 8.0}

    def test_zoom_draws_two_independent_factors_and_flips_half_the_time(self):
        found = self.keras_draws("zoom_range: 0.2, horizontal_flip: true")
        zx, zy = np.array([d["zoom_x"] for d in found]), np.array([d["zoom_y"] for d in found])
        assert zx.min() >= 0.8 and zx.max() <= 1.2 and abs(np.corrcoef(zx, zy)[0, 1]) < 0.15
        flips = sum(d["hflip"] for d in found)
        assert abs(flips - 300) < 4 * math.sqrt(600 * 0.25)
        assert not any(d["vflip"] for d in found)

    def test_zoom_above_1_shrinks_the_content(self):
        dot = np.zeros((41, 41), np.uint8)
        dot[20, 30] = 255
        out = kernel("keras", dot, **{**KERAS_NOTHING, "zoom_x": 2.0, "zoom_y": 2.0})
        assert np.argwhere(out == 255).tolist() == [[20, 25]]

    def test_channel_shift_clips_to_the_image_range(self):
        arr = np.array([[[10, 100, 200]]], np.uint8).repeat(4, 0)
        out = kernel("keras", arr, **{**KERAS_NOTHING, "channel_shift": 50.0, "fill": "edge",
                                      "interpolation": "bilinear"})
        assert out[0, 0].tolist() == [60, 150, 200]

    def test_width_shift_moves_content_horizontally(self):
        dot = np.zeros((21, 41), np.uint8)
        dot[10, 20] = 255
        out = kernel("keras", dot, **{**KERAS_NOTHING, "shift_x": 5.0})
        assert np.argwhere(out == 255).tolist() == [[10, 25]]


class TestFusion:
    """``apply`` runs consecutive geometric ops as one resample where that is exact."""

    @pytest.mark.parametrize("seed", range(40))
    @pytest.mark.parametrize("channels", [1, 3])
    def test_runs_of_flips_quarter_turns_and_crops_are_one_exact_transpose(self, seed, channels):
        """apply() composes flips, rot90 and crops into one transpose and one crop;
        pixels must equal numpy's flips, rot90 and slices applied one by one
        (non-square, so axes cannot mix)."""
        rng = np.random.default_rng(seed)
        arr = noise(h=30, w=40, channels=channels, seed=seed)
        expected, ops = arr, []
        for _ in range(int(rng.integers(2, 6))):
            name = str(rng.choice(["hflip", "vflip", "rot90", "crop"]))
            if name == "crop":
                h, w = expected.shape[:2]
                x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
                x1, y1 = int(rng.integers(x0 + 1, w + 1)), int(rng.integers(y0 + 1, h + 1))
                expected, step = expected[y0:y1, x0:x1], AppliedOp("crop", (("box", (x0, y0, x1, y1)),))
            elif name == "hflip":
                expected, step = expected[:, ::-1], AppliedOp("hflip", ())
            elif name == "vflip":
                expected, step = expected[::-1], AppliedOp("vflip", ())
            else:
                k = int(rng.integers(0, 4))
                expected, step = np.rot90(expected, k), AppliedOp("rot90", (("k", k),))
            ops.append(step)
        assert np.array_equal(applied(arr, ops), expected), ops

    def test_ops_with_different_fills_are_not_fused(self):
        """Each op fills with its own settings: shift right 10 with a black fill,
        then back left 10 with wrap, brings the black band round to the right edge.
        (Fused under one setting the two shifts would cancel and show no band.)"""
        arr = noise(30, 40)
        ops = [op("translate", x=10.0, y=0.0, fill="constant", cval=0.0),
               op("translate", x=-10.0, y=0.0, fill="wrap", cval=0.0)]
        expected = arr.copy()
        expected[:, 30:] = 0
        assert np.array_equal(applied(arr, ops), expected)

    def test_fused_rotate_zoom_shear_resamples_once(self):
        arr = noise(48, 64)
        common = {"fill": "reflect", **RESAMPLE}
        ops = [op("rotate", angle=10.0, **common), op("zoom", scale=1.1, **common), op("shear", x=5.0, **common)]
        fused = applied(arr, ops).astype(int)
        # one resample through the composed documented maps (rotate: affine with the angle alone)
        size = (arr.shape[1], arr.shape[0])
        matrix = (documented_forward("shear", {"x": 5.0, "y": 0.0}, *size)
                  @ documented_forward("zoom", {"scale": 1.1, "x": None, "y": None}, *size)
                  @ documented_forward("affine", {"angle": 10.0, "scale": 1.0, "shear_x": 0.0, "shear_y": 0.0,
                                                  "translate_x": 0.0, "translate_y": 0.0}, *size))
        from augcli.ops.warp import warp

        assert np.array_equal(fused, np.asarray(warp(Image.fromarray(arr), matrix, size, **common)))
        chained = arr
        for step in ops:
            chained = kernel(step.op, chained, **step.kwargs())
        # three resamples blur more than one: the fused result keeps more detail
        assert chained.astype(float).std() < fused.std()

    def test_opencv_runs_single_threaded(self):
        """Workers are one per core already (-j N means N cores): OpenCV's own
        thread pool is off wherever augcli has used it."""
        kernel("translate", noise(), x=0.5)
        from augcli.lazy import opencv

        assert opencv().getNumThreads() == 1
