"""Every op defined and clipped in every working mode (augcli.imaging): the
registry x modes, and the values the float and 32-bit modes used to get wrong."""
from __future__ import annotations

import numpy as np
import pytest

from augcli.imaging import mode_of
from augcli.ops import REGISTRY

from .test_every_op import example_params

H, W = 30, 40
KERNELS = sorted(name for name, spec in REGISTRY.items() if spec.expand is None)
MODES = ["L", "LA", "RGB", "RGBA", "I;16", "I", "F", "RGBF", "F64", "RGBF64"]  # F64: F as float64
# the largest value of each mode's range (floats: 0..1; 32-bit integers: 0..65535 is black..white)
TOP = {"I;16": 65535, "I": 65535, "F": 1.0, "RGBF": 1.0}


@pytest.fixture(autouse=True)
def model_files(example_models):
    """The model file the onnx op's documented example names (conftest.example_models)."""


def image(mode: str, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if mode.endswith("64"):
        return image(mode[:-2], seed).astype(np.float64)
    if mode in ("F", "RGBF"):
        return rng.random((H, W, 1 if mode == "F" else 3), dtype=np.float32)
    if mode in ("I;16", "I"):
        return rng.integers(0, 65536, (H, W, 1)).astype(np.uint16 if mode == "I;16" else np.int32)
    channels = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}[mode]
    return rng.integers(0, 256, (H, W, channels), np.uint8)


@pytest.fixture(autouse=True)
def model_files(example_models):
    """The model file the onnx op's documented example names (conftest.example_models)."""


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", KERNELS)
def test_every_op_is_defined_and_in_range_in_every_mode(name, mode):
    img = image(mode)
    img.flags.writeable = False  # a kernel writing into its input fails here
    params = example_params(name, (W, H))
    out = REGISTRY[name].kernel(img, **params)
    assert out.dtype == img.dtype, f"{name} changed {mode}'s dtype to {out.dtype}"
    if name == "grayscale" and mode in ("RGB", "RGBA", "RGBF") and params["channels"] == 1:
        assert out.shape[2] == img.shape[2] - 2
    else:
        assert mode_of(out) == mode.replace("64", "")
    if out.dtype.kind == "f":
        assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1, f"{name} left 0..1"
    if mode == "I":
        assert out.min() >= 0 and out.max() <= 65535, f"{name} left 0..65535"
    if mode in ("LA", "RGBA") and REGISTRY[name].category != "geometric":
        assert np.array_equal(out[..., -1], img[..., -1]), f"{name} recoloured alpha"


def test_float_posterize_keeps_levels_of_the_0_255_scale():
    img = image("F")
    out = REGISTRY["posterize"].kernel(img, bits=4)
    step = 16 / 255
    assert out.max() > 0.5, "all zeros"
    assert np.allclose(out, np.floor(img.astype(np.float64) / step) * step, atol=1e-6)


def test_32_bit_posterize_steps_like_16_bit():
    """bits: 4 keeps 16 levels of 0..65535 (a step of 16 x 257), not steps of 16."""
    deep = image("I;16")
    out32 = REGISTRY["posterize"].kernel(deep.astype(np.int32), bits=4)
    assert np.array_equal(out32, REGISTRY["posterize"].kernel(deep, bits=4).astype(np.int32))
    assert len(np.unique(out32)) <= 16


@pytest.mark.parametrize("mode", ["F", "RGBF"])
def test_float_brightness_contrast_and_noise_are_clipped_to_0_1(mode):
    img = image(mode).astype(np.float64)
    bright = REGISTRY["brightness"].kernel(img.astype(np.float32), factor=1.5)
    assert np.allclose(bright, np.clip(img * 1.5, 0, 1), atol=1e-6)
    contrast = REGISTRY["contrast"].kernel(img.astype(np.float32), factor=3.0)
    mean = img.reshape(-1, img.shape[2]).mean(axis=0)
    assert np.allclose(contrast, np.clip((img - mean) * 3 + mean, 0, 1), atol=1e-5)
    noisy = REGISTRY["gaussian_noise"].kernel(img.astype(np.float32), sigma=60.0, per_channel=True, seed=1)
    assert noisy.min() == 0 and noisy.max() == 1  # strong noise reaches both ends and stops there
