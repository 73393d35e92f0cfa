"""The onnx op against numpy: tiny graphs built here (tests/ops/onnx_models.py)
whose effect is known in closed form; the one-line refusals before anything
is written; the model's sha256 in the manifest, replay and --resume; one load
per worker."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augcli.errors import RecipeError
from augcli.ops import REGISTRY, models
from augcli.recipe import Recipe

from ..conftest import make_image, tree_digest
from .onnx_models import IDENTITY, SWAP, flattening, mixing

KERNEL = REGISTRY["onnx"].kernel
DEFAULTS = {"sha256": None, "size": None, "scale": 1.0, "mean": 0.0, "std": 1.0, "order": "rgb", "strength": 1.0}


def noise(shape, dtype=np.uint8, top=255, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, top + 1, shape).astype(dtype)


def blend(x: np.ndarray, y: np.ndarray, strength: float, top=255) -> np.ndarray:
    """The documented blend, in float64, rounded half to even and clipped once."""
    out = (1 - strength) * x.astype(np.float64) + strength * y
    return np.clip(np.rint(out), 0, top)


def test_a_channel_swap_model_swaps_red_and_blue(tmp_path):
    model = str(mixing(tmp_path / "swap.onnx", SWAP))
    arr = noise((30, 41, 3))
    out = np.asarray(KERNEL(Image.fromarray(arr), **{**DEFAULTS, "model": model}))
    np.testing.assert_array_equal(out, arr[..., ::-1])


def test_a_scaling_model_blended_at_a_strength_matches_numpy(tmp_path):
    gains = [0.5, 1.0, 1.7]
    model = str(mixing(tmp_path / "gain.onnx", np.diag(gains), bias=[10, 0, -20]))
    arr = noise((17, 23, 3), seed=1)
    out = np.asarray(KERNEL(Image.fromarray(arr), **{**DEFAULTS, "model": model, "strength": 0.6})).astype(int)
    model_out = arr * np.array(gains) + np.array([10, 0, -20])
    np.testing.assert_allclose(out, blend(arr, model_out, 0.6), atol=1)  # float32 inside the model


def test_normalisation_is_undone_on_the_output_and_order_picks_the_channel(tmp_path):
    arr = noise((12, 16, 3), seed=2)
    imagenet = {"scale": 1 / 255, "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    identity = str(mixing(tmp_path / "id.onnx", IDENTITY))
    out = np.asarray(KERNEL(Image.fromarray(arr), **{**DEFAULTS, **imagenet, "model": identity})).astype(int)
    assert np.abs(out - arr).max() <= 1  # normalised in, un-normalised out
    first_doubled = str(mixing(tmp_path / "first.onnx", np.diag([2.0, 1.0, 1.0])))
    rgb = np.asarray(KERNEL(Image.fromarray(arr), **{**DEFAULTS, "model": first_doubled})).astype(int)
    bgr = np.asarray(KERNEL(Image.fromarray(arr), **{**DEFAULTS, "model": first_doubled, "order": "bgr"})).astype(int)
    np.testing.assert_array_equal(rgb, np.clip(arr * [2, 1, 1], 0, 255))  # the model's first channel is red
    np.testing.assert_array_equal(bgr, np.clip(arr * [1, 1, 2], 0, 255))  # ... or blue


def test_alpha_is_kept_grey_goes_through_luma_and_16_bit_keeps_its_depth(tmp_path):
    model = str(mixing(tmp_path / "gain.onnx", np.diag([0.5, 0.5, 0.5])))
    rgba = noise((9, 11, 4), seed=3)
    out = np.asarray(KERNEL(Image.fromarray(rgba), **{**DEFAULTS, "model": model}))
    np.testing.assert_array_equal(out[..., 3], rgba[..., 3])
    np.testing.assert_allclose(out[..., :3], np.rint(rgba[..., :3] * 0.5), atol=1)
    grey = noise((9, 11), seed=4)
    out = np.asarray(KERNEL(Image.fromarray(grey), **{**DEFAULTS, "model": model}))
    assert out.shape == grey.shape and np.abs(out.astype(int) - np.rint(grey * 0.5)).max() <= 1
    deep = noise((9, 11), np.uint16, 65535, seed=5)
    out = KERNEL(Image.fromarray(deep), **{**DEFAULTS, "model": model})
    assert out.mode == "I;16"
    assert np.abs(np.asarray(out).astype(int) - np.rint(deep * 0.5)).max() <= 65535 / 255


def test_a_fixed_size_model_gets_the_image_resized_and_back(tmp_path):
    model = str(mixing(tmp_path / "fixed.onnx", SWAP, shape=(1, 3, 8, 8)))
    arr = np.full((30, 41, 3), (200, 100, 20), np.uint8)  # flat: resizing changes no value
    with pytest.raises(RecipeError, match=r"fixed.onnx takes a fixed 8x8 input: set size: \[8, 8\]"):
        Recipe.from_dict({"pipeline": [{"onnx": {"model": model}}]})
    with pytest.raises(RecipeError, match=r"size \[16, 8\] does not fit .*fixed.onnx, which takes a fixed 8x8"):
        Recipe.from_dict({"pipeline": [{"onnx": {"model": model, "size": [16, 8]}}]})
    out = np.asarray(KERNEL(Image.fromarray(arr), **{**DEFAULTS, "model": model, "size": (8, 8)}))
    assert out.shape == arr.shape
    np.testing.assert_array_equal(out, arr[..., ::-1])


def test_the_model_is_loaded_once_per_worker(tmp_path, monkeypatch):
    model = str(mixing(tmp_path / "swap.onnx", SWAP))
    loads = []
    real = models._load
    monkeypatch.setattr(models, "_load", lambda data: loads.append(1) or real(data))
    monkeypatch.setattr(models, "_NETS", type(models._NETS)())
    step = Recipe.from_dict({"pipeline": [{"onnx": {"model": model}}]}).pipeline[0]
    params = {name: value.value for name, value in step.params}
    for seed in range(4):
        KERNEL(Image.fromarray(noise((8, 8, 3), seed=seed)), **params)
    assert len(loads) == 1  # at validation; the kernel found it in the cache


# -- refusals: one line each, before anything is written ------------------------------------------


def expand_refused(run, tmp_path, onnx_params: dict) -> str:
    src = tmp_path / "src"
    make_image(src / "a" / "x.png", (20, 16))
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\npipeline:\n  - onnx: {json.dumps(onnx_params)}\n")
    result = run("expand", src, tmp_path / "out", "-r", recipe)
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    return lines[0]


def test_a_missing_model_file(run, tmp_path):
    line = expand_refused(run, tmp_path, {"model": str(tmp_path / "nowhere.onnx")})
    assert line.endswith(f"r.yaml:3: pipeline[0].onnx.model: model file {tmp_path / 'nowhere.onnx'} not found (a "
                         "relative path is read from the folder augcli runs in; augcli never downloads models)")


def test_a_file_that_is_no_model(run, tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"this is not protobuf")
    line = expand_refused(run, tmp_path, {"model": str(tmp_path / "junk.onnx")})
    assert f"pipeline[0].onnx.model: {tmp_path / 'junk.onnx'} is not an ONNX model OpenCV can read:" in line


def test_a_model_with_the_wrong_input_shape(run, tmp_path):
    grey_model = mixing(tmp_path / "grey.onnx", [[1.0]], shape=(1, 1, "H", "W"))
    line = expand_refused(run, tmp_path, {"model": str(grey_model)})
    assert line.endswith(f"pipeline[0].onnx.model: {grey_model} takes an input of shape 1x1x?x?; the onnx op gives "
                         "a 1x3xHxW image (N, channels, H, W)")


def test_a_model_whose_output_is_not_an_image(run, tmp_path):
    flat = flattening(tmp_path / "flat.onnx")
    line = expand_refused(run, tmp_path, {"model": str(flat)})
    assert line.endswith(f"pipeline[0].onnx.model: {flat} gives an output of shape 1x12288, which is not an image "
                         "(1x3xHxW or 1x1xHxW)")


# -- the model's sha256: recorded, and another file refused ----------------------------------------


def test_the_sha256_is_recorded_and_replay_and_resume_refuse_another_file(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "src"
    make_image(src / "a" / "x.png", (20, 16), seed=1)
    make_image(src / "a" / "y.png", (18, 24), seed=2)
    model = mixing(Path("models") / "style.onnx", SWAP)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 2\npipeline:\n  - onnx: {model: models/style.onnx, strength: [0.5, 1]}\n")
    assert run("expand", src, "out", "-r", recipe, "-j", "1").exit_code == 0
    digest = __import__("hashlib").sha256(model.read_bytes()).hexdigest()
    recorded = json.loads(Path("out/augcli.json").read_text())["recipe"]["pipeline"][0]["onnx"]
    assert recorded["model"] == "models/style.onnx" and recorded["sha256"] == digest
    rows = [json.loads(line) for line in Path("out/manifest.jsonl").read_text().splitlines()]
    assert {op["sha256"] for row in rows for op in row["ops"]} == {digest}
    assert run("replay", "out/manifest.jsonl", src, "again").exit_code == 0
    assert tree_digest(Path("again"), exclude=("augcli.json", "manifest.jsonl")) == \
        tree_digest(Path("out"), exclude=("augcli.json", "manifest.jsonl"))

    mixing(model, IDENTITY)  # another model under the same name
    refused = run("replay", "out/manifest.jsonl", src, "again2")
    assert refused.exit_code == 2 and not Path("again2").exists()
    assert "onnx.sha256: model file models/style.onnx has sha256" in refused.stderr
    assert "the file has changed since this recipe was written" in refused.stderr
    resumed = run("expand", src, "out", "-r", recipe, "--resume")
    assert resumed.exit_code == 2
    assert resumed.stderr.startswith(f"augcli: error: --resume: out was made with other model files: model file "
                                     f"models/style.onnx changed (sha256 {digest[:12]}... recorded, ")


def test_worker_processes_write_what_one_process_writes(run, tmp_path, monkeypatch):
    """Each loky worker loads the model itself (once) and writes the same bytes as -j 1.
    (An absolute path: this test process's loky workers may have been started
    by an earlier test, in another current folder.)"""
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "src"
    for i in range(6):
        make_image(src / "a" / f"{i}.png", (24, 18), seed=i)
    model = mixing(tmp_path / "m.onnx", np.diag([0.6, 1.2, 0.9]), bias=[5, -3, 0])
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\ncopies: 2\npipeline:\n  - onnx: {{model: {model}, strength: [0.3, 1]}}\n")
    assert run("expand", src, "one", "-r", recipe, "-j", "1", "-q").exit_code == 0
    assert run("expand", src, "two", "-r", recipe, "-j", "2", "-q").exit_code == 0
    assert tree_digest(Path("two")) == tree_digest(Path("one"))
