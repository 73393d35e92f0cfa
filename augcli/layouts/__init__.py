"""Annotated layouts (SPEC section 8): one room per format behind one small interface.

Each layout module (``yolo``, ``coco``, ``masks``) offers:

* ``fits(root) -> str | None``: what in SRC says it is this layout, or None;
* ``scan(root, out) -> Scan``: the source images, each with its label file
  (``SourceImage.labels``) or its annotations inline (COCO), splits as for
  class folders; label files without their image are skipped with a reason;
* ``read(src, source, size) -> Targets``: the annotations of one image, in
  pixels (``LabelError`` with a one-line reason when they cannot be used);
* ``write(targets, path, source) -> (files, record)``: the label files of
  the output image at ``path`` (relative to OUT), and what its manifest
  record keeps of them;
* ``finish(out, records, found)``: the files written once for the whole tree
  (``data.yaml``, COCO's JSON), from the manifest.

The planner, seeds, manifest and resume do not care which layout it is.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path, PurePosixPath

from typing import Iterator

from ..errors import Problem, RecipeError, UsageError
from ..manifest import MANIFEST, SkipRecord, read_records
from ..outdir import OutDir
from ..recipe import Recipe
from ..scan import SPLITS, OutIdentity, Scan, SourceImage, _Walker, check_src, scan as scan_folders
from ..trees import Refused, read_inside

LAYOUT_NAMES = ("folders", "yolo", "coco", "masks")


class LabelError(Exception):
    """Annotations that cannot be used: the message is the skip's reason."""


def _modules() -> dict:
    from . import coco, masks, yolo

    return {"yolo": yolo, "coco": coco, "masks": masks}


def layout(name: str):
    """The module of an annotated layout."""
    return _modules()[name]


def detect(root: Path, forced: str | None = None) -> str:
    """The layout of SRC: ``forced`` if given (and it fits), else the one
    annotated layout that fits, else class folders. Several that fit is a usage
    error naming what was found."""
    if forced == "folders":
        return "folders"
    found = {name: why for name, module in _modules().items() if (why := module.fits(root))}
    if forced is not None:
        if forced not in found:
            raise UsageError(f"--layout {forced}: SRC {root} does not look like a {forced} dataset "
                             f"({layout(forced).SHAPE})")
        return forced
    if len(found) > 1:
        what = "; ".join(f"{name} ({why})" for name, why in found.items())
        raise UsageError(f"SRC {root} fits several layouts: {what}; choose one with --layout")
    return next(iter(found), "folders")


def scan(src, out: OutIdentity | None = None, forced: str | None = None) -> Scan:
    """SRC's sources in its layout (detected, or ``forced`` with ``--layout``);
    ``out`` as for ``scan.scan`` (OUT met inside SRC is refused)."""
    if not isinstance(src, (str, os.PathLike)):  # SRC in object storage: class folders only
        if forced not in (None, "folders"):
            raise UsageError(f"--layout {forced}: annotated layouts are read from local folders only")
        return scan_folders(src, out)
    check_src(src)
    name = detect(Path(src), forced)
    return scan_folders(src, out) if name == "folders" else layout(name).scan(Path(src), out)


def _op_names(plain) -> Iterator[tuple[str, str]]:
    """(recipe path, op name) of every op in a normalised recipe's steps."""
    def walk(steps, path):
        for i, step in enumerate(steps or ()):
            if isinstance(step, str):
                yield f"{path}[{i}]", step
                continue
            for name, params in step.items():
                if name in ("one_of", "sequence"):
                    yield from walk(params if isinstance(params, list) else params.get("of"), f"{path}[{i}].{name}")
                elif name == "some_of":
                    yield from walk(params.get("of"), f"{path}[{i}].some_of.of")
                else:
                    yield f"{path}[{i}]", name
    yield from walk(plain.get("pipeline"), "pipeline")
    for variant, steps in (plain.get("variants") or {}).items():
        yield from walk(steps, f"variants.{variant}")


def check_annotated(found: Scan, recipe: Recipe) -> None:
    """What a recipe asks that an annotated layout cannot do, refused before any
    image is read: balancing or rules by class folder (there are none), and a
    geometric op whose effect on boxes and masks augcli cannot follow."""
    if found.layout == "folders":
        return
    from ..targets import can_move

    problems = []
    if recipe.balance is not None:
        problems.append(Problem("balance", f"balance tops up class folders; not for the {found.layout} layout "
                                           "(objects of several classes share an image)", recipe.lines.get("balance")))
    if recipe.classes:
        problems.append(Problem("classes", f"per-class rules apply to class folders; not for the {found.layout} "
                                           "layout", recipe.lines.get("classes")))
    for path, name in _op_names(recipe.to_plain()):
        if not can_move(name):
            problems.append(Problem(path, f"{name} cannot move boxes or masks with its pixels; leave it out for the "
                                          f"{found.layout} layout", recipe.lines.get(path)))
    if problems:
        raise RecipeError(recipe.name, problems)


def finish_layout(found: Scan, out: OutDir) -> dict[str, str]:
    """Write the files written once per tree (``data.yaml``, COCO's JSON) from
    every record; return their sha256 by path (``augcli.json`` keeps them for verify)."""
    written = layout(found.layout).finish(out, read_records(Path(out.path) / MANIFEST), found) or {}
    return {path: hashlib.sha256(data).hexdigest() for path, data in written.items()}


def label_digest(src: str | Path, source: SourceImage) -> str | None:
    """sha256 of what a source's annotations are read from (its label file, or
    its inline annotations); None when it has none. Part of what the source is:
    ``--resume`` redoes the outputs of an image whose labels changed."""
    if source.inline is not None:
        return hashlib.sha256(source.inline.encode("utf-8")).hexdigest()
    if source.labels is None:
        return None
    try:
        return hashlib.sha256(read_inside(src, source.labels)).hexdigest()
    except (OSError, Refused):
        return "unreadable"


def read_text(src: str | Path, relpath: str, limit: int = 64 << 20) -> str:
    """A label file's text (read only inside SRC), or ``LabelError``."""
    try:
        data = read_inside(src, relpath, limit=limit + 1)
    except (OSError, Refused) as exc:
        raise LabelError(f"cannot read {relpath}: {getattr(exc, 'strerror', None) or exc}") from None
    if len(data) > limit:
        raise LabelError(f"{relpath} is larger than {limit:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelError(f"{relpath} is not UTF-8 text (byte {exc.start + 1})") from None


def image_tree(root: Path, images: str, out: OutIdentity | None = None,
               label: str = "images") -> tuple[_Walker, list[str]]:
    """The images below ``root/images``, split folders (``images/train``...) as
    for class folders: a walker holding the sources and the split names."""
    walker = _Walker(root, out)
    base = root / images
    entries = walker.entries(base, images)
    folders = [(n, r, p) for n, r, p in entries if p.is_dir()]
    splits = [n for n, _, _ in folders if n.lower() in SPLITS]
    if splits and len(splits) != len(entries):
        others = ", ".join(n for n, _, _ in entries if n.lower() not in SPLITS)
        raise UsageError(f"SRC {root}: {images}/ mixes split folders ({', '.join(splits)}) with other entries "
                         f"({others}): put every image inside a split, or use no split folders")
    real = base.resolve()
    if splits:
        for name, relpath, path in folders:
            walker.walk_class(path, relpath, label, name, frozenset({root.resolve(), real, path.resolve()}))
    else:
        walker.walk_class(base, images, label, None, frozenset({root.resolve(), real}))
    return walker, splits


def companion(relpath: str, images: str, folder: str, suffix: str) -> str:
    """The label file beside an image: ``images/train/a.jpg`` -> ``labels/train/a.txt``."""
    rel = PurePosixPath(relpath)
    return str(PurePosixPath(folder, *rel.parts[len(PurePosixPath(images).parts):]).with_suffix(suffix))


def orphans(root: Path, folder: str, suffixes: tuple[str, ...], claimed: set[str], what: str) -> list[SkipRecord]:
    """Label files below ``root/folder`` that no image claims: each skipped with a reason."""
    out = []
    base = root / folder
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            rel = Path(dirpath, name).relative_to(root).as_posix()
            if rel not in claimed:
                out.append(SkipRecord(rel, f"{what} without its image (no image with the stem "
                                           f"{Path(name).stem!r} in the matching images folder)"))
    return out


def with_labels(walker: _Walker, images: str, folder: str, suffix: str, root: Path,
                required: bool) -> tuple[list[SourceImage], set[str]]:
    """Each found image with its label file (``labels`` None when it has none,
    or skipped when ``required``); two images sharing one label file (a.jpg and
    a.png) keep the first."""
    sources, claimed = [], set()
    for source in sorted(walker.sources, key=lambda s: s.relpath):
        label = companion(source.relpath, images, folder, suffix)
        if label in claimed:
            walker.skipped.append(SkipRecord(source.relpath, f"shares its label file {label} with another image "
                                                             "of the same stem; rename one"))
            continue
        exists = (root / label).is_file()
        if not exists and required:
            walker.skipped.append(SkipRecord(source.relpath, f"no {label} for it"))
            continue
        claimed.add(label)
        sources.append(SourceImage(source.relpath, source.label, source.split, source.format,
                                   labels=label if exists else None))
    return sources, claimed
