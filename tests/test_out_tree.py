"""OUT is augcli's alone: nothing is written or deleted through a link inside
it, ``--resume`` follows what SRC holds now, and one run writes at a time.
Every CLI call here goes through ``run``, which proves SRC is unchanged."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import augcli._expand
from augcli.errors import UnsafeOutPath
from augcli.outdir import OutDir, write_atomic
from .conftest import make_image, snapshot, tree_digest


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
    monkeypatch.setattr(augcli._expand, "refuse_links", lambda out, plan: None)  # as if swapped after the check
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


PNG_RECIPE = """\
version: 1
copies: 2
seed: 3
output: {format: png}
pipeline:
  - rotate: {angle: [-20, 20], fill: reflect}
  - brightness: {factor: [0.8, 1.2]}
"""


def records(out: Path) -> list[str]:
    """The manifest's lines, sorted: resume appends what it redoes at the end."""
    return sorted((out / "manifest.jsonl").read_text().splitlines())


@pytest.mark.parametrize("balance", [False, True])
def test_resume_after_src_changed_brings_out_up_to_date(run, src, tmp_path, balance):
    """The README's Makefile pattern: SRC changes, `--resume --strict` runs again.
    With ``balance``, a new source also changes how many copies the others get."""
    recipe = tmp_path / "png.yaml"
    recipe.write_text(PNG_RECIPE.replace("copies: 2", "balance: {target: 8}") if balance else PNG_RECIPE)
    make_image(src / "cat" / "b.png", (36, 30), seed=10)
    (src / "dog" / "truncated.jpg").write_bytes(make_image(tmp_path / "t.jpg", seed=11).read_bytes()[:300])
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    assert [json.loads(line)["source"] for line in (out / "skipped.jsonl").read_text().splitlines()] == \
        ["dog/truncated.jpg"]

    (src / "cat" / "c2.jpg").unlink()  # removed
    make_image(src / "cat" / "b.jpg", (44, 28), seed=12)  # added: b.jpg now owns cat/b.png, b.png moves to b_png
    make_image(src / "dog" / "d1.jpg", (72, 40), seed=13)  # re-exported: same name, new bytes
    make_image(src / "dog" / "truncated.jpg", (30, 30), seed=14)  # the skipped file, fixed
    if balance:
        make_image(src / "dog" / "d3.jpg", (50, 40), seed=15)  # dog: 4 sources share 4 copies, not 3 share 5
    result = run("expand", src, out, "-r", recipe, "-j", "2", "--resume", "--strict")
    assert result.exit_code == 0, result.stderr
    added = "2 added (cat/b.jpg, dog/d3.jpg)" if balance else "1 added (cat/b.jpg)"
    # without balance: c2's 3 outputs go; b.jpg takes over b.png's 3 names and d1 changed (6 redone);
    # b.png under its new name and the fixed truncated.jpg are new (3 + 3)
    did = "redone 4, removed 4, new 6" if balance else "redone 6, removed 3, new 6"
    assert result.stderr.splitlines()[0] == (
        f"augcli: changed since {out} was made: SRC {added}, 1 removed (cat/c2.jpg), "
        f"2 changed (dog/d1.jpg, dog/truncated.jpg); {did}; OUT brought up to date")

    fresh = tmp_path / "fresh"
    assert run("expand", src, fresh, "-r", recipe, "-j", "1").exit_code == 0
    assert tree_digest(out, ("augcli.json", "manifest.jsonl")) == tree_digest(fresh, ("augcli.json", "manifest.jsonl"))
    assert records(out) == records(fresh)
    assert not (out / "skipped.jsonl").exists()
    result = run("verify", out, "--source", src)
    assert result.exit_code == 0, result.output
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--strict")
    assert result.exit_code == 0 and "up to date" in result.stderr


def test_resume_retries_a_skipped_source_only_once_it_changed(run, src, recipe, tmp_path):
    (src / "dog" / "truncated.jpg").write_bytes(make_image(tmp_path / "t.jpg", seed=11).read_bytes()[:300])
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    before = tree_digest(out, ())
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--strict")
    assert result.exit_code == 1 and "up to date" in result.stderr  # still skipped, nothing redone
    assert tree_digest(out, ()) == before
    make_image(src / "dog" / "truncated.jpg", (30, 30), seed=14)
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--strict")
    assert result.exit_code == 0, result.stderr
    assert "1 changed (dog/truncated.jpg)" in result.stderr
    assert len(manifest(out)) == 7 * 4 and not (out / "skipped.jsonl").exists()


def test_duplicate_records_are_flagged_by_verify_and_redone_by_resume(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    fresh = tree_digest(out, ("augcli.json",))
    lines = (out / "manifest.jsonl").read_text().splitlines(keepends=True)
    (out / "manifest.jsonl").write_text("".join(lines + lines[:2]))  # two runs interleaved, say
    result = run("verify", out)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [f"duplicate: {json.loads(line)['path']}" for line in lines[:2]]
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0, result.stderr
    assert records(out) == sorted(line.rstrip("\n") for line in lines)
    assert {k: v for k, v in tree_digest(out, ("augcli.json",)).items() if k != "manifest.jsonl"} == \
        {k: v for k, v in fresh.items() if k != "manifest.jsonl"}
    assert run("verify", out, "--source", src).exit_code == 0


GATE = """
import os, time
import augcli.worker

_process = augcli.worker.process

def process(task, job):
    records = _process(task, job)
    gate = os.environ["AUGCLI_TEST_GATE"]
    open(gate + ".reached", "w").close()
    while not os.path.exists(gate):  # hold the run here, lock taken and work begun
        time.sleep(0.01)
    return records

augcli.worker.process = process
"""


def test_one_writer_at_a_time_and_a_killed_runs_lock_is_taken_over(run, src, recipe, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(GATE)
    gate = tmp_path / "gate"
    env = {**os.environ, "AUGCLI_TEST_GATE": str(gate),
           "PYTHONPATH": f"{hook}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "augcli", "expand", str(src), str(out), "-r", str(recipe),
                              "-j", "1", "-q"], env=env, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 60
        while not Path(f"{gate}.reached").exists():
            assert time.time() < deadline and first.poll() is None, "the first run never got going"
            time.sleep(0.01)
        for flags in ([], ["--resume"], ["--overwrite"]):
            result = run("expand", src, out, "-r", recipe, "-j", "1", *flags)
            assert result.exit_code == 2, (flags, result.stderr)
            assert result.stderr == (f"augcli: error: OUT {out} is being written by another augcli run (pid "
                                     f"{first.pid}); one run writes to a folder at a time: wait for it to "
                                     "finish, or stop it\n")
        os.killpg(first.pid, signal.SIGKILL)  # kill -9: its lock file stays, its lock does not
        first.wait()
        assert (out / ".augcli.lock").read_text() == f"{first.pid}\n"
        result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
        assert result.exit_code == 0, result.stderr
        assert not (out / ".augcli.lock").exists()
        assert run("verify", out, "--source", src).exit_code == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first.pid, signal.SIGKILL)
        first.wait()
