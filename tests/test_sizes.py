"""Sizes: an integer means a square wherever a size is taken, one side may be
null to keep the aspect ratio, resizing by the shorter or longer side,
letterbox padding, and output.size's fit modes. The oracles are Pillow's
resize and crop and numpy's pad, with the geometry taken from each op's
documented meaning."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from augcli.errors import RecipeError
from augcli.fit import fit
from augcli.ops import REGISTRY
from augcli.recipe import Recipe
from augcli.sampling import item_rng, sample

from .conftest import load, make_image

FILLS = ("constant", "edge", "reflect", "symmetric", "wrap")


def noise(w: int, h: int, channels: int = 3, seed: int = 0) -> Image.Image:
    shape = (h, w, channels) if channels > 1 else (h, w)
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, shape, np.uint8))


def drawn(pipeline: str, size=(201, 140)) -> list[dict]:
    recipe = Recipe.from_yaml("pipeline:\n" + pipeline)
    return [op.to_json() for op in sample(recipe.pipeline, item_rng(0, "a.png", 1)[0], size)]


def apply_pipeline(pipeline: str, img: Image.Image) -> Image.Image:
    from augcli.apply import apply
    from augcli.sampling import AppliedOp

    return apply(img, [AppliedOp.from_json(op) for op in drawn(pipeline, img.size)])


def pillow(img: Image.Image, size, interpolation=Image.Resampling.BILINEAR) -> np.ndarray:
    return np.asarray(img.resize(size, interpolation))


# -- an integer is a square -------------------------------------------------------------


@pytest.mark.parametrize("op,expected", [
    ("center_crop: {size: 60}", (60, 60)),
    ("random_crop: {size: 50}", (50, 50)),
    ("resize: {size: 24}", (24, 24)),
    ("random_resized_crop: {size: 32}", (32, 32)),
    ("pad_if_needed: {size: 300}", (300, 300)),
])
def test_an_integer_size_is_a_square_wherever_a_size_is_taken(op, expected):
    assert apply_pipeline(f"  - {op}\n", noise(201, 140)).size == expected
    name, plain = op.split(":")[0], Recipe.from_yaml(f"pipeline:\n  - {op}\n").to_plain()["pipeline"][0]
    assert plain[name]["size"] == list(expected)  # the normalised recipe spells the square out


def test_output_size_integer_and_null_sides():
    assert Recipe.from_yaml("output: {size: 160}\npipeline: [hflip]").output.size == (160, 160)
    assert Recipe.from_yaml("output: {size: [160, null]}\npipeline: [hflip]").output.size == (160, None)
    img = noise(201, 140)
    assert fit(img, (100, None), "stretch", 255).size == (100, 70)  # 140 * 100/201 = 69.65
    assert fit(img, (None, 70), "cover", 255).size == (100, 70)  # 201 * 0.5 = 100.5, halves to even
    expected = pillow(img, (100, 70), Image.Resampling.BICUBIC)
    assert np.array_equal(np.asarray(fit(img, (100, None), "contain", 255)), expected)


def test_resize_with_a_null_side_keeps_the_aspect_ratio():
    img = noise(201, 140)
    out = apply_pipeline("  - resize: {size: [null, 70]}\n", img)
    assert np.array_equal(np.asarray(out), pillow(img, (100, 70)))


# -- shorter / longer side, letterbox -----------------------------------------------------


@pytest.mark.parametrize("op,size,expected", [
    ("smallest_max_size: {max_size: 70}", (201, 140), (100, 70)),   # shorter side 140 -> 70
    ("smallest_max_size: {max_size: 280}", (201, 140), (402, 280)),  # it enlarges too
    ("smallest_max_size: {max_size: 50}", (30, 90), (50, 150)),
    ("longest_max_size: {max_size: 100}", (201, 140), (100, 70)),   # longer side 201 -> 100, 69.65 -> 70
    ("longest_max_size: {max_size: 45}", (30, 90), (15, 45)),
    ("longest_max_size: {max_size: 90}", (30, 90), (30, 90)),       # already there: unchanged
])
def test_smallest_and_longest_max_size_are_pillow_resizes_of_the_documented_size(op, size, expected):
    img = noise(*size)
    out = apply_pipeline(f"  - {op}\n", img)
    assert out.size == expected
    assert np.array_equal(np.asarray(out), pillow(img, expected))


def test_the_sampler_sees_the_size_after_a_side_resize():
    """center_crop after smallest_max_size draws its box on the resized image."""
    ops = drawn("  - smallest_max_size: {max_size: 70}\n  - center_crop: {size: 70}\n")
    assert ops[1]["box"] == [15, 0, 85, 70]  # (100 - 70) // 2


@pytest.mark.parametrize("fill", FILLS)
@pytest.mark.parametrize("channels", [1, 3])
def test_pad_if_needed_is_np_pad_centred(fill, channels):
    img = noise(30, 20, channels)
    out = np.asarray(REGISTRY["pad_if_needed"].kernel(img, size=[41, 25], fill=fill, cval=7.0))
    # the extra pixel of an odd margin goes right / down
    widths = ((2, 3), (5, 6)) + ((0, 0),) * (channels > 1)
    extra = {"constant_values": 7} if fill == "constant" else {}
    assert np.array_equal(out, np.pad(np.asarray(img), widths, mode=fill, **extra))


def test_pad_if_needed_never_crops():
    img = noise(50, 30)
    out = REGISTRY["pad_if_needed"].kernel(img, size=[40, 40], fill="constant", cval=0.0)
    assert out.size == (50, 40) and np.array_equal(np.asarray(out)[5:35], np.asarray(img))
    assert drawn("  - pad_if_needed: {size: [40, 40]}\n  - center_crop: {size: 50}\n", (50, 30))[1]["box"] == \
        [0, 0, 50, 40]


# -- output.size fit modes ------------------------------------------------------------------


def test_fit_stretch_cover_contain():
    img = noise(201, 140)
    stretch = fit(img, (160, 160), "stretch", 255)
    assert np.array_equal(np.asarray(stretch), pillow(img, (160, 160), Image.Resampling.BICUBIC))
    # cover: scale by max(160/201, 160/140) -> 229.7 x 160, rounded 230 x 160, then the centre 160 x 160
    cover = fit(img, (160, 160), "cover", 255)
    scaled = pillow(img, (230, 160), Image.Resampling.BICUBIC)
    assert np.array_equal(np.asarray(cover), scaled[:, 35:195])
    # contain: scale by min(...) -> 160 x 111.4, rounded 160 x 111, then bars of the background
    contain = fit(img, (160, 160), "contain", 200)
    scaled = pillow(img, (160, 111), Image.Resampling.BICUBIC)
    expected = np.pad(scaled, ((24, 25), (0, 0), (0, 0)), constant_values=200)
    assert np.array_equal(np.asarray(contain), expected)


def test_fit_keeps_alpha_transparent_in_letterbox_bars():
    rgba = noise(40, 20, 4)
    out = fit(rgba, (40, 40), "contain", 255)
    assert out.mode == "RGBA" and np.asarray(out)[:10, :, 3].max() == 0


@pytest.mark.parametrize("fit_mode,expected", [("stretch", (64, 64)), ("cover", (64, 64)), ("contain", (64, 64))])
def test_output_fit_end_to_end_applies_to_every_split(run, tmp_path, fit_mode, expected):
    root = tmp_path / "data"
    make_image(root / "train" / "cat" / "a.png", (201, 140), seed=1)
    make_image(root / "val" / "cat" / "b.png", (140, 201), seed=2)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"copies: 1\noutput: {{size: 64, fit: {fit_mode}}}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1", src=root).exit_code == 0
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len(records) == 3 and all((r["width"], r["height"]) == expected for r in records)
    original = np.asarray(load(out / "val/cat/b.png"))
    source = load(root / "val/cat/b.png")
    assert np.array_equal(original, np.asarray(fit(source, (64, 64), fit_mode, 255)))


@pytest.mark.parametrize("text,expected", [
    ("output: {size: 64, fit: contian}\n", "output.fit: 'contian' is not one of stretch, cover, contain (did you mean 'contain'?)"),
    ("output: {size: [null, null]}\n", "output.size: [null, null] is not [width, height] in pixels"),
    ("output: {size: [0, 10]}\n", "output.size: [0, 10] is not [width, height] in pixels"),
    ("output: {background: 300}\n", "output.background: 300 is out of range: allowed is a number from 0 to 255"),
])
def test_output_size_errors(text, expected):
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(text + "pipeline: [hflip]\n")
    assert expected in str(info.value)
