"""``augcli split``: by source, stratified, deterministic; then ``expand`` never
puts copies of one source in two splits."""
from __future__ import annotations

import json
import random

from augcli.recipe import Recipe
from augcli.split import assign
from tests.conftest import make_image


def tree(root, counts: dict[str, int]):
    for label, n in counts.items():
        for i in range(n):
            make_image(root / label / f"{label}{i:02d}.png", (12 + i, 10), seed=i + 100 * len(label))
    return root


def test_assignment_is_stratified_deterministic_and_independent_of_order():
    by_class = {"cat": [f"cat/{i}.jpg" for i in range(10)], "dog": [f"dog/{i}.jpg" for i in range(7)],
                "one": ["one/a.jpg"], "two": ["two/a.jpg", "two/b.jpg"]}
    chosen = assign(by_class, 0.2, 0.1, seed=3)
    counts = {label: [sum(chosen[p] == s for p in paths) for s in ("train", "val", "test")]
              for label, paths in by_class.items()}
    # round(n * fraction) per class, train keeping at least one image
    assert counts == {"cat": [7, 2, 1], "dog": [5, 1, 1], "one": [1, 0, 0], "two": [2, 0, 0]}
    shuffled = {label: random.Random(1).sample(paths, len(paths)) for label, paths in by_class.items()}
    assert assign(shuffled, 0.2, 0.1, seed=3) == chosen
    assert assign(by_class, 0.2, 0.1, seed=4) != chosen  # the seed decides which images
    # tiny classes with a large validation share still keep one training image
    assert all("train" in assign({"c": ["c/a", "c/b"]}, 0.5, 0.4, seed=s).values() for s in range(5))


def test_split_then_expand_never_puts_copies_of_a_source_in_two_splits(run, tmp_path):
    src = tree(tmp_path / "src", {"cat": 10, "dog": 6})
    split = tmp_path / "split"
    result = run("split", src, split, "--val", "0.2", "--test", "0.2", "--seed", "5", src=src)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["class    train      val     test",
                                          "cat          6        2        2",
                                          "dog          4        1        1"]
    assert result.stderr.endswith("augcli: split 16 images of 2 classes by source into train 10, val 3, test 3 "
                                  f"-> {split} (wrote 16)\n")
    placed = {p.relative_to(split).as_posix() for p in split.rglob("*.png")}
    stems = [p.split("/", 1)[1] for p in placed]
    assert len(stems) == len(set(stems)) == 16  # every source once, in exactly one split
    for path in placed:  # copied byte for byte
        assert (split / path).read_bytes() == (src / path.split("/", 1)[1]).read_bytes()

    out = tmp_path / "out"
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 3\npipeline: [{hflip: {p: 0.5}}, {rotate: {angle: [-10, 10]}}]\n")
    assert run("expand", split, out, "-r", recipe, "-j", "1").exit_code == 0
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    split_of_source = {}
    for record in records:
        name = record["source"].split("/", 1)[1]  # the source image, whatever split it is in
        split_of_source.setdefault(name, set()).add(record["path"].split("/", 1)[0])
        if record["split"] != "train":
            assert record["kind"] == "copied"
    assert all(len(splits) == 1 for splits in split_of_source.values())
    assert sum(r["kind"] == "augmented" for r in records) == 10 * 3


def test_split_again_brings_out_up_to_date_and_refusals(run, tmp_path):
    src = tree(tmp_path / "src", {"cat": 5, "dog": 5})
    split = tmp_path / "split"
    assert run("split", src, split, "--val", "0.4").exit_code == 0
    stamps = {p: p.stat().st_mtime_ns for p in split.rglob("*.png")}
    gone = next(iter(sorted(src.rglob("cat/*.png"))))
    gone.unlink()
    make_image(src / "dog" / "new.png", (20, 20), seed=77)
    result = run("split", src, split, "--val", "0.4")
    assert result.exit_code == 0, result.stderr
    now = {p.relative_to(split).as_posix() for p in split.rglob("*.png")}
    assert {p.split("/", 1)[1] for p in now} == {p.relative_to(src).as_posix() for p in src.rglob("*.png")}
    record = json.loads((split / "split.json").read_text())
    assert set(record["files"]) == now and record["seed"] == 0
    kept = [p for p in stamps if p.exists()]  # same source, same split: not written again
    assert len(kept) >= 7 and all(p.stat().st_mtime_ns == stamps[p] for p in kept)

    # a split interrupted while copying (its record lists the plan, nothing copied yet) is finished by the next
    record["files"] = dict.fromkeys(record["files"])
    record["status"] = "running"
    (split / "split.json").write_text(json.dumps(record))
    missing = sorted(split.rglob("*.png"))[0]
    missing.unlink()
    result = run("split", src, split, "--val", "0.4")
    assert result.exit_code == 0 and missing.exists()
    assert json.loads((split / "split.json").read_text())["status"] == "complete"

    for args, said in (((split, tmp_path / "again"), "is already split"),
                       ((src, tmp_path / "x", "--val", "0.6", "--test", "0.4"), "leave nothing for train")):
        result = run("split", *args)
        assert result.exit_code == 2 and said in result.stderr, result.stderr
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    result = run("split", src, foreign)
    assert result.exit_code == 2 and "has no split.json" in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]


def test_the_validation_split_notice_says_split_by_source_before_augmenting():
    recipe = Recipe.from_yaml("keras: {rotation_range: 10, validation_split: 0.2}\n", name="nb.yaml")
    (notice,) = recipe.notices()
    assert notice == ("nb.yaml:1: keras.validation_split: 0.2 is not applied: splitting augcli's output at training "
                      "time puts augmented copies of one source in both training and validation; split by source "
                      "before augmenting instead: augcli split SRC SPLIT --val 0.2, then augcli expand SPLIT OUT "
                      "(only train/ is augmented)")
