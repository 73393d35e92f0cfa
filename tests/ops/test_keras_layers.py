"""The Keras preprocessing-layer ops expand to the plain ops they mean, checked
against Keras 3's documented meaning: the output-to-input matrices its layers
build (``keras.layers.RandomRotation`` etc.), resampled with scikit-image, and
its factor conventions for the draws."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image
from skimage.transform import AffineTransform, warp as sk_warp

from augcli.apply import apply
from augcli.errors import RecipeError
from augcli.recipe import Recipe
from augcli.sampling import item_rng, sample

W, H = 40, 30  # not square: Keras 3 layers pivot about the true centre ((w-1)/2, (h-1)/2)
NUMPY_FILL = {"reflect": "symmetric", "nearest": "edge", "wrap": "wrap", "constant": "constant"}  # Keras' own padding


def noise() -> tuple[np.ndarray, Image.Image]:
    arr = np.random.default_rng(0).integers(0, 256, (H, W, 3), np.uint8)
    return arr, Image.fromarray(arr)


def sampled(yaml_pipeline: str, copy: int = 0, size=(W, H)):
    recipe = Recipe.from_yaml("pipeline:\n" + yaml_pipeline)
    return sample(recipe.pipeline, item_rng(3, "x.png", copy)[0], size)


def keras_layer(arr: np.ndarray, matrix: np.ndarray, fill_mode: str, fill_value: float = 0.0) -> np.ndarray:
    """What a Keras 3 layer computes: output pixel (x, y) samples the input at
    ``matrix @ (x, y, 1)``, bilinear, the input padded as Keras pads it."""
    return sk_warp(arr.astype(float), AffineTransform(matrix=matrix), order=1, mode=NUMPY_FILL[fill_mode],
                   cval=fill_value, preserve_range=True)


def keras_rotation(degrees: float) -> np.ndarray:
    """``_compute_affine_matrix`` with centre 0.5, scale 1, no shear or translation."""
    a = math.radians(degrees)
    cx, cy = 0.5 * (W - 1), 0.5 * (H - 1)
    a0, a1, b0, b1 = math.cos(a), -math.sin(a), math.sin(a), math.cos(a)
    return np.array([[a0, a1, cx - cx * a0 - cy * a1], [b0, b1, cy - cx * b0 - cy * b1], [0, 0, 1]])


def keras_zoom(zx: float, zy: float) -> np.ndarray:
    """RandomZoom's ``_get_zoom_matrix``."""
    return np.array([[zx, 0, (W - 1) / 2 * (1 - zx)], [0, zy, (H - 1) / 2 * (1 - zy)], [0, 0, 1]])


def keras_translation(dx: float, dy: float) -> np.ndarray:
    """RandomTranslation's ``_get_translation_matrix`` (dx, dy in pixels)."""
    return np.array([[1, 0, -dx], [0, 1, -dy], [0, 0, 1]])


def assert_close(out: Image.Image, reference: np.ndarray) -> None:
    diff = np.abs(np.asarray(out).astype(float) - reference)
    assert diff.max() <= 1 + 1e-9, f"{int((diff > 1 + 1e-9).sum())} values off by more than a level"


@pytest.mark.parametrize("fill_mode", sorted(NUMPY_FILL))
def test_random_rotation_is_a_rotate_of_factor_turns_counter_clockwise(fill_mode):
    arr, img = noise()
    ops = sampled(f"  - RandomRotation: {{factor: [0.05, 0.05], fill_mode: {fill_mode}, fill_value: 90}}")
    assert [op.op for op in ops] == ["rotate"] and ops[0].kwargs()["angle"] == 18.0  # 0.05 of a turn
    assert_close(apply(img, ops), keras_layer(arr, keras_rotation(18.0), fill_mode, 90.0))


def test_random_zoom_positive_zooms_out_negative_zooms_in_per_axis():
    arr, img = noise()
    ops = sampled("  - RandomZoom: {height_factor: [0.25, 0.25], width_factor: [-0.375, -0.375], "
                  "fill_mode: nearest}")
    assert [op.op for op in ops] == ["zoom"]
    params = ops[0].kwargs()
    assert params["y"] == 0.8 and params["x"] == 1.6  # content shrinks vertically, grows horizontally
    assert_close(apply(img, ops), keras_layer(arr, keras_zoom(0.625, 1.25), "nearest"))


def test_random_zoom_without_width_factor_keeps_the_aspect_ratio():
    arr, img = noise()
    (op,) = sampled("  - RandomZoom: {height_factor: [-0.2, -0.2]}")
    assert op.op == "zoom" and op.kwargs()["scale"] == 1.25 and op.kwargs()["x"] is None
    assert_close(apply(img, [op]), keras_layer(arr, keras_zoom(0.8, 0.8), "reflect"))
    for copy in range(200):
        (op,) = sampled("  - RandomZoom: {height_factor: 0.2}", copy)
        assert 1 / 1.2 - 1e-4 <= op.kwargs()["scale"] <= 1 / 0.8 + 1e-4


def test_random_translation_moves_right_and_down_by_fractions_of_the_side():
    arr, img = noise()
    ops = sampled("  - RandomTranslation: {width_factor: [0.13, 0.13], height_factor: [-0.1, -0.1], "
                  "fill_mode: constant, fill_value: 200}")
    assert [op.op for op in ops] == ["translate"]
    assert ops[0].kwargs()["x"] == pytest.approx(5.2) and ops[0].kwargs()["y"] == pytest.approx(-3.0)
    assert_close(apply(img, ops), keras_layer(arr, keras_translation(5.2, -3.0), "constant", 200.0))


def test_layers_fuse_into_one_resample():
    """Three layers with one fill become rotate, zoom, translate in the manifest,
    applied as one resample of the composed Keras maps (three resamples blur:
    they would not stay within a level of it)."""
    arr, img = noise()
    ops = sampled("  - RandomRotation: {factor: [-0.04, -0.04]}\n"
                  "  - RandomZoom: {height_factor: [0.25, 0.25]}\n"
                  "  - RandomTranslation: {width_factor: [0.1, 0.1], height_factor: [0.05, 0.05]}")
    assert [op.op for op in ops] == ["rotate", "zoom", "translate"]
    composed = keras_rotation(-14.4) @ keras_zoom(1.25, 1.25) @ keras_translation(4.0, 1.5)
    assert_close(apply(img, ops), keras_layer(arr, composed, "reflect"))


def test_random_flip_is_one_coin_for_every_axis_of_its_mode():
    """Keras 3 draws one coin per image: horizontal_and_vertical flips both axes
    (a half turn) or none, never one alone."""
    seen = [tuple(op.op for op in sampled("  - RandomFlip: {}", copy)) for copy in range(400)]
    assert set(seen) == {(), ("hflip", "vflip")}
    assert abs(seen.count(()) - 200) < 4 * math.sqrt(400 * 0.25)
    for mode, op in (("horizontal", "hflip"), ("vertical", "vflip")):
        assert {tuple(o.op for o in sampled(f"  - RandomFlip: {{mode: {mode}}}", c)) for c in range(50)} == {(), (op,)}
    arr, img = noise()
    both = sampled("  - RandomFlip: {}", seen.index(("hflip", "vflip")))
    assert np.array_equal(np.asarray(apply(img, both)), arr[::-1, ::-1])


def test_layer_draws_follow_keras_factor_conventions():
    angles = [sampled("  - RandomRotation: {factor: 0.1}", c)[0].kwargs()["angle"] for c in range(300)]
    assert -36 <= min(angles) < -30 and 30 < max(angles) <= 36  # f of a turn -> [-f, f] x 360 degrees
    contrasts = [sampled("  - RandomContrast: {factor: 0.2}", c)[0] for c in range(300)]
    assert {op.op for op in contrasts} == {"contrast"}
    factors = [op.kwargs()["factor"] for op in contrasts]
    assert 0.8 <= min(factors) < 0.85 and 1.15 < max(factors) <= 1.2  # f -> [1-f, 1+f], as documented
    pair = [sampled("  - RandomContrast: {factor: [0.2, 0.5]}", c)[0].kwargs()["factor"] for c in range(300)]
    assert 0.8 <= min(pair) < 0.9 and 1.4 < max(pair) <= 1.5
    moves = [sampled("  - RandomTranslation: {height_factor: 0.1, width_factor: 0.2}", c)[0].kwargs()
             for c in range(300)]
    assert 7 < max(abs(m["x"]) for m in moves) <= 8 and 2.5 < max(abs(m["y"]) for m in moves) <= 3


@pytest.mark.parametrize("step,found", [
    ("RandomZoom: {height_factor: [-1, 0]}", "[-1, 0] is not a number from 0 to 1 (f: drawn from [-f, f]) or a "
                                              "pair [lo, hi] with -0.95 <= lo <= hi <= 1"),
    ("RandomContrast: {factor: 1.5}", "1.5 is not a number from 0 to 1"),
    ("RandomTranslation: {height_factor: 0.1, width_factor: [0.5, 2]}", "[0.5, 2] is not a number from 0 to 1"),
    ("RandomRotation: {factor: [0.2, 0.1]}", "[0.2, 0.1] is not a number from 0 to 1"),
])
def test_factors_outside_keras_bounds_are_recipe_errors(step, found):
    """Keras refuses these factors too; a zoom of 1 + (-1) = 0 would divide by zero."""
    with pytest.raises(RecipeError) as error:
        Recipe.from_yaml(f"pipeline:\n  - {step}\n")
    assert found in str(error.value)
