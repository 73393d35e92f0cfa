"""The codec floor: decode each source once and encode it COPIES times as
JPEG q90 to disk, over JOBS processes. No augmentation: the speed limit of any
offline augmenter on the same images.

    python codec_floor.py SRC OUT [--jobs 2] [--copies 5]
"""
import argparse
from pathlib import Path

from joblib import Parallel, delayed
from PIL import Image


def work(path: Path, src: Path, out: Path, copies: int) -> int:
    with Image.open(path) as img:
        img.load()
        target = out / path.relative_to(src).parent
        target.mkdir(parents=True, exist_ok=True)
        for copy in range(1, copies + 1):
            img.save(target / f"{path.stem}_aug{copy:02d}.jpg", "JPEG", quality=90)
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
