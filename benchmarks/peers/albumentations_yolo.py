"""The standard benchmark recipe on a YOLO dataset with albumentations + joblib,
as a practitioner would write it: OpenCV decode, ``bbox_params`` in YOLO format
(boxes moved, clipped, dropped by albumentations), OpenCV JPEG q90, a YOLO
label file per output.

    python albumentations_yolo.py SRC OUT [--jobs 2] [--copies 5]

SRC is ``images/train/*.jpg`` + ``labels/train/*.txt``; OUT gets the same.
"""
import argparse
from pathlib import Path

import albumentations as A
import cv2
from joblib import Parallel, delayed

cv2.setNumThreads(1)  # one process per core already
_BUILT = []


def pipeline() -> A.Compose:
    if not _BUILT:  # once per worker process
        _BUILT.append(A.Compose([
            A.HorizontalFlip(p=0.5),
            A.Rotate(limit=15, border_mode=cv2.BORDER_REFLECT_101, p=1.0),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=1.0),
        ], bbox_params=A.BboxParams(format="yolo", label_fields=["classes"], clip=True)))
    return _BUILT[0]


def work(path: Path, src: Path, out: Path, copies: int) -> int:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    rows = [line.split() for line in (src / "labels" / "train" / f"{path.stem}.txt").read_text().splitlines() if line]
    boxes = [[float(v) for v in row[1:]] for row in rows]
    classes = [int(row[0]) for row in rows]
    for folder in ("images", "labels"):
        (out / folder / "train").mkdir(parents=True, exist_ok=True)
    for copy in range(1, copies + 1):
        result = pipeline()(image=image, bboxes=boxes, classes=classes)
        name = f"{path.stem}_aug{copy:02d}"
        cv2.imwrite(str(out / "images" / "train" / f"{name}.jpg"), result["image"], [cv2.IMWRITE_JPEG_QUALITY, 90])
        (out / "labels" / "train" / f"{name}.txt").write_text(
            "".join(f"{c} " + " ".join(f"{v:.6f}" for v in box) + "\n"
                    for c, box in zip(result["classes"], result["bboxes"])))
    return copies


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    files = sorted((args.src / "images" / "train").glob("*.jpg"))
    from albumentations_yolo import work as imported_work  # by module name: workers import it once

    Parallel(n_jobs=args.jobs)(delayed(imported_work)(f, args.src, args.out, args.copies) for f in files)
