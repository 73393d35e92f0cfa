"""Helpers for the object-storage tests: copying a local tree into a store and
reading one back, and an S3 server (moto) on 127.0.0.1 that the tests start
and stop themselves."""
from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Iterator

import fsspec


def upload(fs, local: Path, root: str) -> None:
    """Every file below ``local`` into ``root`` of ``fs``, same relative paths."""
    for path in sorted(local.rglob("*")):
        if path.is_file():
            fs.pipe_file(f"{root}/{path.relative_to(local).as_posix()}", path.read_bytes())


def digests(fs, root: str, exclude=("augcli.json",)) -> dict[str, str]:
    """relpath -> sha256 of every object below ``root`` (as ``tree_digest`` does locally)."""
    fs.invalidate_cache()
    out = {}
    prefix = root.rstrip("/") + "/"
    for name in sorted(fs.find(root)):
        rel = name[len(prefix):]
        if rel.rpartition("/")[2] not in exclude:
            out[rel] = hashlib.sha256(fs.cat_file(name)).hexdigest()
    return out


@contextlib.contextmanager
def moto_s3(*buckets: str) -> Iterator[dict]:
    """An S3 server on 127.0.0.1 (a free port) with ``buckets`` made; yields the
    storage options that reach it. The server is stopped on the way out."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on stderr

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        options = {"endpoint_url": f"http://{host}:{port}", "key": "testing-key", "secret": "testing-secret"}
        fs = fsspec.filesystem("s3", skip_instance_cache=True, **options)
        for bucket in buckets:
            fs.mkdir(bucket)
        yield options
    finally:
        server.stop()


def s3(options: dict):
    """A fresh s3fs filesystem for ``options`` (not the cached instance augcli uses)."""
    return fsspec.filesystem("s3", skip_instance_cache=True, **options)


def storage_args(options: dict) -> list[str]:
    return [arg for key, value in options.items() for arg in ("--storage-option", f"{key}={value}")]


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # never ask a metadata service for credentials
