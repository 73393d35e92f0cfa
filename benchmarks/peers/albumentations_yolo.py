"""augcli's standard benchmark recipe on a YOLO dataset with albumentations +
joblib, as a practitioner would write it: OpenCV decode, the label file read,
``bbox_params`` in YOLO format (albumentations moves, clips and drops the
boxes), OpenCV JPEG q90 and a YOLO label file per output.

standard: the steps of ``albumentations_script.PIPELINES["standard"]`` (the
same recipe as recipes/bench-standard.yaml, built by that script so the two
peers cannot drift), with ``BboxParams(format="yolo", clip=True,
min_width=1, min_height=1)``: augcli's defaults (clip to the frame, drop a box
whose visible side is under 1 px, no visibility threshold). Rotate's
``largest_box`` rule is augcli's: the moved corners' enclosing rectangle.
identity, hflip, rotate10, rotate35: the label check of benchmarks/check_peer_labels.py
(no geometry; a flip with p 1; fixed turns with a constant fill).

    python albumentations_yolo.py SRC OUT [--recipe standard] [--jobs 2] [--copies 5]

SRC is ``images/[split/]*.jpg`` + ``labels/[split/]*.txt`` (an image without a
label file has no objects); OUT gets the same, ``NAME_augNN.jpg`` + ``.txt``.
"""
import argparse
from pathlib import Path

import albumentations as A
import cv2
from joblib import Parallel, delayed

from albumentations_script import PIPELINES as IMAGE_PIPELINES

cv2.setNumThreads(1)  # one process per core already
STEPS = {
    "standard": lambda: list(IMAGE_PIPELINES["standard"]().transforms),
    "identity": lambda: [A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=1.0)],
    "hflip": lambda: [A.HorizontalFlip(p=1.0)],
    "rotate10": lambda: [A.Rotate(limit=(10, 10), border_mode=cv2.BORDER_CONSTANT, p=1.0)],
    "rotate35": lambda: [A.Rotate(limit=(35, 35), border_mode=cv2.BORDER_CONSTANT, p=1.0)],
}
BOXES = {"format": "yolo", "label_fields": ["classes"], "clip": True, "min_width": 1, "min_height": 1}

_BUILT: dict[str, A.Compose] = {}


def read_labels(path: Path) -> tuple[list[list[float]], list[int]]:
    rows = [line.split() for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    return [[float(v) for v in row[1:5]] for row in rows], [int(row[0]) for row in rows]


def work(path: Path, src: Path, out: Path, copies: int, recipe: str) -> int:
    if recipe not in _BUILT:
        _BUILT[recipe] = A.Compose(STEPS[recipe](), bbox_params=A.BboxParams(**BOXES))  # once per worker process
    pipeline = _BUILT[recipe]
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    relative = path.relative_to(src / "images")
    boxes, classes = read_labels((src / "labels" / relative).with_suffix(".txt"))
    images, labels = out / "images" / relative.parent, out / "labels" / relative.parent
    images.mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    for copy in range(1, copies + 1):
        result = pipeline(image=image, bboxes=boxes, classes=classes)
        name = f"{path.stem}_aug{copy:02d}"
        cv2.imwrite(str(images / f"{name}.jpg"), result["image"], [cv2.IMWRITE_JPEG_QUALITY, 90])
        # label fields come back as floats: a class written as "2.0" is no YOLO class
        (labels / f"{name}.txt").write_text("".join(f"{int(c)} " + " ".join(f"{v:.6f}" for v in box) + "\n"
                                                    for c, box in zip(result["classes"], result["bboxes"])))
    return copies


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--recipe", choices=sorted(STEPS), default="standard")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    files = sorted((args.src / "images").rglob("*.jpg"))
    # by module name, so workers import it once and keep their pipeline (a function
    # of __main__ would be pickled by value with every task)
    from albumentations_yolo import work as imported_work

    Parallel(n_jobs=args.jobs)(delayed(imported_work)(f, args.src, args.out, args.copies, args.recipe)
                               for f in files)
