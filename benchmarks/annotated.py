"""Annotated datasets (issue 24): what boxes and masks cost on top of the pixels.

Builds three trees from the small benchmark preset (200 JPEGs, 640x480) in
``benchmarks/data/annotated/``: the images as class folders (no labels), as a
YOLO set (3 to 6 boxes per image) and as a mask set (the same boxes as filled
label regions), then times with ``farm-bench --vs`` (alternating runs, ratio
taken pair by pair, median quoted):

* augcli on the YOLO set vs augcli on the same images without labels;
* augcli on the mask set vs the same images without labels;
* augcli on the YOLO set vs albumentations + joblib with ``bbox_params``
  (YOLO in, YOLO out; ``peers/albumentations_yolo.py``).

Every run writes 5 JPEG q90 outputs per source with the standard benchmark
recipe (``recipes/bench-standard.yaml``), -j 2, into a fresh OUT (the removal
of the previous one is inside both commands). Quote the wall ratio: both
sides run a loky pool whose workers outlive the command by a moment, so the
CPU figures count the parent processes only. The farm-bench reports are
printed and written to ``results/DATE-annotated.md``.

    python benchmarks/annotated.py [--runs 5]
"""
from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from make_dataset import build

HERE = Path(__file__).resolve().parent
ROOT = HERE / "data" / "annotated"
AUGCLI = str(Path(sys.executable).parent / "augcli")
RECIPE = str(HERE / "recipes" / "bench-standard.yaml")


def _link(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # a hard link is a regular file inside SRC (a symlink out of SRC is skipped)
    except OSError:
        shutil.copyfile(source, target)


def make_trees() -> dict[str, Path]:
    images = sorted(build("small").rglob("*.jpg"))
    trees = {name: ROOT / name for name in ("plain", "yolo", "masks")}
    if all(tree.is_dir() for tree in trees.values()):
        return trees
    shutil.rmtree(ROOT, ignore_errors=True)
    rng = np.random.default_rng(0)
    for path in images:
        stem = path.stem
        _link(path, trees["plain"] / path.parent.name / path.name)
        _link(path, trees["yolo"] / "images" / "train" / path.name)
        _link(path, trees["masks"] / "images" / "train" / path.name)
        w, h = 640, 480
        rows, mask = [], np.zeros((h, w), np.uint8)
        for _ in range(int(rng.integers(3, 7))):
            bw, bh = int(rng.integers(40, 200)), int(rng.integers(40, 200))
            x0, y0 = int(rng.integers(0, w - bw)), int(rng.integers(0, h - bh))
            cls = int(rng.integers(0, 4))
            rows.append(f"{cls} {(x0 + bw / 2) / w:.6f} {(y0 + bh / 2) / h:.6f} {bw / w:.6f} {bh / h:.6f}\n")
            mask[y0:y0 + bh, x0:x0 + bw] = cls + 1
        (trees["yolo"] / "labels" / "train").mkdir(parents=True, exist_ok=True)
        (trees["yolo"] / "labels" / "train" / f"{stem}.txt").write_text("".join(rows))
        (trees["masks"] / "masks" / "train").mkdir(parents=True, exist_ok=True)
        Image.fromarray(mask).save(trees["masks"] / "masks" / "train" / f"{stem}.png")
    return trees


def augcli(src: Path, out: str) -> str:
    return f"sh -c 'rm -rf {out} && exec {AUGCLI} expand {src} {out} -r {RECIPE} -j 2 -q'"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    trees = make_trees()
    peer = f"sh -c 'rm -rf /tmp/bench-alb && exec {sys.executable} {HERE / 'peers' / 'albumentations_yolo.py'} " \
           f"{trees['yolo']} /tmp/bench-alb --jobs 2 --copies 5'"
    pairs = [
        ("YOLO boxes vs the same images without labels", augcli(trees["yolo"], "/tmp/bench-yolo"),
         augcli(trees["plain"], "/tmp/bench-plain")),
        ("masks vs the same images without labels", augcli(trees["masks"], "/tmp/bench-masks"),
         augcli(trees["plain"], "/tmp/bench-plain")),
        ("augcli vs albumentations + joblib, bbox_params YOLO in/out", augcli(trees["yolo"], "/tmp/bench-yolo"),
         peer),
    ]
    report = [f"# Annotated datasets, {datetime.date.today()} (benchmarks/annotated.py, farm-bench --vs)", ""]
    for title, a, b in pairs:
        result = subprocess.run(["farm-bench", "-n", str(args.runs), "--timeout", "1200", "--vs", b, "--",
                                 "sh", "-c", a[len("sh -c '"):-1]], capture_output=True, text=True)
        report += [f"## {title}", "", f"A: `{a}`", f"B: `{b}`", "", "```", result.stdout.strip(),
                   result.stderr.strip(), "```", ""]
        print("\n".join(report[-9:]), flush=True)
    path = HERE / "results" / f"{datetime.date.today()}-annotated.md"
    path.write_text("\n".join(report))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
