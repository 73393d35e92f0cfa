"""Interrupted and failing runs: kill -9 at several points, a full or
read-only disk, Ctrl-C, and a worker process that dies. In every case the
images present decode, every manifest line points at its finished file, and
``--resume`` ends with the tree an uninterrupted run writes."""
from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import augcli.outdir
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

    def failing_write(out_dir, relpath, data):
        if len(writes) >= 30:
            raise OSError(code, os.strerror(code))
        writes.append(relpath)
        real_write(out_dir, relpath, data)

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
import augcli.outdir
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
from pathlib import Path
import augcli.io, augcli.worker

_write = augcli.worker.write_atomic

def write_atomic(out_dir, relpath, data):
    path = Path(out_dir.path) / relpath
    if "07" in path.name:  # killed (OOM, say) with half an image in its temp file
        (path.parent / f".{path.name}{augcli.io.TEMP_MARK}-{os.getpid()}").write_bytes(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)
    return _write(out_dir, relpath, data)

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
                                                          "(a crash, or out of memory)",
                        "source_sha256": hashlib.sha256((tree / "cat/07.jpg").read_bytes()).hexdigest()}]
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

    job = augcli.worker.Job(str(tmp_path), str(tmp_path / "out"), 0, 0)
    states = Parallel(n_jobs=2, backend="loky")(delayed(_worker_state)(job) for _ in range(4))
    assert states == [(True, True)] * 4
    assert _worker_state(job) == (False, False)
    assert signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def session_processes(sid: int) -> list[int]:
    """Live (not zombie) processes of session ``sid``: augcli, its workers and helpers."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()  # state, ppid, pgrp, session, ...
            if int(fields[3]) == sid and fields[0] != "Z":
                pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process table from /proc")
def test_a_killed_run_stops_its_workers(tree, recipe, tmp_path):
    out = tmp_path / "out"
    proc = spawn(tree, out, recipe, "-j", "2", "--copies", "40")  # long tasks: workers are mid-task at the kill
    try:
        wait_for_lines(out, 41)
        assert len(session_processes(proc.pid)) >= 3  # augcli and two workers
        proc.send_signal(signal.SIGKILL)  # kill -9 of augcli alone, as a user would
        proc.wait()
        shutil.rmtree(out, ignore_errors=True)  # ... and then deletes OUT
        deadline = time.time() + 30
        while session_processes(proc.pid) and time.time() < deadline:
            time.sleep(0.05)
        assert session_processes(proc.pid) == [], "augcli's workers outlived it"
        assert not out.exists(), "a worker of the killed run wrote into OUT after the kill"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)


def test_ctrl_c_before_the_first_result_stops_the_run(tree, recipe, tmp_path):
    for path in tree.rglob("*.jpg"):
        if path.stem not in ("00", "01", "02", "03"):
            path.unlink()  # 4 sources x 201 outputs: the first result takes a while
    out = tmp_path / "out"
    proc = spawn(tree, out, recipe, "-j", "2", "--copies", "200", stderr=subprocess.PIPE)
    try:
        while not any(out.rglob("*_aug*.jpg")):  # a worker is mid-task, no result back yet
            assert proc.poll() is None, "the run ended before it could be interrupted"
            time.sleep(0.002)
        os.killpg(proc.pid, signal.SIGINT)  # the parent and its workers, like Ctrl-C in a terminal
        _, stderr = proc.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, stderr
    assert stderr == ("augcli: interrupted; finished images are kept and recorded. "
                      "Run the same command with --resume to finish.\n")
    assert assert_consistent(out) < 4 * 201
    assert len(list(out.rglob("*.jpg"))) < 4 * 201


SLOW_SCAN = """
import os, time
import augcli._expand

_scan = augcli._expand.scan

def scan(src, *args):
    open(os.environ["AUGCLI_TEST_MARK"], "w").close()
    time.sleep(120)  # a scan of a slow network share, say
    return _scan(src, *args)

augcli._expand.scan = scan
"""


@pytest.mark.parametrize("again", [False, True])
def test_ctrl_c_during_the_scan_says_nothing_was_written(tree, recipe, tmp_path, again):
    out = tmp_path / "out"
    if again:  # --resume of a finished run: OUT is left as it was
        subprocess.run([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe), "-j", "1",
                        "-q"], check=True)
    before = tree_digest(out, ()) if again else None
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(SLOW_SCAN)
    mark = tmp_path / "scanning"
    env = {**os.environ, "AUGCLI_TEST_MARK": str(mark),
           "PYTHONPATH": f"{hook}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe),
                             "--resume"], stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    try:
        while not mark.exists():
            assert proc.poll() is None, proc.stderr.read()
            time.sleep(0.005)
        os.killpg(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    assert stderr == "augcli: interrupted before writing anything; OUT is as it was.\n"
    if again:
        assert tree_digest(out, ()) == before
    else:
        assert not out.exists()


FULL_DISK = """
import errno, os
import augcli.outdir

# A disk that fills up: every process may write a few files, then writes fail with
# ENOSPC everywhere (a marker file outside OUT tells the others) -- image data, the
# manifest, and the error handler's own augcli.json alike. Files can still be
# created, as on a real full disk; their data cannot be written.
MARKER = os.environ["AUGCLI_TEST_FULL"]
budget = [int(os.environ["AUGCLI_TEST_WRITES"])]


class Full:
    def __init__(self, handle):
        self.handle = handle

    def _check(self, spend):
        if spend and budget[0] > 0 and not os.path.exists(MARKER):
            budget[0] -= 1
        elif spend or os.path.exists(MARKER):
            open(MARKER, "a").close()
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write(self, data):
        self._check(spend="b" in self.handle.mode)
        return self.handle.write(data)

    def flush(self):
        self._check(spend=False)
        return self.handle.flush()

    def __getattr__(self, name):
        return getattr(self.handle, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


augcli.outdir.open = lambda *args, **kwargs: Full(open(*args, **kwargs))
"""


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_full_disk_is_one_line_even_when_recording_the_failure_fails(tree, recipe, reference, tmp_path, jobs):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(FULL_DISK)
    env = {**os.environ, "AUGCLI_TEST_FULL": str(tmp_path / "full"), "AUGCLI_TEST_WRITES": "12",
           "PYTHONPATH": f"{hook}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe),
                             "-j", jobs], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 1
    assert result.stderr == (f"augcli: error: writing to {out} failed: No space left on device; finished images "
                             "are kept, run again with --resume when fixed (augcli.json could not be updated "
                             "either and still says running: No space left on device)\n")
    assert json.loads((out / "augcli.json").read_text())["status"] == "running"
    assert [p.name for p in out.rglob("*") if is_temp(p.name)] == []
    assert_consistent(out)
    assert resume(tree, out, recipe).returncode == 0  # space freed
    assert tree_digest(out) == tree_digest(reference)


class ReadOnly:
    """``os`` as augcli.outdir sees it on a read-only file system."""

    def __getattr__(self, name):
        real = getattr(os, name)
        if name in ("mkdir", "makedirs", "unlink", "rmdir", "replace", "rename", "ftruncate", "pwrite"):
            return self.fail
        if name == "open":
            return lambda path, flags, *args, **kwargs: (
                self.fail() if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) else real(path, flags, *args, **kwargs))
        return real

    @staticmethod
    def fail(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))


@pytest.mark.parametrize("flags", [(), ("--resume",), ("--overwrite",)])
def test_a_read_only_out_is_one_line(run, tree, recipe, tmp_path, monkeypatch, flags):
    out = tmp_path / "out"
    if flags:
        assert run("expand", tree, out, "-r", recipe, "-j", "1", "--copies", "1").exit_code == 0
        (out / "manifest.jsonl").write_text((out / "manifest.jsonl").read_text().split("\n", 1)[1])
    else:
        out.mkdir()
    before = tree_digest(out, ())
    monkeypatch.setattr(augcli.outdir, "os", ReadOnly())
    result = run("expand", tree, out, "-r", recipe, "-j", "1", "--copies", "1", *flags)
    assert result.exit_code == 1
    assert result.stderr == f"augcli: error: cannot write to OUT {out}: Read-only file system\n"
    assert tree_digest(out, ()) == before
