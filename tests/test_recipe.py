"""Recipe validation: every problem reported at once, located by line and path,
with what was found, what is allowed and a close match; safe YAML only."""
from __future__ import annotations

import pytest

from augcli.errors import RecipeError
from augcli.recipe import OneOf, OpStep, Recipe, SomeOf
from augcli.ops.spec import Choice, Fixed, Uniform


def problems(text: str) -> list[str]:
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(text, name="r.yaml")
    return [p.format("r.yaml") for p in info.value.problems]


def test_value_grammar_fixed_range_choice():
    recipe = Recipe.from_yaml(
        "version: 1\ncopies: 2\npipeline:\n"
        "  - rotate: {angle: [-20, 20], fill: {choice: [reflect, wrap]}, p: 0.8}\n"
        "  - rot90: {k: [1, 3]}\n"
        "  - brightness: {factor: 1.1}\n"
    )
    rotate, rot90, brightness = recipe.pipeline
    assert isinstance(rotate, OpStep) and rotate.p == 0.8
    assert dict(rotate.params)["angle"] == Uniform(-20, 20)
    assert dict(rotate.params)["fill"] == Choice(("reflect", "wrap"))
    assert dict(rotate.params)["interpolation"] == Fixed("bilinear")
    assert dict(rot90.params)["k"] == Uniform(1, 3)
    assert dict(brightness.params)["factor"] == Fixed(1.1)


def test_compositions_in_list_and_mapping_form():
    recipe = Recipe.from_yaml(
        "pipeline:\n"
        "  - one_of: [hflip, vflip]\n"
        "  - one_of: {of: [hflip], p: 0.3}\n"
        "  - some_of: {n: [1, 2], of: [hflip, vflip, {rot90: {k: 2}}]}\n"
    )
    first, second, third = recipe.pipeline
    assert isinstance(first, OneOf) and len(first.steps) == 2 and first.p == 1.0
    assert second.p == 0.3
    assert isinstance(third, SomeOf) and third.n == Uniform(1, 2) and len(third.steps) == 3


def test_defaults_and_normalised_form_round_trip():
    recipe = Recipe.from_yaml("pipeline: [hflip]")
    assert (recipe.version, recipe.copies, recipe.seed, recipe.include_originals) == (1, 1, 0, True)
    assert recipe.output.format == "same" and recipe.output.quality == 95
    text = Recipe.from_yaml(
        "version: 1\ncopies: 3\nseed: 5\noutput: {format: png, size: [32, 16]}\n"
        "pipeline:\n  - one_of: [hflip, {rotate: {angle: [-5, 5]}}]\n"
    )
    assert Recipe.from_yaml(text.to_yaml()) == text
    variants = Recipe.from_yaml("variants: {a: [hflip], b: [{rot90: {k: 2}}]}")
    assert Recipe.from_yaml(variants.to_yaml()) == variants


def test_hash_ignores_seed_but_not_copies():
    base = Recipe.from_yaml("copies: 4\npipeline: [hflip]")
    assert base.with_overrides(seed=3).sha256 == base.sha256
    assert base.with_overrides(copies=8).sha256 != base.sha256
    assert Recipe.from_yaml("copies: 4\npipeline: [{hflip: {p: 1}}]").sha256 == base.sha256


def test_the_issue_example_message():
    assert problems("version: 1\npipeline:\n  - hflip\n  - vflip\n  - rotate: {angle: 3, fill: reflct}\n") == [
        "r.yaml:5: pipeline[2].rotate.fill: 'reflct' is not one of constant, edge, reflect, symmetric, wrap "
        "(did you mean 'reflect'?)"
    ]


def test_every_problem_is_reported_in_line_order():
    found = problems(
        "version: 2\n"
        "copys: 3\n"
        "pipeline:\n"
        "  - rotat: {angle: 3}\n"
        "  - rotate: {angle: [20, -20]}\n"
        "  - brightness: {factor: [0.5, 1.5, 2]}\n"
        "  - contrast: {}\n"
        "  - hflip: {p: 1.5}\n"
    )
    assert found == [
        "r.yaml:1: version: 2 is not a supported version; allowed: 1",
        "r.yaml:2: copys: 'copys' is not a recipe key; allowed: version, copies, seed, include_originals, distinct, "
        "output, pipeline, variants, keras, balance, classes, labels (did you mean 'copies'?)",
        "r.yaml:4: pipeline[0].rotat: unknown op 'rotat'; see 'augcli transforms' for the list "
        "(did you mean 'rotate'?)",
        "r.yaml:5: pipeline[1].rotate.angle: range [20, -20] has lo > hi",
        "r.yaml:6: pipeline[2].brightness.factor: a range is [lo, hi], found 3 values",
        "r.yaml:7: pipeline[3].contrast: contrast needs factor (a number from 0 to 10)",
        "r.yaml:8: pipeline[4].hflip.p: 1.5 is out of range: allowed is a number from 0 to 1",
    ]


@pytest.mark.parametrize("text,expected", [
    ("pipeline:\n  - rotate: {angle: 10}\n    p: 0.5\n",
     "r.yaml:2: pipeline[0]: a step is one op name with its parameters, found keys rotate, p (indent p under rotate?)"),
    ("pipeline:\n  - rot90: {k: 1.5}\n", "r.yaml:2: pipeline[0].rot90.k: 1.5 is not an integer"),
    ("pipeline:\n  - rot90: {k: [1, 2.5]}\n", "r.yaml:2: pipeline[0].rot90.k[1]: 2.5 is not an integer"),
    ("pipeline:\n  - rotate: {angle: 5, expand: yes please}\n",
     "r.yaml:2: pipeline[0].rotate.expand: 'yes please' is not true or false"),
    ("pipeline:\n  - rotate: {angle: 5, fill: [reflect, wrap]}\n",
     "r.yaml:2: pipeline[0].rotate.fill: ['reflect', 'wrap'] is a range, but fill is one of constant, edge, "
     "reflect, symmetric, wrap; to pick among values write {choice: [...]}"),
    ("pipeline:\n  - rotate: {angle: {choise: [1, 2]}}\n",
     "r.yaml:2: pipeline[0].rotate.angle: {choise} is not a value: write a value, a range [lo, hi] or "
     "{choice: [...]} (did you mean 'choice'?)"),
    ("pipeline:\n  - rotate: {angle: {choice: [1, 999]}}\n",
     "r.yaml:2: pipeline[0].rotate.angle.choice[1]: 999 is out of range: allowed is a number from -360 to 360"),
    ("pipeline:\n  - some_of: {n: 3, of: [hflip, vflip]}\n",
     "r.yaml:2: pipeline[0].some_of.n: 3 is out of range: allowed is an integer from 0 to 2"),
    ("pipeline: [hflip]\noutput: {format: gif}\n",
     "r.yaml:2: output.format: 'gif' is not one of same, jpeg, png, webp"),
    ("pipeline: [hflip]\noutput: {size: [224]}\n",
     "r.yaml:2: output.size: [224] is not [width, height] in pixels, one integer n for [n, n], or [width, null] / "
     "[null, height] to keep the aspect ratio, or null"),
    ("pipeline: [hflip]\nvariants: {a: [vflip]}\n",
     "r.yaml:2: variants: a recipe has either a pipeline (with copies) or variants, not both"),
    ("variants: {'a/b': [vflip]}\n",
     "r.yaml:1: variants.a/b: variant name 'a/b' must be letters, digits, '_' or '-' (it becomes part of file names)"),
    ("copies: 3\n", "r.yaml:1: the recipe needs a pipeline (applied to each of copies outputs) or variants"),
    ("pipeline: [hflip]\npipeline: [vflip]\n", "r.yaml:2: pipeline: duplicate key"),
    ("pipeline: [hflip\n", "r.yaml:2: not valid YAML: expected ',' or ']', but got '<stream end>'"),
])
def test_pinned_messages(text, expected):
    assert problems(text) == [expected]


def test_python_tags_are_refused_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    found = problems(f"pipeline:\n  - !!python/object/apply:os.system ['touch {marker}']\n")
    assert found == ["r.yaml:2: pipeline[0]: YAML tag !!python/object/apply:os.system is not allowed: "
                     "recipes are plain YAML (maps, lists, strings, numbers)"]
    assert not marker.exists()


def test_validate_command(run, tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("copies: 2\npipeline:\n  - rotate: {angle: [-5, 5]}\n")
    result = run("validate", good)
    assert result.exit_code == 0
    assert Recipe.from_yaml(result.stdout) == Recipe.load(good)
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline:\n  - hflp\n")
    result = run("validate", bad)
    assert result.exit_code == 2
    assert result.stderr == (f"{bad}:2: pipeline[0].hflp: unknown op 'hflp'; see 'augcli transforms' for the list "
                             "(did you mean 'hflip'?)\n")


@pytest.mark.parametrize("text,expected", [
    ("copies: 4\npipeline: []\n",
     "r.yaml:2: pipeline: an empty pipeline would write 4 identical copies of each image; add steps, or set "
     "copies: 0 to write only the originals"),
    ("pipeline: []\nbalance: {target: max}\n",
     "r.yaml:1: pipeline: an empty pipeline would write identical copies of each image to balance the classes; "
     "add steps"),
    ("copies: 2\npipeline: [hflip, {one_of: [vflip]}]\nclasses:\n  six: {exclude: [hflip, vflip]}\n",
     "r.yaml:4: classes.six.exclude: excluding hflip, vflip leaves class six no ops, so its 2 copies would equal "
     "the original; give it copies: 0 or a pipeline of its own"),
    ("pipeline: [hflip]\nclasses:\n  six: {pipeline: [], copies: 3}\n",
     "r.yaml:3: classes.six.pipeline: an empty pipeline would make its 3 copies equal the original; add steps, "
     "or give the class copies: 0"),
    ("pipeline: [hflip]\nbalance: {target: {six: 5}}\nclasses:\n  six: {exclude: [hflip]}\n  nine: {exclude: [hflip]}\n",
     "r.yaml:4: classes.six.exclude: excluding hflip leaves class six no ops, so its copies would equal the "
     "original; give it copies: 0 or a pipeline of its own"),
    ("copies: 0\ninclude_originals: false\npipeline: [hflip]\n",
     "r.yaml:1: copies: 0 with include_originals: false writes nothing"),
])
def test_recipes_that_would_write_identical_copies_are_errors(text, expected):
    assert problems(text) == [expected]


def test_an_empty_pipeline_with_no_copies_writes_only_originals(run, src, tmp_path):
    recipe = Recipe.from_yaml("copies: 0\noutput: {format: png}\npipeline: []\n")
    assert recipe.copies == 0 and Recipe.from_yaml(recipe.to_yaml()) == recipe
    Recipe.from_yaml("pipeline: [hflip]\nclasses:\n  six: {exclude: [hflip], copies: 0}\n")
    path = tmp_path / "r.yaml"
    path.write_text(recipe.to_yaml())
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", path, "-j", "1").exit_code == 0
    assert sorted(p.name for p in (out / "dog").iterdir()) == ["d1.png", "d2.png"]
    result = run("expand", src, tmp_path / "o2", "-r", path, "--copies", "2")
    assert result.exit_code == 2 and not (tmp_path / "o2").exists()
    assert "--copies 2: the recipe's pipeline is empty" in result.stderr


@pytest.mark.parametrize("value", ["[null, 2]", "[1.5, null]", "[null, null]"])
def test_a_range_with_a_null_end_is_a_recipe_problem(value):
    """zoom's x and y may be null (not set), but null is no end of a range: it
    was an internal TypeError comparing the ends."""
    with pytest.raises(RecipeError) as caught:
        Recipe.from_yaml(f"pipeline:\n  - zoom: {{x: {value}}}\n")
    [problem] = caught.value.problems
    assert problem.path == "pipeline[0].zoom.x" and "a range's ends are numbers" in str(caught.value)


def test_a_recipe_dict_holds_only_plain_values():
    """A numpy scalar validated and then broke the normalised recipe (validate's
    output, augcli.json): Recipe.load refuses it, as the Augmenter does."""
    np = pytest.importorskip("numpy")
    with pytest.raises(RecipeError, match="only plain values .* found numpy.float64"):
        Recipe.load({"pipeline": [{"rotate": {"angle": np.float64(5)}}]})
    assert Recipe.load({"pipeline": [{"rotate": {"angle": 5.0}}]}).to_yaml()
