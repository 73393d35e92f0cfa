"""scripts/evidence.py (`make evidence`): a smoke run on a tiny slice so the experiment cannot
rot, and the properties its numbers rest on: no test image in training, stratified and nested
training sets, copies that do not depend on which other files were expanded, and the paired
t-interval of the report against textbook values."""
from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import augcli

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def evidence():
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import evidence
        import evidence_report

        yield evidence, evidence_report
    finally:
        sys.path.remove(str(ROOT / "scripts"))


def test_smoke_run_on_a_tiny_slice(evidence, tmp_path, capsys):
    script, _ = evidence
    code = script.main(["--datasets", "digits", "--sizes", "3", "--seeds", "1", "--models", "knn", "--copies", "2",
                        "-j", "1", "--no-plot", "--work", str(tmp_path / "work"), "--docs", str(tmp_path / "docs")])
    assert code == 0
    printed = capsys.readouterr().out
    assert f"evidence: wrote {tmp_path / 'docs' / 'evidence.md'}" in printed
    assert f"evidence: wrote {tmp_path / 'docs' / 'evidence.csv'}" in printed
    assert not (tmp_path / "docs" / "evidence.png").exists()  # --no-plot

    with open(tmp_path / "docs" / "evidence.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_condition = {r["condition"]: r for r in rows}
    assert sorted(by_condition) == sorted(["none", "digits-safe", "flips", "photometric", "more real data"])
    assert {r["model"] for r in rows} == {"knn"} and {r["seed"] for r in rows} == {"0"}
    # 3 per class; each recipe adds 2 copies per source (originals included); the ceiling has as many real ones
    assert by_condition["none"]["train_images"] == "30"
    for condition in ("digits-safe", "flips", "photometric", "more real data"):
        assert by_condition[condition]["train_images"] == "90", condition
    assert {r["test_images"] for r in rows} == {"540"}  # 30% of 1,797, stratified
    for row in rows:
        assert 0.5 < float(row["accuracy"]) <= 1.0  # 1-NN on 3 digits per class is far above chance (10%)

    report = (tmp_path / "docs" / "evidence.md").read_text()
    assert "| 1-NN | 3 | " in report and "--sizes 3" in report
    none_accuracy = 100 * float(by_condition["none"]["accuracy"])
    assert f"| 1-NN | 3 | {none_accuracy:.1f} | " in report


@pytest.mark.parametrize("args, message", [
    (["--models", "svc,forest"], "unknown model 'forest'; known: svc, knn, mlp"),
    (["--datasets", "mnist"], "unknown dataset 'mnist'; known: digits, lfw"),
    (["--sizes", "5,x"], "argument --sizes: '5,x' is not a comma-separated list of whole numbers"),
    (["--seeds", "0"], "--sizes, --seeds, --copies and --jobs must be at least 1"),
])
def test_bad_arguments_are_one_line_and_exit_2(evidence, tmp_path, capsys, args, message):
    script, _ = evidence
    with pytest.raises(SystemExit) as stopped:
        script.main([*args, "--work", str(tmp_path / "work"), "--docs", str(tmp_path / "docs")])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"scripts/evidence.py: error: {message}"
    assert not (tmp_path / "work").exists() and not (tmp_path / "docs").exists()


def test_export_writes_class_folders_of_upscaled_pngs(evidence, tmp_path):
    script, _ = evidence
    paths, labels, classes = script.export(script.DATASETS["lfw"], tmp_path / "lfw")
    assert classes == ["face", "non_face"] and len(paths) == 200
    assert sorted(p.name for p in (tmp_path / "lfw").iterdir()) == classes
    assert [p.parent.name for p in paths] == ["face"] * 100 + ["non_face"] * 100
    from skimage.data import lfw_subset

    original = lfw_subset()[150]
    with Image.open(paths[150]) as image:
        assert image.size == (50, 50) and image.mode == "L"
        back = np.asarray(image.resize((25, 25), Image.Resampling.BOX), dtype=float) / 255
    assert np.abs(back - original).mean() < 0.05  # the same picture, only larger


def test_split_is_stratified_disjoint_and_nested(evidence):
    script, _ = evidence
    labels = np.repeat(np.arange(4), [50, 30, 20, 100])
    test, orders = script.split(labels, seed=3, test_fraction=0.3)
    pool = np.concatenate(orders)
    assert not set(test) & set(pool)  # no test image is ever a training image
    assert sorted([*test, *pool]) == list(range(len(labels)))
    for c, order in enumerate(orders):
        assert set(labels[order]) == {c}
        assert abs(np.sum(labels[test] == c) - 0.3 * np.sum(labels == c)) <= 1  # stratified
    again_test, again_orders = script.split(labels, seed=3, test_fraction=0.3)
    assert list(again_test) == list(test) and all(list(a) == list(b) for a, b in zip(again_orders, orders))
    other, _ = script.split(labels, seed=4, test_fraction=0.3)
    assert list(other) != list(test)  # seeds differ in their split


def test_copies_do_not_depend_on_the_other_files_in_the_tree(tmp_path):
    """The script expands the largest training set once and takes the smaller sizes' copies from
    it; that is only right if a source's copies are the same bytes when expanded on its own."""
    rng = np.random.default_rng(0)
    big, small = tmp_path / "big", tmp_path / "small"
    for label in ("a", "b"):
        for i in range(4):
            image = Image.fromarray(rng.integers(0, 256, (24, 20), dtype=np.uint8))
            (big / label).mkdir(parents=True, exist_ok=True)
            image.save(big / label / f"{i}.png")
            if i == 2:
                (small / label).mkdir(parents=True, exist_ok=True)
                image.save(small / label / f"{i}.png")
    recipe = ROOT / "recipes" / "digits-safe.yaml"
    augcli.expand(big, tmp_path / "out_big", recipe=recipe, copies=3, seed=5, jobs=1)
    augcli.expand(small, tmp_path / "out_small", recipe=recipe, copies=3, seed=5, jobs=1)

    def hashes(out):
        lines = (out / "manifest.jsonl").read_text().splitlines()
        return {r["path"]: r["sha256"] for r in map(json.loads, lines)}

    alone, within = hashes(tmp_path / "out_small"), hashes(tmp_path / "out_big")
    assert len(alone) == 2 * 4  # the original and 3 copies of each of the 2 sources
    assert {path: within[path] for path in alone} == alone


def test_paired_interval_matches_the_textbook_t_interval(evidence):
    _, report = evidence
    mean, low, high = report.paired([0.01, 0.03, 0.02])
    half = 4.302653 * 0.01 / math.sqrt(3)  # t(0.975, df 2) x sd / sqrt(n)
    assert mean == pytest.approx(0.02)
    assert (low, high) == (pytest.approx(0.02 - half), pytest.approx(0.02 + half))
    mean, low, high = report.paired([0.05])
    assert mean == pytest.approx(0.05) and math.isnan(low) and math.isnan(high)  # one seed: no interval


def test_effect_is_paired_by_seed_and_bold_only_when_the_interval_excludes_zero(evidence):
    _, report = evidence

    def rows(condition, accuracies):
        return [{"dataset": "d", "seed": s, "per_class": 5, "condition": condition, "model": "knn",
                 "train_images": 10, "test_images": 9, "accuracy": a} for s, a in enumerate(accuracies)]

    # seeds vary a lot, the paired difference hardly: +2 points every time
    base = [0.50, 0.90, 0.70, 0.60]
    table = report.summarise(rows("none", base) + rows("up", [a + 0.02 for a in base])
                             + rows("noise", [0.51, 0.88, 0.71, 0.60]))
    assert report.effect_cell(table[("d", "knn", 5, "up")]) == "**+2.0 [+2.0, +2.0]**"
    assert not report.effect_cell(table[("d", "knn", 5, "noise")]).startswith("**")


def test_readme_quotes_the_committed_report():
    """The README's evidence table is copied from docs/evidence.md, the output of the run it describes."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("<!-- evidence:start -->"):readme.index("<!-- evidence:end -->")]
    report = (ROOT / "docs" / "evidence.md").read_text()
    table_lines = [line for line in section.splitlines() if line.startswith("| ")]
    assert len(table_lines) >= 5
    for line in table_lines:
        assert line in report.splitlines(), line
    minutes = re.search(r"Wall time: ([\d.]+) min", report).group(1)
    assert f"{minutes} min" in section
    assert (ROOT / "docs" / "evidence.png").stat().st_size > 10_000
