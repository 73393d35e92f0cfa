"""The files that describe an output tree: ``augcli.json`` (the run record),
``manifest.jsonl`` (one line per written image) and ``skipped.jsonl``.

Only the parent process writes them. A manifest line is appended (one write,
flushed) only after its image is in place, so after a kill the manifest is a
prefix of the finished one, possibly plus a torn last line (no newline).

Every command reads them through ``read_records``: tolerant of that torn
last line (it is not a record), strict about anything else. A broken line,
junk bytes, a line that is not an object, a missing key, a value of the
wrong type or a path that leaves its tree raises ``ManifestError`` naming the
file and the line; ``on_error`` lets a caller that can go on (``verify``,
``--overwrite``) note the line and skip it instead.
"""
from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any, Callable, Iterator

from .errors import UsageError
from .outdir import OutDir
from .trees import Refused, check_relpath, open_inside

RUN_FILE = "augcli.json"
MANIFEST = "manifest.jsonl"
SKIPPED = "skipped.jsonl"
META_FILES = (RUN_FILE, MANIFEST, SKIPPED)
# names at the top of OUT that augcli's own files take: no class folder may have
# one (casefolded, as on case-insensitive filesystems)
RESERVED_NAMES = frozenset(name.casefold() for name in META_FILES)


def dumps(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(", ", ": "))


def write_run_record(out: OutDir, record: dict) -> None:
    """Replace ``augcli.json`` atomically."""
    out.write(RUN_FILE, (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def read_run_record(out: Path) -> dict | None:
    """``augcli.json`` of OUT: None when there is none, {} when it cannot be read."""
    try:
        return load_run_record(out / RUN_FILE)
    except FileNotFoundError:
        return None
    except ManifestError:
        return {}


MAX_LINE = 1 << 20  # a record is ~1 KB; a longer line is junk, and is not read into memory whole
MAX_RUN_RECORD = 16 << 20


class ManifestError(UsageError):
    """A manifest (or skipped.jsonl, or augcli.json) that augcli did not write
    as it is: one line naming the file and the line."""

    def __init__(self, path: Path | str, line: int | None, what: str):
        self.path, self.line, self.what = str(path), line, what
        super().__init__(f"{path}:{line}: {what}" if line else f"{path}: {what}")


def load_run_record(path: Path) -> dict:
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
    if len(raw) > MAX_RUN_RECORD:
        raise ManifestError(path, None, f"larger than {MAX_RUN_RECORD:,} bytes")
    value = _parse(raw, path, None)
    if not isinstance(value, dict):
        raise ManifestError(path, None, f"not a JSON object (found {_json_type(value)})")
    return value


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _relpath(value: Any) -> str | None:
    try:
        check_relpath(value)
        return None
    except Refused as exc:
        return str(exc)


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
    "path": _relpath, "source": _relpath, "label": _str, "split": _optional(_str),
    "kind": _one_of("original", "augmented", "copied"), "copy": _int(0), "seed": _optional(_int(0)),
    "ops": _ops, "width": _int(1), "height": _int(1),
    "sha256": lambda v: None if isinstance(v, str) and _SHA256.fullmatch(v) else "not a SHA-256 hex digest",
    "source_sha256": lambda v: None if isinstance(v, str) and _SHA256.fullmatch(v) else "not a SHA-256 hex digest",
}
OPTIONAL = {"variant": _str, "note": _str}
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
        return json.loads(text)
    except RecursionError:
        raise ManifestError(path, line, "JSON nested too deeply") from None
    except ValueError as exc:
        what = getattr(exc, "msg", str(exc))
        what = what[:-3] if what.endswith(" at") else what  # json's "Unterminated string starting at"
        raise ManifestError(path, line, f"not valid JSON ({what} at column {getattr(exc, 'colno', '?')})") from None


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


def read_records(path: Path, fields: dict = RECORD,
                 on_error: Callable[[ManifestError], None] | None = None) -> Iterator[dict]:
    """Each record of a JSON-lines file, checked against ``fields``, streamed.

    A missing file has no records. A last line without a newline is a torn
    append (a kill mid-write) and is left out; blank lines are skipped. Any
    other bad line raises ``ManifestError``, or with ``on_error`` is passed to
    it and skipped.
    """
    for _, record in read_numbered(path, fields, on_error):
        yield record


def read_numbered(path: Path, fields: dict = RECORD,
                  on_error: Callable[[ManifestError], None] | None = None) -> Iterator[tuple[int, dict]]:
    """``read_records`` with each record's line number."""
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
    (a link or a FIFO is left for the reader to refuse)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return
        # the file itself, never a link's target
        with open(path, "r+b", opener=lambda name, flags: os.open(name, flags | os.O_NOFOLLOW)) as handle:
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
            if position != size:
                handle.truncate(position)
    except FileNotFoundError:
        pass


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
