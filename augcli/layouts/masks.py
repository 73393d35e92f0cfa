"""Segmentation masks: ``images/[split/]*`` with ``masks/[split/]*.png`` of the
same stem, one label map per image (8 or 16 bit, grey or palette).

A mask moves with nearest sampling; where the geometry brings pixels in from
beyond the border it gets ``labels.ignore_index``. It is written back as a PNG
of the same mode, its palette kept, so the stems and the classes' colours in
OUT are those of SRC.
"""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from ..lazy import opencv
from ..outdir import OutDir
from ..scan import Scan, SourceImage
from ..targets import Targets
from ..trees import Refused, read_inside
from . import LabelError, companion, image_tree, orphans, with_labels

SHAPE = "images/[split/]* with masks/[split/]*.png of the same stems"
IMAGES, MASKS = "images", "masks"
MODES = {"L": np.uint8, "P": np.uint8, "I;16": np.uint16, "I": np.uint16, "1": np.uint8}
FEW = 8  # label values counted one comparison pass each (see classes_present)


def fits(root: Path) -> str | None:
    if (root / IMAGES).is_dir() and (root / MASKS).is_dir():
        return "images/ and masks/"
    return None


def label_path(image_path: str) -> str:
    return companion(image_path, IMAGES, MASKS, ".png")


def scan(root: Path, out=None) -> Scan:
    walker, splits = image_tree(root, IMAGES, out)
    sources, claimed = with_labels(walker, IMAGES, MASKS, ".png", root, required=True)
    skipped = walker.skipped + orphans(root, MASKS, (".png",), claimed, "mask")
    return Scan(root=str(root), sources=tuple(sources), skipped=tuple(sorted(skipped, key=lambda s: s.source)),
                ignored=tuple(sorted(walker.ignored)), empty_classes=(), splits=tuple(sorted(splits)),
                layout="masks")


def read(src: str, source: SourceImage, size) -> Targets:
    try:
        data = read_inside(src, source.labels)
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except (OSError, Refused, SyntaxError, ValueError) as exc:
        raise LabelError(f"cannot read mask {source.labels}: {exc}") from None
    if img.mode not in MODES:
        raise LabelError(f"mask {source.labels} is {img.mode}; a label map is 8-bit (L or P) or 16-bit grey")
    if img.size != tuple(size):
        raise LabelError(f"mask {source.labels} is {img.size[0]}x{img.size[1]}, its image {size[0]}x{size[1]}")
    array = np.asarray(img)
    if img.mode == "I":
        if array.min() < 0 or array.max() > 65535:
            raise LabelError(f"mask {source.labels} holds values beyond 0..65535")
    mask = array.astype(MODES[img.mode])
    info = {"mode": img.mode, "palette": img.getpalette() if img.mode == "P" else None,
            "transparency": img.info.get("transparency"),
            "values": tuple(int(v) for v in np.flatnonzero(_histogram(mask)))}  # see classes_present
    return Targets(tuple(size), mask=mask, info=info)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def grey_png(mask: np.ndarray) -> bytes:
    """An 8-bit greyscale PNG of ``mask``, rows unfiltered, deflated with zlib's
    run-length strategy. A label map is runs of one value: this packs it smaller
    than Pillow's level-1 PNG in half the time (Pillow tries five filters on
    every row, which buys nothing on runs)."""
    h, w = mask.shape
    rows = np.zeros((h, w + 1), np.uint8)  # each row starts with its filter type, 0 = none
    rows[:, 1:] = mask
    deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = deflate.compress(rows.tobytes()) + deflate.flush()
    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8 bits, grey, deflate, adaptive filtering, no interlace
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def encode(targets: Targets) -> bytes:
    mode = targets.info.get("mode", "L")
    mask = targets.mask
    if mode in ("L", "1") and targets.info.get("transparency") is None:
        return grey_png(mask.astype(np.uint8, copy=False))
    if mode in ("I", "I;16"):
        img = Image.fromarray(mask.astype(np.uint16))
    else:
        img = Image.fromarray(mask.astype(np.uint8), "L")
        if mode == "P":  # the same indices, the same palette
            img = Image.frombytes("P", img.size, img.tobytes())
            img.putpalette(targets.info["palette"])
    buffer = io.BytesIO()
    extra = {} if targets.info.get("transparency") is None else {"transparency": targets.info["transparency"]}
    # label maps are large flat regions: zlib's fastest level packs them nearly as small, at a fraction of the time
    img.save(buffer, "PNG", compress_level=1, **extra)
    return buffer.getvalue()


def classes_present(targets: Targets) -> dict:
    """Pixels per label value, in ascending value order. A moved mask holds its
    source's values (nearest sampling) and perhaps the fill: when the source had
    a few, one comparison pass per value is several times cheaper than a
    histogram, and the counts are exact as soon as they cover every pixel.
    Otherwise (many values, or the fill brought in a new one): a histogram."""
    mask = targets.mask
    values = targets.info.get("values")
    if values is not None and len(values) <= FEW:
        found = {v: int(np.count_nonzero(mask == v)) for v in values}
        if sum(found.values()) == mask.size:
            return {str(v): n for v, n in sorted(found.items()) if n}
    counts = _histogram(mask)
    return {str(int(v)): int(counts[v]) for v in np.flatnonzero(counts)}


def _histogram(mask: np.ndarray) -> np.ndarray:
    """Pixels per value: OpenCV's histogram for 8-bit maps (one pass in C, no copy),
    a bincount for 16-bit ones; never np.unique, which sorts every pixel."""
    if mask.dtype == np.uint8:
        return opencv().calcHist([mask], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    return np.bincount(mask.ravel())


def write(targets: Targets, path: str, source: SourceImage) -> tuple[list[tuple[str, bytes]], dict]:
    return [(label_path(path), encode(targets))], {"pixels": classes_present(targets)}


def finish(out: OutDir, records, found: Scan) -> dict[str, bytes]:
    """Nothing is written once for a mask tree."""
    return {}
