"""OUT, the one tree augcli writes: every file it creates, renames or deletes
there is reached from the real OUT folder one name at a time, never through a
symbolic link.

Why descriptors and not a path check: checking ``realpath(path)`` and then
opening ``path`` are two lookups, and a folder can be swapped for a link in
between. Here each folder is opened with ``O_NOFOLLOW`` relative to the one
above it (``openat``), and files are created, renamed and deleted relative to
their folder's descriptor, so the check and the use are one lookup. A link
where a folder should be is refused (``UnsafeOutPath``); a link where a file
should be is replaced or removed itself, never written through.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import stat
import threading
from dataclasses import dataclass
from typing import Iterable, Iterator

from .errors import UnsafeOutPath, UsageError
from .limits import MAX_SCAN_DEPTH

TEMP_MARK = ".augcli-tmp"
LOCK_FILE = ".augcli.lock"
MAX_OUT_DEPTH = MAX_SCAN_DEPTH + 3  # folders below OUT augcli may write: a split, a class, the scan's depth
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def is_temp(name: str) -> bool:
    """A leftover temporary file from an interrupted write."""
    return TEMP_MARK in name and name.startswith(".")


def temp_name(name: str) -> str:
    """A short hidden temporary name for writing ``name`` in its folder:
    ``.augcli-tmp-PID-THREAD-HASH``, never longer than 48 characters, so a
    name that fits its folder (up to the usual 255 bytes) can still be written
    through it. Unique per process, thread and final name."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{TEMP_MARK}-{os.getpid()}-{threading.get_ident() % 100_000}-{digest}"


def break_link(fd: int, name: str) -> None:
    """Make the file ``name`` in folder ``fd`` augcli's own before changing it in
    place: when it has other hard links (a ``cp -al`` snapshot of OUT, or a
    source image linked into OUT), its content is copied to a new file that is
    renamed over it, so the other names keep the old bytes. A link, a missing
    file or a file with one name is left alone."""
    try:
        st = os.lstat(name, dir_fd=fd)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode) or st.st_nlink <= 1:
        return
    temp = temp_name(name)
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
    try:
        copy = _create(fd, temp)
        try:
            with open(copy, "wb") as stream:
                for block in iter(lambda: os.read(source, 1 << 20), b""):
                    stream.write(block)
            os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp, dir_fd=fd)
            raise
    finally:
        os.close(source)


def parts_of(relpath: str) -> list[str]:
    """The names along a POSIX path relative to OUT; anything that could leave
    OUT (absolute, ``..``, empty or ``.`` parts) is refused."""
    parts = relpath.split("/")
    if relpath.startswith("/") or "\0" in relpath or any(p in ("", ".", "..") for p in parts):
        raise UnsafeOutPath(f"{relpath!r} is not a plain relative path inside OUT")
    return parts


@dataclass(frozen=True)
class OutDir:
    """The real OUT folder, named by its path and identified by its device and
    inode, so a folder put in its place during a run is noticed. Small and
    picklable: workers receive it with their job."""

    path: str
    device: int
    inode: int

    @classmethod
    def of(cls, out: str | os.PathLike) -> "OutDir":
        real = os.path.realpath(out)
        st = os.stat(real)
        return cls(real, st.st_dev, st.st_ino)

    def show(self, relpath: str = "") -> str:
        return os.path.join(self.path, relpath) if relpath else self.path

    @contextlib.contextmanager
    def folder(self, names: Iterable[str], *, create: bool = False) -> Iterator[int]:
        """A descriptor of the folder OUT/names..., opened without following
        links (created when missing if ``create``)."""
        fd = os.open(self.path, _FOLDER)
        try:
            st = os.fstat(fd)
            if (st.st_dev, st.st_ino) != (self.device, self.inode):
                raise UnsafeOutPath(f"OUT {self.path} was replaced by another folder during the run; "
                                    "nothing more is written there")
            done: list[str] = []
            for name in names:
                done.append(name)
                inner = _open_folder(fd, name, create, self.show("/".join(done)))
                os.close(fd)
                fd = inner
            yield fd
        finally:
            os.close(fd)

    def is_file(self, relpath: str) -> bool:
        """Whether OUT/relpath is a regular file reached without following a link."""
        try:
            *folders, name = parts_of(relpath)
            with self.folder(folders) as fd:
                return stat.S_ISREG(os.lstat(name, dir_fd=fd).st_mode)
        except (UnsafeOutPath, FileNotFoundError, NotADirectoryError):
            return False

    def find_link(self, relpaths: Iterable[str]) -> str | None:
        """The first symbolic link along any of ``relpaths`` (folders or files), or None."""
        checked: set[str] = set()
        for relpath in relpaths:
            prefix = ""
            for name in parts_of(relpath):
                prefix = f"{prefix}/{name}" if prefix else name
                if prefix in checked:
                    continue
                checked.add(prefix)
                try:
                    if stat.S_ISLNK(os.lstat(self.show(prefix)).st_mode):
                        return prefix
                except (FileNotFoundError, NotADirectoryError):
                    break
        return None

    def write(self, relpath: str, data: bytes) -> None:
        """See ``write_atomic``."""
        write_atomic(self, relpath, data)

    def open_append(self, name: str):
        """A text handle appending to the file OUT/name (created if missing), never
        through a link, and never into a file with other hard links (``break_link``)."""
        with self.folder(()) as root:
            break_link(root, name)
            try:
                fd = os.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666,
                             dir_fd=root)
            except OSError as exc:
                _refuse_if_link(root, name, self.show(name), exc)
                raise
        return open(fd, "a", encoding="utf-8")

    def remove(self, relpath: str) -> bool:
        """Delete the file (or link) OUT/relpath; never follows a link to reach it
        and never deletes a folder. Return whether something was removed."""
        try:
            *folders, name = parts_of(relpath)
            with self.folder(folders) as fd:
                os.unlink(name, dir_fd=fd)
        except (UnsafeOutPath, FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return False
        return True

    def prune(self, relfolders: Iterable[str]) -> None:
        """Remove each of these folders (and then its parents) while it is empty; OUT stays."""
        for relfolder in sorted(set(relfolders), key=lambda f: -f.count("/")):
            names = parts_of(relfolder) if relfolder else []
            while names:
                try:
                    with self.folder(names[:-1]) as fd:
                        os.rmdir(names[-1], dir_fd=fd)
                except OSError:
                    break  # not empty, gone, or a link: leave it
                names = names[:-1]

    def remove_temp_files(self) -> None:
        """Delete the temp files interrupted writes left below OUT (not below
        links). A loop holding the open folders along one path, not recursion
        (os.fwalk recurses: an OUT planted a thousand folders deep was a
        RecursionError); no deeper than augcli ever writes (``MAX_OUT_DEPTH``)."""
        with self.folder(()) as root:
            stack = [(root, iter(_clean_folder(root)))]
            try:
                while stack:
                    fd, below = stack[-1]
                    name = next(below, None)
                    if name is None:
                        stack.pop()
                        if fd != root:
                            os.close(fd)
                        continue
                    if len(stack) > MAX_OUT_DEPTH:
                        continue
                    try:
                        inner = os.open(name, _FOLDER, dir_fd=fd)
                    except OSError:
                        continue  # gone, or a link put there meanwhile: not followed
                    stack.append((inner, iter(_clean_folder(inner))))
            finally:
                for fd, _ in stack:
                    if fd != root:
                        os.close(fd)


def _clean_folder(fd: int) -> list[str]:
    """Delete the temp files in folder ``fd``; return the names of its folders."""
    folders = []
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.name)
            elif is_temp(entry.name):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.name, dir_fd=fd)
    return folders


def write_atomic(out: OutDir, relpath: str, data: bytes) -> None:
    """Write ``data`` to OUT/relpath via a temporary file in the same folder and
    an atomic rename: the file is either absent, the old one, or complete. No
    folder on the way is a link (``UnsafeOutPath`` otherwise), and a link at
    ``relpath`` itself is replaced, not written through."""
    if not isinstance(out, OutDir):  # OUT in object storage: one PUT of the finished bytes
        return out.write(relpath, data)
    *folders, name = parts_of(relpath)
    with out.folder(folders, create=True) as fd:
        _write_new(fd, name, data)


def replace_file(path: str | os.PathLike, data: bytes) -> None:
    """Write a single file outside OUT (``preview --out``) as a new file renamed
    into place: never into what is already at ``path``, which may be a hard
    link to a source image (whose other names then keep their bytes). A
    symbolic link at ``path`` is replaced, not written through."""
    folder, name = os.path.split(os.path.abspath(path))
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _write_new(fd, name, data)
    finally:
        os.close(fd)


def _write_new(fd: int, name: str, data: bytes) -> None:
    """``data`` into a new temporary file in the folder ``fd``, renamed over
    ``name``: never written into what is there; no temp file left on failure."""
    temp = temp_name(name)
    handle = _create(fd, temp)
    try:
        with open(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=fd)
        raise


def _create(fd: int, name: str) -> int:
    """A new file ``name`` in folder ``fd``; a stale one of that name (a killed
    writer whose pid came round again, or a planted link) is removed first."""
    try:
        return os.open(name, _NEW_FILE, 0o666, dir_fd=fd)
    except FileExistsError:
        os.unlink(name, dir_fd=fd)
        return os.open(name, _NEW_FILE, 0o666, dir_fd=fd)


def _open_folder(fd: int, name: str, create: bool, shown: str) -> int:
    try:
        return os.open(name, _FOLDER, dir_fd=fd)
    except FileNotFoundError:
        if not create:
            raise
    except OSError as exc:
        _refuse_if_link(fd, name, shown, exc)
        raise
    with contextlib.suppress(FileExistsError):  # another writer made it meanwhile
        os.mkdir(name, 0o777, dir_fd=fd)
    try:
        return os.open(name, _FOLDER, dir_fd=fd)
    except OSError as exc:
        _refuse_if_link(fd, name, shown, exc)
        raise


def _refuse_if_link(fd: int, name: str, shown: str, exc: OSError) -> None:
    """Turn a failed open caused by a symbolic link into ``UnsafeOutPath``."""
    if exc.errno not in (errno.ENOTDIR, errno.ELOOP):
        return
    with contextlib.suppress(OSError):
        if stat.S_ISLNK(os.lstat(name, dir_fd=fd).st_mode):
            raise UnsafeOutPath(f"{shown} is a symbolic link: augcli never writes or deletes through a link "
                                "inside OUT; remove the link, or choose another OUT") from None


@contextlib.contextmanager
def one_writer(out: str | os.PathLike) -> Iterator[None]:
    """Hold OUT for one run: an exclusive ``flock`` on OUT/.augcli.lock (OUT is
    created if missing). A second writer is refused with exit 2, naming the
    pid that holds it. The kernel drops the lock when its holder dies, however
    it dies, so a killed run's lock file is simply taken over. The file is
    removed when the run ends, and so is an OUT made here and left empty.

    An existing lock file is only opened for reading and locked, never written:
    it may be a hard link to anything (a source image). The pid goes into a new
    file, locked too and renamed over it (``_fresh_lock``)."""
    made = not os.path.lexists(out)
    os.makedirs(out, exist_ok=True)
    folder = OutDir.of(out)
    try:
        with folder.folder(()) as root:
            try:
                fds = _lock(root, folder, out)
            except UnsafeOutPath as exc:  # found before any work: a usage error, like any link in OUT
                raise UsageError(str(exc)) from None
            try:
                yield
            finally:
                try:  # quietly: a failure here must not hide why the run ended
                    with contextlib.suppress(OSError):
                        if os.stat(LOCK_FILE, dir_fd=root, follow_symlinks=False).st_ino == os.fstat(fds[-1]).st_ino:
                            os.unlink(LOCK_FILE, dir_fd=root)  # still holding it: see the inode check in _lock
                finally:
                    for fd in fds:
                        os.close(fd)
    finally:
        if made:
            with contextlib.suppress(OSError):
                os.rmdir(folder.path)  # only if the run wrote nothing


def check_not_locked(out: str | os.PathLike) -> None:
    """Refuse (exit 2) an OUT whose lock another run holds, without creating or
    writing anything: for the checks made before the lock is taken (a scan of
    SRC runs before OUT is touched)."""
    try:
        folder = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return  # no OUT yet (or not a folder: refused elsewhere)
    try:
        try:
            fd = os.open(LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=folder)
        except FileNotFoundError:
            return
        except OSError as exc:
            try:
                _refuse_if_link(folder, LOCK_FILE, os.path.join(out, LOCK_FILE), exc)
            except UnsafeOutPath as link:
                raise UsageError(str(link)) from None
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared: two probes do not block each other
        except BlockingIOError:
            raise UsageError(f"OUT {out} is being written by another augcli run (pid {_holder(folder)}); one run "
                             "writes to a folder at a time: wait for it to finish, or stop it") from None
        finally:
            os.close(fd)
    finally:
        os.close(folder)


def _lock(root: int, folder: OutDir, shown) -> tuple[int, ...]:
    """The descriptors this run holds OUT with: the lock file it found (or
    made), and the fresh one carrying its pid, when that could be written."""
    while True:
        try:
            fd = os.open(LOCK_FILE, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644,
                         dir_fd=root)
        except OSError as exc:
            _refuse_if_link(root, LOCK_FILE, folder.show(LOCK_FILE), exc)
            raise
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(f"{folder.show(LOCK_FILE)} is not a regular file; augcli keeps its lock there: "
                             "remove it, or choose another OUT")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = _holder(root)
            raise UsageError(f"OUT {shown} is being written by another augcli run (pid {holder}); one run "
                             "writes to a folder at a time: wait for it to finish, or stop it") from None
        try:  # a run ending between our open and our flock removed the file: our lock is on nothing
            current = os.stat(LOCK_FILE, dir_fd=root, follow_symlinks=False).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            fresh = _fresh_lock(root)
            return (fd,) if fresh is None else (fd, fresh)
        os.close(fd)


def _holder(root: int) -> str:
    """The pid the lock file names, for the message (what is there may not be a pid)."""
    try:
        fd = os.open(LOCK_FILE, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=root)
    except OSError:
        return "unknown"
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    finally:
        os.close(fd)
    return text if text.isdigit() else "unknown"


def _fresh_lock(root: int) -> int | None:
    """A new lock file holding this run's pid, locked, renamed over the one
    found (which other runs still find locked until this run ends). None when
    it cannot be made (a full disk): the pid is for the message only."""
    temp = temp_name(LOCK_FILE)
    try:
        fd = _create(root, temp)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else holds it
        with contextlib.suppress(OSError):
            os.write(fd, f"{os.getpid()}\n".encode())
        os.replace(temp, LOCK_FILE, src_dir_fd=root, dst_dir_fd=root)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=root)
        os.close(fd)
        return None
    return fd
