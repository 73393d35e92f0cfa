"""augcli.Augmenter: the recipe in memory, with the pixels expand writes.

The reference for "the same pixels" is the PNG file ``expand`` wrote for the
same source and copy, decoded by Pillow; for the array layouts it is numpy's own
``np.flip`` / ``np.rot90`` on the caller's array.
"""
from __future__ import annotations

import json
import pickle
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import augcli
from augcli.manifest import MANIFEST, read_records
from augcli.recipe import Balance, Output, Recipe

from .conftest import make_image

ROOT = Path(__file__).resolve().parent.parent
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))

# every op that draws randomness of its own (noise seeds, cutout boxes) and a resample
NOISY = """\
seed: 3
pipeline:
  - rotate: {angle: [-30, 30], fill: reflect}
  - gaussian_noise: {sigma: [2, 10]}
  - salt_pepper: {amount: [0.01, 0.05]}
  - cutout: {count: [1, 3], size: [0.1, 0.3], noise: true}
  - brightness: {factor: [0.7, 1.3]}
"""
# expand's last step (output.size) and a change of channels
RESIZED = """\
seed: 5
copies: 2
output: {size: [24, 20]}
pipeline:
  - random_resized_crop: {size: [30, 26]}
  - grayscale: {channels: 1, p: 0.5}
"""


def read(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img)


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> Path:
    """One source per array layout augcli reads from files: RGB, grey, RGBA, 16-bit grey."""
    root = tmp_path_factory.mktemp("online") / "src"
    make_image(root / "cat" / "rgb.jpg", (40, 30), seed=1)
    make_image(root / "cat" / "grey.png", (36, 28), "L", seed=2)
    make_image(root / "dog" / "alpha.png", (34, 30), "RGBA", seed=3)
    make_image(root / "dog" / "deep.png", (30, 34), "I;16", seed=4)
    return root


def lossless(recipe: Recipe) -> Recipe:
    """The recipe writing PNG (lossless), with 2 or 3 copies per source to keep it quick."""
    png = replace(recipe.output, format="png")
    if recipe.balance is not None:  # 2 sources per class: 4 copies each, 2 per source
        return replace(recipe, output=png, balance=Balance(6))
    return replace(recipe, output=png, copies=recipe.copies if recipe.variants else min(recipe.copies, 3))


def for_memory(recipe: Recipe) -> Recipe:
    """The recipe without its file-only settings (which Augmenter refuses)."""
    return replace(recipe, balance=None, include_originals=True, output=Output(size=recipe.output.size))


@pytest.mark.parametrize("source", RECIPES + ["RESIZED"], ids=lambda s: getattr(s, "name", s))
def test_in_memory_result_is_the_file_expand_wrote(source, sources, tmp_path):
    if source == "RESIZED":
        recipe = online = Recipe.from_yaml(RESIZED, "RESIZED")
    else:  # the recipe file itself wherever Augmenter takes it as it is (all but balance.yaml)
        recipe = Recipe.load(source)
        online = source if for_memory(recipe) == recipe else for_memory(recipe)
    out = tmp_path / "out"
    augcli.expand(sources, out, recipe=lossless(recipe), jobs=1)
    aug = augcli.Augmenter(online)
    augmented = [r.to_json() for r in read_records(out / MANIFEST) if r.kind == "augmented"]
    assert len(augmented) >= 8
    for record in augmented:
        image = read(sources / record["source"])  # decoded as a user would, by Pillow
        result, drawn = aug(image, key=record["source"], copy=record["copy"])
        written = read(out / record["path"])
        if image.ndim == 3 and written.ndim == 2:  # grayscale channels 1: HxWx3 in, HxWx1 out
            written = written[..., np.newaxis]
        assert result.dtype == written.dtype and result.shape == written.shape, record["path"]
        assert np.array_equal(result, written), record["path"]
        # the record holds the manifest's values, as the manifest holds them (JSON)
        assert json.loads(json.dumps(drawn["ops"])) == record["ops"]
        assert drawn["seed"] == record["seed"] and drawn["source"] == record["source"]
        assert drawn.get("variant") == record.get("variant")


def test_pil_images_give_the_same_pixels_as_arrays(sources):
    aug = augcli.Augmenter(Recipe.from_yaml(NOISY))
    with Image.open(sources / "cat" / "rgb.jpg") as img:
        pil_result, pil_record = aug(img, key="cat/rgb.jpg", copy=2)
        array_result, array_record = aug(np.asarray(img), key="cat/rgb.jpg", copy=2)
    assert isinstance(pil_result, Image.Image) and pil_result.mode == "RGB"
    assert np.array_equal(np.asarray(pil_result), array_result)
    assert pil_record == array_record


def images() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "uint8 HxW": rng.integers(0, 256, (30, 40), dtype=np.uint8),
        "uint8 HxWx1": rng.integers(0, 256, (30, 40, 1), dtype=np.uint8),
        "uint8 HxWx2": rng.integers(0, 256, (30, 40, 2), dtype=np.uint8),
        "uint8 HxWx3": rng.integers(0, 256, (30, 40, 3), dtype=np.uint8),
        "uint8 HxWx4": rng.integers(0, 256, (30, 40, 4), dtype=np.uint8),
        "uint16 HxW": rng.integers(0, 65536, (30, 40), dtype=np.uint16),
        "uint16 HxWx1": rng.integers(0, 65536, (30, 40, 1), dtype=np.uint16),
        "float32 HxW": rng.random((30, 40), dtype=np.float32),
        "float32 HxWx1": rng.random((30, 40, 1), dtype=np.float32),
        "float32 HxWx3": rng.random((30, 40, 3), dtype=np.float32),
        "float64 HxW": rng.random((30, 40)),
        "float64 HxWx3": rng.random((30, 40, 3)),
    }


@pytest.mark.parametrize("layout", list(images()))
def test_arrays_come_back_in_their_dtype_and_layout(layout):
    image = images()[layout]
    before = image.copy()
    flipped, _ = augcli.Augmenter({"pipeline": ["hflip"]})(image, key="a.png")
    turned, _ = augcli.Augmenter({"pipeline": [{"rot90": {"k": 1}}]})(image, key="a.png")
    untouched, record = augcli.Augmenter({"pipeline": [{"hflip": {"p": 0}}]})(image, key="a.png")
    # numpy is the oracle: channel order, dtype and every value survive the trip
    assert flipped.dtype == image.dtype and np.array_equal(flipped, np.flip(image, axis=1))
    assert turned.dtype == image.dtype and np.array_equal(turned, np.rot90(image))
    assert record["ops"] == [] and np.array_equal(untouched, image)
    assert untouched.flags.writeable and not np.shares_memory(untouched, image)
    assert np.array_equal(image, before)  # the caller's array is never written


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_standard_recipe_on_floats_gives_what_the_augmenter_itself_takes(dtype):
    """Float RGB and grey in 0..1 go through every op of the standard recipe and
    come back in 0..1, in their dtype: accepted as input again."""
    aug = augcli.Augmenter("recipes/standard.yaml")
    rng = np.random.default_rng(3)
    for shape in [(48, 64, 3), (48, 64)]:
        image = rng.random(shape).astype(dtype)
        for copy in range(1, 9):
            out, record = aug(image, key="cat/a.png", copy=copy)
            assert out.dtype == dtype and out.shape == image.shape
            assert 0 <= out.min() and out.max() <= 1
            aug(out, key="cat/a.png", copy=copy)  # the Augmenter's own check passes


def test_float_rgb_gives_the_pixels_of_8_bit_rgb_within_a_level():
    """A float image is augmented as float, not quantised: the same ops on the
    8-bit version of it agree within the 8-bit path's own rounding (the warp
    rounds, half a level, times contrast's or brightness' 1.2, and 8-bit
    brightness truncates, one level, as Pillow's does)."""
    aug = augcli.Augmenter("recipes/standard.yaml")
    eight = images()["uint8 HxWx3"]
    for copy in range(1, 6):
        as_float, _ = aug(eight.astype(np.float32) / 255, key="cat/a.png", copy=copy)
        as_eight, _ = aug(eight, key="cat/a.png", copy=copy)
        assert np.abs(as_float * 255 - as_eight).max() <= 1.6 + 1e-3, copy


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_channels_first_with_layout_chw_comes_back_channels_first(dtype):
    hwc = images()["uint8 HxWx3"].astype(dtype) / (255 if dtype == np.float32 else 1)
    hwc = hwc.astype(dtype)
    chw = np.ascontiguousarray(hwc.transpose(2, 0, 1))
    aug = augcli.Augmenter("recipes/standard.yaml", layout="CHW")
    out, record = aug(chw, key="cat/a.png", copy=3)
    expected, expected_record = augcli.Augmenter("recipes/standard.yaml")(hwc, key="cat/a.png", copy=3)
    assert out.shape == chw.shape and out.dtype == dtype and out.flags.c_contiguous
    assert np.array_equal(out, expected.transpose(2, 0, 1)) and record == expected_record
    per_call, _ = augcli.Augmenter("recipes/standard.yaml")(chw, key="cat/a.png", copy=3, layout="CHW")
    assert np.array_equal(per_call, out)
    with pytest.raises(ValueError, match="layout must be 'HWC' .* or 'CHW' .*, found 'WHC'"):
        augcli.Augmenter("recipes/standard.yaml", layout="WHC")
    with pytest.raises(ValueError, match=r"layout='CHW' takes one image as CxHxW: found a 2-D array"):
        aug(hwc[..., 0], key="cat/a.png")
    with pytest.raises(ValueError, match=r"looks channels-first; pass HxWxC .* or layout='CHW'"):
        augcli.Augmenter("recipes/standard.yaml")(np.zeros((3, 32, 32), np.uint8), key="a.png")


def test_pil_images_come_back_in_their_working_mode():
    aug = augcli.Augmenter({"pipeline": ["hflip"]})
    for mode in ("L", "LA", "RGB", "RGBA", "I;16", "F"):
        img = Image.fromarray(images()["uint8 HxWx3"]).convert("RGBA").convert(mode)
        result, _ = aug(img, key="a.png")
        assert result.mode == mode
        assert np.array_equal(np.asarray(result), np.asarray(img)[:, ::-1])
    # other modes are converted as expand converts a decoded file: a palette to RGB
    palette = Image.fromarray(images()["uint8 HxWx3"]).convert("P")
    result, _ = aug(palette, key="a.png")
    assert result.mode == "RGB" and np.array_equal(np.asarray(result), np.asarray(palette.convert("RGB"))[:, ::-1])
    # nothing fired: a new image all the same, never the caller's own object
    rgb = palette.convert("RGB")
    same, _ = augcli.Augmenter({"pipeline": [{"hflip": {"p": 0}}]})(rgb, key="a.png")
    assert same is not rgb and np.array_equal(np.asarray(same), np.asarray(rgb))


def test_pickled_augmenter_gives_the_same_pixels(tmp_path):
    path = tmp_path / "noisy.yaml"
    path.write_text(NOISY)
    image = images()["uint8 HxWx3"]
    for recipe in (path, Recipe.from_yaml(NOISY), {"seed": 3, "pipeline": [{"gaussian_noise": {"sigma": 5}}]}):
        aug = augcli.Augmenter(recipe, seed=11)
        clone = pickle.loads(pickle.dumps(aug))
        for kwargs in ({"copy": 2}, {"epoch": 4}):
            ours, record = aug(image, key="cat/1.jpg", **kwargs)
            theirs, cloned_record = clone(image, key="cat/1.jpg", **kwargs)
            assert np.array_equal(ours, theirs) and record == cloned_record


def test_threads_give_the_same_results_as_one_thread():
    aug = augcli.Augmenter(Recipe.from_yaml(NOISY))
    rng = np.random.default_rng(1)
    work = [(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8), f"cat/{i}.jpg", 1 + i % 3) for i in range(24)]

    def one(item):
        image, key, copy = item
        return aug(image, key=key, copy=copy)

    serial = [one(item) for item in work]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(one, work))
    assert all(np.array_equal(a, b) and ra == rb for (a, ra), (b, rb) in zip(serial, threaded))
    assert len({r["seed"] for _, r in serial}) == len(serial)


def test_epochs_draw_afresh_and_repeat():
    aug = augcli.Augmenter(ROOT / "recipes" / "standard.yaml")
    image = images()["uint8 HxWx3"]
    epochs = [aug(image, key="cat/1.jpg", epoch=e) for e in range(6)]
    again = [aug(image, key="cat/1.jpg", epoch=e) for e in range(6)]
    assert all(np.array_equal(a, b) and ra == rb for (a, ra), (b, rb) in zip(epochs, again))
    assert len({json.dumps(r["ops"]) for _, r in epochs}) == 6
    assert [r["epoch"] for _, r in epochs] == list(range(6))
    # no epoch repeats a copy expand writes, and copy keys epochs too
    copies = {aug(image, key="cat/1.jpg", copy=c)[1]["seed"] for c in range(1, 9)}
    assert not copies & {r["seed"] for _, r in epochs}
    assert aug(image, key="cat/1.jpg", copy=2, epoch=0)[1]["seed"] != epochs[0][1]["seed"]


def test_an_explicit_generator_is_used_as_given():
    aug = augcli.Augmenter(Recipe.from_yaml(NOISY))
    image = images()["uint8 HxWx3"]
    first, record = aug(image, rng=np.random.default_rng(42))
    second, again = aug(image, rng=np.random.default_rng(42))
    other, different = aug(image, rng=np.random.default_rng(43))
    assert np.array_equal(first, second) and record == again and record["seed"] is None
    assert different["ops"] != record["ops"]


def test_variants_are_picked_by_copy():
    aug = augcli.Augmenter(ROOT / "recipes" / "variants.yaml")
    image = images()["uint8 HxWx3"]
    results = {r["variant"]: out for out, r in (aug(image, key="a.png", copy=c) for c in (1, 2, 3))}
    assert np.array_equal(results["hflip"], image[:, ::-1])
    assert np.array_equal(results["vflip"], image[::-1])
    assert np.array_equal(results["rot180"], image[::-1, ::-1])
    with pytest.raises(ValueError, match=r"copy 4 names no variant: this recipe has 3 \(1 hflip, 2 vflip, 3 rot180\)"):
        aug(image, key="a.png", copy=4)


FILE_ONLY = """\
version: 1
seed: 1
include_originals: false
output: {format: jpeg, quality: 80, size: [32, 32]}
balance: {target: max}
classes:
  cat: {exclude: [hflip]}
pipeline:
  - hflip: {p: 0.5}
  - vflip: {p: 0.5}
"""


def test_settings_only_for_files_are_refused_together(tmp_path):
    path = tmp_path / "files.yaml"
    path.write_text(FILE_ONLY)
    with pytest.raises(augcli.RecipeError) as caught:
        augcli.Augmenter(path)
    lines = str(caught.value).splitlines()
    assert [(p.path, p.line) for p in caught.value.problems] == [
        ("include_originals", 3), ("output.format", 4), ("output.quality", 4), ("balance", 5), ("classes", 6)]
    assert all(line.startswith(f"{path}:") and "only for files" in line for line in lines)
    assert "sampler" in lines[3] and "one Augmenter per class" in lines[4]
    # defaults written out, copies and output.size are accepted
    augcli.Augmenter({"copies": 9, "include_originals": True, "output": {"format": "same", "quality": 95,
                                                                         "size": [8, 8]}, "pipeline": ["hflip"]})


def test_recipe_errors_are_the_clis(tmp_path, run):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\npipeline:\n  - rotat: {angle: 5}\n  - hflip: {p: 2}\n")
    result = run("validate", path)
    with pytest.raises(augcli.RecipeError) as caught:
        augcli.Augmenter(path)
    assert result.exit_code == 2 and str(caught.value) in result.stderr
    with pytest.raises(augcli.RecipeError, match=r"^<dict>: pipeline\[0\]\.rotat: unknown op 'rotat'"):
        augcli.Augmenter({"pipeline": [{"rotat": {"angle": 5}}]})
    with pytest.raises(augcli.RecipeError, match="only plain values"):
        augcli.Augmenter({"pipeline": [{"rotate": {"angle": np.float64(5)}}]})
    with pytest.raises(augcli.AugcliError, match="recipe file not found: nowhere.yaml"):
        augcli.Augmenter("nowhere.yaml")


@pytest.mark.parametrize("image, message", [
    (np.zeros((2, 8, 8, 3), np.uint8), r"one image at a time, HxW or HxWxC: found a 4-D array"),
    (np.zeros((3, 32, 32), np.uint8), r"shape \(3, 32, 32\) looks channels-first; pass HxWxC"),
    (np.zeros((8, 8, 3), np.uint16), r"a uint16 array with 3 channel\(s\) .* is not supported; supported: uint8 HxW"),
    (np.zeros((8, 8, 2), np.float32), r"a float32 array with 2 channel\(s\) .* is not supported"),
    (np.zeros((8, 8), np.float16), r"a float16 array with 1 channel\(s\) .* is not supported"),
    (np.full((8, 8, 3), 1.5), r"float64 images hold values in 0..1; found 1.5..1.5"),
    (np.zeros((8, 8), np.int32), r"a int32 array"),
    (np.zeros((8, 8), bool), r"a bool array"),
    (np.full((8, 8), 255.0, np.float32), r"float32 images hold values in 0..1; found 255..255"),
    (np.full((8, 8), np.nan, np.float32), r"float32 images hold values in 0..1; found nan..nan"),
    (np.zeros((0, 8), np.uint8), r"an image needs pixels: found an array of shape \(0, 8\)"),
])
def test_arrays_augcli_cannot_augment_are_refused_clearly(image, message):
    with pytest.raises(ValueError, match=message):
        augcli.Augmenter({"pipeline": ["hflip"]})(image, key="a.png")


def test_calls_without_a_key_or_with_bad_arguments_are_refused():
    aug = augcli.Augmenter({"pipeline": ["hflip"]})
    image = images()["uint8 HxW"]
    with pytest.raises(TypeError, match="pass key= .* or rng= a numpy.random.Generator"):
        aug(image)
    with pytest.raises(TypeError, match="pass either rng= or key="):
        aug(image, key="a.png", rng=np.random.default_rng())
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, found RandomState"):
        aug(image, rng=np.random.RandomState(0))
    with pytest.raises(TypeError, match="key must be a str"):
        aug(image, key=Path("a.png"))
    with pytest.raises(ValueError, match="copy must be an integer >= 1"):
        aug(image, key="a.png", copy=0)
    with pytest.raises(ValueError, match="epoch must be an integer >= 0, found -1"):
        aug(image, key="a.png", epoch=-1)
    with pytest.raises(TypeError, match="image must be a PIL image or a numpy array, found list"):
        aug([[0, 1], [2, 3]], key="a.png")
    with pytest.raises(ValueError, match=r"--seed / seed=: found -1; allowed: a whole number from 0 to "):
        augcli.Augmenter({"pipeline": ["hflip"]}, seed=-1)


def test_an_op_that_fails_on_an_image_is_one_clear_error(monkeypatch):
    """Every built-in op takes every mode now (tests/ops/test_modes.py); a kernel
    that raises (a plugin's, say) still gives one line naming the image, the ops
    and the mode."""
    from dataclasses import replace

    from augcli.ops import REGISTRY

    def refuses(img, **_):
        raise ValueError("no float images here")

    monkeypatch.setitem(REGISTRY, "sharpen", replace(REGISTRY["sharpen"], kernel=refuses))
    aug = augcli.Augmenter({"pipeline": [{"sharpen": {"factor": 2}}]})
    with pytest.raises(ValueError, match=r"cannot augment a.tif \(sharpen\) in mode F: ValueError: no float"):
        aug(images()["float32 HxW"], key="a.tif")


def test_importing_augcli_and_naming_augmenter_loads_no_image_library():
    import subprocess
    import sys

    code = "import sys, augcli; print(sorted(m for m in ('numpy', 'PIL', 'cv2') if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"
    assert "Augmenter" in augcli.__all__ and augcli.Augmenter.__module__ == "augcli.augmenter"


def readme_example(name: str) -> tuple[str, str | None]:
    """The python block after ``<!-- example: NAME -->`` in the README, and the
    plain block right after it (its printed output), if any."""
    text = (ROOT / "README.md").read_text()
    after = text.split(f"<!-- example: {name} -->\n", 1)[1]
    code = after.split("```python\n", 1)[1].split("```\n", 1)[0]
    rest = after.split("```python\n", 1)[1].split("```\n", 1)[1].lstrip("\n")
    output = rest.split("```\n", 1)[1].split("```\n", 1)[0] if rest.startswith("```\n") else None
    return code, output


def test_readme_examples_run(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)  # the examples use recipes/ and sample_data/
    code, output = readme_example("reproduce")
    exec(code, {})
    assert capsys.readouterr().out == output

    namespace: dict = {}
    exec(readme_example("dataset")[0], namespace)
    dataset = namespace["dataset"]
    assert len(dataset) == len(list((ROOT / "sample_data").glob("*/*.*")))
    image, label = dataset[5]
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8
    assert dataset.classes[label] == dataset.keys[5].split("/")[0]
    batch = np.stack([dataset[i][0] for i in range(4)])  # what a loader's default collate stacks
    assert batch.shape == (4, 128, 128, 3)
    again = dataset[5][0]
    dataset.epoch = 1
    assert np.array_equal(again, image) and not np.array_equal(dataset[5][0], image)
    source = np.asarray(Image.open(ROOT / "sample_data" / dataset.keys[5]).convert("RGB"))
    assert np.array_equal(dataset[5][0], augcli.Augmenter(namespace["RECIPE"])(source, key=dataset.keys[5], epoch=1)[0])

    exec(readme_example("tf-data")[0], namespace)
    sources = np.random.default_rng(2).integers(0, 256, (3, 60, 80, 3), dtype=np.uint8)
    keys = np.array([b"cat/1.jpg", b"cat/2.jpg", b"dog/1.jpg"], dtype=object)  # tf.string arrives as bytes
    augmented = namespace["augment_batch"](sources, keys, np.int64(2))
    aug = augcli.Augmenter(namespace["RECIPE"])
    assert augmented.shape == (3, 128, 128, 3) and augmented.dtype == np.uint8
    for out, image, key in zip(augmented, sources, ["cat/1.jpg", "cat/2.jpg", "dog/1.jpg"]):
        assert np.array_equal(out, aug(image, key=key, epoch=2)[0])


def test_training_time_keras_arguments_get_the_clis_notice(tmp_path):
    path = tmp_path / "pasted.yaml"
    path.write_text("keras:\n  rotation_range: 10\n  rescale: 0.5\n")
    with pytest.warns(UserWarning) as caught:
        aug = augcli.Augmenter(path)
    assert [str(w.message) for w in caught] == Recipe.load(path).notices()
    assert "keras.rescale: 0.5 is not applied" in str(caught[0].message)
    assert aug(images()["uint8 HxWx3"], key="a.png")[1]["ops"][0]["op"] == "keras"
