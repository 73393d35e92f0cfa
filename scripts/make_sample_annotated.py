"""Build out/sample_annotated/: a small detection and segmentation dataset cut from
scikit-image's ``coins`` picture (no download), for ``make demo-detection``.

The coins are segmented once, as scikit-image's own coins tutorial does (a
Sobel elevation map, markers from two grey levels, watershed, holes filled),
and labelled as two classes by size: 0 = small coin, 1 = large coin. Six
overlapping, non-square crops (four train, two val) carry:

* ``labels/<split>/*.txt``: YOLO boxes of every coin in the crop (a coin the
  crop cuts keeps the box of its visible part);
* ``masks/<split>/*.png``: palette label maps (0 background, 1 small, 2 large);
* ``data.yaml`` naming the classes.

The tree fits two layouts, so augcli asks which one: ``--layout yolo`` or
``--layout masks``. The output is byte-identical on every run.

    python scripts/make_sample_annotated.py [OUT]     # default: out/sample_annotated/ in the repo
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage
from skimage import data, filters, measure, morphology, segmentation

CROPS = {  # name -> (split, x0, y0, x1, y1) in the 384 x 303 picture
    "coins_001": ("train", 0, 0, 240, 180),
    "coins_002": ("train", 144, 0, 384, 180),
    "coins_003": ("train", 0, 123, 240, 303),
    "coins_004": ("train", 144, 123, 384, 303),
    "coins_005": ("val", 60, 40, 300, 230),
    "coins_006": ("val", 120, 90, 360, 280),
}
PALETTE = [0, 0, 0, 31, 119, 180, 255, 127, 14]  # background, small coin, large coin
MIN_PIXELS = 20  # a sliver of a coin at a crop's edge smaller than this is not labelled


def segment(image: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Instance labels of the coins, and the class (0 small, 1 large) of each."""
    elevation = filters.sobel(image)
    markers = np.zeros_like(image, dtype=np.uint8)
    markers[image < 30] = 1
    markers[image > 150] = 2
    coins = ndimage.binary_fill_holes(segmentation.watershed(elevation, markers) == 2)
    coins = morphology.remove_small_objects(coins, max_size=39)  # fewer than 40 pixels: noise
    instances = measure.label(coins)
    regions = measure.regionprops(instances)
    median = np.median([r.area for r in regions])
    return instances, {r.label: int(r.area > median) for r in regions}


def main(out: Path) -> None:
    image = data.coins()
    instances, classes = segment(image)
    if out.exists():
        shutil.rmtree(out)
    for stem, (split, x0, y0, x1, y1) in CROPS.items():
        crop, inst = image[y0:y1, x0:x1], instances[y0:y1, x0:x1]
        h, w = crop.shape
        rows, mask = [], np.zeros_like(inst, dtype=np.uint8)
        for region in measure.regionprops(inst):
            if region.area < MIN_PIXELS:
                continue
            cls = classes[region.label]
            mask[inst == region.label] = cls + 1
            top, left, bottom, right = region.bbox
            rows.append(f"{cls} {(left + right) / 2 / w:.6f} {(top + bottom) / 2 / h:.6f} "
                        f"{(right - left) / w:.6f} {(bottom - top) / h:.6f}")
        for folder in ("images", "labels", "masks"):
            (out / folder / split).mkdir(parents=True, exist_ok=True)
        Image.fromarray(crop).save(out / "images" / split / f"{stem}.jpg", quality=90)
        (out / "labels" / split / f"{stem}.txt").write_text("".join(row + "\n" for row in rows))
        labels = Image.frombytes("P", (w, h), mask.tobytes())
        labels.putpalette(PALETTE)
        labels.save(out / "masks" / split / f"{stem}.png", optimize=True)
    (out / "data.yaml").write_text("path: .\ntrain: images/train\nval: images/val\nnames:\n  0: small coin\n"
                                   "  1: large coin\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "out" / "sample_annotated")
