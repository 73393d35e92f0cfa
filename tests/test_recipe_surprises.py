"""Recipes that run but seldom do what was meant are said before the run (and
repeats counted after it); ``distinct: true`` never repeats an output of one
source; pasted Keras calls and training-time transforms are read as data."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from augcli.recipe import Recipe
from tests.conftest import load, make_image

FLIPS = "copies: 2\nseed: 7\noutput: {format: png}\npipeline: [{hflip: {p: 0.5}}, {vflip: {p: 0.5}}]\n"


def flat(tmp_path: Path, n: int = 12) -> Path:
    src = tmp_path / "src"
    for i in range(n):
        make_image(src / "cat" / f"c{i:02d}.png", (17 + i, 11), seed=i)
    return src


def pixels(path: Path) -> bytes:
    return np.asarray(load(path)).tobytes()


def repeats_on_disk(out: Path) -> int:
    """Augmented files whose pixels equal their original's or an earlier copy's (the oracle: pixels, not ops)."""
    count = 0
    for original in sorted(out.glob("cat/c??.png")):
        seen = {pixels(original)}
        for copy in sorted(out.glob(f"cat/{original.stem}_aug*.png")):
            count += pixels(copy) in seen
            seen.add(pixels(copy))
    return count


def test_a_pipeline_that_draws_nothing_random_is_said_at_validation_and_after_the_run(run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 2\npipeline:\n  - hflip\n")
    result = run("validate", recipe)
    assert result.exit_code == 0
    assert (f"augcli: warning: {recipe}:2: pipeline: draws nothing at random (no ranges, and every p is 1, where "
            "albumentations and torchvision default to 0.5): its 2 copies of each image are identical; give ops a p "
            "below 1 or a range, or ask for one copy\n") in result.stderr
    src = flat(tmp_path, 3)
    result = run("expand", src, tmp_path / "out", "-r", recipe, "-j", "1")
    assert result.exit_code == 0
    assert ("augcli: warning: 3 augmented images repeat their original or another copy of the same image (the "
            "pipeline draws from few outcomes); add distinct: true to the recipe to draw them again") in result.stderr
    quiet = run("validate", _write(tmp_path, "one.yaml", "copies: 1\npipeline: [hflip]\n"))
    assert "warning" not in quiet.stderr  # one copy: nothing to say


def _write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / name).write_text(text)
    return tmp_path / name


def test_distinct_never_repeats_an_output_of_one_source(run, tmp_path):
    src = flat(tmp_path)
    plain = _write(tmp_path, "flips.yaml", FLIPS)
    warned = run("validate", plain)
    assert "can draw only 4 different outputs" in warned.stderr and "add distinct: true" in warned.stderr
    result = run("expand", src, tmp_path / "plain", "-r", plain, "-j", "1")
    found = repeats_on_disk(tmp_path / "plain")
    assert found > 0 and f"augcli: warning: {found} augmented images repeat" in result.stderr

    distinct = _write(tmp_path, "distinct.yaml", FLIPS + "distinct: true\n")
    assert "warning" not in run("validate", distinct).stderr
    result = run("expand", src, tmp_path / "out", "-r", distinct, "-j", "2")
    assert result.exit_code == 0 and "augmented images repeat" not in result.stderr
    assert repeats_on_disk(tmp_path / "out") == 0
    records = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    redrawn = [r for r in records if r.get("attempt")]
    assert redrawn and all(r["ops"] for r in records if r["kind"] == "augmented")
    assert run("verify", tmp_path / "out", "--source", src).exit_code == 0
    # the copies that needed no new draw are the plain run's copies
    plain_records = {json.loads(line)["path"]: json.loads(line)
                     for line in (tmp_path / "plain" / "manifest.jsonl").read_text().splitlines()}
    for record in records:
        if record["kind"] == "augmented" and not record.get("attempt"):
            assert record["ops"] == plain_records[record["path"]]["ops"]
    # copy k depends on copies 1..k-1 only: one more copy keeps the first two, as --resume relies on
    more = _write(tmp_path, "more.yaml", FLIPS.replace("copies: 2", "copies: 3") + "distinct: true\n")
    resumed = run("expand", src, tmp_path / "out", "-r", more, "-j", "1", "--resume")
    assert "recipe copies 2 -> 3; redone 0, removed 0, new 12" in resumed.stderr
    assert repeats_on_disk(tmp_path / "out") == 0

    # the Augmenter and preview draw what expand wrote
    import augcli

    aug = augcli.Augmenter(Recipe.from_yaml(FLIPS.replace("output: {format: png}\n", "") + "distinct: true\n"))
    for record in records:
        if record["kind"] == "augmented":
            _, got = aug(load(src / record["source"]), key=record["source"], copy=record["copy"])
            assert got["ops"] == record["ops"] and got.get("attempt", 0) == record.get("attempt", 0)


def test_distinct_with_fewer_outcomes_than_copies_is_said_before_the_run_and_bounded(run, tmp_path):
    recipe = _write(tmp_path, "r.yaml", FLIPS.replace("copies: 2", "copies: 5") + "distinct: true\n")
    src = flat(tmp_path, 2)
    result = run("expand", src, tmp_path / "out", "-r", recipe, "-j", "1")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[0] == (
        f"augcli: warning: {recipe}:4: pipeline: distinct: true, but this pipeline can draw at most 3 outputs that "
        "are not the original, fewer than copies 5: 2 copies of each image will repeat one; lower copies, or add ops "
        "or ranges")
    assert "augcli: warning: 4 augmented images repeat" in result.stderr  # 2 per source, and no more


def test_mixed_sizes_and_keras_shear_units_are_said_with_the_fix(run, tmp_path):
    crop = _write(tmp_path, "crop.yaml", "copies: 2\npipeline:\n  - random_resized_crop: {size: 24}\n")
    result = run("validate", crop)
    assert (f"augcli: warning: {crop}:3: pipeline[0].random_resized_crop: random_resized_crop makes copies 24x24 "
            "while the originals keep their own sizes, so each class holds images of mixed sizes; for one size write "
            "output: {size: [24, 24], fit: cover} (scaled and cut to the centre, nothing stretched)\n") in result.stderr
    fixed = _write(tmp_path, "fixed.yaml", crop.read_text() + "output: {size: [24, 24], fit: cover}\n")
    assert "warning" not in run("validate", fixed).stderr
    src = flat(tmp_path, 2)
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", fixed, "-j", "1").exit_code == 0
    assert {load(p).size for p in out.rglob("*.png")} == {(24, 24)}
    shear = _write(tmp_path, "k.yaml", "keras: {rotation_range: 10, shear_range: 0.2}\n")
    assert ("keras.shear_range: 0.2 is in degrees (Keras' unit), a shear of at most 0.2°, which barely shows; if you "
            "meant 0.2 radians, that is 11.5°: write shear_range: 11.5") in run("validate", shear).stderr
    assert "shear_range" not in run("validate", _write(tmp_path, "k2.yaml", "keras: {shear_range: 12}\n")).stderr


def test_a_pasted_keras_call_is_read_as_data_never_run(run, tmp_path):
    mapping = Recipe.from_yaml("keras: {rotation_range: 40, width_shift_range: 0.2, horizontal_flip: true, "
                               "brightness_range: [0.5, 1.5], fill_mode: reflect}\n")
    pasted = [
        "keras: rotation_range=40, width_shift_range=0.2, horizontal_flip=True, brightness_range=(0.5, 1.5), "
        "fill_mode='reflect',\n",
        "keras: |\n  datagen = ImageDataGenerator(rotation_range=40,\n      width_shift_range=0.2,\n"
        "      horizontal_flip=True, brightness_range=[0.5, 1.5], fill_mode=\"reflect\")\n",
        "keras:\n  rotation_range=40,\n  width_shift_range=0.2,\n  horizontal_flip=True,\n"
        "  brightness_range=(0.5, 1.5), fill_mode='reflect',\n",
    ]
    for text in pasted:
        assert Recipe.from_yaml(text) == mapping, text
    with_rescale = Recipe.from_yaml("keras: ImageDataGenerator(rescale=1./255, rotation_range=40)\n", name="nb.yaml")
    assert with_rescale.training_time_arguments() == {"keras.rescale": "1./255"}
    marker = tmp_path / "ran"
    evil = _write(tmp_path, "evil.yaml", f"keras: ImageDataGenerator(rotation_range=__import__('os').system("
                                         f"'touch {marker}'))\n")
    result = run("validate", evil)
    assert result.exit_code == 2 and not marker.exists()
    assert "keras.rotation_range" in result.stderr
    broken = _write(tmp_path, "broken.yaml", "keras: ImageDataGenerator(40, zoom_range=0.2)\n")
    result = run("validate", broken)
    assert result.exit_code == 2 and result.stderr == (
        f"{broken}:1: keras: ImageDataGenerator takes its arguments by name here (found 1 without one); paste the "
        "call as a block (keras: |, then ImageDataGenerator(...) on the next lines), or write a mapping: keras: "
        "{rotation_range: 40, width_shift_range: 0.2}\n")


def test_training_time_transforms_get_a_notice_and_are_listed(run, tmp_path):
    recipe = _write(tmp_path, "r.yaml", "copies: 1\npipeline:\n  - hflip: {p: 0.5}\n"
                                        "  - Normalize: {mean: [0.5], std: [0.5]}\n  - ToTensor\n")
    result = run("validate", recipe)
    assert result.exit_code == 0
    assert (f"augcli: notice: {recipe}:4: pipeline[1].Normalize: {{'mean': [0.5], 'std': [0.5]}} is not applied: "
            "torchvision's and albumentations' Normalize subtracts a mean and divides by a standard deviation for "
            "the model as it reads the images (image files keep their own pixel values), so it belongs in your "
            "training code (expand lists it in augcli.json)") in result.stderr
    assert f"{recipe}:5: pipeline[2].ToTensor: true is not applied" in result.stderr
    assert Recipe.load(recipe).to_plain()["pipeline"] == [{"hflip": {"p": 0.5}}]
    out = tmp_path / "out"
    assert run("expand", flat(tmp_path, 1), out, "-r", recipe, "-j", "1").exit_code == 0
    listed = json.loads((out / "augcli.json").read_text())["training_time_arguments"]
    assert listed == {"pipeline[1].Normalize": {"mean": [0.5], "std": [0.5]}, "pipeline[2].ToTensor": True}


def test_preview_names_the_numbers_of_a_keras_op():
    from augcli._preview import describe_ops

    op = {"op": "keras", "rotate": -0.295, "shift_x": 34.9, "shift_y": 16.5, "shear": 0.0, "zoom_x": 1.02,
          "zoom_y": 0.98, "hflip": True, "vflip": False, "channel_shift": 0.0, "brightness": None, "fill": "edge"}
    assert describe_ops([op]) == "keras rotate -0.295° shift_x 34.9 shift_y 16.5 zoom_x 1.02 zoom_y 0.98 hflip edge"
    assert describe_ops([{"op": "rotate", "angle": -12.3, "fill": "reflect"}]) == "rot -12.3° reflect"
