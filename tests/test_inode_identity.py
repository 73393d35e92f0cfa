"""A file is its inode, not its path: OUT met inside SRC through a mount, hard
links into SRC or into a snapshot of OUT, and names a filesystem folds
together (case, Unicode normalisation) are all seen for what they are."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import unicodedata
from pathlib import Path

import pytest

from augcli.errors import UsageError

from .conftest import make_image, snapshot


@contextlib.contextmanager
def bind_mount(target: Path, at: Path):
    """``target`` mounted at ``at`` (a container's ``-v``); skips the test where
    bind mounts are not allowed (not root, or no mount namespace rights)."""
    at.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("bind mounts need root")
    done = subprocess.run(["mount", "--bind", str(target), str(at)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mount --bind is not allowed here: {done.stderr.strip()}")
    try:
        yield at
    finally:
        subprocess.run(["umount", str(at)], check=True)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_out_inside_src_through_a_bind_mount_is_refused(run, src, recipe, tmp_path):
    """``-v data:/src -v data/aug:/out``: OUT's path is nowhere below SRC's, but
    it is SRC/aug; the scan meets it (by device and inode) and refuses."""
    inner = src / "aug"
    inner.mkdir()
    with bind_mount(inner, tmp_path / "out") as out:
        result = run("expand", src, out, "-r", recipe, "-j", "1", src=src)
        assert result.exit_code == 2, result.output
        assert "inside SRC" in result.stderr and len(result.stderr.strip().splitlines()) == 1
        assert list(inner.iterdir()) == []
        dry = run("expand", src, out, "-r", recipe, "--dry-run", src=src)
        assert dry.exit_code == 2 and "inside SRC" in dry.stderr


def test_out_below_a_second_mount_of_src_is_refused_before_the_scan(run, src, recipe, tmp_path):
    """SRC mounted again elsewhere, OUT below that mount: the folders above OUT
    include SRC by (device, inode), though no path says so."""
    with bind_mount(src, tmp_path / "mnt") as mnt:
        result = run("expand", src, mnt / "aug", "-r", recipe, "-j", "1", src=src)
        assert result.exit_code == 2 and "inside SRC" in result.stderr, result.output
        assert not (src / "aug").exists()
        # and the other way round: SRC below a second mount of OUT
        out = tmp_path / "out"
        out.mkdir()
        with bind_mount(out, tmp_path / "mnt2") as mnt2:
            shutil.copytree(src / "cat", mnt2 / "data" / "cat")
            result = run("expand", mnt2 / "data", out, "-r", recipe, "-j", "1")
            assert result.exit_code == 2 and "SRC" in result.stderr and "inside OUT" in result.stderr


def test_src_mounted_inside_an_existing_out_is_refused(run, src, recipe, tmp_path):
    """``-v data/aug/in:/src -v data/aug:/out``: SRC's path is nowhere below
    OUT's; a folder below OUT is SRC by (device, inode)."""
    out = tmp_path / "out"
    (out / "in").mkdir(parents=True)
    shutil.copytree(src / "dog", out / "in" / "dog")
    with bind_mount(out / "in", tmp_path / "mounted") as mounted:
        result = run("expand", mounted, out, "-r", recipe, "-j", "1", "--overwrite")
        assert result.exit_code == 2, result.output
        assert result.stderr == (f"augcli: error: SRC {mounted} is inside OUT {out}: choose an output folder outside "
                                 "the source tree\n")


def test_replay_into_a_folder_of_src_mounted_elsewhere_is_refused(run, src, recipe, tmp_path):
    """replay does not scan SRC: it looks for NEWOUT among SRC's folders."""
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    inner = src / "spare"
    inner.mkdir()
    with bind_mount(inner, tmp_path / "again") as again:
        result = run("replay", out / "manifest.jsonl", src, again, src=src)
        assert result.exit_code == 2 and "inside SRC" in result.stderr, result.output
        assert list(inner.iterdir()) == []


def test_the_scan_refuses_to_meet_out_or_this_runs_lock(src, tmp_path):
    """Without a mount: the scan itself, given OUT's identity, stops at OUT's
    folder or at the run's own live lock file wherever they appear in SRC."""
    from augcli.scan import OutIdentity, scan

    inner = src / "dog" / "deep" / "aug"
    inner.mkdir(parents=True)
    with pytest.raises(UsageError, match="inside SRC"):
        scan(src, OutIdentity.of(inner))
    lock = tmp_path / "out" / ".augcli.lock"
    lock.parent.mkdir()
    lock.write_text("1\n")
    os.link(lock, src / "cat" / ".augcli.lock")  # the same file, met in SRC
    with pytest.raises(UsageError, match="inside SRC"):
        scan(src, OutIdentity.of(lock.parent))
    assert len(scan(src, OutIdentity.of(tmp_path / "elsewhere")).sources) == 6


def test_a_lock_file_hard_linked_to_a_source_is_never_written(run, src, recipe, tmp_path):
    """The lock file found in OUT is locked, not truncated: the pid goes into a
    new file renamed over it, so a source image linked there keeps its bytes."""
    out = tmp_path / "out"
    out.mkdir()
    victim = src / "cat" / "c1.jpg"
    before = _digest(victim)
    os.link(victim, out / ".augcli.lock")
    result = run("expand", src, out, "-r", recipe, "-j", "1", src=src)
    assert result.exit_code == 0, result.output
    assert _digest(victim) == before
    assert not (out / ".augcli.lock").exists()


def test_a_symlinked_lock_file_is_a_usage_error(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep")
    (out / ".augcli.lock").symlink_to(target)
    result = run("expand", src, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert target.read_text() == "keep"


def _snapshot_by_links(out: Path, snap: Path) -> None:
    """``cp -al out snap``: the same files under a second name."""
    for path in sorted(out.rglob("*")):
        dest = snap / path.relative_to(out)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)


@pytest.mark.parametrize("torn", [False, True])
def test_resume_never_changes_a_hard_linked_snapshot_of_out(run, src, recipe, tmp_path, torn):
    """The manifest is appended (and a torn tail cut) only in a file of
    augcli's own: a ``cp -al`` snapshot keeps every byte."""
    out, snap = tmp_path / "out", tmp_path / "snap"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    if torn:
        with open(out / "manifest.jsonl", "ab") as handle:  # a killed run's torn last line
            handle.write(b'{"path": "cat/c')
    _snapshot_by_links(out, snap)
    before = snapshot(snap)
    make_image(src / "dog" / "d3.jpg", (30, 40), seed=9)  # something for --resume to append
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 0, result.output
    assert "1 added" in result.stderr
    assert snapshot(snap) == before
    assert any(json.loads(line)["source"] == "dog/d3.jpg" for line in (out / "manifest.jsonl").read_text().splitlines())


def test_preview_out_onto_a_hard_link_of_a_source_leaves_the_source(run, src, recipe, tmp_path):
    linked = tmp_path / "sheet.png"
    victim = src / "cat" / "grey.png"
    os.link(victim, linked)
    before = _digest(victim)
    result = run("preview", src, "-r", recipe, "--out", linked, "-n", "2", "-k", "1", src=src)
    assert result.exit_code == 0, result.output
    assert _digest(victim) == before and _digest(linked) != before
    assert not [p for p in tmp_path.iterdir() if "augcli-tmp" in p.name]


def test_preview_out_inside_src_through_a_mount_is_refused(run, src, recipe, tmp_path):
    with bind_mount(src, tmp_path / "mnt") as mnt:
        result = run("preview", src, "-r", recipe, "--out", mnt / "sheet.png", src=src)
        assert result.exit_code == 2 and "inside SRC" in result.stderr, result.output
    assert not (src / "sheet.png").exists()


@pytest.mark.parametrize("fmt", ["same", "png"])
def test_names_differing_only_in_unicode_normalisation_are_a_collision(run, tmp_path, fmt):
    """``café.png`` with a precomposed é and with e + U+0301 are one name on
    macOS (as ``Cat``/``cat`` are): they get distinct outputs, as case twins do."""
    root = tmp_path / "src"
    nfc = unicodedata.normalize("NFC", "café.png")
    nfd = unicodedata.normalize("NFD", "café.png")
    assert nfc != nfd
    make_image(root / "cat" / nfc, fmt="PNG", seed=1)
    make_image(root / "cat" / nfd, fmt="PNG", seed=2)
    if len(list((root / "cat").iterdir())) != 2:
        pytest.skip("this filesystem folds Unicode normalisation itself")
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"copies: 1\noutput: {{format: {fmt}}}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    paths = [json.loads(line)["path"] for line in (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    folded = {unicodedata.normalize("NFD", unicodedata.normalize("NFD", p).casefold()) for p in paths}
    assert len(folded) == len(paths) == 4
