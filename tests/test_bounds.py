"""Resource bounds: what a recipe file, its YAML aliases, a plan and an output
image may cost is capped, each with one clear error line, and memory does not
grow with what a recipe asks for."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from augcli.errors import RecipeError
from augcli.limits import MAX_DEPTH, MAX_RECIPE_BYTES, MAX_VALUES
from augcli.recipe import Recipe


def limited_memory(megabytes: int):
    """A preexec_fn capping the child's address space, so a test of a bound that
    does not hold fails with MemoryError instead of exhausting the machine."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    return cap


def augcli(*args, megabytes: int = 1024) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "augcli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, preexec_fn=limited_memory(megabytes))


# -- the recipe file -----------------------------------------------------------------


def billion_laughs(levels: int = 9) -> str:
    lines = ["version: 1", "a0: &a0 [hflip, hflip, hflip, hflip, hflip, hflip, hflip, hflip, hflip, hflip]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    lines.append(f"pipeline: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_nested_aliases_are_capped_with_a_clear_error(tmp_path):
    path = tmp_path / "laughs.yaml"
    path.write_text(billion_laughs())
    result = augcli("validate", path)
    assert result.returncode == 2, result.stderr
    assert result.stderr == (f"{path}: the recipe has more than {MAX_VALUES:,} values (counting every repeat of a "
                             "YAML alias *name); recipes are much smaller\n")


def test_an_oversize_recipe_is_refused_before_parsing(tmp_path):
    path = tmp_path / "comments.yaml"
    path.write_text("version: 1\npipeline: [hflip]\n" + "# a comment line of forty characters...\n" * 60_000)
    result = augcli("validate", path)
    assert result.returncode == 2
    assert result.stderr == (f"augcli: error: recipe {path} is larger than {MAX_RECIPE_BYTES:,} bytes "
                             "(1 MiB), the most a recipe may be\n")


def test_validate_dev_zero_reads_a_bounded_amount(tmp_path):
    result = augcli("validate", "/dev/zero", megabytes=512)
    assert result.returncode == 2, result.stderr
    assert "larger than 1,048,576 bytes" in result.stderr


def test_deeply_nested_recipes_are_refused_with_the_line(tmp_path):
    text = "version: 1\npipeline:\n  - " + "[" * 5000 + "hflip" + "]" * 5000 + "\n"
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(text, name="deep.yaml")
    (problem,) = info.value.problems
    assert problem.format("deep.yaml") == f"deep.yaml:3: the recipe is nested more than {MAX_DEPTH} levels deep"


@pytest.mark.parametrize("value", ["9" * 5000, "0x" + "f" * 5000])
def test_numbers_python_will_not_read_are_a_recipe_problem(value):
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(f"version: 1\ncopies: {value}\npipeline: [hflip]\n", name="r.yaml")
    (problem,) = info.value.problems
    assert problem.format("r.yaml").startswith("r.yaml:2: copies: a number too long to read")


def test_the_caps_leave_real_recipes_alone():
    recipes = sorted(Path(__file__).parent.parent.joinpath("recipes").glob("*.yaml"))
    assert recipes
    for path in recipes:
        Recipe.load(path)


# -- the plan --------------------------------------------------------------------------


@pytest.fixture
def five(tmp_path: Path) -> Path:
    from .conftest import make_image

    root = tmp_path / "five"
    for i in range(5):
        make_image(root / ("cat" if i < 3 else "dog") / f"{i}.png", (8, 6), seed=i)
    return root


def test_planning_a_large_request_does_not_materialise_it(five):
    import itertools
    import tracemalloc

    from augcli.plan import TASK_OUTPUTS, make_plan
    from augcli.scan import scan

    found = scan(five)
    recipe = Recipe.from_yaml("version: 1\ncopies: 100000\npipeline: [hflip]\n")
    tracemalloc.start()
    try:
        plan = make_plan(found, recipe)
        streamed = 0
        for task in itertools.islice(plan.tasks(), 400):  # the first source's 100,001 outputs and more
            assert len(task.targets) <= TASK_OUTPUTS
            streamed += len(task.targets)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert plan.n_outputs == 5 * 100_001 and streamed > 100_001
    # 500,005 targets held at once cost ~235 MB; a streamed plan holds one task's worth
    assert peak < 2 << 20, f"planning peaked at {peak / 2**20:.1f} MiB"


def test_a_large_dry_run_counts_without_materialising(run, five, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 100000\npipeline: [hflip]\n")
    result = run("expand", five, tmp_path / "out", "-r", recipe, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "cat          3   300003" in result.stdout and "dog          2   200002" in result.stdout
    assert "would read 5 images and write 500005" in result.stdout


def test_a_split_task_writes_what_one_task_writes(run, five, tmp_path, monkeypatch):
    import json

    import augcli.plan

    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 7\nseed: 3\npipeline:\n  - rotate: {angle: [-30, 30]}\n")
    outs = {}
    for chunk in (1000, 3):  # one task per source, then sources split into tasks of at most 3 outputs
        monkeypatch.setattr(augcli.plan, "TASK_OUTPUTS", chunk)
        out = outs[chunk] = tmp_path / f"out{chunk}"
        assert run("expand", five, out, "-r", recipe, "-j", "2").exit_code == 0
    lines = [(outs[c] / "manifest.jsonl").read_text().splitlines() for c in outs]
    assert lines[0] == lines[1] and len(lines[0]) == 5 * 8
    for record in map(json.loads, lines[0]):
        assert (outs[3] / record["path"]).read_bytes() == (outs[1000] / record["path"]).read_bytes()


@pytest.mark.parametrize("recipe, message", [
    ("copies: 100001\npipeline: [hflip]",
     "r.yaml:1: copies: 100001 is out of range: allowed is an integer from 0 to 100000"),
    ("pipeline: [hflip]\nbalance: {target: 10000000}",
     "r.yaml:2: balance.target: 10000000 is out of range: allowed is an integer from 1 to 1000000, 'max', "
     "or a mapping of class -> count"),
    ("pipeline: [hflip]\nbalance: {target: {cat: 2000000}}",
     "r.yaml:2: balance.target.cat: 2000000 is out of range: allowed is an integer from 1 to 1000000"),
])
def test_what_a_recipe_may_ask_for_is_bounded(recipe, message):
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(recipe, name="r.yaml")
    assert [p.format("r.yaml") for p in info.value.problems] == [message]


def test_balance_needing_too_many_copies_per_source_is_refused(run, five, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\npipeline: [hflip]\nbalance: {target: 900000}\n")
    result = run("expand", five, tmp_path / "out", "-r", recipe, "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == (f"{recipe}:3: balance.target: class cat needs 299,999 copies of each of its 3 "
                             "images to reach 900,000; at most 100,000 per image (add images or lower the target)\n"
                             f"{recipe}:3: balance.target: class dog needs 449,999 copies of each of its 2 "
                             "images to reach 900,000; at most 100,000 per image (add images or lower the target)\n")
    result = run("expand", five, tmp_path / "out", "-r", recipe, "--balance", "5000000", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == ("augcli: error: --balance / balance=: found 5000000; allowed: 'max' or a whole number "
                             "of images per class from 1 to 1,000,000\n")


# the names a streamed plan chooses are the names the listed plan chose: each
# source takes the first free candidate, checking every name written before it
STEMS = ["a", "A", "a_aug01", "a_AUG02", "a_aug1", "a_jpg", "a_jpg_2", "a_png", "b", "a.b", "a_h"]
EXTS = [".jpg", ".JPG", ".jpeg", ".png", ".PNG"]
FOLDERS = ["cat", "Cat/x", "cat/a_aug01.jpg", "cat/A_AUG02.JPG", "cat/a.png"]


def listed_names(found, recipe) -> list[list[str]]:
    """Reference: the planner's naming rule applied with every output name listed."""
    from pathlib import PurePosixPath

    from augcli.io import EXTENSIONS
    from augcli.plan import augmented_splits, copies_per_source, output_folders, output_format

    copies = copies_per_source(found, recipe, augmented_splits(found))
    width = max(2, len(str(max(copies.values(), default=1))))
    used, chosen = set(output_folders(found)), []
    for source in found.sources:
        fmt = output_format(source, recipe)
        rel = PurePosixPath(source.relpath)
        ext = rel.suffix if fmt == source.format and rel.suffix.lower() in EXTENSIONS[fmt] else EXTENSIONS[fmt][0]
        head = [rel.stem, f"{rel.stem}_{rel.suffix.lstrip('.').lower()}"]
        for stem in head + [f"{head[-1]}_{n}" for n in range(2, 50)]:
            names = ([stem + ext] if recipe.include_originals else [])
            names += [f"{stem}_{name}{ext}" for name, _ in recipe.variants]
            n = 0 if recipe.variants else copies[source.relpath]
            names += [f"{stem}_aug{c:0{width}d}{ext}" for c in range(1, n + 1)]
            paths = [str(rel.with_name(n)) for n in names]
            folded = [p.casefold() for p in paths]
            if len(set(folded)) == len(folded) and not used & set(folded):
                used.update(folded)
                chosen.append(paths)
                break
    return chosen


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(FOLDERS), st.sampled_from(STEMS), st.sampled_from(EXTS)),
                min_size=1, max_size=8, unique_by=lambda t: f"{t[0]}/{t[1]}{t[2]}"),
       st.sampled_from(["copies: 2\npipeline: [hflip]", "copies: 12\npipeline: [hflip]",
                        "include_originals: false\ncopies: 1\npipeline: [hflip]",
                        "variants: {h: [hflip], aug01: [vflip]}",
                        "output: {format: png}\ncopies: 2\npipeline: [hflip]"]))
def test_streamed_names_match_the_listed_rule_and_never_collide(files, text):
    from augcli.plan import make_plan
    from augcli.scan import Scan, SourceImage

    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
    sources = sorted((SourceImage(f"{folder}/{stem}{ext}", folder.split("/")[0], None, fmt[ext.lower()])
                      for folder, stem, ext in files), key=lambda s: s.relpath)
    found = Scan("src", tuple(sources), (), (), (), ())
    recipe = Recipe.from_yaml(text)
    plan = make_plan(found, recipe)
    streamed = [[t.path for t in o.targets()] for o in plan.outputs]
    assert streamed == listed_names(found, recipe)
    paths = [p.casefold() for names in streamed for p in names]
    folders = {str(f).casefold() for p in paths for f in Path(p).parents}
    assert len(set(paths)) == len(paths) and not folders & set(paths)


# -- output pixels ---------------------------------------------------------------------


@pytest.mark.parametrize("step, path", [
    ("- resize: {size: [200000, 200000]}", "pipeline[0].resize.size"),
    ("- random_resized_crop: {size: [20000, 20000]}", "pipeline[0].random_resized_crop.size"),
    ("- resize: {size: {choice: [[64, 64], [10000, 10000]]}}", "pipeline[0].resize.size.choice[1]"),
    ("- one_of: [{resize: {size: [9500, 9500]}}, hflip]", "pipeline[0].one_of[0].resize.size"),
])
def test_static_output_sizes_are_bounded_at_validation(step, path):
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(f"version: 1\npipeline:\n  {step}\n", name="r.yaml")
    (problem,) = info.value.problems
    assert problem.line == 3 and problem.path == path
    assert problem.message.endswith("pixels, over the limit of 89,478,485 an output may have (--max-pixels)")


def test_output_size_is_bounded_and_the_limit_follows_max_pixels(run, five, tmp_path):
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml("version: 1\noutput: {size: [10000, 10000]}\npipeline: [hflip]\n", name="r.yaml")
    assert [p.format("r.yaml") for p in info.value.problems] == [
        "r.yaml:2: output.size: [10000, 10000] is 100,000,000 pixels, over the limit of 89,478,485 an output "
        "may have (--max-pixels)"]
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\npipeline:\n  - resize: {size: [40, 40]}\n")
    result = run("expand", five, tmp_path / "out", "-r", recipe, "--max-pixels", "1000")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert result.stderr == (f"{recipe}:3: pipeline[0].resize.size: [40, 40] is 1,600 pixels, over the limit of 1,000 "
                             "an output may have (--max-pixels)\n")
    assert run("validate", recipe, "--max-pixels", "1000").exit_code == 2
    assert run("validate", recipe, "--max-pixels", "1600").exit_code == 0
    assert run("expand", five, tmp_path / "out", "-r", recipe, "--max-pixels", "0", "-j", "1").exit_code == 0


def test_drawn_sizes_are_checked_before_anything_is_allocated(run, tmp_path):
    from .conftest import make_image

    root = tmp_path / "src"
    make_image(root / "cat" / "small.png", (20, 20))
    make_image(root / "cat" / "large.png", (30, 30))  # 900 pixels; turned 45 degrees, 43 x 43 = 1849
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 1\npipeline:\n  - rotate: {angle: 45, expand: true}\n")
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "--max-pixels", "1500", "-j", "1")
    assert result.exit_code == 0, result.output
    import json

    skipped = {r["source"]: r["reason"] for r in map(json.loads, (out / "skipped.jsonl").read_text().splitlines())}
    assert skipped == {"cat/large.png": "cannot augment (rotate): the image would be 43x43 = 1,849 pixels after "
                                        "rotate, over the limit of 1,500 (--max-pixels)"}
    assert (out / "cat" / "small_aug01.png").is_file()


def test_a_replayed_manifest_cannot_ask_for_a_huge_output(run, five, tmp_path):
    import json

    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 1\npipeline:\n  - resize: {size: [16, 16]}\n")
    out = tmp_path / "out"
    assert run("expand", five, out, "-r", recipe, "-j", "1").exit_code == 0
    lines = (out / "manifest.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    record["ops"][0]["size"] = [200000, 200000]  # ~40 GB of pixels
    lines[1] = json.dumps(record)
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    result = augcli("replay", out / "manifest.jsonl", five, tmp_path / "again", megabytes=1024)
    assert result.returncode == 1, result.stderr
    assert result.stderr == (f"augcli: error: {out / 'manifest.jsonl'}:2: the image would be 200000x200000 = "
                             "40,000,000,000 pixels after resize, over the limit of 89,478,485 (--max-pixels)\n")


@pytest.mark.parametrize("mode", ["stretch", "cover", "contain"])
@pytest.mark.parametrize("size", [(16, 16), (30, None), (None, 7), (9, 40)])
def test_the_sizes_checked_for_output_size_are_the_sizes_fit_makes(mode, size):
    from PIL import Image

    from augcli.fit import fit, fit_sizes

    for source in [(1, 50), (50, 1), (37, 23), (8, 8)]:
        assert fit(Image.new("RGB", source), size, mode, 0).size == fit_sizes(source, size, mode)[-1]


def test_a_cover_that_would_scale_a_thin_image_huge_is_refused_before_allocating(run, tmp_path):
    import json

    from .conftest import make_image

    root = tmp_path / "src"
    make_image(root / "cat" / "thin.png", (1, 50))  # covering 40x40 scales it to 40x2000 first
    make_image(root / "cat" / "square.png", (20, 20))
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 1\noutput: {size: [40, 40], fit: cover}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "--max-pixels", "5000", "-j", "1")
    assert result.exit_code == 0, result.output
    skipped = {r["source"]: r["reason"] for r in map(json.loads, (out / "skipped.jsonl").read_text().splitlines())}
    assert skipped == {"cat/thin.png": "cannot encode: the image would be 40x2000 = 80,000 pixels after "
                                       "output.size, over the limit of 5,000 (--max-pixels)"}
