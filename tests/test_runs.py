"""Interrupted and failing runs: kill -9 at several points, a full or
read-only disk, Ctrl-C, and a worker process that dies. In every case the
images present decode, every manifest line points at its finished file, and
``--resume`` ends with the tree an uninterrupted run writes."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import augcli.worker
from augcli.io import is_temp
from .conftest import load, make_image, tree_digest


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "src"
    for i in range(20):
        make_image(root / ("cat" if i % 2 else "dog") / f"{i:02d}.jpg", (240, 180), seed=i)
    return root


@pytest.fixture
def reference(tree, recipe, tmp_path) -> Path:
    out = tmp_path / "reference"
    subprocess.run([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe), "-j", "1",
                    "-q"], check=True)
    return out


def assert_consistent(out: Path) -> int:
    """Every image in OUT decodes and every manifest line matches its file."""
    for path in out.rglob("*.jpg"):
        load(path)
    lines = (out / "manifest.jsonl").read_text().splitlines() if (out / "manifest.jsonl").exists() else []
    for record in map(json.loads, lines):
        assert hashlib.sha256((out / record["path"]).read_bytes()).hexdigest() == record["sha256"]
    return len(lines)


def spawn(tree: Path, out: Path, recipe: Path, *extra: str, stderr=subprocess.DEVNULL) -> subprocess.Popen:
    # after a kill -9, orphaned workers may hold an inherited pipe open: no pipes by default.
    # A session of its own, so a signal can go to the whole group, as a terminal's Ctrl-C does.
    return subprocess.Popen([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe),
                             "-q", *extra], stdout=subprocess.DEVNULL, stderr=stderr, text=True,
                            start_new_session=True)


def wait_for_lines(out: Path, n: int, seconds: float = 30) -> None:
    manifest = out / "manifest.jsonl"
    deadline = time.time() + seconds
    while time.time() < deadline:
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= n:
            return
        time.sleep(0.002)
    raise AssertionError(f"fewer than {n} manifest lines after {seconds} s")


def resume(tree: Path, out: Path, recipe: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe),
                           "--resume"], capture_output=True, text=True)


def test_kill_9_at_several_points_then_resume(tree, recipe, reference, tmp_path):
    out = tmp_path / "out"
    for stop_after in (3, 25, 50):  # a fresh run, then two kills of resumed runs
        proc = spawn(tree, out, recipe, "-j", "2", *(["--resume"] if stop_after != 3 else []))
        wait_for_lines(out, stop_after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert stop_after <= assert_consistent(out) <= 80  # (a fast machine may finish first)
    result = resume(tree, out, recipe)
    assert result.returncode == 0, result.stderr
    assert tree_digest(out) == tree_digest(reference)
    assert not [p for p in out.rglob("*") if "augcli-tmp" in p.name]


def test_ctrl_c_stops_promptly_and_says_how_to_resume(tree, recipe, reference, tmp_path):
    out = tmp_path / "out"
    proc = spawn(tree, out, recipe, "-j", "2", stderr=subprocess.PIPE)
    wait_for_lines(out, 10)
    started = time.time()
    os.killpg(proc.pid, signal.SIGINT)  # the parent and its workers, like Ctrl-C in a terminal
    _, stderr = proc.communicate(timeout=30)
    assert time.time() - started < 10
    assert proc.returncode == 130
    assert stderr == ("augcli: interrupted; finished images are kept and recorded. "
                      "Run the same command with --resume to finish.\n")
    assert json.loads((out / "augcli.json").read_text())["status"] == "failed"
    assert_consistent(out)
    assert resume(tree, out, recipe).returncode == 0
    assert tree_digest(out) == tree_digest(reference)


@pytest.mark.parametrize("code,words", [(errno.ENOSPC, "No space left on device"),
                                        (errno.EROFS, "Read-only file system")])
def test_full_or_read_only_disk_fails_cleanly_and_resumes(run, tree, recipe, reference, tmp_path, monkeypatch,
                                                          code, words):
    out = tmp_path / "out"
    real_write = augcli.worker.write_atomic
    writes = []

    def failing_write(path, data):
        if len(writes) >= 30:
            raise OSError(code, os.strerror(code))
        writes.append(path)
        real_write(path, data)

    monkeypatch.setattr(augcli.worker, "write_atomic", failing_write)
    result = run("expand", tree, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 1
    assert result.stderr == (f"augcli: error: writing to {out} failed: {words}; finished images are kept, "
                             "run again with --resume when fixed\n")
    assert 25 <= assert_consistent(out) <= 30
    monkeypatch.setattr(augcli.worker, "write_atomic", real_write)
    assert run("expand", tree, out, "-r", recipe, "-j", "1", "--resume").exit_code == 0
    assert tree_digest(out) == tree_digest(reference)


CRASHER = """
import os, signal
import augcli.worker
from augcli.io import is_temp

_process = augcli.worker.process

def process(task, job):
    if "07" in task.source.relpath:   # this image 'segfaults' the decoder
        os.kill(os.getpid(), signal.SIGKILL)
    return _process(task, job)

augcli.worker.process = process
"""


DIES_MID_WRITE = """
import os, signal
import augcli.io, augcli.worker

_write = augcli.worker.write_atomic

def write_atomic(path, data):
    if "07" in path.name:  # killed (OOM, say) with half an image in its temp file
        (path.parent / f".{path.name}{augcli.io.TEMP_MARK}-{os.getpid()}").write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return _write(path, data)

augcli.worker.write_atomic = write_atomic
"""


def test_a_worker_dying_mid_write_leaves_no_temp_file(tree, recipe, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(DIES_MID_WRITE)
    env = {**os.environ, "PYTHONPATH": f"{hook}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe),
                             "-j", "2"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    skipped = [json.loads(line)["source"] for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert skipped == ["cat/07.jpg"]
    assert [p.name for p in out.rglob("*") if is_temp(p.name)] == []
    assert assert_consistent(out) == 19 * 4


def test_a_dying_worker_is_reported_and_its_image_skipped(tree, recipe, tmp_path):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(CRASHER)
    env = {**os.environ, "PYTHONPATH": f"{hook}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe),
                             "-j", "2"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    skipped = [json.loads(line) for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert skipped == [{"source": "cat/07.jpg", "reason": "the worker process died while processing this image "
                                                          "(a crash, or out of memory)"}]
    assert assert_consistent(out) == 19 * 4


def _worker_state(job) -> tuple[bool, bool]:
    import signal as sig

    import augcli.worker as worker

    worker._settle_in(job)
    return worker._SETTLED, sig.getsignal(sig.SIGINT) == sig.SIG_IGN


def test_loky_workers_settle_in_and_the_planning_process_does_not(tmp_path):
    """Workers leave Ctrl-C to the parent and keep freed image buffers (the page
    faults of fresh buffers cost a third of the run's CPU); the process that
    planned the run (-j 1, threading) is left as it was."""
    from joblib import Parallel, delayed

    from augcli.recipe import Recipe

    job = augcli.worker.Job(str(tmp_path), str(tmp_path / "out"), Recipe(pipeline=()), 0, 0)
    states = Parallel(n_jobs=2, backend="loky")(delayed(_worker_state)(job) for _ in range(4))
    assert states == [(True, True)] * 4
    assert _worker_state(job) == (False, False)
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
