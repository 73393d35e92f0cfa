"""A catalogue of real-world and hostile inputs, synthesised in tmp_path: each
is processed correctly or skipped with a one-line reason, never a crash."""
from __future__ import annotations

import builtins
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import load, make_image

RECIPE = "version: 1\ncopies: 2\nseed: 1\npipeline:\n  - rotate: {angle: [-10, 10], fill: reflect}\n  - hflip: {p: 0.5}\n"


@pytest.fixture
def recipe(tmp_path: Path) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(RECIPE)
    return path


def expand(run, root: Path, out: Path, recipe: Path, *extra):
    result = run("expand", root, out, "-r", recipe, "-j", "1", *extra)
    assert result.exit_code == 0, result.output
    records = {r["path"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    skipped = {}
    if (out / "skipped.jsonl").exists():
        skipped = {r["source"]: r["reason"] for r in map(json.loads, (out / "skipped.jsonl").read_text().splitlines())}
    return result, records, skipped


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + \
        chunk(b"IEND", b"")


def test_bombs_are_skipped_by_the_default_guard(run, tmp_path, recipe):
    root = tmp_path / "src"
    make_image(root / "cat" / "fine.jpg")
    (root / "cat" / "bomb.png").write_bytes(png_declaring(30000, 30000))
    _, records, skipped = expand(run, root, tmp_path / "out", recipe)
    assert "over the limit of 89,478,485" in skipped["cat/bomb.png"]
    assert "cat/fine.jpg" in records


@pytest.mark.parametrize("kind", ["png16", "tiff16"])
def test_16_bit_grey_png_and_tiff_stay_16_bit(run, tmp_path, recipe, kind):
    root = tmp_path / "src"
    name = "deep.png" if kind == "png16" else "deep.tif"
    make_image(root / "cat" / name, mode="I;16")
    _, records, _ = expand(run, root, tmp_path / "out", recipe)
    path = next(p for p in records if "_aug01" in p)
    arr = np.asarray(load(tmp_path / "out" / path))
    assert arr.dtype == np.uint16 and arr.max() > 255


@pytest.mark.parametrize("low,high", [(0, 40_000), (-500, 90_000)])
def test_32_bit_integer_tiff_written_as_png_is_16_bit_never_skipped(run, tmp_path, low, high):
    root = tmp_path / "src"
    (root / "cat").mkdir(parents=True)
    values = np.linspace(low, high, 20 * 30).round().astype(np.int32).reshape(20, 30)
    Image.fromarray(values).save(root / "cat" / "deep.tif")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("copies: 1\noutput: {format: png}\npipeline: [hflip]\n")
    result, records, skipped = expand(run, root, tmp_path / "out", recipe)
    assert not skipped and set(records) == {"cat/deep.png", "cat/deep_aug01.png"}
    clipped = np.clip(values, 0, 65535)
    original, flipped = load(tmp_path / "out/cat/deep.png"), load(tmp_path / "out/cat/deep_aug01.png")
    assert original.mode == flipped.mode == "I;16"
    assert np.array_equal(np.asarray(original), clipped)
    assert np.array_equal(np.asarray(flipped), clipped[:, ::-1])
    notes = {r.get("note") for r in records.values()}
    if high <= 65535:
        assert notes == {None} and "note" not in result.stderr
    else:
        note = "32-bit values -500..90000 clipped to 0..65535 for 16-bit PNG"
        assert notes == {note} and f"augcli: note: 2 images: {note}" in result.stderr


def test_palette_with_transparency_becomes_rgba(run, tmp_path, recipe):
    root = tmp_path / "src"
    (root / "cat").mkdir(parents=True)
    img = Image.new("P", (32, 24), 1)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0, 0, 255] * 254)
    img.paste(0, (0, 0, 16, 24))
    img.save(root / "cat" / "pal.png", transparency=0)
    _, records, _ = expand(run, root, tmp_path / "out", recipe)
    out = load(tmp_path / "out" / "cat/pal_aug01.png")
    assert out.mode == "RGBA" and out.getchannel("A").getextrema() == (0, 255)


@pytest.mark.parametrize("fmt,ext", [("GIF", "gif"), ("TIFF", "tif")])
def test_first_frame_of_animations_and_multipage_files(run, tmp_path, recipe, fmt, ext):
    root = tmp_path / "src"
    (root / "cat").mkdir(parents=True)
    frames = [Image.new("RGB", (30, 20), colour) for colour in ("red", "blue", "green")]
    frames[0].save(root / "cat" / f"anim.{ext}", fmt, save_all=True, append_images=frames[1:])
    _, records, _ = expand(run, root, tmp_path / "out", recipe, "--max-pixels", "0")
    written = {p: r for p, r in records.items() if r["kind"] == "augmented"}
    assert written
    for path in written:
        pixel = load(tmp_path / "out" / path).convert("RGB").getpixel((15, 10))
        assert pixel[0] > 200 and pixel[2] < 60, "not the first (red) frame"
    if fmt == "GIF":
        assert all(p.endswith(".png") for p in written)  # GIF would quantise: written as PNG


@pytest.mark.parametrize("fmt,ext", [("WEBP", "webp"), ("BMP", "bmp")])
def test_webp_and_bmp(run, tmp_path, recipe, fmt, ext):
    root = tmp_path / "src"
    make_image(root / "cat" / f"x.{ext}", fmt=fmt)
    _, records, _ = expand(run, root, tmp_path / "out", recipe)
    assert load(tmp_path / "out" / f"cat/x_aug01.{ext}").format == fmt


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_comes_out_upright(run, tmp_path, recipe, orientation):
    # an upright picture: red top-left quadrant on blue; store it so that applying
    # the orientation tag gives it back
    upright = Image.new("RGB", (40, 20), "blue")
    upright.paste((255, 0, 0), (0, 0, 20, 10))
    undo = {1: None, 2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180,
            4: Image.Transpose.FLIP_TOP_BOTTOM, 5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90,
            7: Image.Transpose.TRANSVERSE, 8: Image.Transpose.ROTATE_270}[orientation]
    stored = upright if undo is None else upright.transpose(undo)
    root = tmp_path / "src"
    (root / "cat").mkdir(parents=True)
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(root / "cat" / "o.png", exif=exif)
    expand(run, root, tmp_path / "out", recipe)
    original = load(tmp_path / "out" / "cat/o.png").convert("RGB")
    assert original.size == (40, 20)
    assert original.getpixel((5, 3))[0] > 200 and original.getpixel((35, 15))[2] > 200


def test_unreadable_file_is_skipped(run, tmp_path, recipe, monkeypatch):
    root = tmp_path / "src"
    make_image(root / "cat" / "ok.jpg")
    locked = make_image(root / "cat" / "locked.jpg")
    real_open = builtins.open

    def guarded_open(file, *args, **kwargs):  # root ignores chmod, so deny the read here
        if str(file) == str(locked) or str(file).endswith("cat/locked.jpg"):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    _, records, skipped = expand(run, root, tmp_path / "out", recipe)
    assert skipped == {"cat/locked.jpg": "cannot read: Permission denied"}
    assert "cat/ok.jpg" in records


def test_awkward_names_nested_folders_and_litter(run, tmp_path, recipe):
    root = tmp_path / "src"
    names = ["über café.jpg", "a b;rm -rf $HOME.jpg", "quote'\"`.png", "-leading-dash.jpg", "日本.jpg"]
    for i, name in enumerate(names):
        make_image(root / "cat" / name, fmt="PNG" if name.endswith(".png") else "JPEG", seed=i)
    make_image(root / "cat" / "deep" / "er" / "nested.jpg")
    for litter in (".DS_Store", "Thumbs.db", "desktop.ini", "._x.jpg", "notes.txt"):
        (root / "cat" / litter).write_bytes(b"junk")
    (root / ".hidden").mkdir()
    (root / "__MACOSX").mkdir()
    result, records, skipped = expand(run, root, tmp_path / "out", recipe)
    assert skipped == {}
    assert "ignored 7" in result.stderr  # five files plus the .hidden and __MACOSX folders
    for name in names:
        stem = name.rsplit(".", 1)[0]
        assert f"cat/{name}" in records and any(p.startswith(f"cat/{stem}_aug01") for p in records)
    assert records["cat/deep/er/nested_aug02.jpg"]["label"] == "cat"
    assert not (tmp_path / "out" / ".hidden").exists()


def test_paths_given_relative_with_slashes_or_as_symlinks_behave_the_same(run, tmp_path, recipe, monkeypatch):
    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg")
    make_image(root / "dog" / "b.png", fmt="PNG")
    (tmp_path / "link").symlink_to(root)
    monkeypatch.chdir(tmp_path)
    digests = []
    for i, (src, out) in enumerate([("src", "o1"), ("src/", "o2/"), ("link", "o3"), (str(root), str(tmp_path / "o4"))]):
        expand(run, Path(src), Path(out), recipe)
        digests.append(sorted((p.relative_to(tmp_path / f"o{i + 1}").as_posix(), p.read_bytes())
                              for p in (tmp_path / f"o{i + 1}").rglob("*") if p.is_file() and p.suffix != ".json"))
    assert digests[0] == digests[1] == digests[2] == digests[3]
    refused = run("expand", "link", "link/cat/out", "-r", recipe)
    assert refused.exit_code == 2 and "inside SRC" in refused.stderr


def test_out_on_another_filesystem(run, tmp_path, recipe):
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.skip("no /dev/shm here")
    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg")
    import tempfile

    with tempfile.TemporaryDirectory(dir=shm) as other:
        _, records, _ = expand(run, root, Path(other) / "out", recipe)
        assert len(records) == 3
