"""Resource bounds: what a recipe file, its YAML aliases, a plan and an output
image may cost is capped, each with one clear error line, and memory does not
grow with what a recipe asks for."""
from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from augcli.errors import RecipeError
from augcli.recipe import MAX_DEPTH, MAX_RECIPE_BYTES, MAX_VALUES, Recipe


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
