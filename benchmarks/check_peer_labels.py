"""Does the albumentations YOLO peer write the labels augcli writes? (Run by hand.)

    python benchmarks/check_peer_labels.py [--images 8]

On the first N images of the annotated small preset (``make_annotated.py``),
augcli (``--layout yolo``) and ``peers/albumentations_yolo.py`` each write one
output per image with three recipes whose geometry is fixed, and the label
files are compared box by box (in pixels, rows in file order). Where the border
cut a box the two rules differ by design: augcli encloses the clipped outline,
albumentations clips the enclosing rectangle, so augcli's box must lie inside
albumentations'; elsewhere they must be the same box:

* identity (brightness and contrast only): both must give back the source boxes;
* hflip (p 1): both must give ``x -> 640 - x`` of the source boxes (the oracle);
* rotate10, rotate35 (counter-clockwise, constant fill): the corners' enclosing
  rectangle clipped to the frame, in both (35 degrees pushes boxes across the
  border: clipping and dropping are compared too); no oracle beyond agreement.

Prints, per recipe, the boxes compared and the largest difference in pixels
between the two tools and between each tool and the oracle; exits 1 if a
recipe's boxes differ in count or class, or by more than ``--tolerance`` px.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from make_annotated import SIZE, _link, build_annotated

HERE = Path(__file__).resolve().parent
AUGCLI_RECIPES = {
    "identity": "- brightness: {factor: [0.8, 1.2]}\n  - contrast: {factor: [0.8, 1.2]}",
    "hflip": "- hflip: {p: 1}",
    "rotate10": "- rotate: {angle: [10, 10], fill: constant}",
    "rotate35": "- rotate: {angle: [35, 35], fill: constant}",
}


def oracle(recipe: str, boxes: np.ndarray) -> np.ndarray | None:
    if recipe == "identity":
        return boxes
    if recipe == "hflip":
        return np.c_[SIZE[0] - boxes[:, 2], boxes[:, 1], SIZE[0] - boxes[:, 0], boxes[:, 3]]
    return None


def read(path: Path) -> tuple[list[int], np.ndarray]:
    """Classes and xyxy pixel boxes of a YOLO label file."""
    w, h = SIZE
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()]
    cx, cy, bw, bh = (np.array([float(r[i]) for r in rows]).reshape(-1) for i in range(1, 5))
    return [int(r[0]) for r in rows], np.c_[(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]


def run(recipe: str, src: Path, work: Path) -> tuple[Path, Path]:
    ours, theirs = work / f"augcli-{recipe}", work / f"albumentations-{recipe}"
    recipe_file = work / f"{recipe}.yaml"
    recipe_file.write_text(f"version: 1\ncopies: 1\nseed: 1\ninclude_originals: false\n"
                           f"output: {{format: jpeg, quality: 90}}\npipeline:\n  {AUGCLI_RECIPES[recipe]}\n")
    augcli = Path(sys.executable).parent / "augcli"
    subprocess.run([str(augcli), "expand", str(src), str(ours), "-r", str(recipe_file), "--layout", "yolo", "-q"],
                   check=True)
    subprocess.run([sys.executable, str(HERE / "peers" / "albumentations_yolo.py"), str(src), str(theirs),
                    "--recipe", recipe, "--copies", "1", "--jobs", "1"], check=True, cwd=HERE / "peers")
    return ours, theirs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=8)
    parser.add_argument("--tolerance", type=float, default=1.0, help="px; the two tools' rounding may differ")
    args = parser.parse_args()
    full = build_annotated("small")["yolo"]
    worst = 0.0
    failed = False
    with tempfile.TemporaryDirectory(prefix="peer-check-") as tmp:
        work = Path(tmp)
        src = work / "src"
        stems = [p.stem for p in sorted((full / "images" / "train").glob("*.jpg"))[: args.images]]
        for stem in stems:
            _link(full / "images" / "train" / f"{stem}.jpg", src / "images" / "train" / f"{stem}.jpg")
            _link(full / "labels" / "train" / f"{stem}.txt", src / "labels" / "train" / f"{stem}.txt")
        for recipe in AUGCLI_RECIPES:
            ours, theirs = run(recipe, src, work)
            compared, clipped, between, outside = 0, 0, 0.0, 0.0
            to_oracle = {"augcli": 0.0, "albumentations": 0.0}
            for stem in stems:
                source_classes, source = read(src / "labels" / "train" / f"{stem}.txt")
                ours_classes, ours_boxes = read(ours / "labels" / "train" / f"{stem}_aug01.txt")
                theirs_classes, theirs_boxes = read(theirs / "labels" / "train" / f"{stem}_aug01.txt")
                if ours_classes != theirs_classes:
                    print(f"{recipe} {stem}: classes differ: augcli {ours_classes}, albumentations {theirs_classes}")
                    failed = True
                    continue
                compared += len(ours_classes)
                border = ((ours_boxes[:, :2] <= 1e-3) | (ours_boxes[:, 2:] >= np.array(SIZE) - 1e-3)).any(axis=1)
                clipped += int(border.sum())
                # a box the border cut: augcli clips the moved outline, then encloses it (the
                # rectangle hugs what is in view); albumentations encloses, then clips the
                # rectangle. Same where nothing was cut; augcli's inside albumentations' where it was.
                inside = np.r_[theirs_boxes[border, :2] - ours_boxes[border, :2],
                               ours_boxes[border, 2:] - theirs_boxes[border, 2:]]
                outside = max(outside, float(inside.max(initial=0)))
                between = max(between, float(np.abs(ours_boxes[~border] - theirs_boxes[~border]).max(initial=0)))
                expected = oracle(recipe, source)
                if expected is not None:
                    for tool, boxes in (("augcli", ours_boxes), ("albumentations", theirs_boxes)):
                        to_oracle[tool] = max(to_oracle[tool], float(np.abs(boxes - expected).max(initial=0)))
            print(f"{recipe}: {compared} boxes in {len(stems)} images; away from the border augcli vs "
                  f"albumentations max {between:.3f} px; {clipped} cut by the border, augcli's beyond "
                  f"albumentations' by at most {outside:.3f} px" + ("" if oracle(recipe, np.zeros((0, 4))) is None else
                                         f"; vs the oracle: augcli {to_oracle['augcli']:.3f} px, "
                                         f"albumentations {to_oracle['albumentations']:.3f} px"))
            worst = max(worst, between, outside, *to_oracle.values())
    failed = failed or worst > args.tolerance
    print("FAILED" if failed else f"ok: every box within {args.tolerance} px")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
