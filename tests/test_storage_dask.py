"""A Dask cluster without a shared filesystem: SRC and OUT in S3 (moto on
127.0.0.1), a scheduler and two workers started here, each in a working
folder of its own. The workers read and write the bucket themselves; the
driver only plans and writes the manifest. The bytes are a local -j 1 run's."""
from __future__ import annotations

import os
import subprocess

import pytest

from .conftest import make_image, tree_digest
from .stores import digests, moto_s3, s3, storage_args, upload
from .test_dask import DASK, free_port

pytest.importorskip("distributed")


@pytest.fixture
def cluster(tmp_path):
    """The scheduler's address; two single-threaded workers, each started in
    (and spilling to) its own folder, sharing none with this process."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = open(tmp_path / "dask.log", "wb")
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                              stdout=log, stderr=log, env=env, cwd=tmp_path)]
    for i in range(2):
        home = tmp_path / f"worker{i}"
        home.mkdir()
        procs.append(subprocess.Popen([DASK, "worker", address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                                       "--name", f"w{i}", "--local-directory", str(home)],
                                      stdout=log, stderr=log, env=env, cwd=home))
    try:
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        log.close()


def test_a_cluster_reads_and_writes_the_bucket_itself(run, cluster, recipe, tmp_path):
    src = tmp_path / "src"
    for i in range(6):
        make_image(src / ("cat" if i % 2 else "dog") / f"{i:02d}.jpg", (96, 72), seed=i)
    assert run("expand", src, tmp_path / "ref", "-r", recipe, "-j", "1", "-q").exit_code == 0
    with moto_s3("data") as options:
        fs = s3(options)
        upload(fs, src, "data/src")
        result = run("expand", "s3://data/src", "s3://data/out", "-r", recipe, "--backend", "dask",
                     "--scheduler", cluster, *storage_args(options))
        assert result.exit_code == 0, result.output
        assert digests(fs, "data/out") == tree_digest(tmp_path / "ref")
    for i in range(2):  # nothing of the dataset landed in a worker's own folder
        assert not [p for p in (tmp_path / f"worker{i}").rglob("*.jpg")]
