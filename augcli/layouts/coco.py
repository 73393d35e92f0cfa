"""COCO instances: image folders plus ``instances*.json`` (top level or in
``annotations/``), one per split (``instances_train.json``: split ``train``).

Each image entry's ``file_name`` is found below one images folder: the folder
named like the file's suffix (``instances_train2017.json`` -> ``train2017/``
or ``images/train2017/``), ``images/``, or SRC itself, whichever holds the
most of them. ``bbox`` is [x, y, w, h] in pixels; ``segmentation`` polygons
move with the image. RLE segmentations (crowds) are refused: the image is
skipped with a reason naming the annotation. OUT gets the same JSON files,
rebuilt from the manifest when the run ends: an entry per written image, ids
numbered afresh (unique), ``image_id``s consistent, areas recomputed.
"""
from __future__ import annotations

import json
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import UsageError
from ..manifest import SkipRecord
from ..outdir import OutDir
from ..scan import SPLITS, Scan, SourceImage, _Walker
from ..targets import Targets, polygon_area
from . import LabelError, read_text

SHAPE = "an images folder with an instances*.json (or annotations/instances*.json)"
MAX_JSON = 1 << 30


def _json_files(root: Path) -> list[str]:
    found = []
    for folder in ("", "annotations"):
        base = root / folder if folder else root
        if base.is_dir():
            found += [str(PurePosixPath(folder, p.name)) if folder else p.name
                      for p in sorted(base.glob("instances*.json")) if p.is_file()]
    return found


def fits(root: Path) -> str | None:
    files = _json_files(root)
    return ", ".join(files) if files else None


def _split_of(name: str) -> str | None:
    """``instances_train2017.json`` -> ``train``: the split name its suffix starts
    with (so the usual ``train`` is augmented and ``val`` copied, as for folders)."""
    suffix = PurePosixPath(name).stem[len("instances"):].lstrip("_-").lower()
    return next((split for split in sorted(SPLITS, key=len, reverse=True) if suffix.startswith(split)), None)


def _images_folder(root: Path, json_name: str, names: list[str]) -> str:
    suffix = PurePosixPath(json_name).stem[len("instances"):].lstrip("_-")
    candidates = ([suffix, f"images/{suffix}"] if suffix else []) + ["images", ""]
    best, hits = "", -1
    for folder in candidates:
        base = root / folder if folder else root
        if not base.is_dir():
            continue
        n = sum((base / name).is_file() for name in names[:200])
        if n > hits:
            best, hits = folder, n
    return best


def load(root: Path, name: str) -> dict:
    try:
        data = json.loads(read_text(root, name, limit=MAX_JSON))
    except LabelError as exc:
        raise UsageError(f"SRC {root}: {exc}") from None
    except ValueError as exc:
        raise UsageError(f"SRC {root}: {name} is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise UsageError(f"SRC {root}: {name} is not a COCO instances file (no 'images' list)")
    for key in ("annotations", "categories"):
        if not isinstance(data.get(key, []), list):
            raise UsageError(f"SRC {root}: {name}: '{key}' is not a list")
    return data


def scan(root: Path, out=None) -> Scan:
    walker = _Walker(root, out)
    sources, splits, meta = [], [], {"files": {}}
    for name in _json_files(root):
        data = load(root, name)
        split = _split_of(name)
        entries = [e for e in data["images"] if isinstance(e, dict)]
        folder = _images_folder(root, name, [str(e.get("file_name", "")) for e in entries])
        by_image: dict = {}
        for ann in data.get("annotations", []):
            if isinstance(ann, dict):
                by_image.setdefault(ann.get("image_id"), []).append(ann)
        meta["files"][name] = {"folder": folder, "split": split,
                               **{k: data[k] for k in ("info", "licenses", "categories") if k in data}}
        if split:
            splits.append(split)
        for entry in entries:
            file_name = str(entry.get("file_name", ""))
            relpath = str(PurePosixPath(folder, file_name)) if folder else file_name
            if not (root / relpath).is_file():
                walker.skipped.append(SkipRecord(relpath, f"listed in {name} (image id {entry.get('id')}) but not "
                                                          "found"))
                continue
            before = len(walker.sources)
            walker.add_image(root / relpath, relpath, PurePosixPath(folder).name or "images", split)
            if len(walker.sources) > before:
                found = walker.sources.pop()
                inline = json.dumps({"file": name, "image": entry, "annotations": by_image.get(entry.get("id"), [])},
                                    sort_keys=True, ensure_ascii=False)
                sources.append(SourceImage(found.relpath, found.label, split, found.format, inline=inline))
    return Scan(root=str(root), sources=tuple(sorted(sources, key=lambda s: s.relpath)),
                skipped=tuple(sorted(walker.skipped, key=lambda s: s.source)), ignored=(), empty_classes=(),
                splits=tuple(sorted(set(splits))), layout="coco", meta=meta)


def read(src: str, source: SourceImage, size) -> Targets:
    record = json.loads(source.inline)
    classes, boxes, polygons = [], [], []
    w, h = size
    for ann in record["annotations"]:
        where = f"{record['file']} annotation {ann.get('id')}"
        segmentation = ann.get("segmentation")
        if ann.get("iscrowd") or isinstance(segmentation, dict):
            raise LabelError(f"{where}: RLE segmentation (a crowd) is not supported; remove it or convert it to "
                             "polygons")
        if ann.get("num_keypoints") or ann.get("keypoints"):
            raise LabelError(f"{where}: keypoints are not supported")
        box = ann.get("bbox")
        if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, (int, float)) for v in box)):
            raise LabelError(f"{where}: bbox {str(box)[:40]} is not [x, y, w, h]")
        x, y, bw, bh = map(float, box)
        if bw < 0 or bh < 0:
            raise LabelError(f"{where}: bbox size {bw} x {bh} is negative")
        parts = None
        if segmentation:
            if not (isinstance(segmentation, list) and all(isinstance(p, list) and len(p) >= 6 and len(p) % 2 == 0
                                                            for p in segmentation)):
                raise LabelError(f"{where}: segmentation is not a list of polygons [x1, y1, x2, y2, ...]")
            parts = tuple(np.array(p, float).reshape(-1, 2) for p in segmentation)
        category = ann.get("category_id")
        if not isinstance(category, int):
            raise LabelError(f"{where}: category_id {category!r} is not an integer")
        classes.append(category)
        boxes.append([x, y, x + bw, y + bh])
        polygons.append(parts)
    return Targets((w, h), tuple(classes), np.array(boxes, float).reshape(-1, 4), tuple(polygons))


def _r(value: float) -> float:
    return round(float(value), 2)


def objects(targets: Targets) -> list[dict]:
    """The annotations of ``targets`` in COCO's terms (without ids)."""
    out = []
    for cls, box, parts in zip(targets.classes, targets.boxes, targets.polygons):
        x0, y0, x1, y1 = box
        item = {"category_id": int(cls), "bbox": [_r(x0), _r(y0), _r(x1 - x0), _r(y1 - y0)], "iscrowd": 0}
        if parts:
            item["segmentation"] = [[_r(v) for v in part.ravel()] for part in parts]
            item["area"] = _r(sum(polygon_area(part) for part in parts))
        else:
            item["segmentation"] = []
            item["area"] = _r((x1 - x0) * (y1 - y0))
        out.append(item)
    return out


def write(targets: Targets, path: str, source: SourceImage) -> tuple[list[tuple[str, bytes]], dict]:
    return [], {"objects": objects(targets)}


def finish(out: OutDir, records, found: Scan) -> dict[str, bytes]:
    """Each JSON file of SRC, rebuilt for OUT from the manifest."""
    files = found.meta["files"]
    built = {name: {**{k: v for k, v in meta.items() if k in ("info", "licenses")}, "images": [],
                    "annotations": [], "categories": meta.get("categories", [])}
             for name, meta in files.items()}
    inline = {source.relpath: json.loads(source.inline) for source in found.sources}
    image_id = annotation_id = 0
    for record in records:
        source = inline.get(record.source)
        labels = record.labels or {}
        if source is None or source["file"] not in built:
            continue
        folder = files[source["file"]]["folder"]
        image_id += 1
        entry = {**source["image"], "id": image_id, "width": record.width, "height": record.height,
                 "file_name": str(PurePosixPath(record.path).relative_to(folder)) if folder else record.path}
        built[source["file"]]["images"].append(entry)
        for item in labels.get("objects", []):
            annotation_id += 1
            built[source["file"]]["annotations"].append({"id": annotation_id, "image_id": image_id, **item})
    written = {name: json.dumps(data, ensure_ascii=False).encode("utf-8") for name, data in built.items()}
    for name, data in written.items():
        out.write(name, data)
    return written
