"""``p`` on one_of / some_of / sequence is a probability like an op's ``p``: a
number from 0 to 1, checked before any work, located in the recipe."""
from __future__ import annotations

import pytest

from augcli.errors import RecipeError
from augcli.recipe import Recipe

COMPOSITIONS = {
    "one_of": "one_of: {{of: [hflip, vflip], p: {p}}}",
    "some_of": "some_of: {{n: 1, of: [hflip, vflip], p: {p}}}",
    "sequence": "sequence: {{of: [hflip, vflip], p: {p}}}",
}


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
@pytest.mark.parametrize("p,found", [(1.5, "1.5 is out of range"), (-0.1, "-0.1 is out of range"),
                                     ("half", "'half' is not a number")])
def test_p_of_a_composition_outside_0_1_is_a_located_recipe_error(name, p, found):
    text = "pipeline:\n  - hflip\n  - " + COMPOSITIONS[name].format(p=p) + "\n"
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(text, name="r.yaml")
    [problem] = info.value.problems
    assert problem.format("r.yaml").startswith(f"r.yaml:3: pipeline[1].{name}.p: {found}")
    assert "a number from 0 to 1" in problem.message


@pytest.mark.parametrize("name", sorted(COMPOSITIONS))
def test_p_of_a_composition_within_0_1_is_kept(name):
    step = Recipe.from_yaml("pipeline:\n  - " + COMPOSITIONS[name].format(p=0.25) + "\n").pipeline[0]
    assert step.p == 0.25


def test_the_cli_refuses_it_with_exit_2_and_one_line(run, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("pipeline:\n  - one_of: {of: [hflip], p: 2}\n")
    result = run("validate", recipe)
    assert result.exit_code == 2
    assert result.stderr == f"{recipe}:2: pipeline[0].one_of.p: 2 is out of range: allowed is a number from 0 to 1\n"
