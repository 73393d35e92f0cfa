"""Boxes and masks against an independent oracle: the written pixels.

Filled rectangles of known extent (one red, one green, the green one close to
the frame's edge) on a black, non-square image are labelled, augmented with
every geometric op, and the written labels are compared with what thresholding
the *written image* measures: exact ops give equal boxes; warps give a box
that contains the measured extent and exceeds it by at most the rounding of a
corner (the box is the exact image of the rectangle; the pixels at a sharp
corner are partly covered and may fall under the threshold); a mask agrees
with the thresholded image on all but a one-pixel boundary.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import augcli

W, H = 97, 61
# (class, channel, [x0, y0, x1, y1] in pixel edges)
OBJECTS = [(0, 0, [20, 12, 47, 33]), (1, 1, [78, 40, 95, 58])]

EXACT = {
    "hflip": "- hflip",
    "vflip": "- vflip",
    "rot90_1": "- rot90: {k: 1}",
    "rot90_3": "- rot90: {k: 3}",
    "flip_turn": "- hflip\n  - rot90: {k: 1}",
    "crop": "- crop: {box: [10, 5, 90, 50]}",
    "center_crop": "- center_crop: {size: [60, 40]}",
    "random_crop": "- random_crop: {size: [70, 45]}",
    "pad_if_needed": "- pad_if_needed: {size: [120, 80]}",
}
WARPS = {
    "rotate": "- rotate: {angle: 23}",
    "rotate_expand": "- rotate: {angle: -35, expand: true}",
    "translate": "- translate: {x: 11.5, y: -6.25}",
    "zoom": "- zoom: {scale: 1.3}",
    "zoom_out": "- zoom: {scale: 0.7}",
    "shear": "- shear: {x: 12, y: -5}",
    "affine": "- affine: {angle: 15, scale: 1.1, shear_x: 5, translate_x: 0.05, unit: fraction}",
    "perspective": "- perspective: {magnitude: 0.3}",
    "resize": "- resize: {size: [130, 50]}",
    "smallest_max_size": "- smallest_max_size: {max_size: 45}",
    "random_resized_crop": "- random_resized_crop: {size: [64, 48], scale: [0.5, 0.9]}",
    "rotate_then_flip": "- rotate: {angle: 10}\n  - vflip\n  - zoom: {scale: 1.2}",
    "keras": "- keras: {rotation_range: 20, zoom_range: 0.1, horizontal_flip: true}",
    "elastic": "- elastic: {grid: 4, magnitude: 3}",
}


def _source(tmp_path, layout: str):
    src = tmp_path / "src"
    (src / "images" / "train").mkdir(parents=True)
    pixels = np.zeros((H, W, 3), np.uint8)
    mask = np.zeros((H, W), np.uint8)
    rows = []
    for cls, channel, (x0, y0, x1, y1) in OBJECTS:
        pixels[y0:y1, x0:x1, channel] = 255
        mask[y0:y1, x0:x1] = cls + 1
        rows.append(f"{cls} {(x0 + x1) / 2 / W} {(y0 + y1) / 2 / H} {(x1 - x0) / W} {(y1 - y0) / H}")
    Image.fromarray(pixels).save(src / "images" / "train" / "a.png")
    if layout == "yolo":
        (src / "labels" / "train").mkdir(parents=True)
        (src / "labels" / "train" / "a.txt").write_text("\n".join(rows) + "\n")
    else:
        (src / "masks" / "train").mkdir(parents=True)
        Image.fromarray(mask).save(src / "masks" / "train" / "a.png")
    return src


def _run(tmp_path, layout: str, steps: str, extra: str = ""):
    src = _source(tmp_path, layout)
    out = tmp_path / "out"
    recipe = augcli.Recipe.from_yaml(f"version: 1\ncopies: 1\nseed: 3\ninclude_originals: false\n{extra}"
                                     f"pipeline:\n  {steps}\n")
    augcli.expand(src, out, recipe, jobs=1)
    pixels = np.asarray(Image.open(out / "images" / "train" / "a_aug01.png").convert("RGB"))
    return out, pixels


def _boxes(out, pixels) -> dict[int, np.ndarray]:
    h, w = pixels.shape[:2]
    found = {}
    for line in (out / "labels" / "train" / "a_aug01.txt").read_text().splitlines():
        cls, cx, cy, bw, bh = line.split()
        cx, cy, bw, bh = float(cx) * w, float(cy) * h, float(bw) * w, float(bh) * h
        found[int(cls)] = np.array([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2])
    return found


def _measured(pixels, channel: int) -> np.ndarray | None:
    """The object's extent in pixel edges, by thresholding its channel."""
    ys, xs = np.nonzero(pixels[..., channel] > 127)
    if not len(xs):
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], float)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_ops_move_boxes_exactly(tmp_path, name):
    out, pixels = _run(tmp_path, "yolo", EXACT[name])
    boxes = _boxes(out, pixels)
    for cls, channel, _ in OBJECTS:
        measured = _measured(pixels, channel)
        if measured is None:
            assert cls not in boxes
            continue
        np.testing.assert_allclose(boxes[cls], measured, atol=1e-3, err_msg=f"class {cls}")


@pytest.mark.parametrize("name", sorted(WARPS))
def test_warps_boxes_contain_the_object_and_hug_it(tmp_path, name):
    out, pixels = _run(tmp_path, "yolo", WARPS[name])
    boxes = _boxes(out, pixels)
    slack = 2.5 if name == "elastic" else 1.5  # a sharp corner's partly covered pixels
    for cls, channel, _ in OBJECTS:
        measured = _measured(pixels, channel)
        if measured is None:  # pushed out of the frame: no box, or a sliver the threshold misses
            assert cls not in boxes or min(boxes[cls][2:] - boxes[cls][:2]) < 2
            continue
        box = boxes[cls]
        assert (box[:2] <= measured[:2] + 0.51).all() and (box[2:] >= measured[2:] - 0.51).all(), (box, measured)
        assert (measured[:2] - box[:2] <= slack).all() and (box[2:] - measured[2:] <= slack).all(), (box, measured)


def _boundary(region: np.ndarray) -> np.ndarray:
    """Pixels within one pixel of the region's edge."""
    return ndimage.binary_dilation(region) & ~ndimage.binary_erosion(region)


@pytest.mark.parametrize("name", sorted(EXACT) + sorted(WARPS))
def test_masks_follow_the_pixels(tmp_path, name):
    steps = {**EXACT, **WARPS}[name]
    out, pixels = _run(tmp_path, "masks", steps, extra="labels: {ignore_index: 255}\n")
    mask = np.asarray(Image.open(out / "masks" / "train" / "a_aug01.png"))
    assert mask.shape == pixels.shape[:2]
    for cls, channel, _ in OBJECTS:
        thresholded = pixels[..., channel] > 127
        disagree = (mask == cls + 1) != thresholded
        assert not (disagree & ~_boundary(thresholded)).any(), f"class {cls}: {disagree.sum()} pixels off"


def test_mask_fill_is_ignore_index_where_the_border_comes_in(tmp_path):
    out, pixels = _run(tmp_path, "masks", "- rotate: {angle: 30}", extra="labels: {ignore_index: 255}\n")
    mask = np.asarray(Image.open(out / "masks" / "train" / "a_aug01.png"))
    assert mask[0, 0] == 255 and mask[H // 2, W // 2] != 255  # a corner came from beyond the border
    assert set(np.unique(mask)) <= {0, 1, 2, 255}  # nearest sampling: no value between labels


def test_output_size_moves_boxes_too(tmp_path):
    for fit in ("stretch", "cover", "contain"):
        out, pixels = _run(tmp_path / fit, "yolo", "- hflip", extra=f"output: {{size: [64, 64], fit: {fit}, background: 0}}\n")
        boxes = _boxes(out, pixels)
        for cls, channel, _ in OBJECTS:
            measured = _measured(pixels, channel)
            if measured is None or cls not in boxes:  # a sliver under min_size (1 px) is dropped
                assert measured is None or min(measured[2:] - measured[:2]) <= 1, (fit, measured)
                continue
            assert np.abs(boxes[cls] - measured).max() <= 1.0, (fit, boxes[cls], measured)
