"""The standard recipe written with albumentations + joblib, as a practitioner
would: OpenCV decode, HorizontalFlip(0.5), Rotate(+-15, BORDER_REFLECT_101 =
augcli's 'reflect'), RandomBrightnessContrast(+-0.2), OpenCV JPEG q90.

    python albumentations_script.py SRC OUT [--jobs 2] [--copies 5]
"""
import argparse
from pathlib import Path

import albumentations as A
import cv2
from joblib import Parallel, delayed

cv2.setNumThreads(1)  # one process per core already
PIPELINE = A.Compose([
    A.HorizontalFlip(p=0.5),
    A.Rotate(limit=15, border_mode=cv2.BORDER_REFLECT_101, p=1.0),
    A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=1.0),
])


def work(path: Path, src: Path, out: Path, copies: int) -> int:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    target = out / path.relative_to(src).parent
    target.mkdir(parents=True, exist_ok=True)
    for copy in range(1, copies + 1):
        result = PIPELINE(image=image)["image"]
        cv2.imwrite(str(target / f"{path.stem}_aug{copy:02d}.jpg"), result, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return copies


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    files = sorted(args.src.rglob("*.jpg"))
    Parallel(n_jobs=args.jobs)(delayed(work)(f, args.src, args.out, args.copies) for f in files)
