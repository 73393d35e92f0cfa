"""OUT is augcli's alone: nothing is written or deleted through a link inside
it, ``--resume`` follows what SRC holds now, and one run writes at a time.
Every CLI call here goes through ``run``, which proves SRC is unchanged."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import augcli.job
from augcli.errors import UnsafeOutPath
from augcli.outdir import OutDir, write_atomic
from .conftest import snapshot


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def interrupt(out: Path, keep: int) -> None:
    """Make OUT look like a run killed after ``keep`` manifest lines."""
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines[:keep]))
    record = json.loads((out / "augcli.json").read_text())
    (out / "augcli.json").write_text(json.dumps({**record, "status": "running"}))


@pytest.mark.parametrize("flag", ["--overwrite", "--resume"])
def test_a_symlinked_folder_in_out_is_never_written_through(run, src, recipe, tmp_path, flag):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    interrupt(out, keep=4)
    for path in sorted((out / "cat").iterdir()):
        path.unlink()
    (out / "cat").rmdir()
    (out / "cat").symlink_to(src / "cat", target_is_directory=True)
    result = run("expand", src, out, "-r", recipe, "-j", "1", flag)  # `run` proves SRC is untouched
    assert result.exit_code == 2
    assert result.stderr == (f"augcli: error: {out / 'cat'} is a symbolic link (to {src / 'cat'}): augcli never "
                             "writes or deletes through a link inside OUT; remove the link, or choose another OUT\n")
    assert (out / "cat").is_symlink()


@pytest.mark.parametrize("name", ["manifest.jsonl", "skipped.jsonl", "augcli.json"])
def test_a_symlinked_record_file_in_out_is_never_written_through(run, src, recipe, tmp_path, name):
    (src / "cat" / "notes.txt").write_text("")  # ignored by the scan, but part of SRC
    (src / "cat" / "broken.jpg").write_bytes(b"not an image")  # so skipped.jsonl has lines
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    interrupt(out, keep=4)
    record = (out / "augcli.json").read_text()
    (out / name).unlink(missing_ok=True)
    (out / name).symlink_to(src / "cat" / "notes.txt")
    if name == "augcli.json":  # the real record elsewhere, so --resume gets as far as writing
        (out / name).unlink()
        (out / name).symlink_to(tmp_path / "record.json")
        (tmp_path / "record.json").write_text(record)
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 2 and "is a symbolic link" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_link_appearing_during_the_run_is_refused_where_it_is_opened(run, src, recipe, tmp_path, monkeypatch):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    interrupt(out, keep=4)
    for path in sorted((out / "cat").iterdir()):
        path.unlink()
    (out / "cat").rmdir()
    (out / "cat").symlink_to(src / "cat", target_is_directory=True)
    monkeypatch.setattr(augcli.job, "_refuse_links", lambda out, plan: None)  # as if swapped after the check
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 1
    assert result.stderr == (f"augcli: error: {out / 'cat'} is a symbolic link: augcli never writes or deletes "
                             "through a link inside OUT; remove the link, or choose another OUT\n")


def test_write_and_remove_never_follow_links(src, tmp_path):
    out_path = tmp_path / "out"
    out_path.mkdir()
    out = OutDir.of(out_path)
    before = snapshot(src)
    (out_path / "cat").symlink_to(src / "cat", target_is_directory=True)  # after OUT was opened
    with pytest.raises(UnsafeOutPath, match="is a symbolic link"):
        write_atomic(out, "cat/c1.jpg", b"not an image")
    assert out.remove("cat/c1.jpg") is False
    (out_path / "dog").mkdir()
    (out_path / "dog" / "d1.jpg").symlink_to(src / "dog" / "d1.jpg")
    write_atomic(out, "dog/d1.jpg", b"replaced")  # a link where a file goes is replaced, not written through
    assert not (out_path / "dog" / "d1.jpg").is_symlink() and (out_path / "dog" / "d1.jpg").read_bytes() == b"replaced"
    (out_path / "dog" / "d2.jpg").symlink_to(src / "dog" / "d2.jpg")
    assert out.remove("dog/d2.jpg") is True and not (out_path / "dog" / "d2.jpg").is_symlink()
    for bad in ("../src/cat/c1.jpg", "/etc/passwd", "cat/../../src/cat/c1.jpg", "./x.jpg", "a//b.jpg"):
        with pytest.raises(UnsafeOutPath, match="not a plain relative path"):
            write_atomic(out, bad, b"x")
        assert out.remove(bad) is False
    assert snapshot(src) == before
    assert [p.name for p in out_path.rglob("*") if "augcli-tmp" in p.name] == []


def test_an_out_folder_replaced_during_the_run_gets_nothing(tmp_path):
    (tmp_path / "out").mkdir()
    out = OutDir.of(tmp_path / "out")
    os.rename(tmp_path / "out", tmp_path / "old")
    (tmp_path / "out").mkdir()
    with pytest.raises(UnsafeOutPath, match="was replaced by another folder"):
        write_atomic(out, "cat/a.jpg", b"x")
    assert list((tmp_path / "out").iterdir()) == [] and list((tmp_path / "old").iterdir()) == []
