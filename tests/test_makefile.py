"""The README's Makefile rule, run through ``make`` as written: after an image
is added, one is edited, one is removed and the recipe is edited, OUT equals a
fresh run of the recipe on SRC, and what depends on the run record reruns
only when OUT changed."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import make_image, tree_digest

README = Path(__file__).resolve().parent.parent / "README.md"
RECIPE = """\
version: 1
copies: 2
seed: 7
pipeline:
  - hflip: {p: 0.5}
  - brightness: {factor: [0.8, 1.2]}
"""
META = ("augcli.json", "manifest.jsonl")


def readme_rule() -> str:
    section = README.read_text().split("## In a Makefile or CI job", 1)[1]
    return re.search(r"```make\n(.*?)```", section, re.S).group(1)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_the_readme_makefile_rule_follows_every_change(tmp_path, run):
    rule = readme_rule()
    assert "--resume" in rule and "FORCE" in rule
    (tmp_path / "Makefile").write_text(rule.replace("python train.py data/augmented",
                                                    "echo trained >> trained.log; touch $@"))
    (tmp_path / "recipes").mkdir()
    recipe = tmp_path / "recipes" / "standard.yaml"
    recipe.write_text(RECIPE)
    raw = tmp_path / "data" / "raw"
    make_image(raw / "cat" / "a.jpg", (40, 30), seed=1)
    make_image(raw / "cat" / "b.png", (30, 40), seed=2)
    make_image(raw / "dog" / "c.jpg", (36, 36), seed=3)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

    def make_and_compare(step: str) -> None:
        done = subprocess.run(["make", "model.pt"], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, (step, done.stdout, done.stderr)
        fresh = tmp_path / f"fresh-{step}"
        assert run("expand", raw, fresh, "-r", recipe, "-j", "1", "-q").exit_code == 0
        assert tree_digest(tmp_path / "data" / "augmented", META) == tree_digest(fresh, META), step

    def trained() -> int:
        return (tmp_path / "trained.log").read_text().count("trained")

    make_and_compare("first")
    assert trained() == 1
    make_and_compare("nothing")  # up to date: augcli.json untouched, so no retraining
    assert trained() == 1
    make_image(raw / "dog" / "d.jpg", (44, 28), seed=4)  # added inside a class folder
    make_and_compare("added")
    assert trained() == 2
    make_image(raw / "cat" / "a.jpg", (40, 30), seed=5)  # edited: same name, new bytes
    make_and_compare("edited")
    (raw / "cat" / "b.png").unlink()  # removed
    make_and_compare("removed")
    recipe.write_text(RECIPE.replace("copies: 2", "copies: 3"))  # the recipe edited
    make_and_compare("recipe")
    assert trained() == 5
