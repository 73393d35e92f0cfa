"""SRC in object storage -> the same ``Scan`` a local SRC gives.

One listing of every object below SRC (a store has no folders, only key
prefixes), then the layout rules of ``augcli.scan`` (classes, splits, litter,
extensions) over the key tree, and the first bytes of the candidate images
fetched together (concurrently on S3) to name their format. So the sources,
their relative paths, labels and order are exactly a local scan's of the same
files, and the outputs are the same bytes.
"""
from __future__ import annotations

from pathlib import PurePosixPath

from ..errors import AugcliError, UsageError
from ..io import IMAGE_EXTENSIONS, sniff
from ..limits import MAX_SCAN_DEPTH
from ..manifest import RESERVED_NAMES, SkipRecord
from ..scan import SPLITS, Scan, SourceImage, _ignored
from .store import Store

HEAD_BATCH = 512  # first-bytes requests in flight together


def _tree(relpaths) -> dict:
    """Nested dicts of the key tree: folder name -> dict, file name -> None."""
    root: dict = {}
    for relpath in relpaths:
        *folders, name = relpath.split("/")
        node = root
        for folder in folders:
            child = node.setdefault(folder, {})
            if child is None:  # an object and a "folder" of the same name: the folder wins
                child = node[folder] = {}
            node = child
        node.setdefault(name, None)
    return root


class _Walker:
    def __init__(self, store: Store):
        self.store = store
        self.candidates: list[tuple[str, str, str | None]] = []  # (relpath, label, split)
        self.skipped: list[SkipRecord] = []
        self.ignored: list[str] = []

    def entries(self, node: dict, rel: str) -> list[tuple[str, str, dict | None]]:
        out = []
        for name in sorted(node):
            relpath = f"{rel}/{name}" if rel else name
            if _ignored(name) or not name:
                self.ignored.append(relpath)
            else:
                out.append((name, relpath, node[name]))
        return out

    def walk_class(self, node: dict, rel: str, label: str, split: str | None) -> None:
        """Collect the candidate images below one class folder: a loop over a
        stack, depth first in name order, folders more than ``MAX_SCAN_DEPTH``
        below the class skipped with that reason (as ``scan`` does)."""
        stack = [(node, rel, 0)]
        while stack:
            node, rel, depth = stack.pop()
            below = []
            for name, relpath, child in self.entries(node, rel):
                if child is not None:
                    if depth + 1 > MAX_SCAN_DEPTH:
                        self.skipped.append(SkipRecord(relpath, f"folder nested more than {MAX_SCAN_DEPTH} levels "
                                                                "below its class; not scanned"))
                    else:
                        below.append((child, relpath, depth + 1))
                elif PurePosixPath(name).suffix.lower() not in IMAGE_EXTENSIONS:
                    self.ignored.append(relpath)
                else:
                    self.candidates.append((relpath, label, split))
            stack += reversed(below)

    def identify(self) -> list[SourceImage]:
        """Read each candidate's first bytes; keep the images, skip the rest."""
        sources = []
        for start in range(0, len(self.candidates), HEAD_BATCH):
            batch = self.candidates[start:start + HEAD_BATCH]
            heads = self.store.heads([relpath for relpath, _, _ in batch], 16)
            for (relpath, label, split), head in zip(batch, heads):
                reason = _unusable(head)
                if reason is None:
                    sources.append(SourceImage(relpath, label, split, sniff(head)))
                else:
                    self.skipped.append(SkipRecord(relpath, reason))
        return sources


def _unusable(head: bytes | Exception) -> str | None:
    if isinstance(head, Exception):
        text = getattr(head, "strerror", None) or str(head) or type(head).__name__
        return f"cannot read: {text}"
    if not head:
        return "empty file"
    if sniff(head) is None:
        return "not an image: content is not JPEG, PNG, GIF, WebP, BMP or TIFF"
    return None


def scan_store(store: Store) -> Scan:
    """List the source images of SRC in object storage in a stable order."""
    try:
        objects = store.files()
    except OSError as exc:  # unreachable, no such bucket, no permission: before any work
        raise UsageError(f"cannot list SRC {store}: {exc.strerror or exc}") from None
    if not objects:
        raise UsageError(f"SRC {store} does not exist (no objects under it)")
    tree = _tree(objects)
    walker = _Walker(store)
    top = walker.entries(tree, "")
    folders = [(n, r, c) for n, r, c in top if c is not None]
    walker.ignored += [r for n, r, c in top if c is None]
    split_names = [n for n, _, _ in folders if n.lower() in SPLITS]
    if split_names and len(split_names) != len(folders):
        others = ", ".join(n for n, _, _ in folders if n.lower() not in SPLITS)
        raise AugcliError(f"SRC {store} mixes split folders ({', '.join(split_names)}) with other folders "
                          f"({others}): put every class folder inside a split, or use no split folders")
    groups = [(n, c) for n, _, c in folders] if split_names else [(None, tree)]
    class_folders: list[str] = []
    for split, node in groups:
        entries = walker.entries(node, split) if split else folders
        for name, relpath, child in entries:
            if child is None:
                walker.ignored.append(relpath)
                continue
            if not split and name.casefold() in RESERVED_NAMES:
                walker.skipped.append(SkipRecord(relpath, f"class folder name {name!r} is reserved for augcli's own "
                                                          "file of that name in OUT; rename the folder"))
                continue
            walker.walk_class(child, relpath, name, split)
            class_folders.append(relpath)
    if not class_folders:
        raise AugcliError(f"no class folders found in SRC {store}: expected SRC/<class>/<images> "
                          "(or SRC/train/<class>/<images>)")
    sources = walker.identify()
    filled = {f"{s.split}/{s.label}" if s.split else s.label for s in sources}
    empty = [folder for folder in class_folders if folder not in filled]
    return Scan(
        root=str(store),
        sources=tuple(sorted(sources, key=lambda s: s.relpath)),
        skipped=tuple(sorted(walker.skipped, key=lambda s: s.source)),
        ignored=tuple(sorted(walker.ignored)),
        empty_classes=tuple(empty),
        splits=tuple(sorted(split_names)),
    )
