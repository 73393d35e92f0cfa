"""Build the annotated benchmark datasets (issue 24) from the image presets.

    python benchmarks/make_annotated.py [small|large]

The preset's 640x480 JPEGs (``make_dataset.py``), hard-linked (copied where
links fail) into two more trees under ``benchmarks/data/annotated-PRESET/``:

* ``yolo/``: ``images/train/*.jpg`` + ``labels/train/*.txt``, 3 to 6 boxes per
  image (sides 40 to 200 px, anywhere in the frame, classes 0-3), rows
  ``class cx cy w h`` at 6 decimals as YOLO tools write them;
* ``masks/``: ``images/train/*.jpg`` + ``masks/train/*.png``, the same boxes as
  filled regions of an 8-bit label map (background 0, class c as c + 1, a later
  box over an earlier one).

The preset tree itself is the same images without labels. Deterministic (one
seeded generator, boxes drawn in file order), so every run times the same
objects. The boxes are synthetic: the cost of moving a box does not depend on
what is under it.
"""
from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

from make_dataset import ROOT, build

SIZE = (640, 480)
BOXES = (3, 6)  # objects per image, inclusive
SIDES = (40, 200)  # px
CLASSES = 4


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # a regular file inside the tree (a symlink out of SRC would be skipped)
    except OSError:
        shutil.copyfile(source, target)


def boxes_for(rng: np.random.Generator) -> list[tuple[int, int, int, int, int]]:
    """(class, x0, y0, width, height) in pixels, wholly inside the frame."""
    w, h = SIZE
    found = []
    for _ in range(int(rng.integers(BOXES[0], BOXES[1] + 1))):
        bw, bh = (int(v) for v in rng.integers(SIDES[0], SIDES[1] + 1, size=2))
        x0, y0 = int(rng.integers(0, w - bw + 1)), int(rng.integers(0, h - bh + 1))
        found.append((int(rng.integers(0, CLASSES)), x0, y0, bw, bh))
    return found


def yolo_text(boxes) -> str:
    w, h = SIZE
    return "".join(f"{c} {(x0 + bw / 2) / w:.6f} {(y0 + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}\n"
                   for c, x0, y0, bw, bh in boxes)


def label_map(boxes) -> np.ndarray:
    mask = np.zeros(SIZE[::-1], np.uint8)
    for c, x0, y0, bw, bh in boxes:
        mask[y0:y0 + bh, x0:x0 + bw] = c + 1
    return mask


def build_annotated(preset: str = "small") -> dict[str, Path]:
    """{"plain": the preset tree, "yolo": ..., "masks": ...}; built once, reused while complete."""
    plain = build(preset)
    images = sorted(plain.rglob("*.jpg"))
    root = ROOT / f"annotated-{preset}"
    trees = {"plain": plain, "yolo": root / "yolo", "masks": root / "masks"}
    if (sum(1 for _ in (trees["yolo"] / "labels").rglob("*.txt")) == len(images)
            and sum(1 for _ in (trees["masks"] / "masks").rglob("*.png")) == len(images)):
        return trees
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(24)
    for path in images:
        with Image.open(path) as img:
            assert img.size == SIZE, f"{path} is {img.size}, the presets are {SIZE}"
        boxes = boxes_for(rng)
        _link(path, trees["yolo"] / "images" / "train" / path.name)
        _link(path, trees["masks"] / "images" / "train" / path.name)
        labels = trees["yolo"] / "labels" / "train" / f"{path.stem}.txt"
        labels.parent.mkdir(parents=True, exist_ok=True)
        labels.write_text(yolo_text(boxes))
        mask = trees["masks"] / "masks" / "train" / f"{path.stem}.png"
        mask.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(label_map(boxes), "L").save(mask)
    return trees


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", choices=["small", "large"], default="small")
    for name, tree in build_annotated(parser.parse_args().preset).items():
        print(f"{name}: {tree}")
