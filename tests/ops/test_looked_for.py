"""The ops users of albumentations, torchvision and Keras looked for, each
against an oracle written from its documented meaning (numpy, colorsys,
scipy, skimage), not from the code under test."""
from __future__ import annotations

import colorsys
from collections import Counter

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from augcli import imaging
from augcli.ops import REGISTRY
from augcli.ops.automix import POLICIES, autoaugment_space
from augcli.recipe import Recipe
from augcli.sampling import item_rng, sample


def noise(shape, seed=0, dtype=np.uint8, top=255):
    return np.random.default_rng(seed).integers(0, top + 1, shape).astype(dtype)


def kernel(name, arr, **params):
    return np.asarray(REGISTRY[name].kernel(Image.fromarray(arr), **params))


@pytest.mark.parametrize("size", [3, 5, 7])
@pytest.mark.parametrize("dtype, top", [(np.uint8, 255), (np.uint16, 65535)])
def test_median_blur_is_the_window_median_with_edges_repeated(size, dtype, top):
    arr = noise((19, 26), seed=size, dtype=dtype, top=top)
    expected = ndimage.median_filter(arr, size=size, mode="nearest")
    np.testing.assert_array_equal(kernel("median_blur", arr, size=size), expected)


def test_an_even_median_size_is_drawn_as_the_next_odd_one():
    recipe = Recipe.from_dict({"pipeline": [{"median_blur": {"size": [2, 6]}}]})
    sizes = {sample(recipe.pipeline, item_rng(0, "x", c)[0], (20, 20))[0].kwargs()["size"] for c in range(60)}
    assert sizes == {3, 5, 7}


@pytest.mark.parametrize("angle, axis", [(0.0, 1), (90.0, 0), (180.0, 1), (-90.0, 0)])
def test_motion_blur_along_an_axis_is_a_box_mean_along_it(angle, axis):
    arr = noise((21, 30, 3), seed=1)
    expected = ndimage.uniform_filter1d(arr.astype(np.float64), 5, axis=axis, mode="nearest")
    out = kernel("motion_blur", arr, length=5, angle=angle).astype(int)
    assert np.abs(out - expected).max() <= 0.5 + 1e-6


def test_motion_blur_on_the_diagonal_averages_the_diagonal():
    arr = noise((15, 15), seed=2)
    out = kernel("motion_blur", arr, length=3, angle=45.0).astype(float)
    padded = np.pad(arr.astype(float), 1, mode="edge")
    # 45 degrees counter-clockwise with y down: up-right and down-left neighbours
    expected = (padded[1:-1, 1:-1] + padded[:-2, 2:] + padded[2:, :-2]) / 3
    assert np.abs(out - expected).max() <= 0.5 + 1e-6


def test_channel_shuffle_reorders_channels_and_draws_every_permutation():
    arr = noise((6, 7, 4), seed=3)
    np.testing.assert_array_equal(kernel("channel_shuffle", arr, order=[2, 0, 1]),
                                  np.dstack([arr[..., 2], arr[..., 0], arr[..., 1], arr[..., 3]]))
    recipe = Recipe.from_dict({"pipeline": ["channel_shuffle"]})
    orders = Counter(tuple(sample(recipe.pipeline, item_rng(0, "x", c)[0], (5, 5))[0].kwargs()["order"])
                     for c in range(600))
    assert len(orders) == 6 and min(orders.values()) > 60


def test_downscale_by_half_keeps_two_by_two_blocks_and_flattens_finer_detail():
    blocks = np.kron(noise((8, 10, 3), seed=4), np.ones((2, 2, 1), np.uint8))
    np.testing.assert_array_equal(kernel("downscale", blocks, scale=0.5, interpolation="nearest"), blocks)
    fine = noise((16, 20), seed=5)
    out = kernel("downscale", fine, scale=0.5, interpolation="nearest")
    np.testing.assert_array_equal(out, np.kron(fine[::2, ::2], np.ones((2, 2), np.uint8)))


def test_clahe_on_grey_spreads_a_narrow_histogram_and_keeps_order():
    """skimage's equalize_adapthist is the same idea (tiles, clipped
    histograms, bilinear blending of the tiles' maps): both must stretch a
    low-contrast image the same way, monotonically."""
    from skimage import exposure

    ramp = np.tile(np.linspace(100, 140, 64), (48, 1)).astype(np.uint8)
    out = kernel("clahe", ramp, clip_limit=40.0, tiles=1).astype(int)
    reference = exposure.equalize_adapthist(ramp, kernel_size=ramp.shape, clip_limit=1.0) * 255
    assert out.max() - out.min() > 200  # 40 levels spread over (nearly) the full range
    assert np.all(np.diff(out[0]) >= 0)  # the order of values is kept
    assert np.abs(out - reference).mean() < 8


def luma(x):
    return x @ np.array([0.299, 0.587, 0.114])


def jitter_oracle(arr, factors, order):
    """torchvision's ColorJitter, written out: blend formulas and colorsys for hue."""
    x = arr.astype(np.float64)
    for step in order:
        f = factors[step]
        if step == 0:
            x = x * f
        elif step == 1:
            x = f * x + (1 - f) * luma(x).mean()
        elif step == 2:
            x = f * x + (1 - f) * luma(x)[..., None]
        else:
            hsv = [colorsys.rgb_to_hsv(*px) for px in (x / 255).reshape(-1, 3)]
            x = np.array([colorsys.hsv_to_rgb((h + f) % 1.0, s, v) for h, s, v in hsv]).reshape(x.shape) * 255
        x = np.clip(x, 0, 255)
    return x


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]])
def test_color_jitter_is_torchvisions_formulas_in_the_drawn_order(order):
    arr = noise((9, 13, 3), seed=6)
    factors = [1.3, 0.7, 1.6, 0.12]
    out = kernel("color_jitter", arr, brightness=0.4, contrast=0.4, saturation=0.6, hue=0.2, factors=factors,
                 order=order).astype(float)
    assert np.abs(out - jitter_oracle(arr, factors, order)).max() <= 1.0


def test_color_jitter_draws_factors_in_torchvisions_ranges():
    recipe = Recipe.from_dict({"pipeline": [{"color_jitter": {"brightness": 0.4, "contrast": 1.5, "hue": 0.1}}]})
    drawn = [sample(recipe.pipeline, item_rng(0, "x", c)[0], (5, 5))[0].kwargs() for c in range(300)]
    b, c, s, h = np.array([d["factors"] for d in drawn]).T
    assert 0.6 <= b.min() < 0.65 and 1.35 < b.max() <= 1.4
    assert 0 <= c.min() < 0.05 and 2.45 < c.max() <= 2.5  # max(0, 1 - 1.5)
    assert set(s) == {1.0} and -0.1 <= h.min() < -0.09 and 0.09 < h.max() <= 0.1
    assert len({tuple(d["order"]) for d in drawn}) == 24


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_autoaugment_applies_one_sub_policy_with_its_probabilities(policy):
    """Over many draws: each output's ops are those of one of the policy's 25
    sub-policies (torchvision's table), at that sub-policy's magnitudes, and
    each operation fires about as often as its probability says."""
    size = (60, 40)
    space = autoaugment_space(size)
    recipe = Recipe.from_dict({"pipeline": [{"autoaugment": {"policy": policy}}]})
    counts = Counter()
    n = 2000
    for c in range(n):
        ops = [(o.op, o.kwargs()) for o in sample(recipe.pipeline, item_rng(0, "x", c)[0], size)]
        assert len(ops) <= 2
        counts[len(ops)] += 1
    expected_fired = np.mean([sum(p for _, p, _ in sub) for sub in POLICIES[policy]])
    fired = sum(k * v for k, v in counts.items()) / n
    assert abs(fired - expected_fired) < 0.06
    rotate_magnitudes = {round(float(m), 4) for m in space["Rotate"][0]}
    for c in range(300):
        for o in sample(recipe.pipeline, item_rng(1, "x", c)[0], size):
            if o.op == "rotate":
                assert abs(o.kwargs()["angle"]) in rotate_magnitudes


def test_random_order_applies_every_step_in_every_order():
    recipe = Recipe.from_dict({"pipeline": [{"random_order": [{"brightness": {"factor": 0.9}}, "hflip",
                                                               {"rot90": {"k": 1}}]}]})
    orders = Counter(tuple(o.op for o in sample(recipe.pipeline, item_rng(0, "x", c)[0], (5, 5))) for c in range(600))
    assert len(orders) == 6 and all(sorted(k) == ["brightness", "hflip", "rot90"] for k in orders)
    assert Recipe.from_dict(recipe.to_plain()) == recipe


def test_augmix_is_a_convex_mix_of_the_image_and_its_augmented_chains():
    """AugMix's output is the Beta x Dirichlet weighted sum (weights summing to
    1) of the image and its chains, each chain the plain ops the seed drew,
    applied one after another; the seed is all its randomness."""
    arr = noise((24, 32, 3), seed=7)
    for seed in range(5):
        out = kernel("augmix", arr, severity=3, width=3, depth=2, alpha=1.0, fill="constant", cval=0.0,
                     interpolation="nearest", seed=seed).astype(int)
        assert out.shape == arr.shape
        again = kernel("augmix", arr, severity=3, width=3, depth=2, alpha=1.0, fill="constant", cval=0.0,
                       interpolation="nearest", seed=seed).astype(int)
        np.testing.assert_array_equal(out, again)  # the seed is all its randomness
    from augcli.ops.automix import augmix_plan

    keep, chains = augmix_plan((32, 24), severity=3, width=3, depth=2, alpha=1.0, seed=0,
                               geometry={"fill": "constant", "cval": 0.0, "interpolation": "nearest"})
    assert abs(keep + sum(w for w, _ in chains) - 1) < 1e-9 and all(len(ops) == 2 for _, ops in chains)
    chained = []
    for _, ops in chains:
        img = Image.fromarray(arr)
        for name, values in ops:
            img = REGISTRY[name].kernel(img, **values)
        chained.append(np.asarray(img).astype(float))
    expected = keep * arr + sum(w * c for (w, _), c in zip(chains, chained))
    out = kernel("augmix", arr, severity=3, width=3, depth=2, alpha=1.0, fill="constant", cval=0.0,
                 interpolation="nearest", seed=0)
    assert np.abs(out - expected).max() <= 0.5 + 1e-6


ARRAY_CASES = {
    "clahe": {"clip_limit": 2.0, "tiles": 4}, "median_blur": {"size": 3}, "motion_blur": {"length": 5, "angle": 30.0},
    "channel_shuffle": {"order": [1, 2, 0]}, "downscale": {"scale": 0.5, "interpolation": "bilinear"},
    "color_jitter": {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1,
                     "factors": [1.2, 0.8, 1.3, 0.05], "order": [2, 3, 0, 1]},
}
if hasattr(imaging, "from_pil"):  # augmix runs the built-in kernels on what it is given: arrays once they take them
    ARRAY_CASES["augmix"] = {"severity": 3, "width": 3, "depth": -1, "alpha": 1.0, "fill": "constant", "cval": 0.0,
                             "interpolation": "nearest", "seed": 4}


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("name", sorted(ARRAY_CASES))
def test_the_new_kernels_take_working_arrays_as_they_take_images(name, channels):
    """The array engine (issue 22) hands kernels (H, W, C) arrays, alpha last:
    the same pixels as through a Pillow image, in the same layout."""
    arr = noise((14, 19, channels), seed=channels)
    image = Image.fromarray(arr[..., 0] if channels == 1 else arr)
    through_pil = np.asarray(REGISTRY[name].kernel(image, **ARRAY_CASES[name]))
    through_array = REGISTRY[name].kernel(arr, **ARRAY_CASES[name])
    assert isinstance(through_array, np.ndarray) and through_array.shape == arr.shape
    np.testing.assert_array_equal(through_array, through_pil.reshape(arr.shape))
    if channels == 4:
        np.testing.assert_array_equal(through_array[..., 3], arr[..., 3])
