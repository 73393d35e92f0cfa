"""Re-hash an output tree against its manifest (and, optionally, the sources
against the hashes recorded when the tree was made)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from .errors import UsageError
from .io import is_temp
from .manifest import MANIFEST, META_FILES, ManifestRecord, read_records, read_run_record
from .outdir import LOCK_FILE
from .storage import is_url, local_path
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
        # extra files are not among the recorded ones checked: say what was checked, not "of"
        return ("verify: " + ", ".join(f"{n} {what}" for n, what in counts if n)
                + f" ({self.checked} recorded files checked)")

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


    def run(self, out, records: Iterable[ManifestRecord], files: Iterable[str], source,
            layout_files: dict | None = None) -> "Report":
        """Check OUT's ``records`` against its files (``out``: a folder or a
        ``Store``; ``files``: every relative path in it) and, with ``source``,
        the sources against their recorded hashes. An annotated run's label
        files are checked with their images, and ``layout_files`` (what it wrote
        once: data.yaml, COCO's JSON; path -> sha256 from ``augcli.json``) too."""
        listed = set()
        sources: dict[str, str] = {}
        for record in records:
            self.checked += 1
            if record.path in listed:
                self.duplicate.append(record.path)
                continue
            listed.add(record.path)
            sources.setdefault(record.source, record.source_sha256)
            self.check(out, record.path, record.sha256)
            labels = record.labels if isinstance(record.labels, dict) else {}
            if labels.get("path") and labels.get("sha256") and labels["path"] not in listed:  # its label file
                self.checked += 1
                listed.add(labels["path"])
                self.check(out, labels["path"], labels["sha256"])
            if labels.get("source") and labels.get("source_sha256"):
                sources.setdefault(labels["source"], labels["source_sha256"])
        for rel, digest in (layout_files or {}).items():
            if isinstance(rel, str) and isinstance(digest, str) and rel not in listed:
                self.checked += 1
                listed.add(rel)
                self.check(out, rel, digest)
        self.extra = sorted(rel for rel in files if rel not in listed and rel not in META_FILES and rel != LOCK_FILE
                            and not is_temp(rel.rpartition("/")[2]))
        if source is not None:
            for rel, digest in sources.items():
                self.check(source, rel, digest, source=True)
        return self


def verify(out: str | Path, source: str | Path | None = None, *, storage_options: dict | None = None) -> Report:
    """Re-hash OUT (and SOURCE) against OUT's manifest. A manifest line that is
    not a record is reported as corrupt and the others are still checked;
    files are read only inside OUT and SOURCE. Either may be a URL
    (``augcli.storage``; ``storage_options`` reach its store)."""
    if is_url(out) or is_url(source):
        from .storage.commands import verify_stored

        return verify_stored(out, source, storage_options or {})
    out = Path(local_path(str(out)))
    if not os.path.lexists(out / MANIFEST):  # (one that is there but unreadable gets its own reason)
        raise UsageError(f"{out} has no {MANIFEST}: not an augcli output folder")
    report = Report()
    records = read_records(out / MANIFEST, on_error=lambda error: report.corrupt.append(str(error)))
    run = read_run_record(out)
    return report.run(out, records, files_below(out), None if source is None else Path(local_path(str(source))),
                      (run.extra.get("layout_files") if run else None))


def files_below(root: Path) -> Iterator[str]:
    """The relative POSIX path of every file below ``root``, links to folders
    not followed (as os.walk), by a loop rather than recursion (os.walk
    recurses in Python 3.11): an OUT a thousand folders deep is no RecursionError."""
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(root / rel if rel else root) as entries:
                for entry in entries:
                    path = f"{rel}/{entry.name}" if rel else entry.name
                    if entry.is_dir():
                        if not entry.is_symlink():  # a link to a folder is neither walked nor a file
                            stack.append(path)
                    else:
                        yield path
        except OSError:
            continue
