"""``--resume`` after a kill that landed mid-append, reproduced exactly instead
of by timing: the torn last manifest line is cut off and its image redone,
finished images are not written again, sources recorded as skipped are not
retried, and the run record counts the whole tree."""
from __future__ import annotations

import json
from pathlib import Path

from .conftest import make_image, tree_digest


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def as_if_killed_mid_append(out: Path, keep: int) -> None:
    """Leave OUT as a kill leaves it: the manifest's first ``keep`` lines, half of
    the next one (its image is already in place), and a run record still running."""
    lines = (out / "manifest.jsonl").read_bytes().splitlines(keepends=True)
    torn = lines[keep][: len(lines[keep]) // 2]
    (out / "manifest.jsonl").write_bytes(b"".join(lines[:keep]) + torn)
    for record in map(json.loads, lines[keep + 1:]):
        (out / record["path"]).unlink()
    run_record = json.loads((out / "augcli.json").read_text())
    run_record.update(status="running", finished=None)
    (out / "augcli.json").write_text(json.dumps(run_record))


def test_resume_after_a_torn_last_line_ends_with_the_uninterrupted_tree(run, src, recipe, tmp_path):
    good = (src / "cat" / "c1.jpg").read_bytes()
    (src / "cat" / "c0_truncated.jpg").write_bytes(good[: len(good) // 2])  # skipped when decoded
    reference, out = tmp_path / "reference", tmp_path / "out"
    assert run("expand", src, reference, "-r", recipe, "-j", "1").exit_code == 0
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    assert [r["source"] for r in records(out / "skipped.jsonl")] == ["cat/c0_truncated.jpg"]
    as_if_killed_mid_append(out, keep=13)
    finished = {p: p.stat().st_mtime_ns for p in out.rglob("*.jpg")}

    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0, result.output
    assert "(13 already done)" in result.stderr
    manifest = (out / "manifest.jsonl").read_text()
    assert [json.loads(line) for line in manifest.splitlines()]  # every line is whole JSON again
    assert manifest == (reference / "manifest.jsonl").read_text()
    assert records(out / "skipped.jsonl") == records(reference / "skipped.jsonl")
    assert tree_digest(out) == tree_digest(reference)
    done = {r["path"] for r in records(out / "manifest.jsonl")[:13]}
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items()
               if path.relative_to(out).as_posix() in done), "a finished image was written again"
    run_record = json.loads((out / "augcli.json").read_text())
    assert run_record["status"] == "complete"
    assert run_record["counts"]["written"] == 24 and run_record["counts"]["skipped"] == 1


def test_a_torn_line_alone_is_repaired(run, tmp_path, recipe):
    """The kill landed in the very first append: nothing complete to keep."""
    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg", seed=1)
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    reference = (out / "manifest.jsonl").read_text()
    as_if_killed_mid_append(out, keep=0)
    assert run("expand", root, out, "-r", recipe, "-j", "1", "--resume").exit_code == 0
    assert (out / "manifest.jsonl").read_text() == reference
