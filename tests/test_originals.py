"""Originals (and unaugmented split copies) are byte copies of their source only
when nothing would change them: the same format, no EXIF turn and no
``output.size``; otherwise they get the same final steps as every output."""
from __future__ import annotations

import json

import pytest

from .conftest import load, make_image


@pytest.mark.parametrize("layout", ["flat", "split"])
def test_output_size_resizes_the_originals_too(run, tmp_path, layout):
    root = tmp_path / "src"
    folder = root / "val" / "cat" if layout == "split" else root / "cat"
    if layout == "split":
        make_image(root / "train" / "cat" / "t.jpg", (64, 48), seed=2)
    make_image(folder / "a.jpg", (64, 48), seed=1)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 1\noutput: {size: [32, 24]}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    for record in map(json.loads, (out / "manifest.jsonl").read_text().splitlines()):
        assert (record["width"], record["height"]) == (32, 24), record["path"]
        assert load(out / record["path"]).size == (32, 24), record["path"]
    original = "val/cat/a.jpg" if layout == "split" else "cat/a.jpg"
    assert (out / original).read_bytes() != (folder / "a.jpg").read_bytes()
