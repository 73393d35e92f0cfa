"""Build the benchmark dataset from images bundled with scikit-image (no download).

    python benchmarks/make_dataset.py small    # 200 JPEGs, ~640x480, 4 classes
    python benchmarks/make_dataset.py large    # 2000 JPEGs

Deterministic: crops, flips and scales of astronaut, coffee, chelsea and
rocket resized to about 640x480, JPEG quality 90, into benchmarks/data/PRESET/.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

PRESETS = {"small": 200, "large": 2000}
ROOT = Path(__file__).resolve().parent / "data"
SOURCES = {"astronaut": data.astronaut, "coffee": data.coffee, "cat": data.chelsea, "rocket": data.rocket}


def build(preset: str) -> Path:
    out = ROOT / preset
    count = PRESETS[preset]
    if out.is_dir() and sum(1 for _ in out.rglob("*.jpg")) == count:
        return out
    rng = np.random.default_rng(0)
    images = {label: Image.fromarray(load()) for label, load in SOURCES.items()}
    for i in range(count):
        label = list(SOURCES)[i % len(SOURCES)]
        img = images[label]
        w, h = img.size
        scale = rng.uniform(0.7, 1.0)
        cw, ch = int(w * scale), int(h * scale)
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = img.crop((x0, y0, x0 + cw, y0 + ch)).resize((640, 480), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        path = out / label / f"{label}_{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        crop.save(path, "JPEG", quality=90)
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("preset", nargs="?", choices=sorted(PRESETS), default="small")
    print(build(parser.parse_args().preset))
