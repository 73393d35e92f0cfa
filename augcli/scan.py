"""SRC -> a sorted list of source images, plus what was ignored or skipped.

Layouts (SPEC section 1): each sub-folder of SRC is a class, or, when the
top-level folders are split names, each split holds class folders. Files are
found by extension and identified by content (the first bytes); nothing is
decoded here. Symlinks are followed only while they stay inside SRC.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AugcliError, UsageError
from .io import IMAGE_EXTENSIONS, sniff
from .manifest import RESERVED_NAMES, SkipRecord
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


def check_separate(src: Path, out: Path) -> None:
    """Refuse OUT == SRC, OUT inside SRC and SRC inside OUT, before any work."""
    real_src, real_out = src.resolve(), out.resolve()
    if real_out == real_src:
        raise UsageError(f"OUT {out} is the same folder as SRC: augcli never writes into its source")
    if real_src in real_out.parents:
        raise UsageError(f"OUT {out} is inside SRC {src}: choose an output folder outside the source tree")
    if real_out in real_src.parents:
        raise UsageError(f"SRC {src} is inside OUT {out}: choose an output folder outside the source tree")


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
    def __init__(self, root: Path):
        self.root = root
        self.real_root = root.resolve()
        self.sources: list[SourceImage] = []
        self.skipped: list[SkipRecord] = []
        self.ignored: list[str] = []

    def inside(self, real: Path) -> bool:
        return real == self.real_root or self.real_root in real.parents

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
        """Collect the images below one class folder; return how many."""
        count = 0
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
                count += self.walk_class(path, relpath, label, split, seen | {key})
            elif Path(name).suffix.lower() not in IMAGE_EXTENSIONS:
                self.ignored.append(relpath)
            else:
                count += self.add_image(real, relpath, label, split)
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


def scan(src: str | Path) -> Scan:
    """List the source images of SRC in a stable order."""
    check_src(src)
    root = Path(src)
    walker = _Walker(root)
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
