"""The files that describe an output tree: ``augcli.json`` (the run record),
``manifest.jsonl`` (one line per written image) and ``skipped.jsonl``.

Only the parent process writes them. A manifest line is appended (one write,
flushed) only after its image is in place, so after a kill the manifest is a
prefix of the finished one, possibly plus a torn last line (no newline).

Each kind of record is one frozen type here, with its JSON form in one
place: ``ManifestRecord`` (a written image), ``SkipRecord`` (a source that
could not be used) and ``RunRecord`` (the run). Writers hand them to
``AppendLog`` / ``write_run_record``; readers get them back.

Every command reads the JSON-lines files through ``read_records`` /
``read_skips``: tolerant of that torn last line (it is not a record), strict
about anything else. A broken line,
junk bytes, a line that is not an object, a missing key, a value of the
wrong type or a path that leaves its tree raises ``ManifestError`` naming the
file and the line; ``on_error`` lets a caller that can go on (``verify``,
``--overwrite``) note the line and skip it instead.
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import UsageError, cut
from .outdir import LOCK_FILE, OutDir, break_link, is_temp
from .trees import Refused, check_relpath, open_inside

RUN_FILE = "augcli.json"
MANIFEST = "manifest.jsonl"
SKIPPED = "skipped.jsonl"
META_FILES = (RUN_FILE, MANIFEST, SKIPPED)
# names at the top of OUT that augcli's own files take: no class folder may have
# one (casefolded, as on case-insensitive filesystems)
RESERVED_NAMES = frozenset(name.casefold() for name in META_FILES)


# -- the records ------------------------------------------------------------------------


def _known(cls, data: dict) -> tuple[dict, dict]:
    """``data`` split into the keys ``cls`` has a field for and the others."""
    names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
    return {k: v for k, v in data.items() if k in names}, {k: v for k, v in data.items() if k not in names}


@dataclass(frozen=True)
class ManifestRecord:
    """One written image: a line of ``manifest.jsonl``."""

    path: str  # POSIX, relative to OUT
    source: str  # POSIX, relative to SRC
    label: str
    split: str | None
    kind: str  # original | augmented | copied
    copy: int
    seed: int | None  # names the output's generator; None for originals and copies
    ops: tuple[dict, ...]  # each op that fired with the values it was applied with, as JSON
    width: int
    height: int
    sha256: str
    source_sha256: str
    variant: str | None = None
    note: str | None = None  # what encoding converted (alpha flattened, bit depth reduced)
    labels: dict | None = None  # annotated layouts: its label file, hashes, objects kept/clipped/dropped
    extra: dict = field(default_factory=dict, compare=False)  # keys augcli does not read, kept when rewritten

    def to_json(self) -> dict:
        data = {"path": self.path, "source": self.source, "label": self.label, "split": self.split,
                "kind": self.kind, "copy": self.copy, "seed": self.seed, "ops": list(self.ops),
                "width": self.width, "height": self.height, "sha256": self.sha256,
                "source_sha256": self.source_sha256}
        if self.variant is not None:
            data["variant"] = self.variant
        if self.note is not None:
            data["note"] = self.note
        if self.labels is not None:
            data["labels"] = self.labels
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict) -> "ManifestRecord":
        """A record from its JSON object, as ``check_record`` passed it."""
        known, extra = _known(cls, data)
        return cls(**{**known, "ops": tuple(known["ops"])}, extra=extra)


@dataclass(frozen=True)
class SkipRecord:
    """A source that could not be used, and why: a line of ``skipped.jsonl``.
    ``source_sha256`` (when the source could be read) lets ``--resume`` retry
    it only once it has changed."""

    source: str
    reason: str
    source_sha256: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        data = {"source": self.source, "reason": self.reason}
        if self.source_sha256 is not None:
            data["source_sha256"] = self.source_sha256
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict) -> "SkipRecord":
        known, extra = _known(cls, data)
        return cls(**known, extra=extra)


@dataclass(frozen=True)
class Counts:
    """A run's counts; a count the record does not hold is None (replay's has only ``written``)."""

    sources: int | None = None
    written: int | None = None
    skipped: int | None = None
    ignored: int | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


@dataclass(frozen=True)
class RunRecord:
    """What made an output tree: ``augcli.json``. Read back leniently (a key it
    lacks is None), since ``--resume`` and replay report what does not match."""

    tool: str | None = None  # "augcli"
    version: str | None = None
    engine: str | None = None  # the pixel engine; output bytes depend on it
    engine_fingerprint: dict | None = None  # what it writes for canary images (``engine.fingerprint``)
    recipe: dict | None = None  # the normalised recipe, as plain data
    recipe_sha256: str | None = None
    training_time_arguments: dict | None = None  # accepted in keras:, not applied
    seed: int | None = None
    source: str | None = None  # SRC, resolved
    started: str | None = None
    finished: str | None = None
    status: str | None = None  # running | complete | failed
    counts: Counts = Counts()
    replay_of: str | None = None  # the manifest a replay was made from
    plugins: dict | None = None  # plugin package -> version, for the plugin ops the recipe uses
    extra: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> dict:
        data = {name: getattr(self, name) for name in ("tool", "version", "engine", "engine_fingerprint", "recipe",
                                                       "recipe_sha256",
                                                       "training_time_arguments", "seed", "source", "started",
                                                       "finished", "status")}
        data["counts"] = self.counts.to_json()
        if self.plugins:
            data["plugins"] = self.plugins
        if self.replay_of is not None:
            data["replay_of"] = self.replay_of
        return {**data, **self.extra}

    @classmethod
    def from_json(cls, data: dict) -> "RunRecord":
        known, extra = _known(cls, data)
        counts = known.get("counts")
        if isinstance(counts, dict):
            known["counts"] = Counts(**_known(Counts, counts)[0])
        else:
            known.pop("counts", None)
        return cls(**known, extra=extra)


def dumps(record: ManifestRecord | SkipRecord) -> str:
    """A record as its line in ``manifest.jsonl`` / ``skipped.jsonl`` (without the newline)."""
    return json.dumps(record.to_json(), ensure_ascii=False, separators=(", ", ": "))


def write_run_record(out: OutDir, record: RunRecord) -> None:
    """Replace ``augcli.json`` atomically."""
    out.write(RUN_FILE, (json.dumps(record.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def read_run_record(out: Path) -> RunRecord | None:
    """``augcli.json`` of OUT: None when there is none, an empty record when it
    cannot be read."""
    try:
        return load_run_record(out / RUN_FILE)
    except FileNotFoundError:
        return None
    except ManifestError:
        return RunRecord.from_json({})


MAX_LINE = 1 << 20  # a record is ~1 KB; a longer line is junk, and is not read into memory whole
MAX_RUN_RECORD = 16 << 20


class ManifestError(UsageError):
    """A manifest (or skipped.jsonl, or augcli.json) that augcli did not write
    as it is: one line naming the file and the line."""

    def __init__(self, path: Path | str, line: int | None, what: str):
        self.path, self.line, self.what = str(path), line, what
        super().__init__(f"{path}:{line}: {what}" if line else f"{path}: {what}")


def load_run_record(path: Path) -> RunRecord:
    """An ``augcli.json``, checked to be a JSON object; ``ManifestError`` if not
    (``FileNotFoundError`` when it is missing)."""
    path = Path(path)
    try:
        with open_inside(path.parent, path.name) as handle:
            raw = handle.read(MAX_RUN_RECORD + 1)
    except FileNotFoundError:
        raise
    except Refused as exc:
        raise ManifestError(path, None, str(exc)) from None
    except OSError as exc:
        raise ManifestError(path, None, f"cannot read: {exc.strerror or exc}") from None
    return run_record_from(raw, path)


def run_record_from(raw: bytes, path: Path | str) -> RunRecord:
    """The run record in ``raw`` (the bytes of ``path``, at most ``MAX_RUN_RECORD``
    and one more), checked to be a JSON object; ``ManifestError`` if not."""
    if len(raw) > MAX_RUN_RECORD:
        raise ManifestError(path, None, f"larger than {MAX_RUN_RECORD:,} bytes")
    value = _parse(raw, path, None)
    if not isinstance(value, dict):
        raise ManifestError(path, None, f"not a JSON object (found {_json_type(value)})")
    return RunRecord.from_json(value)


_SHA256 = re.compile(r"[0-9a-f]{64}")


# augcli's own files in OUT: a record naming one would have augcli delete or
# overwrite it (a tampered manifest deleting the live lock of the run reading it)
OWN_FILES = frozenset(name.casefold() for name in (*META_FILES, LOCK_FILE))


def _relpath(value: Any) -> str | None:
    try:
        check_relpath(value)
        return None
    except Refused as exc:
        return str(exc)


def _out_path(value: Any) -> str | None:
    """A record's ``path``: a plain relative path in OUT that names none of
    augcli's own files (nor a temporary file), whatever its case."""
    problem = _relpath(value)
    if problem is None and any(part.casefold() in OWN_FILES or is_temp(part) for part in value.split("/")):
        return "names one of augcli's own files, not an image"
    return problem


def _one_of(*allowed):
    return lambda v: None if v in allowed else f"not one of {', '.join(map(str, allowed))}"


def _int(lo: int):
    return lambda v: None if type(v) is int and v >= lo else f"not an integer >= {lo}"


def _optional(check):
    return lambda v: None if v is None else check(v)


def _str(v):
    return None if isinstance(v, str) else "not a string"


def _ops(v):
    if not isinstance(v, list):
        return "not a list"
    for i, op in enumerate(v):
        if not isinstance(op, dict) or not isinstance(op.get("op"), str):
            return f"item {i} is not an object with an 'op' name"
    return None


# what every key of a record must hold: a check returning None or what is wrong
RECORD = {
    "path": _out_path, "source": _relpath, "label": _str, "split": _optional(_str),
    "kind": _one_of("original", "augmented", "copied"), "copy": _int(0), "seed": _optional(_int(0)),
    "ops": _ops, "width": _int(1), "height": _int(1),
    "sha256": lambda v: None if isinstance(v, str) and _SHA256.fullmatch(v) else "not a SHA-256 hex digest",
    "source_sha256": lambda v: None if isinstance(v, str) and _SHA256.fullmatch(v) else "not a SHA-256 hex digest",
}
def _labels(v):
    if not isinstance(v, dict):
        return "not an object"
    if v.get("path") is not None and (problem := _relpath(v["path"])):
        return f"path: {problem}"
    return None


OPTIONAL = {"variant": _str, "note": _str, "labels": _labels}
SKIP_RECORD = {"source": _str, "reason": _str}


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _parse(raw: bytes, path: Path, line: int | None) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(path, line, f"not UTF-8 text (byte {exc.start + 1})") from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise ManifestError(path, line, "JSON nested too deeply") from None
    except ValueError as exc:
        what = getattr(exc, "msg", str(exc))
        what = what[:-3] if what.endswith(" at") else what  # json's "Unterminated string starting at"
        raise ManifestError(path, line, f"not valid JSON ({what} at column {getattr(exc, 'colno', '?')})") from None
    if (where := _lone_surrogate(value)) is not None:
        raise ManifestError(path, line, f"{cut(where)} holds a lone surrogate escape (\\ud800-\\udfff alone), which is "
                                        "not text; augcli never writes one")
    return value


def _lone_surrogate(value: Any) -> str | None:
    """Where in a parsed JSON value a string (or key) holds a lone surrogate,
    which JSON's \\u escapes can spell but no file name, hash or label can be:
    every later use of it (a path to open, a line to print) would fail."""
    stack = [("", value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return where or "a value"
        elif isinstance(item, dict):
            for key, inner in item.items():
                if not _encodable(key):
                    return f"a key under {where}" if where else "a key"
                stack.append((f"{where}.{key}" if where else key, inner))
        elif isinstance(item, list):
            stack += [(f"{where}[{i}]", inner) for i, inner in enumerate(item)]
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def check_record(value: Any, fields: dict, path: Path, line: int) -> dict:
    """``value`` if it is an object with every key of ``fields`` holding what it
    must; ``ManifestError`` naming the first problem. Other keys are let be:
    no command reads them."""
    if not isinstance(value, dict):
        raise ManifestError(path, line, f"not a JSON object (found {_json_type(value)})")
    missing = [k for k in fields if k not in value]
    if missing:
        raise ManifestError(path, line, "missing " + ", ".join(repr(k) for k in missing))
    optional = OPTIONAL if fields is RECORD else {}
    for key, item in value.items():
        check = fields.get(key) or optional.get(key)
        if check is not None and (problem := check(item)):
            raise ManifestError(path, line, f"{key} {json.dumps(item, ensure_ascii=False)[:80]}: {problem}")
    return value


def _lines(handle) -> Iterator[tuple[int, bytes | None, bool]]:
    """(line number, bytes or None if too long, ends with a newline) of each line."""
    number = 0
    while True:
        raw = handle.readline(MAX_LINE + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a block at a time
                raw = handle.readline(MAX_LINE)
            yield number, None, True
            continue
        yield number, raw, raw.endswith(b"\n")


def read_records(path: Path, on_error: Callable[[ManifestError], None] | None = None) -> Iterator[ManifestRecord]:
    """Each record of a manifest, checked, streamed.

    A missing file has no records. A last line without a newline is a torn
    append (a kill mid-write) and is left out; blank lines are skipped. Any
    other bad line raises ``ManifestError``, or with ``on_error`` is passed to
    it and skipped.
    """
    for _, record in read_numbered(path, on_error):
        yield record


def read_numbered(path: Path, on_error: Callable[[ManifestError], None] | None = None
                  ) -> Iterator[tuple[int, ManifestRecord]]:
    """``read_records`` with each record's line number."""
    for number, value in _read_checked(path, RECORD, on_error):
        yield number, ManifestRecord.from_json(value)


def read_skips(path: Path, on_error: Callable[[ManifestError], None] | None = None) -> Iterator[SkipRecord]:
    """Each record of a ``skipped.jsonl``, checked, streamed (as ``read_records``)."""
    for _, value in _read_checked(path, SKIP_RECORD, on_error):
        yield SkipRecord.from_json(value)


def _read_checked(path: Path, fields: dict, on_error: Callable[[ManifestError], None] | None
                  ) -> Iterator[tuple[int, dict]]:
    """(line number, JSON object) of each line, checked against ``fields``."""
    path = Path(path)
    try:  # a regular file inside its own folder: not a FIFO, not a link to elsewhere
        handle = open_inside(path.parent, path.name)
    except FileNotFoundError:
        return
    except Refused as exc:
        raise ManifestError(path, None, str(exc)) from None
    except OSError as exc:
        raise ManifestError(path, None, f"cannot read: {exc.strerror or exc}") from None
    with handle:
        yield from checked_lines(handle, path, fields, on_error)


def records_in(handle, path: Path | str, on_error: Callable[[ManifestError], None] | None = None
               ) -> Iterator[ManifestRecord]:
    """``read_records`` of an open binary handle (a manifest in object storage),
    its errors naming ``path``."""
    for _, value in checked_lines(handle, path, RECORD, on_error):
        yield ManifestRecord.from_json(value)


def skips_in(handle, path: Path | str, on_error: Callable[[ManifestError], None] | None = None
             ) -> Iterator[SkipRecord]:
    """``read_skips`` of an open binary handle."""
    for _, value in checked_lines(handle, path, SKIP_RECORD, on_error):
        yield SkipRecord.from_json(value)


def checked_lines(handle, path: Path | str, fields: dict, on_error: Callable[[ManifestError], None] | None
                  ) -> Iterator[tuple[int, dict]]:
    """(line number, JSON object) of each line of ``handle``, checked against
    ``fields``; a last line without a newline is torn and left out."""
    for number, raw, complete in _lines(handle):
        if not complete:
            return  # torn: the run was killed while appending it
        try:
            if raw is None:
                raise ManifestError(path, number, f"a line longer than {MAX_LINE:,} bytes")
            if not raw.strip():
                continue
            yield number, check_record(_parse(raw.rstrip(b"\r\n"), path, number), fields, path, number)
        except ManifestError as exc:
            if on_error is None:
                raise
            on_error(exc)


def repair_torn_tail(path: Path) -> None:
    """Cut a torn last line (a kill mid-append) off a JSON-lines file, so that
    appending goes on from a complete line. Only a regular file is touched
    (a link or a FIFO is left for the reader to refuse), and only one of
    augcli's own: a hard link to it (a ``cp -al`` snapshot) keeps its bytes."""
    path = Path(path)
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return
        # the file itself, never a link's target; read only, until a cut is needed
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NOFOLLOW)) as handle:
            size = handle.seek(0, os.SEEK_END)
            position = size
            while position > 0:  # back to the last newline, a block at a time
                step = min(position, 1 << 16)
                handle.seek(position - step)
                block = handle.read(step)
                newline = block.rfind(b"\n")
                if newline >= 0:
                    position = position - step + newline + 1
                    break
                position -= step
        if position == size:
            return
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            break_link(folder, path.name)
            fd = os.open(path.name, os.O_WRONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=folder)
            try:
                os.ftruncate(fd, position)
            finally:
                os.close(fd)
        finally:
            os.close(folder)
    except FileNotFoundError:
        pass


class AppendLog:
    """A JSON-lines file in OUT opened lazily (so ``skipped.jsonl`` exists only
    when there is something in it), one flushed write per record."""

    def __init__(self, out: OutDir, name: str):
        self.out = out
        self.name = name
        self._handle = None

    def append(self, record: ManifestRecord | SkipRecord) -> None:
        if self._handle is None:
            self._handle = self.out.open_append(self.name)
        self._handle.write(dumps(record) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            handle, self._handle = self._handle, None
            try:
                handle.flush()
                if hasattr(handle, "fileno"):  # a local file; a log in object storage is whole once closed
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
