"""SRC -> a sorted list of source images, plus what was ignored or skipped.

Layouts (SPEC section 1): each sub-folder of SRC is a class, or, when the
top-level folders are split names, each split holds class folders. Files are
found by extension and identified by content (the first bytes); nothing is
decoded here. Symlinks are followed only while they stay inside SRC.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AugcliError, UsageError
from .io import IMAGE_EXTENSIONS, sniff
from .limits import MAX_SCAN_DEPTH
from .manifest import RESERVED_NAMES, SkipRecord
from .outdir import LOCK_FILE
from .trees import Refused, read_inside

SPLITS = ("train", "val", "valid", "validation", "test")
OS_LITTER = {"thumbs.db", "desktop.ini", "__macosx", "$recycle.bin", "ehthumbs.db"}


@dataclass(frozen=True)
class SourceImage:
    relpath: str  # POSIX path relative to SRC; a symlink is named by its own path
    label: str
    split: str | None
    format: str  # the content's format, from its first bytes
    labels: str | None = None  # annotated layouts: its label file (POSIX, relative to SRC), if it has one
    inline: str | None = None  # COCO: its annotations, as JSON text (they live in one file for all images)


@dataclass(frozen=True)
class Scan:
    root: str
    sources: tuple[SourceImage, ...]
    skipped: tuple[SkipRecord, ...]
    ignored: tuple[str, ...]
    empty_classes: tuple[str, ...]
    splits: tuple[str, ...]  # empty for the flat layout
    layout: str = "folders"  # folders | yolo | coco | masks (augcli.layouts)
    meta: dict = field(default_factory=dict, compare=False)  # what the layout writes at the end (data.yaml, COCO)


def check_src(src: str | Path) -> None:
    """SRC must be a folder: a usage error (exit 2) before any work otherwise."""
    root = Path(src)
    if not root.is_dir():
        raise UsageError(f"SRC {src} is not a folder" if root.exists() else f"SRC {src} does not exist")


def identity(path: str | os.PathLike) -> tuple[int, int]:
    """A file's (device, inode): what it is, whatever path reaches it."""
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _lineage(path: Path) -> list[tuple[int, int]]:
    """The identities of ``path`` (or, if it does not exist yet, of the folder
    it will be made in) and of every folder above it."""
    real = path.resolve()
    while not real.exists() and real != real.parent:
        real = real.parent
    return [identity(folder) for folder in (real, *real.parents)]


def is_within(folder: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Whether ``path`` (existing or to be made) is ``folder`` or below it, by
    (device, inode) of the folders above it: true through mounts and links too."""
    return identity(folder) in _lineage(Path(path))


def check_separate(src: Path, out: Path) -> None:
    """Refuse OUT == SRC, OUT inside SRC and SRC inside OUT, before any work.

    Compared by (device, inode), not by path: a folder mounted in two places
    (a container's ``-v data:/src -v data/aug:/out``) has two paths and one
    identity. What a path cannot show at all (OUT mounted below SRC at an
    unrelated path) the scan finds when it meets OUT (``OutIdentity``)."""
    src_id = identity(src)
    out_line = _lineage(out)
    if os.path.isdir(out) and out_line[0] == src_id:
        raise UsageError(f"OUT {out} is the same folder as SRC: augcli never writes into its source")
    if src_id in out_line:
        raise UsageError(f"OUT {out} is inside SRC {src}: choose an output folder outside the source tree")
    if os.path.isdir(out) and (out_line[0] in _lineage(src) or _folder_below(out, src_id)):
        raise UsageError(f"SRC {src} is inside OUT {out}: choose an output folder outside the source tree")


def check_out_not_below(src: Path, out: Path) -> None:
    """Refuse an OUT (or the folder it would be made in) that is a folder below
    SRC by (device, inode): a command that does not scan SRC (``replay``) looks
    for it here, as ``expand``'s scan does (``OutIdentity``)."""
    if _folder_below(src, _lineage(out)[0]):
        raise UsageError(f"OUT {out} is inside SRC {src} (a folder of SRC reached through a mount or link): "
                         "choose an output folder outside the source tree")


def _folder_below(root: str | os.PathLike, wanted: tuple[int, int]) -> bool:
    """Whether a folder below ``root`` (links not followed, at most
    ``MAX_SCAN_DEPTH`` + 2 levels: a class, a split) is ``wanted``: SRC mounted
    inside an existing OUT, which no path above SRC shows. A loop, not
    recursion; an OUT not made yet or empty costs nothing."""
    stack = [(os.fspath(root), 0)]
    while stack:
        folder, depth = stack.pop()
        try:
            with os.scandir(folder) as entries:
                below = [entry for entry in entries if entry.is_dir(follow_symlinks=False)]
        except OSError:
            continue
        for entry in below:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) == wanted:
                return True
            if depth < MAX_SCAN_DEPTH + 2:
                stack.append((entry.path, depth + 1))
    return False


@dataclass(frozen=True)
class OutIdentity:
    """OUT as the scan must never meet it inside SRC, by (device, inode): its
    folder (or the one it would be made in) and the lock file it holds, if any
    (the scan runs before this run makes its own, so that a refusal writes
    nothing at all: the lock found is a live or stale one of another run)."""

    shown: str
    folder: tuple[int, int]
    lock: tuple[int, int] | None = None

    @classmethod
    def of(cls, out: str | os.PathLike) -> "OutIdentity":
        """OUT's folder, or, when OUT is not made yet, the folder it would be made
        in (met inside SRC, that is as bad); the lock file OUT holds, if any."""
        try:
            lock = identity(os.path.join(out, LOCK_FILE))
        except OSError:
            lock = None
        return cls(str(out), _lineage(Path(out))[0], lock)

    def refuse(self, src: str | os.PathLike, relpath: str) -> UsageError:
        return UsageError(f"OUT {self.shown} is inside SRC {src} (it is {src}/{relpath}, reached through a mount "
                          "or link): choose an output folder outside the source tree")


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in OS_LITTER


def _is_utf8(name: str) -> bool:
    """False for a name whose bytes are not UTF-8 (Python decodes them to lone
    surrogates): JSON cannot record it, so neither can the manifest."""
    try:
        name.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def printable(relpath: str) -> str:
    """A relative path as text that can be recorded (undecodable bytes as \\xNN)."""
    return relpath.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class _Walker:
    def __init__(self, root: Path, out: OutIdentity | None = None):
        self.root = root
        self.real_root = root.resolve()
        self.out = out
        self.sources: list[SourceImage] = []
        self.skipped: list[SkipRecord] = []
        self.ignored: list[str] = []

    def inside(self, real: Path) -> bool:
        return real == self.real_root or self.real_root in real.parents

    def check_not_out(self, folder: Path, rel: str) -> None:
        """OUT met inside SRC (a bind mount, or a link a path check cannot see
        through) stops the scan before anything is written."""
        if self.out is None:
            return
        try:
            met = identity(folder)
        except OSError:
            return  # cannot be looked at: then it is not read either (entries() skips it with the reason)
        if met == self.out.folder:
            raise self.out.refuse(self.root, rel)

    def entries(self, folder: Path, rel: str) -> list[tuple[str, str, Path]]:
        """(name, relpath, path) of each entry, sorted, litter ignored."""
        out = []
        try:
            names = sorted(os.listdir(folder))
        except OSError as exc:
            self.skipped.append(SkipRecord(rel or ".", f"cannot list folder: {exc.strerror or exc}"))
            return []
        for name in names:
            relpath = f"{rel}/{name}" if rel else name
            if _ignored(name):
                if name == LOCK_FILE and self.out is not None and self.out.lock is not None:
                    with contextlib.suppress(OSError):
                        if identity(folder / name) == self.out.lock:  # this run's own live lock
                            raise self.out.refuse(self.root, rel or ".")
                self.ignored.append(relpath)
            elif not _is_utf8(name):
                self.skipped.append(SkipRecord(printable(relpath), "name is not valid UTF-8, so it cannot be "
                                                                   "recorded; rename it"))
            else:
                out.append((name, relpath, folder / name))
        return out

    def resolve(self, path: Path, relpath: str) -> Path | None:
        """The real path of an entry, or None (recorded as skipped) when it is a
        broken link or leaves SRC."""
        if not path.is_symlink():
            return path
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            self.skipped.append(SkipRecord(relpath, "broken symlink (its target does not exist)"))
            return None
        if not self.inside(real):
            self.skipped.append(SkipRecord(relpath, f"symlink points outside SRC (to {real}); not followed"))
            return None
        return real

    def walk_class(self, folder: Path, rel: str, label: str, split: str | None, seen: frozenset) -> int:
        """Collect the images below one class folder; return how many.

        A loop over a stack, not recursion: a deep tree costs memory, not
        Python's recursion limit; folders more than ``MAX_SCAN_DEPTH`` below the
        class are skipped with that reason."""
        count = 0
        self.check_not_out(folder, rel)
        stack = [(folder, rel, seen, 0)]
        while stack:
            folder, rel, seen, depth = stack.pop()
            below = []
            for name, relpath, path in self.entries(folder, rel):
                real = self.resolve(path, relpath)
                if real is None:
                    continue
                if real.is_dir():
                    key = real.resolve()
                    if key in seen:
                        self.skipped.append(SkipRecord(relpath, "symlink loop (folder already being scanned); "
                                                                "not followed"))
                        continue
                    if depth + 1 > MAX_SCAN_DEPTH:
                        self.skipped.append(SkipRecord(relpath, f"folder nested more than {MAX_SCAN_DEPTH} levels "
                                                                "below its class; not scanned"))
                        continue
                    self.check_not_out(path, relpath)
                    below.append((path, relpath, seen | {key}, depth + 1))
                elif Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                    self.ignored.append(relpath)
                else:
                    count += self.add_image(real, relpath, label, split)
            stack += reversed(below)  # depth first, in name order
        return count

    def add_image(self, path: Path, relpath: str, label: str, split: str | None) -> int:
        try:
            head = read_inside(self.root, relpath, limit=16)
        except Refused as exc:
            self.skipped.append(SkipRecord(relpath, str(exc)))
            return 0
        except OSError as exc:
            self.skipped.append(SkipRecord(relpath, f"cannot read: {exc.strerror or exc}"))
            return 0
        if not head:
            self.skipped.append(SkipRecord(relpath, "empty file"))
            return 0
        fmt = sniff(head)
        if fmt is None:
            self.skipped.append(SkipRecord(relpath, "not an image: content is not JPEG, PNG, GIF, WebP, BMP or TIFF"))
            return 0
        self.sources.append(SourceImage(relpath, label, split, fmt))
        return 1


def scan(src: str | Path, out: OutIdentity | None = None) -> Scan:
    """List the source images of SRC in a stable order; meeting ``out`` (OUT's
    folder or this run's lock file) inside SRC is a ``UsageError``."""
    if not isinstance(src, (str, os.PathLike)):  # SRC in object storage (augcli.storage.Store)
        return src.scan()
    check_src(src)
    root = Path(src)
    walker = _Walker(root, out)
    top = walker.entries(root, "")
    folders = [(n, r, p) for n, r, p in top if p.is_dir()]
    walker.ignored += [r for n, r, p in top if not p.is_dir()]
    split_names = [n for n, _, _ in folders if n.lower() in SPLITS]
    if split_names and len(split_names) != len(folders):
        others = ", ".join(n for n, _, _ in folders if n.lower() not in SPLITS)
        raise AugcliError(f"SRC {src} mixes split folders ({', '.join(split_names)}) with other folders "
                          f"({others}): put every class folder inside a split, or use no split folders")
    groups = [(n, p) for n, _, p in folders] if split_names else [(None, root)]
    empty, classes = [], 0
    root_key = root.resolve()
    for split, base in groups:
        if split:
            walker.check_not_out(base, split)
        entries = walker.entries(base, split or "") if split else folders
        for name, relpath, path in entries:
            real = walker.resolve(path, relpath)
            if real is None:
                continue
            if not real.is_dir():
                walker.ignored.append(relpath)
                continue
            if not split and name.casefold() in RESERVED_NAMES:
                walker.skipped.append(SkipRecord(relpath, f"class folder name {name!r} is reserved for augcli's own "
                                                    "file of that name in OUT; rename the folder"))
                continue
            classes += 1
            if walker.walk_class(path, relpath, name, split, frozenset({root_key, real.resolve()})) == 0:
                empty.append(relpath)
    if classes == 0:
        raise AugcliError(f"no class folders found in SRC {src}: expected SRC/<class>/<images> "
                          "(or SRC/train/<class>/<images>)")
    return Scan(
        root=str(root),
        sources=tuple(sorted(walker.sources, key=lambda s: s.relpath)),
        skipped=tuple(sorted(walker.skipped, key=lambda s: s.source)),
        ignored=tuple(sorted(walker.ignored)),
        empty_classes=tuple(empty),
        splits=tuple(sorted(split_names)),
    )
