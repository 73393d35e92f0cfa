"""Build sample_data/: a small class-per-folder dataset cut from images that
ship inside scikit-image (no download), for the demo and the README.

Four classes of eight images: crops of the cat (chelsea), the coffee cup, the
rocket and the coins (8-bit grey). Crops are random but seeded, so the output
is byte-identical on every run; sizes vary (landscape, portrait, square) and
each class mixes JPEG and PNG.

    python scripts/make_sample_data.py [OUT]     # default: sample_data/ in the repo
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

PER_CLASS = 8
PNG_EVERY = 3  # every third image is a PNG, the rest JPEG
CLASSES = {  # class -> (image, the part of the image the object fills: x0, y0, x1, y1 as fractions)
    "cat": (data.chelsea, (0.05, 0.0, 0.95, 1.0)),
    "coffee": (data.coffee, (0.15, 0.05, 0.85, 0.95)),
    "rocket": (data.rocket, (0.2, 0.0, 0.8, 1.0)),
    "coins": (data.coins, (0.0, 0.0, 1.0, 1.0)),
}
SHAPES = [(4, 3), (3, 4), (1, 1), (16, 9), (2, 3), (5, 4), (3, 2), (1, 1)]  # width : height


def crops(image: np.ndarray, region, rng: np.random.Generator):
    """Yield PER_CLASS crops of ``image`` within ``region``, each with its own shape."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = int(region[0] * w), int(region[1] * h), int(region[2] * w), int(region[3] * h)
    for aspect_w, aspect_h in SHAPES[:PER_CLASS]:
        scale = rng.uniform(0.6, 1.0)
        cw = int(min(x1 - x0, (y1 - y0) * aspect_w / aspect_h) * scale)
        ch = int(cw * aspect_h / aspect_w)
        left = int(rng.integers(x0, x1 - cw + 1))
        top = int(rng.integers(y0, y1 - ch + 1))
        crop = Image.fromarray(image[top : top + ch, left : left + cw])
        if rng.random() < 0.3:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        long_side = int(rng.integers(160, 321))
        crop.thumbnail((long_side, long_side), Image.Resampling.LANCZOS)
        yield crop


def main(out: Path) -> None:
    rng = np.random.default_rng(2024)
    for label, (load, region) in CLASSES.items():
        folder = out / label
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for index, crop in enumerate(crops(load(), region, rng), start=1):
            if index % PNG_EVERY == 0:
                path = folder / f"{label}_{index:03d}.png"
                crop.save(path, "PNG")
            else:
                path = folder / f"{label}_{index:03d}.jpg"
                crop.save(path, "JPEG", quality=90)
            print(f"{path.relative_to(out.parent)}  {crop.width}x{crop.height} {crop.mode}")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{PER_CLASS * len(CLASSES)} images, {total / 1024:.0f} KiB in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "sample_data")
