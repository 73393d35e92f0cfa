"""Colour and noise ops against Pillow's own implementations or their formula,
and replayable randomness (neutral parameters: test_every_op.py)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

from augcli.apply import apply
from augcli.ops import REGISTRY
from augcli.recipe import Recipe
from augcli.sampling import AppliedOp, item_rng, sample

from .test_every_op import example_params


def rgb(h=32, w=48, seed=0) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8))


def op(name: str, img: Image.Image, **params) -> np.ndarray:
    return np.asarray(REGISTRY[name].kernel(img, **params)).astype(int)


def close(a, b, tol=1) -> bool:
    return np.abs(np.asarray(a).astype(int) - np.asarray(b).astype(int)).max() <= tol


@pytest.mark.parametrize("name,params,oracle", [
    ("equalize", {}, ImageOps.equalize),
    ("autocontrast", {"cutoff": 2.0}, lambda im: ImageOps.autocontrast(im, cutoff=2.0)),
    ("posterize", {"bits": 3}, lambda im: ImageOps.posterize(im, 3)),
    ("solarize", {"threshold": 100.0}, lambda im: ImageOps.solarize(im, 100)),
    ("invert", {}, ImageOps.invert),
    ("grayscale", {"channels": 1}, lambda im: im.convert("L")),
    ("grayscale", {"channels": 3}, lambda im: im.convert("L").convert("RGB")),
])
def test_ops_match_pillow(name, params, oracle):
    img = rgb()
    assert close(op(name, img, **params), oracle(img), tol=0)


@pytest.mark.parametrize("factor", [0.0, 0.4, 1.3, 1.9])
@pytest.mark.parametrize("name,enhancer", [("saturation", ImageEnhance.Color), ("sharpen", ImageEnhance.Sharpness)])
def test_blends_are_pillows_enhancers_within_one_level(name, enhancer, factor):
    """saturation and sharpen are defined by their meaning (a blend with the
    image's luma / with Pillow's SMOOTH filter, rounded once); Pillow rounds the
    blended-against image and truncates the blend, so it is a reference within
    one level for factors in 0..2 (tests/ops/test_array_kernels.py holds the
    exact formulas)."""
    img = rgb()
    assert close(op(name, img, factor=factor), enhancer(img).enhance(factor), tol=1)


@pytest.mark.parametrize("radius", [0.4, 1.5, 3.0])
@pytest.mark.parametrize("mode", ["L", "RGB", "I;16", "F"])
def test_blur_is_a_gaussian_of_sigma_radius(radius, mode):
    """scikit-image's gaussian (sigma = radius, truncated at 4 sigma, edges
    extended) is the oracle, at every bit depth."""
    from skimage.filters import gaussian

    base = rgb()
    img = {"L": base.convert("L"), "RGB": base,
           "I;16": Image.fromarray(np.asarray(base.convert("L")).astype(np.uint16) * 257),
           "F": Image.fromarray(np.asarray(base.convert("L")).astype(np.float32) / 255)}[mode]
    arr = np.asarray(img).astype(np.float64)
    expected = gaussian(arr, sigma=radius, mode="nearest", truncate=4.0, preserve_range=True,
                        channel_axis=-1 if arr.ndim == 3 else None)
    out = REGISTRY["blur"].kernel(img, radius=radius)
    assert out.mode == img.mode
    tolerance = {"F": 1e-5, "I;16": 1.0}.get(mode, 1.0)  # rounded to the nearest level
    assert np.abs(np.asarray(out).astype(np.float64) - expected).max() <= tolerance


def test_gamma_and_channel_shift_follow_their_formula():
    img = rgb()
    arr = np.asarray(img).astype(float)
    assert close(op("gamma", img, gamma=0.5), np.clip(np.rint(255 * (arr / 255) ** 0.5), 0, 255))
    assert close(op("channel_shift", img, value=30.0), np.clip(arr + 30, arr.min(), arr.max()))


def test_hue_rotates_colours_and_leaves_grey_alone():
    red = Image.new("RGB", (4, 4), (255, 0, 0))
    assert op("hue", red, shift=120.0)[0, 0].tolist() == [0, 255, 0]
    grey = Image.new("RGB", (4, 4), (90, 90, 90))
    assert op("hue", grey, shift=77.0)[0, 0].tolist() == [90, 90, 90]


def test_jpeg_adds_the_artefacts_of_that_quality():
    img = rgb()
    buffer = io.BytesIO()
    img.save(buffer, "JPEG", quality=20)
    with Image.open(io.BytesIO(buffer.getvalue())) as reference:
        assert close(op("jpeg", img, quality=20), reference.convert("RGB"), tol=0)


def test_noise_is_seeded_and_replays_from_the_manifest():
    recipe = Recipe.from_yaml("pipeline:\n  - gaussian_noise: {sigma: 10}\n  - salt_pepper: {amount: 0.05}\n"
                              "  - cutout: {count: 2, size: 0.25, noise: true}\n")
    img = rgb(64, 64)
    ops = sample(recipe.pipeline, item_rng(5, "a.png", 1)[0], img.size)
    replayed = [AppliedOp.from_json(o.to_json()) for o in ops]
    assert np.array_equal(np.asarray(apply(img, ops)), np.asarray(apply(img, replayed)))
    other = sample(recipe.pipeline, item_rng(5, "a.png", 2)[0], img.size)
    assert not np.array_equal(np.asarray(apply(img, ops)), np.asarray(apply(img, other)))
    cut = ops[2].kwargs()
    assert len(cut["boxes"]) == 2 and all(x1 - x0 == 16 for x0, _, x1, _ in cut["boxes"])


def test_noise_statistics():
    grey = Image.new("L", (200, 200), 128)
    noisy = op("gaussian_noise", grey, sigma=10.0, per_channel=True, seed=3) - 128
    assert abs(noisy.mean()) < 0.3 and 9.5 < noisy.std() < 10.5
    sprinkled = op("salt_pepper", grey, amount=0.1, salt_ratio=0.25, seed=3)
    assert abs((sprinkled == 255).mean() - 0.025) < 0.005 and abs((sprinkled == 0).mean() - 0.075) < 0.008


def test_alpha_is_never_recoloured_and_16_bit_keeps_its_depth(example_models):
    rgba = rgb().convert("RGBA")
    rgba.putalpha(Image.linear_gradient("L").resize(rgba.size))
    deep = Image.fromarray(np.asarray(rgb().convert("L")).astype(np.uint16) * 257)
    for name, spec in REGISTRY.items():
        if spec.category in ("geometric", "policy") or spec.expand is not None:  # expanded ops have no kernel
            continue
        params = example_params(name, rgba.size)
        out = spec.kernel(rgba, **params)
        assert out.getchannel("A").tobytes() == rgba.getchannel("A").tobytes(), name
        assert spec.kernel(deep, **params).mode == "I;16", name


POINT_OPS = {
    "brightness": lambda rng: {"factor": float(rng.uniform(0.2, 2.5))},
    "contrast": lambda rng: {"factor": float(rng.uniform(0.0, 3.0))},
    "gamma": lambda rng: {"gamma": float(rng.uniform(0.2, 4.0))},
    "posterize": lambda rng: {"bits": int(rng.integers(1, 9))},
    "solarize": lambda rng: {"threshold": float(rng.uniform(0, 256))},
    "invert": lambda rng: {},
}


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "I;16"])
@pytest.mark.parametrize("seed", range(12))
def test_fused_point_ops_equal_one_at_a_time(mode, seed):
    """apply() turns a run of point ops into one lookup table (means for contrast
    come from the histogram through the table); the pixels must be exactly those
    of applying each kernel in turn."""
    rng = np.random.default_rng(seed)
    names = list(rng.choice(sorted(POINT_OPS), size=int(rng.integers(2, 6))))
    ops = [AppliedOp(name, tuple(sorted(POINT_OPS[name](rng).items()))) for name in names]
    img = rgb(seed=seed)
    img = {"RGBA": lambda: img.convert("RGBA"), "LA": lambda: img.convert("LA"),
           "L": lambda: img.convert("L"), "RGB": lambda: img,
           "I;16": lambda: Image.fromarray(np.asarray(img.convert("L")).astype(np.uint16) * 257)}[mode]()
    one_at_a_time = img
    for applied in ops:
        one_at_a_time = REGISTRY[applied.op].kernel(one_at_a_time, **applied.kwargs())
    fused = apply(img, ops)
    assert fused.mode == one_at_a_time.mode == img.mode
    assert np.array_equal(np.asarray(fused), np.asarray(one_at_a_time)), names


# -- brightness and contrast against their oracles (from the former test_kernels.py) ------------------


def noise(h=30, w=40, channels=3, seed=0) -> np.ndarray:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return np.random.default_rng(seed).integers(0, 256, shape, np.uint8)


def on_array(name: str, arr: np.ndarray, **params) -> np.ndarray:
    return np.asarray(REGISTRY[name].kernel(Image.fromarray(arr), **params))


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.7, 1.0, 1.3, 2.5])
@pytest.mark.parametrize("channels", [1, 3])
def test_brightness_is_pil_image_enhance(factor, channels):
    arr = noise(channels=channels)
    expected = np.asarray(ImageEnhance.Brightness(Image.fromarray(arr)).enhance(factor))
    assert np.array_equal(on_array("brightness", arr, factor=factor), expected)


@pytest.mark.parametrize("factor", [0.0, 0.5, 1.0, 1.7])
def test_contrast_is_the_keras_formula(factor):
    arr = noise()
    mean = arr.reshape(-1, 3).mean(axis=0)
    expected = np.clip(np.rint((arr - mean) * factor + mean), 0, 255)
    assert np.abs(on_array("contrast", arr, factor=factor).astype(float) - expected).max() <= 1


def test_16_bit_brightness_and_contrast_stay_16_bit_and_keep_their_range():
    arr = noise(channels=1).astype(np.uint16) * 257
    for name, params in [("brightness", {"factor": 0.5}), ("contrast", {"factor": 1.2})]:
        assert on_array(name, arr, **params).dtype == np.uint16, name
    halved = on_array("brightness", arr, factor=0.5).astype(int)
    assert np.abs(halved - arr // 2).max() <= 1
