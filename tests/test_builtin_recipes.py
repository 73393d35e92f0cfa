"""The starter recipes ship inside the package: `--recipe standard` finds one
when no such file exists, and `augcli recipes` lists them and writes one out."""
from __future__ import annotations

from pathlib import Path

import pytest

from augcli.recipe import Recipe, builtin_recipes

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted(p.stem for p in (ROOT / "recipes").glob("*.yaml"))


def test_every_recipe_in_the_repository_is_a_builtin():
    assert sorted(builtin_recipes()) == SHIPPED and "standard" in SHIPPED
    for name, path in builtin_recipes().items():
        assert path.read_text() == (ROOT / "recipes" / f"{name}.yaml").read_text()


def test_recipe_by_name_when_no_such_file_exists(run, src, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no recipes/ folder here, as after `pip install augcli`
    result = run("expand", src, tmp_path / "out", "--recipe", "flips", "-j", "1")
    assert result.exit_code == 0, result.output
    assert Recipe.load("flips") == Recipe.load(ROOT / "recipes" / "flips.yaml")
    assert Recipe.load("flips.yaml") == Recipe.load("flips")
    assert run("validate", "standard").exit_code == 0
    (tmp_path / "standard").write_text("copies: 1\npipeline: [vflip]\n")  # a file of that name wins
    assert Recipe.load("standard").pipeline[0].op == "vflip"


def test_an_unknown_recipe_names_the_builtins(run, src, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("expand", src, tmp_path / "out", "--recipe", "standrd")
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert result.stderr == ("augcli: error: recipe file not found: standrd (built-in recipes: "
                             f"{', '.join(SHIPPED)}; did you mean 'standard'?)\n")


def test_recipes_command_lists_prints_and_writes(run, tmp_path):
    listing = run("recipes")
    assert listing.exit_code == 0
    for name in SHIPPED:
        assert any(line.split()[0] == name for line in listing.stdout.splitlines() if line.strip()), name
    assert "Flips only" in listing.stdout  # each with the first line of its comment
    printed = run("recipes", "standard")
    assert printed.exit_code == 0 and printed.stdout == (ROOT / "recipes" / "standard.yaml").read_text()
    target = tmp_path / "my.yaml"
    written = run("recipes", "heavy", "--write", target)
    assert written.exit_code == 0 and target.read_text() == (ROOT / "recipes" / "heavy.yaml").read_text()
    assert f"wrote {target}" in written.stderr
    again = run("recipes", "heavy", "--write", target)
    assert again.exit_code == 2 and "already exists" in again.stderr
    unknown = run("recipes", "flip")
    assert unknown.exit_code == 2 and "did you mean 'flips'" in unknown.stderr


@pytest.mark.parametrize("name", SHIPPED)
def test_builtin_recipes_are_valid(name):
    Recipe.load(name)
