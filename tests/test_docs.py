"""What the README and the Makefile say, checked against what the code does,
so the two cannot drift apart again."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def make_target(name: str) -> list[str]:
    """The recipe lines of a Makefile target."""
    text = (ROOT / "Makefile").read_text()
    body = re.search(rf"^{name}:.*\n((?:\t.*\n)+)", text, re.M)
    assert body, name
    return body.group(1).splitlines()


def test_make_demo_previews_the_recipe_it_expands():
    lines = make_target("demo")
    recipes = {re.search(r"--recipe (\S+)", line).group(1) for line in lines if "augcli expand" in line
               or "augcli preview" in line}
    assert len(recipes) == 1, recipes


def test_readme_says_how_to_put_augcli_on_the_path_before_using_it():
    using = README.index("## Using it")
    first_bare = README.index("\naugcli ", using)
    assert ". .venv/bin/activate" in README[:first_bare]
