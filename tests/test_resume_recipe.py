"""``--resume`` follows recipe edits output by output, and never removes OUT in bulk unasked.

The reference for "what an edit changes" is a fresh run of the edited recipe:
after any edit, a resumed OUT equals it byte for byte, and the files the edit
does not concern keep their inode and mtime (they were not rewritten)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from tests.conftest import RECIPE, make_image, snapshot, tree_digest

META = ("augcli.json", "manifest.jsonl")


def stamps(out: Path) -> dict[str, tuple[int, int]]:
    """relpath -> (inode, mtime_ns) of every image in OUT."""
    return {str(p.relative_to(out)): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in out.rglob("*") if p.is_file() and p.name not in META}


def records(out: Path) -> list[dict]:
    return sorted((json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()),
                  key=lambda r: r["path"])


def fresh(run, src, recipe, tmp_path, name="fresh", *flags) -> Path:
    out = tmp_path / name
    assert run("expand", src, out, "-r", recipe, "-j", "1", "-q", *flags).exit_code == 0
    return out


def test_raising_copies_writes_only_the_new_copy_of_each_source(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    recipe.write_text(RECIPE.replace("copies: 3", "copies: 4"))
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    before = stamps(out)
    recipe.write_text(RECIPE.replace("copies: 3", "copies: 5"))
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (f"augcli: changed since {out} was made: recipe copies 4 -> 5; "
                                             "redone 0, removed 0, new 6; OUT brought up to date")
    after = stamps(out)
    new = sorted(set(after) - set(before))
    assert new == sorted(p for p in after if re.search(r"_aug05\.", p)) and len(new) == 6
    assert {p: after[p] for p in before} == before  # nothing else rewritten
    assert tree_digest(out, META) == tree_digest(fresh(run, src, recipe, tmp_path), META)
    assert records(out) == records(tmp_path / "fresh")

    recipe.write_text(RECIPE.replace("copies: 3", "copies: 2"))  # lowering: copies 3..5 go, nothing redone
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "-q")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == (f"augcli: changed since {out} was made: recipe copies 5 -> 2; redone 0, removed 18, "
                             "new 0; OUT brought up to date\n")  # -q keeps this one line
    assert tree_digest(out, META) == tree_digest(fresh(run, src, recipe, tmp_path, "fresh2"), META)


def test_an_edited_pipeline_redoes_the_augmented_outputs_and_keeps_the_originals(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    before = stamps(out)
    recipe.write_text(RECIPE.replace("angle: [-20, 20]", "angle: [-10, 10]"))
    dry = run("expand", src, out, "-r", recipe, "--resume", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0, result.stderr
    assert "recipe pipeline; redone 18, removed 0, new 0" in result.stderr
    # the dry run said exactly what the run then did
    assert "would be redone 18, removed 0, new 0" in dry.stdout
    assert "would read 6 images and write 18 to" in dry.stdout and "(6 already done, redid 18); " in dry.stdout
    assert "wrote 18 (6 already done, redid 18)" in result.stderr
    after = stamps(out)
    originals = [p for p in before if "_aug" not in p]
    assert len(originals) == 6 and all(after[p] == before[p] for p in originals)
    assert tree_digest(out, META) == tree_digest(fresh(run, src, recipe, tmp_path), META)


def test_a_class_rule_redoes_only_that_class_and_a_seed_change_redoes_every_copy(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    before = stamps(out)
    recipe.write_text(RECIPE + "classes: {dog: {exclude: [rotate]}}\n")
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0, result.stderr
    assert "recipe classes; redone 6, removed 0, new 0" in result.stderr
    after = stamps(out)
    assert {p for p in before if after[p] != before[p]} == {f"dog/d{i}_aug0{k}.jpg" for i in (1, 2) for k in (1, 2, 3)}
    assert tree_digest(out, META) == tree_digest(fresh(run, src, recipe, tmp_path), META)

    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--seed", "8")
    assert result.exit_code == 0, result.stderr
    assert "recipe seed 7 -> 8; redone 18, removed 0, new 0" in result.stderr
    assert tree_digest(out, META) == tree_digest(fresh(run, src, recipe, tmp_path, "fresh8", "--seed", "8"), META)
    again = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--seed", "8")
    assert again.exit_code == 0 and "up to date" in again.stderr


def test_output_format_change_removes_most_of_out_only_with_prune(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    before = snapshot(out)
    recipe.write_text(RECIPE + "output: {format: png}\n")
    for flags in ([], ["--dry-run"]):
        result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", *flags)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"augcli: error: --resume: most of {out} would go: this resume would "
                                        "remove 20 of its 24 outputs (cat/c1.jpg, cat/c1_aug01.jpg, cat/c1_aug02.jpg, ...) and redo 1 "
                                        "(recipe: output.format same -> png); add --prune")
        assert snapshot(out) == before  # refused: nothing removed
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--prune")
    assert result.exit_code == 0, result.stderr
    assert tree_digest(out, META) == tree_digest(fresh(run, src, recipe, tmp_path), META)


def test_resume_from_another_src_is_refused_and_says_what_would_go(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    before = snapshot(out)
    tiny = tmp_path / "tiny"
    make_image(tiny / "cat" / "c1.jpg", (64, 48), seed=1)  # the same bytes as src's cat/c1.jpg
    result = run("expand", tiny, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 2
    assert result.stderr == (
        f"augcli: error: --resume: {out} was made from {src.resolve()}, not {tiny.resolve()}: this resume would "
        "remove 20 of its 24 outputs (cat/c2.jpg, cat/c2_aug01.jpg, cat/c2_aug02.jpg, ...) (SRC: 5 removed "
        "(cat/c2.jpg, cat/c3.jpg, cat/grey.png, ...)); add --prune if that is what you want, or use --overwrite "
        "to start again\n")
    assert snapshot(out) == before
    # empty class folders (a share not synced yet): most of OUT would go
    empty = tmp_path / "empty"
    (empty / "cat").mkdir(parents=True)
    (empty / "dog").mkdir()
    make_image(empty / "dog" / "d1.jpg", (72, 40), seed=5)
    result = run("expand", empty, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 2 and "this resume would remove 20 of its 24" in result.stderr
    assert snapshot(out) == before
    # the same SRC moved elsewhere: nothing would go, so it is followed
    moved = tmp_path / "moved"
    os.rename(src, moved)
    result = run("expand", moved, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0 and "wrote 0 (24 already done)" in result.stderr
    assert json.loads((out / "augcli.json").read_text())["source"] == str(moved.resolve())  # recorded now
    (moved / "cat" / "c3.jpg").unlink()  # so a later removal there is an ordinary resume
    result = run("expand", moved, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0 and "removed 4, new 0" in result.stderr


def test_an_edit_that_changes_no_output_is_still_recorded(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    recipe.write_text(RECIPE + "classes: {dog: {copies: 3}}\n")  # what dog gets already
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0 and "recipe classes; redone 0, removed 0, new 0" in result.stderr
    assert json.loads((out / "augcli.json").read_text())["recipe"]["classes"] == {"dog": {"copies": 3}}
    again = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert "up to date" in again.stderr and "changed since" not in again.stderr


def test_remaining_refusal_names_what_differs(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    record = json.loads((out / "augcli.json").read_text())
    record["recipe"] = {"pipeline": "not a recipe"}
    (out / "augcli.json").write_text(json.dumps(record))
    recipe.write_text(RECIPE.replace("copies: 3", "copies: 4"))
    result = run("expand", src, out, "-r", recipe, "--resume")
    assert result.exit_code == 2
    assert "the recipe recorded in" in result.stderr and "cannot be read back" in result.stderr
    assert "sha256" not in result.stderr


def test_prune_needs_resume(run, src, recipe, tmp_path):
    result = run("expand", src, tmp_path / "out", "-r", recipe, "--prune")
    assert result.exit_code == 2 and "--prune goes with --resume" in result.stderr
    assert not (tmp_path / "out").exists()
