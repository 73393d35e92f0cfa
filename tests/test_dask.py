"""The dask backend, end to end: a scheduler and two workers started as
subprocesses on 127.0.0.1, the same bytes as ``-j 1``, and a worker killed
mid-run loses nothing."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import make_image, tree_digest

pytest.importorskip("distributed")
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, seconds: float, what: str) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def cluster(tmp_path):
    """(address, [worker processes]) of a scheduler with two single-threaded workers."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "dask.log", "wb")
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=log, stderr=log, env=env)
    workers = [subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                 "--name", f"w{i}"], stdout=log, stderr=log, env=env) for i in range(2)]
    from distributed import Client

    with Client(address, timeout="30s") as client:
        client.wait_for_workers(2, timeout=60)
    yield address, workers
    for proc in workers + [scheduler]:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture
def tree(tmp_path) -> Path:
    root = tmp_path / "src"
    for i in range(16):
        make_image(root / ("cat" if i % 2 else "dog") / f"{i:02d}.jpg", (160, 120), seed=i)
    return root


def expand(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "augcli", "expand", *map(str, args)], capture_output=True, text=True)


def test_dask_cluster_writes_the_same_bytes_as_one_process(cluster, tree, recipe, tmp_path):
    address, _ = cluster
    assert expand(tree, tmp_path / "ref", "-r", recipe, "-j", "1", "-q").returncode == 0
    result = expand(tree, tmp_path / "dask", "-r", recipe, "--backend", "dask", "--scheduler", address)
    assert result.returncode == 0, result.stderr
    assert tree_digest(tmp_path / "dask") == tree_digest(tmp_path / "ref")


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(cluster, tree, recipe, tmp_path):
    address, workers = cluster
    assert expand(tree, tmp_path / "ref", "-r", recipe, "-j", "1", "-q").returncode == 0
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "augcli", "expand", str(tree), str(out), "-r", str(recipe),
                            "--backend", "dask", "--scheduler", address, "-q"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    manifest = out / "manifest.jsonl"
    wait_for(lambda: manifest.exists() and manifest.read_bytes().count(b"\n") >= 4, 60, "the first outputs")
    workers[0].send_signal(signal.SIGKILL)
    status = run.wait(timeout=120)
    if status != 0:  # the run may fail with its worker; --resume must then finish it
        result = expand(tree, out, "-r", recipe, "--backend", "dask", "--scheduler", address, "--resume")
        assert result.returncode == 0, result.stderr
    paths = [json.loads(line)["path"] for line in manifest.read_text().splitlines()]
    assert len(paths) == len(set(paths)) == 64
    assert tree_digest(out) == tree_digest(tmp_path / "ref")


@pytest.mark.parametrize("flags,says", [
    (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:{port}"], "cannot reach the Dask scheduler"),
    (["--backend", "dask", "--scheduler", "notaurl"], "allowed: a Dask scheduler address"),
    (["--scheduler", "tcp://127.0.0.1:{port}"], "only used with --backend dask"),
])
def test_a_bad_or_unreachable_scheduler_is_a_usage_error_before_out_is_touched(tree, recipe, tmp_path, flags,
                                                                                says):
    """Checked before OUT is locked or written: no augcli.json says "failed", so
    the next run needs no --overwrite; an existing OUT is left exactly as it was."""
    port = free_port()
    flags = [flag.format(port=port) for flag in flags]
    result = expand(tree, tmp_path / "out", "-r", recipe, *flags)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("augcli: error: --scheduler") and says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_dask_cluster_writes_the_same_labels_as_one_process(cluster, recipe, tmp_path):
    """An annotated tree (YOLO): images, label files and data.yaml as one process writes them."""
    address, _ = cluster
    src = tmp_path / "yolo"
    for i in range(6):
        make_image(src / "images" / f"{i:02d}.jpg", (160, 120), seed=i)
        (src / "labels").mkdir(parents=True, exist_ok=True)
        (src / "labels" / f"{i:02d}.txt").write_text(f"{i % 3} 0.{i + 2} 0.5 0.3 0.25\n")
    (src / "data.yaml").write_text("train: images\nnames: [a, b, c]\n")
    assert expand(src, tmp_path / "ref", "-r", recipe, "-j", "1", "-q").returncode == 0
    result = expand(src, tmp_path / "dask", "-r", recipe, "--backend", "dask", "--scheduler", address)
    assert result.returncode == 0, result.stderr
    for path in sorted((tmp_path / "ref" / "labels").iterdir()):
        assert (tmp_path / "dask" / "labels" / path.name).read_bytes() == path.read_bytes()
    assert len(list((tmp_path / "dask" / "labels").iterdir())) == len(list((tmp_path / "ref" / "images").iterdir()))
