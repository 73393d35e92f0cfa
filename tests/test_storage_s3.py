"""SRC and OUT in S3, against an S3 server (moto) the tests start on
127.0.0.1 and stop: the bytes of a local run, --resume after a kill, one
writer per OUT through a conditional write, SRC untouched, and credentials
that never show."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from augcli.errors import UsageError
from augcli.storage import lock
from augcli.storage.store import Store

from .conftest import tree_digest
from .stores import digests, moto_s3, s3, storage_args, upload

SECRET = "sekret-Zq81-never-shown"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server():
    with moto_s3() as options:
        yield {**options, "secret": SECRET}


@pytest.fixture
def bucket(server, request):
    """A bucket of this test's own, and a filesystem on it."""
    name = "t-" + request.node.name.lower().replace("_", "-")[:50].strip("-")
    fs = s3(server)
    fs.mkdir(name)
    return name, fs


def _objects(fs, root: str) -> dict:
    """key -> (ETag, size) of every object below ``root``: what a write would change."""
    fs.invalidate_cache()
    return {k: (v.get("ETag"), v["size"]) for k, v in fs.find(root, detail=True).items()}


def test_s3_run_writes_a_local_runs_bytes_and_leaves_src_and_secrets_alone(run, src, recipe, tmp_path, server,
                                                                          bucket):
    name, fs = bucket
    upload(fs, src, f"{name}/src")
    before = _objects(fs, f"{name}/src")
    local = tmp_path / "local"
    assert run("expand", src, local, "--recipe", recipe, "-j", "1").exit_code == 0
    result = run("expand", f"s3://{name}/src", f"s3://{name}/out", "--recipe", recipe, "-j", "2",
                 *storage_args(server))
    assert result.exit_code == 0, result.output
    assert digests(fs, f"{name}/out") == tree_digest(local)
    assert _objects(fs, f"{name}/src") == before  # SRC: the same objects, none added
    record = json.loads(fs.cat_file(f"{name}/out/augcli.json"))
    assert record["source"] == f"s3://{name}/src"
    everything = b"".join(fs.cat_file(k) for k in fs.find(f"{name}/out"))
    assert SECRET.encode() not in everything and SECRET not in result.output
    assert not fs.exists(f"{name}/out/.augcli.lock")

    result = run("verify", f"s3://{name}/out", "--source", f"s3://{name}/src", *storage_args(server))
    assert result.exit_code == 0 and "files OK" in result.output
    result = run("replay", f"s3://{name}/out/manifest.jsonl", f"s3://{name}/src", f"s3://{name}/again",
                 *storage_args(server))
    assert result.exit_code == 0, result.output
    assert digests(fs, f"{name}/again") == tree_digest(local)


def test_errors_never_show_the_secret(run, recipe, server):
    """A store that refuses (no such bucket): one line naming the URL, no secret."""
    result = run("expand", "s3://no-such-bucket-here/src", "s3://no-such-bucket-here/out", "--recipe", recipe,
                 *storage_args(server))
    assert result.exit_code == 2
    assert "s3://no-such-bucket-here/src" in result.output and SECRET not in result.output
    assert "Traceback" not in result.output


def test_resume_after_a_kill_finishes_the_run(run, src, recipe, tmp_path, server, bucket):
    """kill -9 mid-run leaves whole objects, manifest parts and a lock object;
    --resume takes the lock over (its process is gone), joins the parts and
    finishes: the tree is a local run's, byte for byte."""
    name, fs = bucket
    for i in range(12):  # enough work that the run is still going when killed
        (src / "dog" / f"more{i}.png").write_bytes((src / "cat" / "grey.png").read_bytes())
    upload(fs, src, f"{name}/src")
    local = tmp_path / "local"
    assert run("expand", src, local, "--recipe", recipe, "--copies", "8", "-j", "1").exit_code == 0
    command = [sys.executable, "-m", "augcli", "expand", f"s3://{name}/src", f"s3://{name}/out", "--recipe",
               str(recipe), "--copies", "8", "-j", "1", *storage_args(server)]
    child = subprocess.Popen(command, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            fs.invalidate_cache()
            if fs.find(f"{name}/out/.augcli-parts"):
                break
            time.sleep(0.05)
        assert child.poll() is None, "the run ended before it could be killed"
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    fs.invalidate_cache()
    assert fs.exists(f"{name}/out/.augcli.lock") and not fs.exists(f"{name}/out/manifest.jsonl")
    result = run("expand", f"s3://{name}/src", f"s3://{name}/out", "--recipe", recipe, "--copies", "8", "--resume",
                 "-j", "1", *storage_args(server))
    assert result.exit_code == 0, result.output
    assert "already done" in result.output
    assert digests(fs, f"{name}/out") == tree_digest(local)
    assert not fs.find(f"{name}/out/.augcli-parts") and not fs.exists(f"{name}/out/.augcli.lock")


def test_a_second_writer_is_refused_while_the_first_holds_out(run, src, recipe, server, bucket):
    name, fs = bucket
    upload(fs, src, f"{name}/src")
    store = Store.at(f"s3://{name}/out", server)
    with lock.one_writer_stored(store):
        held = fs.cat_file(f"{name}/out/.augcli.lock")
        result = run("expand", f"s3://{name}/src", f"s3://{name}/out", "--recipe", recipe, *storage_args(server))
        assert result.exit_code == 2
        assert f"OUT s3://{name}/out is being written by another augcli run" in result.output
        fs.invalidate_cache()
        assert fs.find(f"{name}/out") == [f"{name}/out/.augcli.lock"]  # the refused run wrote nothing
        assert fs.cat_file(f"{name}/out/.augcli.lock") == held
    fs.invalidate_cache()
    assert not fs.find(f"{name}/out")  # released


def test_two_runs_racing_for_the_lock_one_wins(server, bucket):
    """The conditional write: of runs taking the lock at the same moment, one gets it."""
    name, _ = bucket
    store = Store.at(f"s3://{name}/out", server)
    start, outcomes = threading.Barrier(4), []

    def take():
        start.wait()
        try:
            lock._take(store, f"token-{threading.get_ident()}", str(store))
            outcomes.append("took")
        except UsageError:
            outcomes.append("refused")
    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused"] * 3 + ["took"]


def test_a_stale_lock_from_another_machine_is_taken_over(run, src, recipe, server, bucket):
    name, fs = bucket
    upload(fs, src, f"{name}/src")
    old = {"token": "t", "host": "elsewhere", "pid": 1, "beat": time.time() - lock.STALE_AFTER - 5}
    fs.pipe_file(f"{name}/out/.augcli.lock", json.dumps(old).encode())
    result = run("expand", f"s3://{name}/src", f"s3://{name}/out", "--recipe", recipe, *storage_args(server))
    assert result.exit_code == 0, result.output
    fresh = {**old, "beat": time.time()}
    fs.pipe_file(f"{name}/out/.augcli.lock", json.dumps(fresh).encode())
    result = run("expand", f"s3://{name}/src", f"s3://{name}/out", "--recipe", recipe, "--resume",
                 *storage_args(server))
    assert result.exit_code == 2 and "host elsewhere, pid 1" in result.output
