"""Re-hash an output tree against its manifest (and, optionally, the sources
against the hashes recorded when the tree was made)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .io import is_temp
from .manifest import MANIFEST, META_FILES, read_jsonl
from .outdir import LOCK_FILE


@dataclass
class Report:
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)  # paths with more than one manifest line
    source_changed: list[str] = field(default_factory=list)
    source_missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra or self.duplicate or self.source_changed
                    or self.source_missing)

    def lines(self) -> list[str]:
        out = [f"changed: {p}" for p in self.changed] + [f"missing: {p}" for p in self.missing]
        out += [f"extra: {p}" for p in self.extra]
        out += [f"duplicate: {p}" for p in self.duplicate]
        out += [f"source changed: {p}" for p in self.source_changed]
        out += [f"source missing: {p}" for p in self.source_missing]
        return out

    def summary(self) -> str:
        if self.ok:
            return f"verify: {self.checked} files OK"
        counts = [(len(self.changed), "changed"), (len(self.missing), "missing"), (len(self.extra), "extra"),
                  (len(self.duplicate), "duplicate records"),
                  (len(self.source_changed), "sources changed"), (len(self.source_missing), "sources missing")]
        return "verify: " + ", ".join(f"{n} {what}" for n, what in counts if n) + f" (of {self.checked} files)"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(out: str | Path, source: str | Path | None = None) -> Report:
    out = Path(out)
    if not (out / MANIFEST).is_file():
        raise UsageError(f"{out} has no {MANIFEST}: not an augcli output folder")
    records = read_jsonl(out / MANIFEST)
    report = Report(checked=len(records))
    listed = set()
    for record in records:
        if record["path"] in listed:
            report.duplicate.append(record["path"])
            continue
        listed.add(record["path"])
        path = out / record["path"]
        if not path.is_file():
            report.missing.append(record["path"])
        elif sha256_of(path) != record["sha256"]:
            report.changed.append(record["path"])
    for folder, _, files in os.walk(out):
        for name in files:
            rel = (Path(folder) / name).relative_to(out).as_posix()
            if rel not in listed and rel not in META_FILES and rel != LOCK_FILE and not is_temp(name):
                report.extra.append(rel)
    report.extra.sort()
    if source is not None:
        seen: dict[str, str] = {}
        for record in records:
            seen.setdefault(record["source"], record["source_sha256"])
        for rel, digest in seen.items():
            path = Path(source) / rel
            if not path.is_file():
                report.source_missing.append(rel)
            elif sha256_of(path) != digest:
                report.source_changed.append(rel)
    return report
