"""SRC and OUT in object storage against local disk (issue 25's targets).

    python benchmarks/storage.py [--reps 3] [--memory]

Starts an S3 server (moto, ``moto_server``) on 127.0.0.1 in a process of its
own, uploads the benchmark dataset (``make_dataset.py small``: 200 JPEGs,
640x480) and times, alternating, median of ``--reps``, whole processes:

* ``file://`` SRC and OUT vs the same plain paths, standard recipe, -j 2;
* ``s3://`` SRC and OUT vs local disk, standard recipe, -j 2;
* with ``--memory``: peak RSS of the process tree, flips, -j 2, 2000 vs 200
  sources read from and written to the store.

A local S3 server costs CPU on the same machine (moto is Python), so the
ratio is an upper bound of what a real store's latency would add when reads
and writes overlap with compute. Needs ``pip install -e '.[dev,bench]'``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from make_dataset import build  # noqa: E402
from run import measure  # noqa: E402

AUGCLI = [sys.executable, "-m", "augcli"]
STANDARD = str(HERE.parent / "recipes" / "standard.yaml")
FLIPS = str(HERE.parent / "recipes" / "flips.yaml")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, dict]:
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    options = {"endpoint_url": f"http://127.0.0.1:{port}", "key": "bench", "secret": "bench"}
    deadline = time.time() + 30
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server, options
        time.sleep(0.1)
    server.kill()
    raise RuntimeError("moto_server did not start")


def s3(options: dict):
    import fsspec

    return fsspec.filesystem("s3", skip_instance_cache=True, **options)


def upload(fs, local: Path, root: str) -> None:
    fs.put(str(local), root, recursive=True)


def args_of(options: dict) -> list[str]:
    return [a for k, v in options.items() for a in ("--storage-option", f"{k}={v}")]


def paired(a, b, reps: int) -> tuple[list, list]:
    """(wall, cpu) seconds of a() and b(), alternating."""
    times_a, times_b = [], []
    for _ in range(reps):
        times_a.append(a())
        times_b.append(b())
    return times_a, times_b


def report(what: str, a: list, b: list) -> None:
    wall_a, wall_b = (statistics.median(t[0] for t in times) for times in (a, b))
    cpu_a, cpu_b = (statistics.median(t[1] for t in times) for times in (a, b))
    print(f"{what}: wall {wall_a:.2f} s vs {wall_b:.2f} s = {wall_a / wall_b:.2f}x; "
          f"augcli's CPU {cpu_a:.2f} s vs {cpu_b:.2f} s = {cpu_a / cpu_b:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    small = build("small")
    server, options = start_server()
    work = Path(tempfile.mkdtemp(prefix="augcli-storage-bench-"))
    try:
        fs = s3(options)
        fs.mkdir("bench")
        upload(fs, small, "bench/small")
        n = [0]

        def local(recipe=STANDARD, prefix=""):
            n[0] += 1
            out = work / f"out{n[0]}"
            seconds = measure(AUGCLI + ["expand", f"{prefix}{small}", f"{prefix}{out}", "-r", recipe, "-j", "2",
                                        "-q"])[:2]
            shutil.rmtree(out)
            return seconds

        def stored():
            n[0] += 1
            before = sum(psutil.Process(server.pid).cpu_times()[:2])
            seconds = measure(AUGCLI + ["expand", "s3://bench/small", f"s3://bench/out{n[0]}", "-r", STANDARD,
                                        "-j", "2", "-q", *args_of(options)])[:2]
            server_cpu.append(sum(psutil.Process(server.pid).cpu_times()[:2]) - before)
            fs.rm(f"bench/out{n[0]}", recursive=True)
            return seconds

        server_cpu: list[float] = []
        report("file:// vs plain paths, standard -j 2", *paired(lambda: local(prefix="file://"), local, args.reps))
        report("s3:// (moto) vs local disk, standard -j 2", *paired(stored, local, args.reps))
        print(f"  the S3 server's own CPU during each s3:// run (on the same cores): "
              f"{statistics.median(server_cpu):.2f} s")
        if args.memory:
            large = build("large")
            upload(fs, large, "bench/large")
            peaks = {}
            for name in ("small", "large"):
                _, _, peak = measure(AUGCLI + ["expand", f"s3://bench/{name}", f"s3://bench/rss-{name}", "-r", FLIPS,
                                               "-j", "2", "-q", *args_of(options)])
                peaks[name] = peak
            print(f"peak RSS from the store, flips -j 2: 2000 sources {peaks['large'] / 2**20:.0f} MiB vs 200 "
                  f"{peaks['small'] / 2**20:.0f} MiB = {peaks['large'] / peaks['small']:.2f}x")
    finally:
        server.kill()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    main()
