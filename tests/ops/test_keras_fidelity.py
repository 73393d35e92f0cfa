"""The ``keras`` op against golden outputs written by the real Keras 3.15.1
(``ImageDataGenerator.apply_transform``, see ``shared/fixtures/keras/README.md``).

The bar is the fixtures' README: within 1 level where the source pixel lies
inside the image (the valid region), and over the whole image for ``edge``,
``symmetric`` and ``constant``; ``wrap`` only on the valid region (Keras hands
scipy its legacy ``wrap``, which is not the periodic one). The valid region is
found with Keras' own matrices, transcribed from ``apply_affine_transform``,
never with augcli's.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from augcli.ops import REGISTRY

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "keras"
WHOLE_IMAGE_FILLS = ("edge", "symmetric", "constant")
TOLERANCE = 1  # levels


def load_cases() -> list:
    """One pytest param per line of cases.jsonl; a missing or empty fixture
    folder is one failing param, never a silent skip (CI has the fixtures)."""
    path = FIXTURES / "cases.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []
    if not cases:
        return [pytest.param(None, id="fixtures-missing")]
    return [pytest.param(case, id=Path(case["expected"]).stem) for case in cases]


def keras_source_coords(params: dict, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Where Keras samples the input for each output pixel: ``apply_affine_transform``
    (channels last) followed by its flips, returned as (row, col) arrays."""
    theta, shear = np.deg2rad(params["theta"]), np.deg2rad(params["shear"])
    rotation = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0], [0, 0, 1]])
    shift = np.array([[1, 0, params["tx"]], [0, 1, params["ty"]], [0, 0, 1]])
    shear_m = np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]])
    zoom = np.array([[params["zx"], 0, 0], [0, params["zy"], 0], [0, 0, 1]])
    matrix = rotation @ shift @ shear_m @ zoom
    o_x, o_y = float(h) / 2 - 0.5, float(w) / 2 - 0.5  # transform_matrix_offset_center(matrix, h, w)
    offset, reset = np.array([[1, 0, o_x], [0, 1, o_y], [0, 0, 1]]), np.array([[1, 0, -o_x], [0, 1, -o_y], [0, 0, 1]])
    matrix = offset @ matrix @ reset
    matrix[:, [0, 1]] = matrix[:, [1, 0]]  # col_axis > row_axis: M' = PMP, then scipy's (row, col) convention
    matrix[[0, 1]] = matrix[[1, 0]]
    rows, cols = np.mgrid[0:h, 0:w].astype(float)
    src_rows = matrix[0, 0] * rows + matrix[0, 1] * cols + matrix[0, 2]
    src_cols = matrix[1, 0] * rows + matrix[1, 1] * cols + matrix[1, 2]
    if params["flip_horizontal"]:
        src_rows, src_cols = src_rows[:, ::-1], src_cols[:, ::-1]
    if params["flip_vertical"]:
        src_rows, src_cols = src_rows[::-1], src_cols[::-1]
    return src_rows, src_cols


def valid_region(params: dict, h: int, w: int) -> np.ndarray:
    rows, cols = keras_source_coords(params, h, w)
    eps = 1e-6
    return (rows >= -eps) & (rows <= h - 1 + eps) & (cols >= -eps) & (cols <= w - 1 + eps)


def run_keras_op(case: dict) -> np.ndarray:
    source = Image.open(FIXTURES / case["source"]).convert("RGB")
    # the fixtures record geometry and flips only: no channel shift, brightness 1
    params = {"channel_shift": 0.0, "brightness": 1.0, **case["augcli_keras_op"]}
    return np.asarray(REGISTRY["keras"].kernel(source, **params)).astype(int)


@pytest.mark.parametrize("case", load_cases())
def test_keras_op_reproduces_keras_golden_output(case):
    assert case is not None, (f"Keras golden fixtures not found (or empty) at {FIXTURES}; they are part of the "
                              "test suite: check out the shared fixtures next to the repository")
    expected = np.asarray(Image.open(FIXTURES / case["expected"]).convert("RGB")).astype(int)
    out = run_keras_op(case)
    assert out.shape == expected.shape
    h, w = expected.shape[:2]
    checked = np.ones((h, w), bool)
    if case["augcli_keras_op"]["fill"] not in WHOLE_IMAGE_FILLS:
        checked = valid_region(case["keras_apply_transform_params"], h, w)
    assert checked.mean() > 0.5  # the comparison covers most of the image
    diff = np.abs(out - expected)[checked]
    worst = np.unravel_index(np.argmax(np.where(checked[..., None], np.abs(out - expected), 0)), out.shape)
    assert diff.max() <= TOLERANCE, (
        f"{case['expected']}: {int((diff > TOLERANCE).sum())} of {diff.size} values differ by more than "
        f"{TOLERANCE} level (worst {diff.max()} at row, col, band {tuple(map(int, worst))}; "
        f"PSNR {psnr(out[checked], expected[checked]):.1f} dB)")


def keras_after_affine(x: np.ndarray, channel_shift: float, vflip: bool, brightness: float) -> np.ndarray:
    """The rest of Keras' ``apply_transform`` on its affine output ``x``:
    ``apply_channel_shift`` (clipped to the image's min and max), ``flip_axis``
    on the rows, then ``apply_brightness_shift(x, brightness, scale=False)``
    (a uint8 cast, then PIL's Brightness). The channel shift commutes with
    flips, so a golden output that already holds Keras' hflip can start it."""
    x = x.astype(float)
    x = np.clip(x + channel_shift, x.min(), x.max())
    if vflip:
        x = x[::-1]
    return np.asarray(ImageEnhance.Brightness(Image.fromarray(x.astype(np.uint8))).enhance(brightness)).astype(int)


@pytest.mark.parametrize("case", [c for c in load_cases() if c.values[0] is None or (
    c.values[0]["case"].startswith("all_composed") and c.values[0]["augcli_keras_op"]["fill"] == "edge")])
def test_channel_shift_vflip_and_brightness_follow_keras_order(case):
    """After the affine, Keras shifts channels, flips, then scales brightness;
    the golden affine outputs let the rest be Keras' own steps."""
    assert case is not None, f"Keras golden fixtures not found (or empty) at {FIXTURES}"
    golden = np.asarray(Image.open(FIXTURES / case["expected"]).convert("RGB"))
    expected = keras_after_affine(golden, channel_shift=17.3, vflip=True, brightness=0.8)
    source = Image.open(FIXTURES / case["source"]).convert("RGB")
    params = {**case["augcli_keras_op"], "channel_shift": 17.3, "vflip": True, "brightness": 0.8}
    out = np.asarray(REGISTRY["keras"].kernel(source, **params)).astype(int)
    assert np.abs(out - expected).max() <= TOLERANCE


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a - b) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def test_valid_region_follows_keras_geometry():
    """The oracle's own check: Keras' inverse map of a 10 pixel shift (tx = -10:
    content moves right) leaves the left 10 columns without a source pixel."""
    params = {"theta": 0.0, "tx": -10.0, "ty": 0.0, "shear": 0.0, "zx": 1.0, "zy": 1.0,
              "flip_horizontal": False, "flip_vertical": False}
    region = valid_region(params, 20, 40)
    assert not region[:, :10].any() and region[:, 10:].all()


@pytest.mark.parametrize("mode,corner", [("L", 100), ("LA", [100, 0]), ("RGB", [100] * 3), ("RGBA", [100] * 3 + [0]),
                                         ("I;16", 100 * 257)])
def test_constant_fill_beyond_the_edge_is_cval_in_every_mode(mode, corner):
    """Keras' constant (scipy's): a rotated image's corners come from beyond the
    edge and are exactly cval (alpha transparent), never a blend with the edge."""
    arr = np.random.default_rng(0).integers(0, 256, (30, 40, 4), np.uint8)
    img = {"L": Image.fromarray(arr[..., 0]), "LA": Image.fromarray(arr[..., :2]), "RGB": Image.fromarray(arr[..., :3]),
           "RGBA": Image.fromarray(arr), "I;16": Image.fromarray(arr[..., 0].astype(np.uint16) * 257)}[mode]
    params = {"rotate": 30.0, "shift_x": 0.0, "shift_y": 0.0, "shear": 0.0, "zoom_x": 1.0, "zoom_y": 1.0,
              "hflip": False, "vflip": False, "channel_shift": 0.0, "brightness": 1.0, "fill": "constant",
              "cval": 100.0, "interpolation": "bilinear"}
    out = REGISTRY["keras"].kernel(img, **params)
    assert out.mode == mode and np.asarray(out)[0, 0].tolist() == corner
