"""Re-hash an output tree against its manifest (and, optionally, the sources
against the hashes recorded when the tree was made)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .io import is_temp
from .manifest import MANIFEST, META_FILES, read_records, read_run_record
from .outdir import LOCK_FILE
from .trees import Refused, digest_of, open_inside


@dataclass
class Report:
    checked: int = 0
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    duplicate: list[str] = field(default_factory=list)  # paths with more than one manifest line
    source_changed: list[str] = field(default_factory=list)
    source_missing: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)  # manifest lines that are not records, with why
    unreadable: list[str] = field(default_factory=list)  # paths not read (a folder, a link out of the tree)

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.extra or self.duplicate or self.source_changed
                    or self.source_missing or self.corrupt or self.unreadable)

    def lines(self) -> list[str]:
        out = [f"corrupt: {line}" for line in self.corrupt]
        out += [f"changed: {p}" for p in self.changed] + [f"missing: {p}" for p in self.missing]
        out += [f"unreadable: {p}" for p in self.unreadable]
        out += [f"extra: {p}" for p in self.extra]
        out += [f"duplicate: {p}" for p in self.duplicate]
        out += [f"source changed: {p}" for p in self.source_changed]
        out += [f"source missing: {p}" for p in self.source_missing]
        return out

    def summary(self) -> str:
        if self.ok:
            return f"verify: {self.checked} files OK"
        counts = [(len(self.corrupt), "corrupt manifest lines"), (len(self.changed), "changed"),
                  (len(self.missing), "missing"), (len(self.unreadable), "unreadable"), (len(self.extra), "extra"),
                  (len(self.duplicate), "duplicate records"),
                  (len(self.source_changed), "sources changed"), (len(self.source_missing), "sources missing")]
        return "verify: " + ", ".join(f"{n} {what}" for n, what in counts if n) + f" (of {self.checked} files)"

    def check(self, root: Path, relpath: str, digest: str, source: bool = False) -> None:
        """Hash ``root/relpath`` (read only inside ``root``) against ``digest``."""
        prefix = "source " if source else ""
        try:
            with open_inside(root, relpath) as handle:
                actual = digest_of(handle)
        except FileNotFoundError:
            (self.source_missing if source else self.missing).append(relpath)
            return
        except (Refused, OSError) as exc:
            reason = str(exc) if isinstance(exc, Refused) else exc.strerror or str(exc)
            self.unreadable.append(f"{prefix}{relpath}: {reason}")
            return
        if actual != digest:
            (self.source_changed if source else self.changed).append(relpath)


def verify(out: str | Path, source: str | Path | None = None) -> Report:
    """Re-hash OUT (and SOURCE) against OUT's manifest. A manifest line that is
    not a record is reported as corrupt and the others are still checked;
    files are read only inside OUT and SOURCE."""
    out = Path(out)
    if not os.path.lexists(out / MANIFEST):  # (one that is there but unreadable gets its own reason)
        raise UsageError(f"{out} has no {MANIFEST}: not an augcli output folder")
    report = Report()
    listed = set()
    sources: dict[str, str] = {}
    for record in read_records(out / MANIFEST, on_error=lambda error: report.corrupt.append(str(error))):
        report.checked += 1
        if record.path in listed:
            report.duplicate.append(record.path)
            continue
        listed.add(record.path)
        sources.setdefault(record.source, record.source_sha256)
        report.check(out, record.path, record.sha256)
        labels = record.labels or {}
        if labels.get("path") and labels.get("sha256") and labels["path"] not in listed:  # its label file
            report.checked += 1
            listed.add(labels["path"])
            report.check(out, labels["path"], labels["sha256"])
        if labels.get("source") and labels.get("source_sha256"):
            sources.setdefault(labels["source"], labels["source_sha256"])
    run = read_run_record(out)
    for rel, digest in ((run.extra.get("layout_files") or {}) if run else {}).items():
        if isinstance(rel, str) and isinstance(digest, str) and rel not in listed:  # data.yaml, COCO's JSON
            report.checked += 1
            listed.add(rel)
            report.check(out, rel, digest)
    for folder, _, files in os.walk(out):
        for name in files:
            rel = (Path(folder) / name).relative_to(out).as_posix()
            if rel not in listed and rel not in META_FILES and rel != LOCK_FILE and not is_temp(name):
                report.extra.append(rel)
    report.extra.sort()
    if source is not None:
        for rel, digest in sources.items():
            report.check(Path(source), rel, digest, source=True)
    return report
