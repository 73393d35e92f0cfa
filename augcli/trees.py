"""Reading only inside the trees a command was given.

Every reader of a file named by a relative path (a source in SRC, an image
or record in OUT, a manifest's ``source``) goes through ``read_inside``: the
path must be relative and plain (no ``..``, no absolute or backslash path),
must resolve, symlinks followed, to a place inside the real root, and must be
a regular file. A FIFO, socket or device is refused before it is read, so a
reader never waits on a pipe or reads ``/dev/zero`` forever.
"""
from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from .errors import UsageError

_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symlink"}


class Refused(Exception):
    """A path a reader will not open; the message says why, for a skip or an error line."""


def check_relpath(relpath: str) -> str:
    """``relpath`` if it is a plain relative POSIX path, else ``Refused``."""
    if not isinstance(relpath, str):
        raise Refused(f"{relpath!r} is not a path")
    parts = PurePosixPath(relpath).parts
    if (not parts or relpath.startswith("/") or ".." in parts or "\\" in relpath or "\0" in relpath):
        raise Refused(f"{relpath!r} is not a relative path inside its folder")
    return relpath


def kind_of(mode: int) -> str:
    """What a file's mode says it is, in words."""
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def resolve_inside(root: str | os.PathLike, relpath: str) -> Path:
    """The real path of ``root/relpath``, refused unless it stays inside the real ``root``.

    Raises ``FileNotFoundError`` when it does not exist (a broken link too).
    """
    check_relpath(relpath)
    real_root = Path(root).resolve()
    real = (Path(root) / relpath).resolve(strict=True)
    if real != real_root and real_root not in real.parents:
        raise Refused(f"{relpath} leads outside {root} (to {real}); not read")
    return real


def regular_file_check(mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise Refused(f"not a regular file ({kind_of(mode)})")


def open_inside(root: str | os.PathLike, relpath: str) -> BinaryIO:
    """``root/relpath`` opened for reading, only if it is a regular file inside
    ``root``. ``Refused`` or ``OSError`` (``FileNotFoundError``) otherwise."""
    real = resolve_inside(root, relpath)
    regular_file_check(real.stat().st_mode)  # a socket cannot even be opened
    # non-blocking, so a FIFO swapped in after the check cannot hang the open;
    # no-follow, so the last component cannot have become a link since resolving
    flags = os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0)
    handle = open(real, "rb", opener=lambda path, mode: os.open(path, mode | flags))
    try:
        regular_file_check(os.fstat(handle.fileno()).st_mode)
    except Refused:
        handle.close()
        raise
    return handle


def read_inside(root: str | os.PathLike, relpath: str, limit: int | None = None,
                max_size: int | None = None) -> bytes:
    """The bytes of ``root/relpath`` (at most ``limit``), read only if it is a
    regular file inside ``root`` and, with ``max_size``, no larger than that
    (refused before anything is read, with the sizes in the message).
    ``Refused`` or ``OSError`` otherwise; a file too large for memory is
    ``Refused`` too, not a ``MemoryError`` that would end the run."""
    with open_inside(root, relpath) as handle:
        try:
            if max_size is None:
                return handle.read() if limit is None else handle.read(limit)
            size = os.fstat(handle.fileno()).st_size
            if size > max_size:
                raise Refused(f"file is {size:,} bytes, more than the {max_size:,} an image within --max-pixels "
                              "can need; not read (raise --max-pixels to read it)")
            # read(n) allocates n bytes first: ask for the size the file has (plus one, to see it grow)
            want = size + 1 if limit is None else min(limit, size + 1)
            data = handle.read(want)
            if len(data) == want and (limit is None or want < limit):  # it grew while read: up to the bound
                data += handle.read(max_size + 1 - len(data) if limit is None else limit - len(data))
        except MemoryError:
            raise Refused("file is too large to read into memory; not read") from None
        if len(data) > max_size:
            raise Refused(f"file grew past {max_size:,} bytes while it was read; not read")
        return data


def refuse_dangling_link(path: str | os.PathLike) -> None:
    """Refuse a dangling symlink as an output folder or file: writing through it
    would create its target, wherever that is."""
    path = Path(path)
    if path.is_symlink() and not path.exists():
        raise UsageError(f"{path} is a symlink to {os.readlink(path)}, which does not exist; "
                         "remove the link or give another path")


def digest_of(handle: BinaryIO) -> str:
    """sha256 of what is left in ``handle``, read a block at a time."""
    digest = hashlib.sha256()
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def hash_inside(root: str | os.PathLike, relpath: str) -> str | None:
    """sha256 of ``root/relpath`` read only inside ``root`` (a regular file), or
    None when it cannot be read there."""
    try:
        with open_inside(root, relpath) as handle:
            return digest_of(handle)
    except (OSError, Refused):
        return None
