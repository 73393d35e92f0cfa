"""augcli's benchmark recipes written with albumentations + joblib, as a
practitioner would: OpenCV decode, the pipeline, OpenCV JPEG q90.

standard (bench-standard.yaml): HorizontalFlip(0.5), Rotate(+-15,
BORDER_REFLECT_101 = augcli's 'reflect'), RandomBrightnessContrast(+-0.2).
heavy (bench-heavy.yaml): Affine (rotate +-20, scale 0.9-1.1, shear x +-10),
Perspective, RandomBrightnessContrast(+-0.2), saturation 0.7-1.3, GaussianBlur
(sigma 0.5-1.5), GaussNoise (sigma 2-8 levels), every step always applied.

    python albumentations_script.py SRC OUT [--recipe standard|heavy] [--jobs 2] [--copies 5]
"""
import argparse
from pathlib import Path

import albumentations as A
import cv2
from joblib import Parallel, delayed

cv2.setNumThreads(1)  # one process per core already
REFLECT = cv2.BORDER_REFLECT_101
PIPELINES = {
    "standard": lambda: A.Compose([
        A.HorizontalFlip(p=0.5),
        A.Rotate(limit=15, border_mode=REFLECT, p=1.0),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=1.0),
    ]),
    "heavy": lambda: A.Compose([
        A.Affine(rotate=(-20, 20), scale=(0.9, 1.1), shear={"x": (-10, 10), "y": (0, 0)}, border_mode=REFLECT, p=1.0),
        A.Perspective(scale=(0.025, 0.075), border_mode=REFLECT, p=1.0),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=1.0),
        A.ColorJitter(brightness=0, contrast=0, saturation=(0.7, 1.3), hue=0, p=1.0),
        A.GaussianBlur(sigma_limit=(0.5, 1.5), p=1.0),
        A.GaussNoise(std_range=(2 / 255, 8 / 255), p=1.0),
    ]),
}


_BUILT: dict[str, A.Compose] = {}


def work(path: Path, src: Path, out: Path, copies: int, recipe: str) -> int:
    if recipe not in _BUILT:
        _BUILT[recipe] = PIPELINES[recipe]()  # once per worker process
    pipeline = _BUILT[recipe]
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    target = out / path.relative_to(src).parent
    target.mkdir(parents=True, exist_ok=True)
    for copy in range(1, copies + 1):
        result = pipeline(image=image)["image"]
        cv2.imwrite(str(target / f"{path.stem}_aug{copy:02d}.jpg"), result, [cv2.IMWRITE_JPEG_QUALITY, 90])
    return copies


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--recipe", choices=sorted(PIPELINES), default="standard")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    files = sorted(args.src.rglob("*.jpg"))
    # by module name, so workers import it once and keep their pipeline (a function
    # of __main__ would be pickled by value with every task)
    from albumentations_script import work as imported_work

    Parallel(n_jobs=args.jobs)(delayed(imported_work)(f, args.src, args.out, args.copies, args.recipe)
                               for f in files)
