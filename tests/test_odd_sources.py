"""Nothing about one source stops the run: degenerate image sizes for every
registered op, a failure while drawing parameters, and whatever SRC holds
(odd names, odd kinds of file). Each source is processed, skipped with a
reason, or ignored; the rest of the run goes on."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import augcli.worker
from augcli.ops import REGISTRY
from .conftest import load, make_image


def read_out(out: Path) -> tuple[dict, dict]:
    """(path -> manifest record, source -> skip reason) of an output tree."""
    def lines(name):
        path = out / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    return {r["path"]: r for r in lines("manifest.jsonl")}, {r["source"]: r["reason"] for r in lines("skipped.jsonl")}


def firing(example: str) -> list:
    """An op's documented example as a pipeline, with p forced to 1 so it fires."""
    (step,) = yaml.safe_load(example)
    (name, params), = (step.items() if isinstance(step, dict) else [(step, {})])
    return [{name: {**(params or {}), "p": 1}}]


DEGENERATE = {"one.png": (1, 1), "column.png": (1, 9), "row.png": (9, 1)}


@pytest.mark.parametrize("op", sorted(REGISTRY))
def test_every_op_works_or_skips_on_one_pixel_sides(run, tmp_path, op):
    root = tmp_path / "src"
    for name, size in DEGENERATE.items():
        make_image(root / "cat" / name, size, seed=len(name))
    make_image(root / "cat" / "normal.png", (12, 10))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"version": 1, "copies": 3, "seed": 3, "pipeline": firing(REGISTRY[op].example)}))
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    records, skipped = read_out(out)
    for name in [*DEGENERATE, "normal.png"]:
        source = f"cat/{name}"
        written = [r for r in records.values() if r["source"] == source]
        if source in skipped:
            assert skipped[source].strip(), source
        else:
            assert sorted(r["copy"] for r in written) == [0, 1, 2, 3], source
        for record in written:
            image = load(out / record["path"])
            assert image.size == (record["width"], record["height"]) and min(image.size) >= 1
    assert "cat/normal.png" not in skipped


def test_perspective_on_a_one_pixel_side_is_the_identity(run, tmp_path):
    root = tmp_path / "src"
    make_image(root / "cat" / "column.png", (1, 9))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("version: 1\ncopies: 2\npipeline:\n  - perspective: {magnitude: 0.5}\n")
    result = run("expand", root, tmp_path / "out", "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    source = np.asarray(load(root / "cat" / "column.png"))
    for copy in (1, 2):
        # a line has no perspective to skew: every pixel stays where it is
        assert np.array_equal(np.asarray(load(tmp_path / "out" / "cat" / f"column_aug0{copy}.png")), source)


def test_a_failure_while_drawing_skips_that_source_only(run, src, recipe, tmp_path, monkeypatch):
    real = augcli.worker.sample

    def sample(steps, rng, size):
        if size == (40, 56):  # cat/c2.jpg
            raise RuntimeError("drawing failed for this image")
        return real(steps, rng, size)

    monkeypatch.setattr(augcli.worker, "sample", sample)
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    records, skipped = read_out(out)
    assert "drawing failed for this image" in skipped["cat/c2.jpg"]
    assert not any(r["source"] == "cat/c2.jpg" and r["kind"] == "augmented" for r in records.values())
    assert {r["source"] for r in records.values()} == {"cat/c1.jpg", "cat/c2.jpg", "cat/c3.jpg", "cat/grey.png",
                                                       "dog/d1.jpg", "dog/d2.jpg"}
    assert len([r for r in records.values() if r["source"] != "cat/c2.jpg"]) == 5 * 4


def test_preview_shows_a_failed_draw_instead_of_stopping(run, src, recipe, tmp_path, monkeypatch):
    import augcli.sheet

    def sample(steps, rng, size):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(augcli.sheet, "sample", sample)
    result = run("preview", src, "-r", recipe, "--out", tmp_path / "sheet.png", "-n", "2", "-k", "2")
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "sheet.png").size[0] > 0
