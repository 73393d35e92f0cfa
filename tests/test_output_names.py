"""No two outputs share a path, also on a case-insensitive file system (macOS,
Windows): names that differ only in case are a collision, resolved at planning
time by the later source (in path order) taking its extension into its stem."""
from __future__ import annotations

import json

import pytest

from .conftest import make_image


@pytest.mark.parametrize("sources,fmt,expected", [
    # A.png sorts before a.jpg; both become a.png under format: png
    (("A.png", "a.jpg"), "png", ["cat/A.png", "cat/A_aug01.png", "cat/a_jpg.png", "cat/a_jpg_aug01.png"]),
    # the same name in two cases, kept in its own format
    (("Dog.jpg", "dog.JPG"), "same", ["cat/Dog.jpg", "cat/Dog_aug01.jpg", "cat/dog_jpg.JPG", "cat/dog_jpg_aug01.JPG"]),
])
def test_names_differing_only_in_case_are_a_collision(run, tmp_path, sources, fmt, expected):
    root = tmp_path / "src"
    for seed, name in enumerate(sources):
        make_image(root / "cat" / name, fmt="PNG" if name.endswith(".png") else "JPEG", seed=seed)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"copies: 1\noutput: {{format: {fmt}}}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    paths = [json.loads(line)["path"] for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert len({p.casefold() for p in paths}) == len(paths) == 4
    assert sorted(paths) == sorted(expected)
