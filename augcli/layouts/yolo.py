"""YOLO (Ultralytics) detection and segmentation datasets.

``images/[split/]*.jpg`` with ``labels/[split/]*.txt`` beside them (the last
``images`` folder swapped for ``labels``, the suffix for ``.txt``), and
optionally ``data.yaml``. A label row is ``class cx cy w h`` (a box) or
``class x1 y1 x2 y2 ...`` (a polygon, three points or more), normalised to
[0, 1]. An image without a label file has no objects. Values a hair outside
[0, 1] (labelling tools write 1.0000005) are clamped; any other bad row makes
the image a skip whose reason names the file and the line.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml

from ..outdir import OutDir
from ..scan import Scan, SourceImage
from ..targets import Targets
from . import LabelError, companion, image_tree, orphans, read_text, with_labels

SHAPE = "images/[split/]* with labels/[split/]*.txt"
IMAGES, LABELS = "images", "labels"
HAIR = 1e-4  # how far outside [0, 1] a coordinate may be and still be clamped
DATA_FILES = ("data.yaml", "data.yml")


def fits(root: Path) -> str | None:
    if (root / IMAGES).is_dir() and (root / LABELS).is_dir():
        return "images/ and labels/"
    return None


def label_path(image_path: str) -> str:
    return companion(image_path, IMAGES, LABELS, ".txt")


def scan(root: Path, out=None) -> Scan:
    walker, splits = image_tree(root, IMAGES, out)
    sources, claimed = with_labels(walker, IMAGES, LABELS, ".txt", root, required=False)
    skipped = walker.skipped + orphans(root, LABELS, (".txt",), claimed, "label file")
    data = next((name for name in DATA_FILES if (root / name).is_file()), None)
    meta = {"data_yaml": data, "data_text": read_text(root, data) if data else None}
    return Scan(root=str(root), sources=tuple(sources), skipped=tuple(sorted(skipped, key=lambda s: s.source)),
                ignored=tuple(sorted(walker.ignored)), empty_classes=(), splits=tuple(sorted(splits)),
                layout="yolo", meta=meta)


def _number(token: str, what: str) -> float:
    try:
        value = float(token)
    except ValueError:
        raise ValueError(f"{what} {token!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {token!r} is not a finite number")
    return value


def _unit(token: str, what: str) -> float:
    value = _number(token, what)
    if -HAIR <= value < 0 or 1 < value <= 1 + HAIR:
        return min(max(value, 0.0), 1.0)
    if not 0 <= value <= 1:
        raise ValueError(f"{what} {token} is outside [0, 1] (YOLO coordinates are normalised)")
    return value


def parse_row(tokens: list[str], size) -> tuple[int, np.ndarray, tuple | None]:
    """(class, box xyxy px, polygon parts or None) of one row."""
    w, h = size
    try:
        cls = int(tokens[0])
    except ValueError:
        raise ValueError(f"class {tokens[0]!r} is not a non-negative integer") from None
    if cls < 0:
        raise ValueError(f"class {tokens[0]!r} is not a non-negative integer")
    if len(tokens) == 5:
        cx, cy = _unit(tokens[1], "cx"), _unit(tokens[2], "cy")
        bw, bh = _number(tokens[3], "w"), _number(tokens[4], "h")
        if bw <= 0 or bh <= 0:
            raise ValueError(f"box size {tokens[3]} x {tokens[4]} is not positive")
        bw, bh = _unit(tokens[3], "w"), _unit(tokens[4], "h")
        box = np.array([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
        return cls, np.clip(box, 0, [w, h, w, h]), None
    if len(tokens) >= 7 and len(tokens) % 2 == 1:
        values = [_unit(t, "x" if i % 2 == 0 else "y") for i, t in enumerate(tokens[1:])]
        points = np.array(values, float).reshape(-1, 2) * [w, h]
        return cls, np.r_[points.min(axis=0), points.max(axis=0)], (points,)
    raise ValueError(f"{len(tokens)} values; a row is 'class cx cy w h' (5) or 'class x1 y1 x2 y2 x3 y3 ...' "
                     "(an odd number, 7 or more)")


def read(src: str, source: SourceImage, size) -> Targets:
    if source.labels is None:
        return Targets(size)
    classes, boxes, polygons = [], [], []
    for number, line in enumerate(read_text(src, source.labels).splitlines(), start=1):
        tokens = line.split()
        if not tokens:
            continue
        try:
            cls, box, polygon = parse_row(tokens, size)
        except ValueError as exc:
            raise LabelError(f"{source.labels} line {number}: {exc}") from None
        classes.append(cls)
        boxes.append(box)
        polygons.append(polygon)
    return Targets(size, tuple(classes), np.array(boxes, float).reshape(-1, 4), tuple(polygons))


def _fraction(value: float) -> str:
    return f"{min(max(value, 0.0), 1.0):.6f}"


def encode(targets: Targets) -> bytes:
    """The label file of ``targets`` (already clipped to the frame)."""
    w, h = targets.size
    rows = []
    for cls, box, parts in zip(targets.classes, targets.boxes, targets.polygons):
        if parts:
            # YOLO holds one polygon per row: a part the frame cut off is its own row
            for part in parts:
                rows.append(" ".join([str(cls)] + [_fraction(v) for xy in part / [w, h] for v in xy]))
            continue
        x0, y0, x1, y1 = box
        rows.append(" ".join([str(cls)] + [_fraction(v) for v in ((x0 + x1) / 2 / w, (y0 + y1) / 2 / h,
                                                                   (x1 - x0) / w, (y1 - y0) / h)]))
    return "".join(row + "\n" for row in rows).encode("utf-8")


def write(targets: Targets, path: str, source: SourceImage) -> tuple[list[tuple[str, bytes]], dict]:
    return [(label_path(path), encode(targets))], {}


def finish(out: OutDir, records, found: Scan) -> dict[str, bytes]:
    """``data.yaml`` in OUT, pointing into OUT (``path``), the rest as in SRC."""
    name = found.meta.get("data_yaml")
    if not name:
        return {}
    try:
        data = yaml.safe_load(found.meta["data_text"]) or {}
    except yaml.YAMLError:
        data = None
    if isinstance(data, dict):
        data["path"] = str(Path(out.path).resolve())
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True).encode("utf-8")
    else:  # not ours to fix: copied as it was
        text = found.meta["data_text"].encode("utf-8")
    out.write(name, text)
    return {name: text}

