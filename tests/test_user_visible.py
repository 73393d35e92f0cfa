"""What a user would notice, pinned where the common case does not reach: the
second half of a guarantee, non-default modes, exact boundaries (issue 23).

Every check goes through what a user touches (``augcli expand`` and its files,
``augcli validate``, the ``Augmenter`` on numpy arrays), never through a
kernel's own types, so it holds whatever the pixels are carried in.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augcli import Augmenter
from augcli.manifest import AppendLog, ManifestRecord
from augcli.outdir import OutDir

from .conftest import load, make_image


def _write(path: Path, arr: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr, mode=mode).save(path)
    return path


# -- partly transparent pixels flattened on output.background ------------------------------

ALPHAS = (0, 40, 128, 200, 255)  # one 16-pixel column block each


def _alpha_blocks(colour: tuple[int, ...]) -> np.ndarray:
    """Uniform colour, alpha stepping through ALPHAS in 16-pixel column blocks
    (wide blocks: JPEG's 8x8 DCT and chroma subsampling leave their centres exact)."""
    h, w = 32, 16 * len(ALPHAS)
    arr = np.zeros((h, w, len(colour) + 1), np.uint8)
    arr[..., :-1] = colour
    for i, a in enumerate(ALPHAS):
        arr[:, 16 * i:16 * (i + 1), -1] = a
    return arr


def _composited(colour: np.ndarray, alpha: int, background: float) -> np.ndarray:
    """Porter-Duff 'over' on an opaque grey background, the oracle."""
    return colour * alpha / 255 + background * (1 - alpha / 255)


@pytest.mark.parametrize("colour", [(200, 40, 90), (170,)], ids=["RGBA", "LA"])
def test_partly_transparent_pixels_are_composited_on_the_background(run, tmp_path, colour):
    mode = "RGBA" if len(colour) == 3 else "LA"
    src = tmp_path / "src"
    _write(src / "c" / "a.png", _alpha_blocks(colour), mode)
    recipe = tmp_path / "r.yaml"
    # hflip on a left-right symmetric layout would move blocks: keep copies unflipped
    # by a p: 1 vflip (rows are uniform), so originals and copies are both checked
    recipe.write_text("copies: 1\noutput: {format: jpeg, quality: 100, background: 100}\n"
                      "pipeline: [{vflip: {p: 1}}]\n")
    result = run("expand", src, tmp_path / "out", "--recipe", recipe, src=src)
    assert result.exit_code == 0, result.output
    for name in ("a.jpg", "a_aug01.jpg"):
        img = load(tmp_path / "out" / "c" / name)
        assert img.mode == ("RGB" if mode == "RGBA" else "L"), name
        arr = np.asarray(img, dtype=np.float64).reshape(32, -1, len(colour))
        for i, alpha in enumerate(ALPHAS):
            centre = arr[12:20, 16 * i + 4:16 * i + 12].reshape(-1, len(colour)).mean(axis=0)
            expected = _composited(np.array(colour, float), alpha, 100)
            assert np.abs(centre - expected).max() <= 2.5, (name, alpha, centre, expected)


# -- --resume after a finished output was deleted -----------------------------------------------


def test_resume_redoes_an_output_whose_file_was_deleted(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "--recipe", recipe, "-j", "1").exit_code == 0
    first = {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.jpg")}
    lines = (out / "manifest.jsonl").read_text().splitlines()
    gone = out / "cat" / "c2_aug02.jpg"
    gone.unlink()
    result = run("expand", src, out, "--recipe", recipe, "--resume", "-j", "1")
    assert result.exit_code == 0, result.output
    assert gone.read_bytes() == first["cat/c2_aug02.jpg"], "the deleted output is written again, the same"
    assert {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*.jpg")} == first
    again = (out / "manifest.jsonl").read_text().splitlines()
    assert sorted(again) == sorted(lines), "one record per output, none duplicated or lost"
    assert json.loads((out / "augcli.json").read_text())["counts"]["written"] == len(lines)


# -- modes the augmented copies keep ------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_a_grey_images_augmented_copies_stay_grey(run, tmp_path, fmt):
    src = tmp_path / "src"
    make_image(src / "c" / f"g.{fmt}", (48, 30), "L", seed=3)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 2\npipeline:\n  - rotate: {angle: 10}\n  - brightness: {factor: 1.2}\n"
                      "  - gaussian_noise: {sigma: 4}\n  - cutout: {size: 0.3}\n")
    assert run("expand", src, tmp_path / "out", "--recipe", recipe, src=src).exit_code == 0
    for name in (f"g.{fmt}", f"g_aug01.{fmt}", f"g_aug02.{fmt}"):
        assert load(tmp_path / "out" / "c" / name).mode == "L", name


# -- gaussian_noise's sigma is on the 0..255 scale, whatever the depth ---------------------------


@pytest.mark.parametrize("dtype,scale", [(np.uint8, 1), (np.uint16, 257)])
def test_gaussian_noise_sigma_is_scaled_to_the_bit_depth(dtype, scale):
    level = 100 * scale
    image = np.full((120, 90), level, dtype)
    aug = Augmenter({"copies": 1, "pipeline": [{"gaussian_noise": {"sigma": 10}}]})
    out, _ = aug(image, key="a.png", copy=1)
    assert out.dtype == dtype and out.shape == image.shape
    values = out.astype(np.float64)
    assert abs(values.std() - 10 * scale) < 0.6 * scale, values.std()
    assert abs(values.mean() - level) < 0.5 * scale


def test_gaussian_noise_per_channel_false_adds_one_value_to_every_channel():
    image = np.full((40, 30, 3), 120, np.uint8)
    same, _ = Augmenter({"pipeline": [{"gaussian_noise": {"sigma": 8, "per_channel": False}}]})(image, key="a")
    apart, _ = Augmenter({"pipeline": [{"gaussian_noise": {"sigma": 8}}]})(image, key="a")
    assert (same[..., 0] == same[..., 1]).all() and (same[..., 1] == same[..., 2]).all()
    assert same.std() > 5
    assert (apart[..., 0] != apart[..., 1]).mean() > 0.5


# -- Keras' value rules at their exact boundaries ------------------------------------------------


def _keras_draws(arguments: dict, size=(50, 30), n=200) -> list[dict]:
    aug = Augmenter({"keras": arguments})
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    return [aug(image, key="a.png", copy=copy)[1]["ops"][0] for copy in range(1, n + 1)]


def test_keras_width_shift_one_point_zero_is_one_pixel():
    # Keras: a float < 1 is a fraction of the width, >= 1 is pixels; 1.0 is pixels
    shifts = [op["shift_x"] for op in _keras_draws({"width_shift_range": 1.0})]
    assert all(-1 <= s <= 1 for s in shifts)
    assert max(abs(s) for s in shifts) > 0.9


def test_keras_width_shift_just_below_one_is_a_fraction_of_the_width():
    shifts = [op["shift_x"] for op in _keras_draws({"width_shift_range": 0.99}, size=(50, 30))]
    assert all(-0.99 * 50 <= s <= 0.99 * 50 for s in shifts)
    assert max(abs(s) for s in shifts) > 40


@pytest.mark.parametrize("arguments,axis,allowed", [
    ({"width_shift_range": 1}, "shift_x", {0.0}),  # int n: np.random.choice(n) -> 0 only
    ({"width_shift_range": 3}, "shift_x", {-2.0, -1.0, 0.0, 1.0, 2.0}),
    ({"height_shift_range": 3}, "shift_y", {-2.0, -1.0, 0.0, 1.0, 2.0}),
    ({"width_shift_range": [1, 2]}, "shift_x", {-2.0, -1.0, 1.0, 2.0}),  # a list: a signed choice, pixels
    ({"width_shift_range": [0.5, 1]}, "shift_x", {-1.0, -0.5, 0.5, 1.0}),  # largest 1: pixels
    ({"width_shift_range": [0.1, 0.5]}, "shift_x", {-25.0, -5.0, 5.0, 25.0}),  # largest < 1: x width 50
    ({"height_shift_range": [0.5]}, "shift_y", {-15.0, 15.0}),  # x height 30
])
def test_keras_discrete_shifts_take_exactly_the_keras_values(arguments, axis, allowed):
    drawn = {op[axis] for op in _keras_draws(arguments)}
    assert drawn == allowed


def test_keras_one_pixel_shift_moves_the_content_one_pixel():
    image = np.random.default_rng(0).integers(0, 256, (20, 31, 3), np.uint8)
    aug = Augmenter({"keras": {"width_shift_range": [1], "fill_mode": "nearest"}})
    for copy in range(1, 7):
        out, record = aug(image, key="a.png", copy=copy)
        shift = record["ops"][0]["shift_x"]
        if shift == 1:  # content to the right, the first column repeated (nearest)
            assert (out[:, 1:] == image[:, :-1]).all() and (out[:, 0] == image[:, 0]).all()
        else:
            assert shift == -1
            assert (out[:, :-1] == image[:, 1:]).all() and (out[:, -1] == image[:, -1]).all()


@pytest.mark.parametrize("arguments,ok", [
    ({"zoom_range": 0.999}, True), ({"zoom_range": 1}, False), ({"zoom_range": [0.5, 0.5]}, True),
    ({"zoom_range": [0, 1]}, False), ({"zoom_range": [1.2, 1.1]}, False),
    ({"rotation_range": 360}, True), ({"rotation_range": 360.5}, False), ({"rotation_range": -1}, False),
    ({"shear_range": 80}, True), ({"shear_range": 81}, False),
    ({"channel_shift_range": 255}, True), ({"channel_shift_range": 256}, False),
    ({"width_shift_range": 0}, True), ({"width_shift_range": -0.1}, False), ({"width_shift_range": []}, False),
    ({"brightness_range": [0, 10]}, True), ({"brightness_range": [0.5, 10.5]}, False),
    ({"cval": 255}, True), ({"cval": 255.5}, False),
])
def test_keras_value_rules_at_their_boundaries(run, tmp_path, arguments, ok):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("keras: " + json.dumps(arguments) + "\n")
    result = run("validate", recipe)
    assert result.exit_code == (0 if ok else 2), result.output
    if not ok:
        assert f"keras.{next(iter(arguments))}" in result.output


def test_keras_zoom_range_draws_stay_in_one_minus_to_one_plus():
    for op in _keras_draws({"zoom_range": 0.999}, n=100):
        assert 0.001 - 1e-4 <= op["zoom_x"] <= 1.999 + 1e-4 and 0.001 - 1e-4 <= op["zoom_y"] <= 1.999 + 1e-4
    draws = _keras_draws({"zoom_range": [0.5, 0.7]}, n=100)
    assert all(0.5 <= op["zoom_x"] <= 0.7 and 0.5 <= op["zoom_y"] <= 0.7 for op in draws)
    assert any(op["zoom_x"] != op["zoom_y"] for op in draws), "zx and zy are drawn independently"


# -- cutout on non-square images --------------------------------------------------------------


@pytest.mark.parametrize("w,h", [(100, 40), (40, 100), (41, 41)])
def test_cutout_boxes_are_squares_of_the_shorter_side_inside_the_image(w, h):
    image = np.full((h, w), 255, np.uint8)
    aug = Augmenter({"pipeline": [{"cutout": {"size": 0.5, "count": 1}}]})
    side = round(0.5 * min(w, h))
    corners = set()
    for copy in range(1, 41):
        out, record = aug(image, key="a.png", copy=copy)
        ys, xs = np.nonzero(out == 0)
        assert len(ys) == side * side, (copy, len(ys), side)
        assert xs.max() - xs.min() + 1 == side and ys.max() - ys.min() + 1 == side
        corners.add((int(xs.min()), int(ys.min())))
    # positions cover the free range along the long side (the box is never clipped)
    assert max(x for x, _ in corners) > (w - side) * 0.7 and max(y for _, y in corners) > (h - side) * 0.7


def test_cutout_size_one_erases_the_shorter_side_square():
    image = np.full((30, 80, 3), 200, np.uint8)
    out, _ = Augmenter({"pipeline": [{"cutout": {"size": 1, "value": 10}}]})(image, key="a")
    assert ((out == 10).all(axis=2)).sum() == 30 * 30


# -- an empty pipeline, copies left at its default ------------------------------------------------


def test_an_empty_pipeline_with_the_default_copies_is_a_recipe_error(run, src, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\npipeline: []\n")
    result = run("validate", recipe)
    assert result.exit_code == 2
    assert "pipeline: an empty pipeline would write 1 identical copies of each image" in result.output
    result = run("expand", src, tmp_path / "out", "--recipe", recipe)
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    recipe.write_text("version: 1\ncopies: 0\npipeline: []\n")
    assert run("validate", recipe).exit_code == 0


# -- the manifest: one flushed write per record ------------------------------------------------------


def test_each_manifest_record_is_on_disk_before_the_log_is_closed(tmp_path):
    record = ManifestRecord(path="c/a_aug01.png", source="c/a.png", label="c", split=None, kind="augmented",
                            copy=1, seed=1, ops=(), width=4, height=3, sha256="0" * 64, source_sha256="1" * 64)
    log = AppendLog(OutDir.of(tmp_path), "manifest.jsonl")
    try:
        for n in range(1, 4):
            log.append(record)
            text = (tmp_path / "manifest.jsonl").read_text()
            assert text.count("\n") == n and text.endswith("\n"), "each record whole on disk at once"
            assert json.loads(text.splitlines()[-1])["path"] == "c/a_aug01.png"
    finally:
        log.close()


# -- the pixel bound holds in memory as in expand (the render entry owns it) ------------------------


def test_the_augmenter_bounds_pixels_as_expand_does():
    image = np.zeros((100, 100, 3), np.uint8)
    grow = {"pipeline": [{"rotate": {"angle": 45, "expand": True}}]}  # 142 x 142 = 20,164 pixels
    with pytest.raises(ValueError, match=r"142x142 = 20,164 pixels after rotate, over the limit of 20,000"):
        Augmenter(grow, max_pixels=20_000)(image, key="a.png")
    out, _ = Augmenter(grow, max_pixels=20_164)(image, key="a.png")
    assert out.shape == (142, 142, 3)
    assert Augmenter(grow, max_pixels=0)(image, key="a.png")[0].shape == (142, 142, 3)
    from augcli.errors import RecipeError
    with pytest.raises(RecipeError, match="over the limit of 10,000"):
        Augmenter({"pipeline": [{"resize": {"size": [101, 100]}}]}, max_pixels=10_000)


def test_keras_constant_fill_is_cval_wherever_the_source_is_beyond_the_last_pixel_centre():
    """scipy's constant mode, as Keras fills: a sub-pixel shift leaves the exposed
    edge column exactly cval, never a blend of the edge pixel and cval."""
    image = np.full((12, 20), 180, np.uint8)
    aug = Augmenter({"keras": {"width_shift_range": 1.0, "fill_mode": "constant", "cval": 77}})
    seen = set()
    for copy in range(1, 30):
        out, record = aug(image, key="a.png", copy=copy)
        shift = record["ops"][0]["shift_x"]
        if 0.05 < abs(shift) < 0.95:
            edge = out[:, -1] if shift < 0 else out[:, 0]
            assert (edge == 77).all(), (shift, edge)
            seen.add(shift < 0)
    assert seen == {True, False}


# -- recipe values at the ends of their ranges --------------------------------------------------------


@pytest.mark.parametrize("text,ok", [
    ("output: {quality: 100}", True), ("output: {quality: 101}", False),
    ("output: {quality: 1}", True), ("output: {quality: 0}", False),
    ("output: {background: 0}", True), ("output: {background: 255}", True), ("output: {background: -1}", False),
    ("copies: 100000", True), ("copies: 100001", False),
    ("seed: 9223372036854775807", True), ("seed: 9223372036854775808", False), ("seed: -1", False),
    ("pipeline: [{hflip: {p: 0}}]", True), ("pipeline: [{hflip: {p: 1}}]", True),
    ("pipeline: [{hflip: {p: 1.01}}]", False),
    ("pipeline: [{some_of: {n: 2, of: [hflip, vflip]}}]", True),
    ("pipeline: [{some_of: {n: 3, of: [hflip, vflip]}}]", False),
    ("pipeline: [{some_of: {n: [0, 2], of: [hflip, vflip]}}]", True),
])
def test_recipe_values_at_their_boundaries(run, tmp_path, text, ok):
    recipe = tmp_path / "r.yaml"
    body = text if "pipeline" in text else text + "\npipeline: [hflip]"
    recipe.write_text("version: 1\n" + body + "\n")
    result = run("validate", recipe)
    assert result.exit_code == (0 if ok else 2), result.output


# -- balance with include_originals: false counts only what it writes ---------------------------------


def test_balance_without_originals_writes_the_whole_target(run, tmp_path):
    src = tmp_path / "src"
    for i in range(2):
        make_image(src / "cat" / f"c{i}.png", (20, 16), seed=i)
    for i in range(4):
        make_image(src / "dog" / f"d{i}.png", (20, 16), seed=10 + i)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("include_originals: false\nbalance: {target: 5}\npipeline: [hflip]\n")
    assert run("expand", src, tmp_path / "out", "--recipe", recipe, "-j", "1", src=src).exit_code == 0
    assert len(list((tmp_path / "out" / "cat").glob("*.png"))) == 5
    assert len(list((tmp_path / "out" / "dog").glob("*.png"))) == 5


# -- --max-pixels is inclusive -------------------------------------------------------------------------


def test_an_image_of_exactly_max_pixels_is_used(run, tmp_path):
    src = tmp_path / "src"
    make_image(src / "c" / "a.png", (20, 10), seed=1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 1\npipeline: [hflip]\n")
    result = run("expand", src, tmp_path / "out", "--recipe", recipe, "--max-pixels", "200", "-j", "1", src=src)
    assert result.exit_code == 0 and (tmp_path / "out" / "c" / "a_aug01.png").is_file()
    result = run("expand", src, tmp_path / "out2", "--recipe", recipe, "--max-pixels", "199", "-j", "1", src=src)
    assert not (tmp_path / "out2" / "c" / "a_aug01.png").exists()
    assert "over the limit of 199" in result.output
