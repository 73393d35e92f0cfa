"""The smaller findings of the second hostile pass: spreadsheet formulas in
the CSV, Ctrl-C in the middle of a task, empty crop boxes."""
from __future__ import annotations

import csv
import io
import json

import pytest

import augcli.worker

from .conftest import make_image


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_escaped(run, tmp_path):
    root = tmp_path / "src"
    for seed, label in enumerate(["=1+2", "@SUM(A1)", "+cmd", "-x", "plain"]):
        make_image(root / label / "a.png", (20, 16), fmt="PNG", seed=seed)
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 1\nseed: 3\npipeline: [hflip]\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    result = run("manifest", out)
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert sorted({row["label"] for row in rows}) == ["'+cmd", "'-x", "'=1+2", "'@SUM(A1)", "plain"]
    for row in rows:
        assert row["path"].startswith("'") == (row["label"] != "plain")
        assert row["copy"] in ("0", "1") and row["width"] == "20"  # numbers as they are
        assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row.values())
    jsonl = run("manifest", out, "--format", "jsonl")  # the manifest itself is data, not escaped
    assert {json.loads(line)["label"] for line in jsonl.stdout.splitlines()} >= {"=1+2", "-x"}


def test_ctrl_c_in_the_middle_of_a_task_leaves_no_unrecorded_image(run, src, recipe, tmp_path, monkeypatch):
    """Interrupted after 2 of a source's 4 images: those 2 are removed (no
    manifest line could name them), so ``verify`` agrees with the message
    "finished images are kept and recorded"; --resume then finishes the run."""
    real = augcli.worker.write_atomic
    writes = []

    def interrupted(out_dir, relpath, data):
        if len(writes) == 6:  # the 3rd image of the 2nd source (each writes 1 original + 3 copies)
            raise KeyboardInterrupt
        writes.append(relpath)
        real(out_dir, relpath, data)

    monkeypatch.setattr(augcli.worker, "write_atomic", interrupted)
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 130
    assert result.stderr == ("augcli: interrupted; finished images are kept and recorded. "
                             "Run the same command with --resume to finish.\n")
    recorded = [json.loads(line)["path"] for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert recorded == writes[:4]
    for path in writes[4:]:
        assert not (out / path).exists()
    verified = run("verify", out)
    assert verified.exit_code == 0, verified.output
    monkeypatch.setattr(augcli.worker, "write_atomic", real)
    assert run("expand", src, out, "-r", recipe, "-j", "1", "--resume").exit_code == 0
    assert run("verify", out, "--source", src).exit_code == 0


@pytest.mark.parametrize("box", [[10, 10, 0, 0], [10, 10, 10, 20], [0, 5, 8, 5], [-10, -10, -5, -5], [-5, 0, 0, 5]])
def test_an_empty_or_inverted_crop_box_is_refused_at_validation(run, tmp_path, box):
    """It validated and quietly wrote 1x1 images."""
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\ncopies: 1\npipeline:\n  - crop: {{box: {box}}}\n")
    result = run("validate", recipe)
    assert result.exit_code == 2, result.output
    shown = "[" + ", ".join(map(str, box)) + "]"
    assert result.stderr == (f"{recipe}:4: pipeline[0].crop.box: {shown} is not [x0, y0, x1, y1]: 4 integers with "
                             "x0 < x1, y0 < y1 and x1, y1 >= 1 (a box of at least 1x1)\n")


@pytest.mark.parametrize("box", [[0, 0, 1, 1], [-5, -5, 4, 3], [30, 20, 100, 100]])
def test_a_crop_box_with_pixels_is_valid_and_clipped_later(run, tmp_path, box):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"version: 1\ncopies: 1\npipeline:\n  - crop: {{box: {box}}}\n")
    assert run("validate", recipe).exit_code == 0
