"""Dataset-level features: class balancing, per-class rules, and their errors."""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import pytest

from augcli.plan import make_plan
from augcli.recipe import Recipe
from augcli.scan import scan

from .conftest import make_image


@pytest.fixture
def uneven(tmp_path: Path) -> Path:
    """cat: 7 images, dog: 3, bird: 1, fish: none."""
    root = tmp_path / "uneven"
    for label, n in {"cat": 7, "dog": 3, "bird": 1}.items():
        for i in range(n):
            make_image(root / label / f"{label}{i}.png", (24, 16), seed=i)
    (root / "fish").mkdir()
    return root


def per_class(root: Path, text: str) -> tuple[dict[str, int], dict[str, list[int]]]:
    """Outputs per class, and augmented copies per source of each class."""
    plan = make_plan(scan(root), Recipe.from_yaml(text))
    totals, copies = Counter(), {}
    for task in plan.tasks():
        totals[task.source.label] += len(task.targets)
        copies.setdefault(task.source.label, []).append(sum(t.kind == "augmented" for t in task.targets))
    return dict(totals), copies


def test_balance_max_tops_every_class_up_to_the_largest(uneven):
    totals, copies = per_class(uneven, "pipeline: [hflip]\nbalance: {target: max}")
    assert totals == {"cat": 7, "dog": 7, "bird": 7}
    assert copies == {"cat": [0] * 7, "dog": [2, 1, 1], "bird": [6]}  # spread evenly, remainder first


def test_balance_to_a_number_and_a_target_below_a_class(uneven):
    totals, copies = per_class(uneven, "pipeline: [hflip]\nbalance: {target: 5}")
    assert totals == {"cat": 7, "dog": 5, "bird": 5}  # never removes images
    assert copies["cat"] == [0] * 7
    totals, copies = per_class(uneven, "include_originals: false\npipeline: [hflip]\nbalance: {target: 10}")
    assert totals == {"cat": 10, "dog": 10, "bird": 10}
    assert copies["cat"] == [2, 2, 2, 1, 1, 1, 1]


def test_a_per_class_balance_target_augments_only_the_classes_it_names(uneven):
    totals, copies = per_class(uneven, "pipeline: [hflip]\nbalance: {target: {dog: 9}}")
    assert totals == {"cat": 7, "dog": 9, "bird": 1}
    assert copies["cat"] == [0] * 7 and copies["bird"] == [0]
    totals, _ = per_class(uneven, "pipeline: [hflip]\nbalance: {target: {dog: 9}}\nclasses: {bird: {copies: 2}}")
    assert totals == {"cat": 7, "dog": 9, "bird": 3}  # a class rule's own copies still apply


def test_class_rules_override_copies_and_exclude_ops(uneven, run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 4\npipeline:\n  - hflip: {p: 0.5}\n  - vflip: {p: 0.5}\n"
                      "  - one_of: [{rot90: {k: [1, 3]}}, {brightness: {factor: [0.8, 1.2]}}]\n"
                      "classes:\n  dog: {exclude: [hflip, rot90]}\n  bird: {copies: 1}\n")
    out = tmp_path / "out"
    assert run("expand", uneven, out, "-r", recipe, "-j", "1", src=uneven).exit_code == 0
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    dog_ops = {op["op"] for r in records if r["label"] == "dog" for op in r["ops"]}
    cat_ops = {op["op"] for r in records if r["label"] == "cat" for op in r["ops"]}
    assert "hflip" not in dog_ops and "rot90" not in dog_ops and "brightness" in dog_ops
    assert {"hflip", "rot90"} <= cat_ops
    assert sum(r["label"] == "bird" and r["kind"] == "augmented" for r in records) == 1


def test_variants_using_an_excluded_op_are_left_out_for_that_class(uneven):
    plan = make_plan(scan(uneven), Recipe.from_yaml(
        "variants: {h: [hflip], r: [{rot90: {k: 2}}]}\nclasses: {dog: {exclude: [hflip]}}"))
    names = {t.path for task in plan.tasks() for t in task.targets}
    assert "dog/dog0_r.png" in names and "dog/dog0_h.png" not in names and "cat/cat0_h.png" in names


def test_unknown_class_names_are_errors_with_the_real_ones(uneven, run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("pipeline: [hflip]\nclasses:\n  dgo: {copies: 2}\n")
    result = run("expand", uneven, tmp_path / "out", "-r", recipe)
    assert result.exit_code == 2
    assert result.stderr == (f"{recipe}:3: classes.dgo: no class 'dgo' in SRC; its classes are: bird, cat, dog, "
                             "fish (did you mean 'dog'?)\n")


def test_dry_run_shows_the_balance_plan(uneven, run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("pipeline: [hflip]\n")
    result = run("expand", uneven, tmp_path / "out", "-r", recipe, "--balance", "max", "--dry-run")
    assert result.exit_code == 0
    assert [line.split() for line in result.stdout.splitlines()[:5]] == [
        ["class", "before", "after"], ["bird", "1", "7"], ["cat", "7", "7"], ["dog", "3", "7"], ["total", "11", "21"]]


def test_balance_recipe_errors():
    from augcli.errors import RecipeError

    with pytest.raises(RecipeError, match="copies does not apply with balance"):
        Recipe.from_yaml("copies: 3\npipeline: [hflip]\nbalance: {target: max}")
    with pytest.raises(RecipeError, match="copies does not apply with balance"):
        Recipe.from_yaml("copies: 3\npipeline: [hflip]\nbalance: {target: {cat: 5}}")
    with pytest.raises(RecipeError, match="balance.target: 'most' is not an integer"):
        Recipe.from_yaml("pipeline: [hflip]\nbalance: {target: most}")
    with pytest.raises(RecipeError, match=r"classes.cat.exclude\[0\]: unknown op 'hflp' \(did you mean 'hflip'"):
        Recipe.from_yaml("pipeline: [hflip]\nclasses: {cat: {exclude: [hflp]}}")


def test_manifest_as_csv_and_stats(run, src, recipe, tmp_path):
    import csv
    import io

    out = tmp_path / "out"
    run("expand", src, out, "-r", recipe, "-j", "1")
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    rows = list(csv.DictReader(io.StringIO(run("manifest", out).stdout)))
    assert [r["path"] for r in rows] == [r["path"] for r in records]
    first_aug = next(r for r in rows if r["kind"] == "augmented")
    assert first_aug["ops"].split("; ")[0].split("(")[0] == records[1]["ops"][0]["op"]
    assert run("manifest", out, "--format", "jsonl").stdout == (out / "manifest.jsonl").read_text()

    summary = json.loads(run("stats", out, "--json").stdout)
    assert summary["classes"]["cat"] == {"sources": 4, "written": 16, "original": 4, "augmented": 12}
    fired = Counter(op["op"] for r in records for op in r["ops"])
    assert {k: v["fired"] for k, v in summary["ops"].items()} == dict(fired)
    angles = [op["angle"] for r in records for op in r["ops"] if op["op"] == "rotate"]
    assert summary["params"]["rotate.angle"]["min"] == min(angles) and -20 <= min(angles)
    text = run("stats", out).stdout
    assert text.splitlines()[0].split() == ["class", "sources", "written", "augmented"]
    assert "rotate.angle" in text
    missing = run("stats", tmp_path)
    assert missing.exit_code == 2 and "has no manifest.jsonl" in missing.stderr


def test_python_api_matches_the_cli(run, src, recipe, tmp_path):
    import augcli

    summary = augcli.expand(src, tmp_path / "api", recipe=augcli.Recipe.load(recipe), jobs=1)
    assert (summary.sources, summary.written, summary.skipped) == (6, 24, 0)
    run("expand", src, tmp_path / "cli", "-r", recipe, "-j", "1")
    from .conftest import tree_digest

    assert tree_digest(tmp_path / "api") == tree_digest(tmp_path / "cli")
    sheet = augcli.preview(src, recipe, images=2, variants=2)
    assert sheet.mode == "RGB" and sheet.width > 2 * 192
    assert augcli.verify(tmp_path / "api", src).ok
    with pytest.raises(augcli.RecipeError):
        augcli.Recipe.from_yaml("pipeline: [hflp]")


def policy_draws(text: str, n: int = 600, size=(331, 200)) -> list[list[dict]]:
    from augcli.sampling import item_rng, sample

    recipe = Recipe.from_yaml("pipeline:\n  - " + text)
    return [[op.to_json() for op in sample(recipe.pipeline, item_rng(2, "p.jpg", c)[0], size)] for c in range(n)]


PUBLISHED = {  # op -> (largest magnitude in its unit, as the papers / torchvision), for RandAugment m=30, TA wide
    "randaugment": {"rotate": 30.0, "shear": math.degrees(math.atan(0.3)), "translate": 150.0,
                    "factor": 0.9, "bits": (4, 8)},
    "trivialaugment": {"rotate": 135.0, "shear": math.degrees(math.atan(0.99)), "translate": 32.0,
                       "factor": 0.99, "bits": (2, 8)},
}
POLICY_OPS = {"shear", "translate", "rotate", "brightness", "saturation", "contrast", "sharpen", "posterize",
              "solarize", "autocontrast", "equalize"}


@pytest.mark.parametrize("policy,text", [("randaugment", "randaugment: {n: 2, m: 30}"),
                                         ("randaugment", "randaugment: {n: 3, m: 9}"),
                                         ("trivialaugment", "trivialaugment: {}")])
def test_policies_expand_to_plain_ops_within_the_published_ranges(policy, text):
    limits = PUBLISHED[policy]
    seen = Counter()
    for ops in policy_draws(text):
        assert len(ops) <= (int(text.split("n: ")[1][0]) if "n:" in text else 1)
        for op in ops:
            seen[op["op"]] += 1
            name = op["op"]
            assert name in POLICY_OPS
            if name == "rotate":
                assert abs(op["angle"]) <= limits["rotate"] + 1e-6
            elif name == "shear":
                assert max(abs(op["x"]), abs(op["y"])) <= limits["shear"] + 1e-3 and 0 in (op["x"], op["y"])
            elif name == "translate":
                assert max(abs(op["x"]), abs(op["y"])) <= limits["translate"] + 1e-6
            elif name in ("brightness", "saturation", "contrast", "sharpen"):
                assert abs(op["factor"] - 1) <= limits["factor"] + 1e-6
            elif name == "posterize":
                assert limits["bits"][0] <= op["bits"] <= limits["bits"][1]
            elif name == "solarize":
                assert 0 <= op["threshold"] <= 255
    assert set(seen) == POLICY_OPS  # every operation of the published list shows up
    if "m: 30" in text:
        rotations = [op["angle"] for ops in policy_draws(text) for op in ops if op["op"] == "rotate"]
        assert {abs(a) for a in rotations} == {30.0}  # RandAugment uses exactly magnitude bin m


def test_policy_outputs_replay_from_the_manifest(run, src, tmp_path):
    recipe = tmp_path / "p.yaml"
    recipe.write_text("copies: 3\npipeline:\n  - randaugment: {n: 2, m: 12}\n")
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert all(op["op"] in POLICY_OPS for r in records for op in r["ops"])
    assert run("replay", out / "manifest.jsonl", src, tmp_path / "again").exit_code == 0
    from .conftest import tree_digest

    assert tree_digest(tmp_path / "again") == tree_digest(out)


# -- per-class exclude reaches every op a step chooses ---------------------------------------


def class_draws(recipe: Recipe, label: str, n: int = 300, size=(64, 48)) -> list[list[dict]]:
    from augcli.sampling import item_rng, sample

    steps = recipe.outcome(label).steps
    return [[op.to_json() for op in sample(steps, item_rng(3, f"{label}/x.png", c)[0], size)] for c in range(n)]


SIX_NINE = "classes:\n  six: {exclude: [rotate, rot90, vflip]}\n"


@pytest.mark.parametrize("policy", ["randaugment: {n: 2, m: 9}", "trivialaugment: {}"])
def test_an_excluded_op_never_comes_out_of_a_policy(policy):
    recipe = Recipe.from_yaml(f"pipeline:\n  - {policy}\n{SIX_NINE}")
    six = Counter(op["op"] for ops in class_draws(recipe, "six") for op in ops)
    nine = Counter(op["op"] for ops in class_draws(recipe, "nine") for op in ops)
    assert "rotate" in nine and "rotate" not in six
    assert set(six) == set(nine) - {"rotate"}  # the rest of the policy still fires


def test_a_policy_draws_among_the_ops_left():
    """With every RandAugment operation but posterize excluded, each pick is
    identity or posterize, one half each (not 1 in 14 with the rest dropped)."""
    others = sorted(POLICY_OPS - {"posterize"})
    recipe = Recipe.from_yaml(f"pipeline:\n  - randaugment: {{n: 1, m: 9}}\nclasses:\n  a: {{exclude: {others}}}\n")
    fired = [len(ops) for ops in class_draws(recipe, "a", n=400)]
    assert all(op["op"] == "posterize" for ops in class_draws(recipe, "a", n=50) for op in ops)
    assert 0.4 < sum(fired) / len(fired) < 0.6


def test_excluded_parts_of_a_keras_block_are_switched_off():
    recipe = Recipe.from_yaml("keras: {rotation_range: 30, horizontal_flip: true, vertical_flip: true, "
                              f"zoom_range: 0.2}}\n{SIX_NINE}")
    six = [ops[0] for ops in class_draws(recipe, "six", n=60)]
    nine = [ops[0] for ops in class_draws(recipe, "nine", n=60)]
    assert all(op["rotate"] == 0 and op["vflip"] is False for op in six)
    assert any(op["hflip"] for op in six) and any(op["zoom_x"] != 1 for op in six)  # the rest still drawn
    assert any(op["rotate"] != 0 for op in nine) and any(op["vflip"] for op in nine)


def test_a_keras_block_with_every_part_excluded_leaves_the_image_as_it_is():
    import numpy as np
    from PIL import Image

    from augcli.apply import apply
    from augcli.ops import REGISTRY
    from augcli.sampling import AppliedOp

    parts = sorted(REGISTRY["keras"].parts)
    recipe = Recipe.from_yaml("keras: {rotation_range: 30, width_shift_range: 0.2, height_shift_range: 3, "
                              "shear_range: 10, zoom_range: 0.3, channel_shift_range: 40, horizontal_flip: true, "
                              f"vertical_flip: true, brightness_range: [0.5, 1.5]}}\nclasses:\n  a: {{exclude: {parts}}}\n")
    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8))
    for ops in class_draws(recipe, "a", n=20):
        out = apply(image, [AppliedOp.from_json(op) for op in ops])
        assert np.array_equal(np.asarray(out), np.asarray(image))


@pytest.mark.parametrize("name", sorted(n for n, s in __import__("augcli.ops", fromlist=["REGISTRY"]).REGISTRY.items()
                                        if s.expand is not None))
def test_excluding_any_op_an_expanding_op_produces_removes_it(name):
    """Generic over every op that expands into others (policies, Keras layers):
    whatever plain op it produced, excluding that op means it never fires."""
    from augcli.ops import REGISTRY

    example = REGISTRY[name].example
    produced = {op["op"] for ops in class_draws(Recipe.from_yaml(f"pipeline:\n  {example}\n"), "a", n=150)
                for op in ops}
    assert produced
    for op_name in produced:
        recipe = Recipe.from_yaml(f"pipeline:\n  {example}\nclasses:\n  a: {{exclude: [{op_name}]}}\n")
        assert all(op["op"] != op_name for ops in class_draws(recipe, "a", n=150) for op in ops), op_name


def test_class_exclude_reaches_a_policy_in_a_variant(uneven):
    from augcli.plan import steps_for
    from augcli.sampling import item_rng, sample

    recipe = Recipe.from_yaml("variants: {ra: [{randaugment: {n: 3, m: 20}}]}\nclasses: {dog: {exclude: [rotate]}}")
    fired = {op.op for c in range(200) for op in sample(steps_for(recipe, "dog", "ra"), item_rng(0, "x", c)[0],
                                                      (32, 32))}
    assert "rotate" not in fired and "shear" in fired


def test_class_exclude_end_to_end_six_and_nine(run, tmp_path):
    root = tmp_path / "digits"
    for label in ("six", "nine"):
        make_image(root / label / f"{label}.png", (24, 24), seed=1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"copies: 20\npipeline:\n  - randaugment: {{n: 2, m: 9}}\n{SIX_NINE}")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1", src=root).exit_code == 0
    records = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert not [r["path"] for r in records if r["label"] == "six" for op in r["ops"] if op["op"] == "rotate"]
    assert any(op["op"] == "rotate" for r in records if r["label"] == "nine" for op in r["ops"])


@pytest.mark.parametrize("name", sorted(n for n, s in __import__("augcli.ops", fromlist=["REGISTRY"]).REGISTRY.items()
                                        if s.parts))
def test_every_declared_part_is_switched_off_by_excluding_its_op(name):
    from augcli.ops import REGISTRY

    spec = REGISTRY[name]
    for part, neutral in spec.parts.items():
        assert part in REGISTRY and all(spec.param(k) is None or spec.param(k).kind != "enum" for k in neutral)
        recipe = Recipe.from_yaml(f"pipeline:\n  {spec.example}\nclasses:\n  a: {{exclude: [{part}]}}\n")
        for ops in class_draws(recipe, "a", n=20):
            drawn = next(op for op in ops if op["op"] == name)
            assert {k: drawn[k] for k in neutral} == neutral, part


# -- the manifest as a table, for pandas users ---------------------------------------------------


@pytest.fixture
def noted(run, tmp_path) -> Path:
    """An OUT with originals (no seed), notes (RGBA written as JPEG), booleans (keras flips) and seeds
    recorded for replay (gaussian_noise)."""
    root = tmp_path / "src"
    make_image(root / "cat" / "a.png", (24, 16), mode="RGBA", seed=1)
    make_image(root / "dog" / "b.png", (24, 16), seed=2)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 3\noutput: {format: jpeg}\npipeline:\n"
                      "  - keras: {horizontal_flip: true, rotation_range: 10}\n"
                      "  - gaussian_noise: {sigma: [1, 3]}\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    return out


def test_manifest_csv_loads_into_pandas_as_documented(run, noted):
    pd = pytest.importorskip("pandas")
    import io

    records = [json.loads(line) for line in (noted / "manifest.jsonl").read_text().splitlines()]
    text = run("manifest", noted).stdout
    frame = pd.read_csv(io.StringIO(text), dtype={"seed": "Int64"})  # the README's line
    assert str(frame["seed"].dtype) == "Int64"
    assert frame["seed"].tolist() == [r["seed"] if r["seed"] is not None else pd.NA for r in records]
    assert "note" in frame and frame["note"].notna().sum() == sum("note" in r for r in records) > 0
    assert str(frame["copy"].dtype) == "int64" and str(frame["width"].dtype) == "int64"
    assert "False" not in text and "True" not in text and "None" not in text  # JSON spellings, as the manifest
    first = next(r for r in records if r["ops"])
    assert "hflip=true" in text or "hflip=false" in text
    assert frame.loc[frame["path"] == first["path"], "ops"].item().startswith("keras(")
    jsonl = pd.read_json(noted / "manifest.jsonl", lines=True, dtype={"seed": "Int64"})  # the README's other line
    assert str(jsonl["seed"].dtype) == "Int64" and jsonl["seed"].tolist() == frame["seed"].tolist()


def test_stats_leaves_recorded_seeds_out_of_the_parameters_drawn(run, noted):
    summary = json.loads(run("stats", noted, "--json").stdout)
    assert "gaussian_noise.sigma" in summary["params"] and "keras.rotate" in summary["params"]
    assert not [name for name in summary["params"] if name.endswith(".seed")]
    assert ".seed" not in run("stats", noted).stdout
