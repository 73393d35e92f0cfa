"""Shared fixtures: synthesised image trees and a CLI runner that proves the
source tree is left untouched by every command it runs."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from augcli.cli import cli


def make_image(path: Path, size=(64, 48), mode="RGB", fmt=None, seed=0, **save) -> Path:
    """Write a random-noise image with smooth structure (so JPEG and resampling
    behave like on photos) to ``path``."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = (xx * 255 / max(w - 1, 1) + yy * 128 / max(h - 1, 1)) % 256
    bands = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}.get(mode, 1)
    arr = np.stack([(base + 60 * b + rng.normal(0, 12, base.shape)) % 256 for b in range(bands)], axis=-1)
    if mode == "I;16":
        img = Image.fromarray((arr[..., 0] * 257).astype(np.uint16))
    else:
        arr = arr.astype(np.uint8)
        img = Image.fromarray(arr[..., 0] if bands == 1 else arr, mode=None if bands > 1 else "L")
        if mode in ("LA", "RGBA"):
            img = img.convert(mode)
            alpha = Image.fromarray(((xx * 3) % 256).astype(np.uint8))
            img.putalpha(alpha)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, fmt, **save)
    return path


@pytest.fixture
def src(tmp_path: Path) -> Path:
    """A flat class-per-folder tree: cat (3 JPEG + 1 grey PNG), dog (2 JPEG)."""
    root = tmp_path / "src"
    make_image(root / "cat" / "c1.jpg", (64, 48), seed=1)
    make_image(root / "cat" / "c2.jpg", (40, 56), seed=2)
    make_image(root / "cat" / "c3.jpg", (50, 50), seed=3)
    make_image(root / "cat" / "grey.png", (30, 20), "L", seed=4)
    make_image(root / "dog" / "d1.jpg", (72, 40), seed=5)
    make_image(root / "dog" / "d2.jpg", (48, 64), seed=6)
    return root


RECIPE = """\
version: 1
copies: 3
seed: 7
pipeline:
  - hflip: {p: 0.5}
  - rotate: {angle: [-20, 20], fill: reflect, p: 0.8}
  - one_of:
      - brightness: {factor: [0.8, 1.2]}
      - contrast: {factor: [0.5, 1.5]}
"""


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return path


def snapshot(root: Path) -> dict:
    """Content hash, mtime and mode of everything below ``root`` (links not followed)."""
    state = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else None
            state[str(path.relative_to(root))] = (digest, st.st_mtime_ns, st.st_mode)
    return state


def tree_digest(root: Path, exclude=("augcli.json",)) -> dict[str, str]:
    """relpath -> sha256 of every file below ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file() and p.name not in exclude
    }


# where each command takes its source tree, so every CLI call in the suite is guarded
SOURCE_ARG = {"expand": 1, "preview": 1, "replay": 2}


def source_of(args: list[str]) -> Path | None:
    if args and args[0] in SOURCE_ARG and len(args) > SOURCE_ARG[args[0]]:
        return Path(args[SOURCE_ARG[args[0]]])
    if "--source" in args:
        return Path(args[args.index("--source") + 1])
    return None


class Cli:
    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args, src: Path | None = None, **kwargs):
        args = [str(a) for a in args]
        guarded = [p for p in {src, source_of(args)} if p is not None and p.is_dir()]
        before = {p: snapshot(p) for p in guarded}
        result = self.runner.invoke(cli, args, catch_exceptions=False, **kwargs)
        for path, state in before.items():
            assert snapshot(path) == state, f"the source tree {path} was modified by augcli {' '.join(args)}"
        return result


@pytest.fixture
def run() -> Cli:
    """``run(*args)`` invokes augcli and asserts that the source tree of the
    command (SRC of expand/preview/replay, --source of verify, or ``src=``)
    is bit-identical, with the same mtimes and modes, afterwards."""
    return Cli()


def load(path: Path) -> Image.Image:
    """Open, fully read and close an image file (no ResourceWarning)."""
    with Image.open(path) as img:
        img.load()
        loaded = img.copy()
        loaded.format = img.format
        return loaded


@pytest.fixture
def cli_run() -> Cli:
    """``run`` under a name that leaves ``run`` free in a test module."""
    return Cli()


@pytest.fixture
def example_models(tmp_path, monkeypatch):
    """Run in a folder holding the model file the onnx op's documented example
    names (models/mosaic-9.onnx), made here: a 1x1 convolution swapping red and blue."""
    from .ops.onnx_models import SWAP, mixing

    mixing(tmp_path / "models" / "mosaic-9.onnx", SWAP)
    monkeypatch.chdir(tmp_path)
