"""The files that describe an output tree: ``augcli.json`` (the run record),
``manifest.jsonl`` (one line per written image) and ``skipped.jsonl``.

Only the parent process writes them. A manifest line is appended (one write,
flushed) only after its image is in place, so after a kill the manifest is a
prefix of the finished one, possibly plus a torn last line that ``read_jsonl``
repairs.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator

from .outdir import OutDir

RUN_FILE = "augcli.json"
MANIFEST = "manifest.jsonl"
SKIPPED = "skipped.jsonl"
META_FILES = (RUN_FILE, MANIFEST, SKIPPED)


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def write_run_record(out: OutDir, record: dict) -> None:
    """Replace ``augcli.json`` atomically."""
    out.write(RUN_FILE, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def read_run_record(out: Path) -> dict | None:
    try:
        return json.loads((out / RUN_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def read_jsonl(path: Path, repair: bool = False) -> list[dict]:
    """The complete records of a JSON-lines file. With ``repair``, a torn last
    line (a kill mid-append) is cut off the file."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    complete = raw[: raw.rfind(b"\n") + 1]
    if repair and len(complete) != len(raw):
        fd = os.open(path, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC)  # cut the file, never a link's target
        try:
            os.ftruncate(fd, len(complete))
        finally:
            os.close(fd)
    return [json.loads(line) for line in complete.decode("utf-8").splitlines() if line.strip()]


class AppendLog:
    """A JSON-lines file in OUT opened lazily (so ``skipped.jsonl`` exists only
    when there is something in it), one flushed write per record."""

    def __init__(self, out: OutDir, name: str):
        self.out = out
        self.name = name
        self._handle = None

    def append(self, record: dict) -> None:
        if self._handle is None:
            self._handle = self.out.open_append(self.name)
        self._handle.write(dumps(record) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            try:
                handle.flush()
                os.fsync(handle.fileno())
            finally:
                handle.close()

    def __enter__(self) -> "AppendLog":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # already failing (a full disk, say): closing must not replace that error
            self.close()
        except OSError:
            pass


def iter_manifest(out: Path) -> Iterator[dict]:
    yield from read_jsonl(out / MANIFEST)
