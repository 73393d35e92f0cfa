"""OUT in object storage: what ``OutDir`` does for a local OUT, for a store
that has no rename and no append.

* An image is one PUT of its finished bytes (``Store.write``): it appears
  whole or not at all, so there are no temporary names to clean up.
* The manifest and ``skipped.jsonl`` cannot be appended to. The driver (only
  it) collects their lines and PUTs them as numbered *parts* below
  ``OUT/.augcli-parts/`` every few hundred lines or seconds; each part is
  whole. When the run ends, however it ends short of a kill, ``join`` PUTs
  the file whole (the earlier file, then the parts in order) and removes the
  parts. After a kill the parts stay, and the next ``--resume`` joins them
  first. A line met twice (a join killed between its PUT and its deletes) is
  kept once. Readers (``records`` / ``skips``) see the file plus any parts.
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Iterable, Iterator

from ..manifest import (MANIFEST, MAX_RUN_RECORD, RUN_FILE, SKIPPED, ManifestError, ManifestRecord, RunRecord,
                        SkipRecord, records_in, run_record_from, skips_in)
from .store import Store

PARTS = ".augcli-parts"
PART_LINES = 64  # a part is PUT after this many lines (one PUT per 64 images) ...
PART_SECONDS = 3.0  # ... or this long after the last one, whichever comes first


@dataclass(frozen=True)
class RemoteOut:
    """OUT in a store, with the methods the run uses on an ``OutDir``. Small and
    picklable: workers receive it with their job and write through it."""

    store: Store

    @property
    def path(self) -> str:
        return self.store.url

    def show(self, relpath: str = "") -> str:
        return self.store.show(relpath)

    def write(self, relpath: str, data: bytes) -> None:
        self.store.write(relpath, data)

    def remove(self, relpath: str) -> bool:
        return self.store.remove(relpath)

    def is_file(self, relpath: str) -> bool:
        return self.store.exists(relpath)

    def prune(self, relfolders: Iterable[str]) -> None:
        """A store has no folders to leave empty."""

    def remove_temp_files(self) -> None:
        """Nothing is written to a temporary name in a store."""

    def find_link(self, relpaths: Iterable[str]) -> None:
        """A store has no symbolic links."""
        return None

    def open_append(self, name: str) -> "PartLog":
        return PartLog(self.store, name)


class PartLog:
    """The text handle ``AppendLog`` writes a JSON-lines file through: lines are
    collected and PUT as parts; ``close`` joins them into the file."""

    def __init__(self, store: Store, name: str):
        self.store, self.name = store, name
        self.run = f"{time.time_ns():020d}"  # later runs' parts sort after earlier ones'
        self.lines: list[str] = []
        self.parts = 0
        self.last = time.monotonic()

    def write(self, text: str) -> int:
        self.lines.append(text)
        return len(text)

    def flush(self) -> None:
        """PUT what is collected as a part, once there is enough of it or enough time passed."""
        if self.lines and (len(self.lines) >= PART_LINES or time.monotonic() - self.last >= PART_SECONDS):
            self._put_part()

    def _put_part(self) -> None:
        self.parts += 1
        data = "".join(self.lines).encode("utf-8")
        self.store.write(f"{PARTS}/{self.name}.{self.run}.{self.parts:08d}", data)
        self.lines, self.last = [], time.monotonic()

    def close(self) -> None:
        if self.lines:
            self._put_part()
        join(self.store, self.name)


def _parts(store: Store, name: str) -> list[str]:
    prefix = f"{PARTS}/{name}."
    return sorted(r for r in store.files(PARTS) if r.startswith(prefix))


def _joined(store: Store, name: str, parts: list[str]) -> bytes:
    """The file, then its parts, each line once."""
    chunks = []
    try:
        chunks.append(store.read(name))
    except FileNotFoundError:
        pass
    chunks += [store.read(part) for part in parts]
    seen: set[bytes] = set()
    lines = []
    for chunk in chunks:
        for line in chunk.splitlines():
            if line.strip() and line not in seen:
                seen.add(line)
                lines.append(line + b"\n")
    return b"".join(lines)


def join(store: Store, name: str) -> None:
    """Make ``name`` whole from its parts (one PUT), then remove the parts.
    Nothing to do when there are none."""
    parts = _parts(store, name)
    if not parts:
        return
    data = _joined(store, name, parts)
    if data or store.exists(name):
        store.write(name, data)
    for part in parts:
        store.remove(part)


def read_joined(store: Store, name: str) -> bytes | None:
    """The lines of ``name`` and its parts (None when neither exists)."""
    parts = _parts(store, name)
    if parts:
        return _joined(store, name, parts)
    try:
        return store.read(name)
    except FileNotFoundError:
        return None


def records(store: Store, on_error=None) -> Iterator[ManifestRecord]:
    """The manifest of OUT in ``store`` (with any parts a killed run left), checked."""
    data = read_joined(store, MANIFEST)
    if data is not None:
        yield from records_in(io.BytesIO(data), store.show(MANIFEST), on_error)


def skips(store: Store) -> Iterator[SkipRecord]:
    data = read_joined(store, SKIPPED)
    if data is not None:
        yield from skips_in(io.BytesIO(data), store.show(SKIPPED))


def run_record(store: Store) -> RunRecord | None:
    """``augcli.json`` of OUT in ``store``: None when there is none; ``ManifestError`` when it is not one."""
    try:
        raw = store.read(RUN_FILE, MAX_RUN_RECORD + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ManifestError(store.show(RUN_FILE), None, f"cannot read: {exc.strerror or exc}") from None
    return run_record_from(raw, store.show(RUN_FILE))
