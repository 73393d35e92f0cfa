"""``augcli expand`` end to end through the CLI: layout, manifest, determinism,
resume, safety and the exit statuses a Makefile or CI job relies on."""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from augcli.apply import apply
from augcli.io import decode, encode
from augcli.sampling import AppliedOp

from .conftest import load, make_image, tree_digest


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def test_expand_writes_originals_copies_and_records(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    result = run("expand", src, out, "--recipe", recipe, "-j", "1", src=src)
    assert result.exit_code == 0, result.output
    records = manifest(out)
    assert len(records) == 6 * (1 + 3)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted([r["path"] for r in records] + ["augcli.json", "manifest.jsonl"])
    assert "cat/c1_aug01.jpg" in files and "cat/grey_aug03.png" in files
    for r in records:
        img = load(out / r["path"])
        assert (img.width, img.height) == (r["width"], r["height"])
        if r["kind"] == "original":
            assert (out / r["path"]).read_bytes() == (src / r["source"]).read_bytes()
            assert r["ops"] == [] and r["copy"] == 0
        else:
            assert 1 <= r["copy"] <= 3 and isinstance(r["seed"], int)
    grey = load(out / "cat/grey_aug01.png")
    assert grey.mode == "L"
    run_record = json.loads((out / "augcli.json").read_text())
    assert run_record["status"] == "complete"
    assert run_record["counts"] == {"sources": 6, "written": 24, "skipped": 0, "ignored": 0}
    assert run_record["seed"] == 7 and len(run_record["recipe_sha256"]) == 64
    assert "wrote 24" in result.stderr and "images/s" in result.stderr


def test_manifest_ops_replay_to_the_same_bytes(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    run("expand", src, out, "-r", recipe, "-j", "1")
    for r in manifest(out):
        if r["kind"] != "augmented":
            continue
        decoded = decode((src / r["source"]).read_bytes())
        img = apply(decoded.image, [AppliedOp.from_json(op) for op in r["ops"]])
        data, _, _ = encode(img, "JPEG" if r["path"].endswith(".jpg") else "PNG", quality=95)
        assert data == (out / r["path"]).read_bytes(), r["path"]


def test_outputs_do_not_depend_on_jobs_or_backend(run, src, recipe, tmp_path):
    digests = []
    for name, extra in [("j1", ["-j", "1"]), ("j2", ["-j", "2"]), ("threads", ["-j", "2", "--backend", "threading"])]:
        out = tmp_path / name
        assert run("expand", src, out, "-r", recipe, *extra, src=src).exit_code == 0
        digests.append(tree_digest(out))
    assert digests[0] == digests[1] == digests[2]


def test_more_copies_keep_the_first_ones(run, src, recipe, tmp_path):
    run("expand", src, tmp_path / "a", "-r", recipe, "--copies", "2", "-j", "1")
    run("expand", src, tmp_path / "b", "-r", recipe, "--copies", "4", "-j", "1")
    a, b = tree_digest(tmp_path / "a", ("augcli.json", "manifest.jsonl")), tree_digest(tmp_path / "b")
    assert all(b[path] == digest for path, digest in a.items())


def test_seed_changes_outputs(run, src, recipe, tmp_path):
    run("expand", src, tmp_path / "a", "-r", recipe, "--seed", "1", "-j", "1")
    run("expand", src, tmp_path / "b", "-r", recipe, "--seed", "2", "-j", "1")
    a, b = tree_digest(tmp_path / "a"), tree_digest(tmp_path / "b")
    assert a["cat/c1.jpg"] == b["cat/c1.jpg"]
    assert sum(a[k] != b[k] for k in a if "_aug" in k) >= 15


@pytest.mark.parametrize("where", ["inside", "same", "parent"])
def test_out_overlapping_src_is_refused(run, src, recipe, where):
    out = {"inside": src / "cat" / "out", "same": src, "parent": src.parent}[where]
    result = run("expand", src, out, "-r", recipe, src=src)
    assert result.exit_code == 2
    assert result.stderr.startswith("augcli: error: ") and "SRC" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_non_empty_out_needs_resume_or_overwrite(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run("expand", src, out, "-r", recipe)
    assert result.exit_code == 2 and "is not empty" in result.stderr
    result = run("expand", src, out, "-r", recipe, "--overwrite")
    assert result.exit_code == 2 and "has no augcli.json" in result.stderr
    assert (out / "notes.txt").read_text() == "mine"
    result = run("expand", src, out, "-r", recipe, "--overwrite", "--resume")
    assert result.exit_code == 2 and "exclude each other" in result.stderr


def test_resume_of_a_complete_run_is_an_up_to_date_no_op(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    run("expand", src, out, "-r", recipe, "-j", "1")
    before = tree_digest(out, ())
    result = run("expand", src, out, "-r", recipe, "--resume", src=src)
    assert result.exit_code == 0 and "up to date" in result.stderr
    assert tree_digest(out, ()) == before
    # another seed or copies is a recipe edit that --resume follows (tests/test_resume_recipe.py)
    result = run("expand", src, out, "-r", recipe, "--resume", "--seed", "99", "--dry-run")
    assert result.exit_code == 0 and "recipe seed 7 -> 99; would be redone 18, removed 0, new 0" in result.stdout
    result = run("expand", src, out, "-r", recipe, "--resume", "--copies", "5", "--dry-run")
    assert result.exit_code == 0 and "recipe copies 3 -> 5; would be redone 0, removed 0, new 12" in result.stdout
    assert tree_digest(out, ()) == before


def test_an_up_to_date_run_reports_the_skips_on_record_and_strict_fails_on_them(run, src, recipe, tmp_path):
    """The README's Makefile pattern: the second `--resume --strict` must fail too."""
    (src / "cat" / "bad.jpg").write_bytes(b"\xff\xd8\xff not really a jpeg")
    out = tmp_path / "out"
    first = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--strict")
    assert first.exit_code == 1
    again = run("expand", src, out, "-r", recipe, "-j", "1", "--resume", "--strict")
    assert again.exit_code == 1
    assert "up to date" in again.stderr and "1 skipped" in again.stderr
    assert f"see {out}/skipped.jsonl" in again.stderr
    assert run("expand", src, out, "-r", recipe, "--resume").exit_code == 0


def test_overwrite_replaces_an_earlier_output(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    run("expand", src, out, "-r", recipe, "-j", "1", "--copies", "5")
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--overwrite", src=src)
    assert result.exit_code == 0
    assert not (out / "cat" / "c1_aug05.jpg").exists()
    assert len(manifest(out)) == 24


def test_dry_run_prints_the_plan_and_writes_nothing(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "--dry-run", src=src)
    assert result.exit_code == 0
    assert not out.exists()
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["class", "before", "after"]
    assert lines[1].split() == ["cat", "4", "16"] and lines[2].split() == ["dog", "2", "8"]
    assert "would read 6 images and write 24 to" in result.stdout


def test_unusable_files_are_skipped_and_recorded(run, src, recipe, tmp_path):
    good = (src / "cat" / "c1.jpg").read_bytes()
    (src / "cat" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (src / "cat" / "notes.jpg").write_text("not an image")
    (src / "cat" / "empty.png").write_bytes(b"")
    (src / "cat" / ".DS_Store").write_bytes(b"\0\0")
    (src / "dog" / "labels.txt").write_text("dog")
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "-j", "2", src=src)
    assert result.exit_code == 0, result.output
    skipped = {r["source"]: r["reason"] for r in map(json.loads, (out / "skipped.jsonl").read_text().splitlines())}
    assert set(skipped) == {"cat/truncated.jpg", "cat/notes.jpg", "cat/empty.png"}
    assert skipped["cat/empty.png"] == "empty file"
    assert "truncated" in skipped["cat/truncated.jpg"]
    assert "skipped 3, ignored 2" in result.stderr
    assert not any("truncated" in r["path"] for r in manifest(out))
    strict = run("expand", src, tmp_path / "strict", "-r", recipe, "--strict", "-q")
    assert strict.exit_code == 1 and "3 source file(s) skipped (--strict)" in strict.stderr
    assert len(manifest(tmp_path / "strict")) == 24


def test_dry_run_and_run_name_the_files_they_skip_or_ignore_and_their_counts_add_up(run, src, recipe, tmp_path):
    good = (src / "cat" / "c1.jpg").read_bytes()
    (src / "cat" / "truncated.jpg").write_bytes(good[: len(good) // 2])
    (src / "cat" / "notes.jpg").write_text("not an image")
    (src / "cat" / "empty.png").write_bytes(b"")
    (src / "cat" / ".DS_Store").write_bytes(b"\0\0")
    (src / "dog" / "labels.txt").write_text("dog")
    image_files = 6 + 3  # by extension: six good images, three bad ones
    out = tmp_path / "out"
    dry = run("expand", src, out, "-r", recipe, "--dry-run", src=src)
    assert dry.exit_code == 0 and not out.exists()
    assert "skipped cat/empty.png: empty file" in dry.stdout and "skipped cat/notes.jpg: not an image" in dry.stdout
    assert "ignored 2 files: cat/.DS_Store, dog/labels.txt" in dry.stdout
    found = re.search(r"would read (\d+) images and write (\d+) to .*; (\d+) unusable and (\d+) ignored", dry.stdout)
    read, write, unusable, ignored = map(int, found.groups())
    assert (read + unusable, ignored) == (image_files, 2) and "0.0 s" not in dry.stdout
    real = run("expand", src, out, "-r", recipe, "-j", "1", src=src)
    assert real.exit_code == 0
    assert "augcli: skipped cat/truncated.jpg: " in real.stderr and "augcli: skipped cat/empty.png" in real.stderr
    assert "augcli: ignored 2 files: cat/.DS_Store, dog/labels.txt" in real.stderr
    counts = re.search(r"read (\d+) images, wrote (\d+), skipped (\d+), ignored (\d+)", real.stderr)
    r_read, r_wrote, r_skipped, r_ignored = map(int, counts.groups())
    assert r_read + r_skipped == image_files and r_ignored == ignored
    assert r_wrote == write - 4  # the dry run cannot know the truncated file fails to decode: its 4 outputs
    assert f"skipped files and why: {out}/skipped.jsonl" in real.stderr


def test_only_the_first_few_skipped_files_are_named_unless_verbose(run, src, recipe, tmp_path):
    for i in range(8):
        (src / "dog" / f"bad{i}.png").write_bytes(b"")
        (src / "dog" / f"note{i}.txt").write_text("x")
    brief = run("expand", src, tmp_path / "a", "-r", recipe, "-j", "1")
    assert brief.stderr.count("augcli: skipped dog/bad") == 5
    assert f"augcli: ... and 3 more skipped (-v names them all; every one is in {tmp_path / 'a'}/skipped.jsonl)" \
        in brief.stderr
    assert "augcli: ignored 8 files: dog/note0.txt, dog/note1.txt, dog/note2.txt, dog/note3.txt, dog/note4.txt " \
           "and 3 more (-v names them all)" in brief.stderr
    verbose = run("expand", src, tmp_path / "b", "-r", recipe, "-j", "1", "-v")
    assert verbose.stderr.count("augcli: skipped dog/bad") == 8 and "dog/note7.txt" in verbose.stderr


def test_dry_run_on_a_finished_out_says_what_the_run_would_do(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    run("expand", src, out, "-r", recipe, "-j", "1")
    before = tree_digest(out, ())
    refused = run("expand", src, out, "-r", recipe, "--dry-run")
    assert refused.exit_code == 2 and "is not empty" in refused.stderr
    resume = run("expand", src, out, "-r", recipe, "--dry-run", "--resume")
    assert resume.exit_code == 0 and "would read 6 images and write 0 to" in resume.stdout
    assert "(24 already done)" in resume.stdout
    overwrite = run("expand", src, out, "-r", recipe, "--dry-run", "--overwrite")
    assert overwrite.exit_code == 0 and "write 24 to" in overwrite.stdout
    assert tree_digest(out, ()) == before


def test_split_layout_augments_train_and_copies_the_rest(run, tmp_path, recipe):
    root = tmp_path / "data"
    make_image(root / "train" / "cat" / "a.jpg", seed=1)
    make_image(root / "train" / "dog" / "b.jpg", seed=2)
    make_image(root / "val" / "cat" / "c.jpg", seed=3)
    make_image(root / "test" / "dog" / "d.png", seed=4)
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1", src=root).exit_code == 0
    records = {r["path"]: r for r in manifest(out)}
    assert set(records) == {
        "train/cat/a.jpg", "train/cat/a_aug01.jpg", "train/cat/a_aug02.jpg", "train/cat/a_aug03.jpg",
        "train/dog/b.jpg", "train/dog/b_aug01.jpg", "train/dog/b_aug02.jpg", "train/dog/b_aug03.jpg",
        "val/cat/c.jpg", "test/dog/d.png",
    }
    assert records["val/cat/c.jpg"]["kind"] == "copied" and records["val/cat/c.jpg"]["split"] == "val"
    assert (out / "test/dog/d.png").read_bytes() == (root / "test/dog/d.png").read_bytes()
    both = tmp_path / "both"
    run("expand", root, both, "-r", recipe, "-j", "1", "--augment-splits", "train,val")
    assert (both / "val/cat/c_aug01.jpg").exists() and not (both / "test/dog/d_aug01.png").exists()


def test_a_split_name_that_src_lacks_is_a_usage_error(run, tmp_path, recipe):
    root = tmp_path / "data"
    make_image(root / "train" / "cat" / "a.jpg", seed=1)
    make_image(root / "val" / "cat" / "c.jpg", seed=3)
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "--augment-splits", "trian", src=root)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == ("augcli: error: --augment-splits: no split 'trian' in SRC; its splits are: train, val "
                             "(did you mean 'train'?)\n")
    flat = tmp_path / "flat"
    make_image(flat / "cat" / "a.jpg")
    result = run("expand", flat, out, "-r", recipe, "--augment-splits", "val", src=flat)
    assert result.exit_code == 2 and not out.exists()
    assert "SRC has no split folders" in result.stderr
    only_val = tmp_path / "only_val"
    make_image(only_val / "val" / "cat" / "a.jpg")
    result = run("expand", only_val, out, "-r", recipe, src=only_val)
    assert result.exit_code == 2 and "no split 'train' in SRC; its splits are: val; name the splits" in result.stderr
    assert run("expand", flat, out, "-r", recipe, "-j", "1").exit_code == 0  # the default on a flat tree


def test_variants_are_named_outputs(run, src, tmp_path):
    recipe = tmp_path / "v.yaml"
    recipe.write_text("version: 1\ninclude_originals: false\nvariants:\n  hflip: [hflip]\n  r180: [{rot90: {k: 2}}]\n")
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    src_arr = np.asarray(load(src / "cat/grey.png"))
    assert np.array_equal(np.asarray(load(out / "cat/grey_hflip.png")), src_arr[:, ::-1])
    assert np.array_equal(np.asarray(load(out / "cat/grey_r180.png")), np.rot90(src_arr, 2))
    assert not (out / "cat/grey.png").exists()
    records = {r["path"]: r for r in manifest(out)}
    assert records["cat/grey_r180.png"]["variant"] == "r180" and records["cat/grey_r180.png"]["copy"] == 2


def test_colliding_output_names_are_resolved_not_overwritten(run, tmp_path):
    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg", seed=1)
    make_image(root / "cat" / "a.png", seed=2)
    make_image(root / "cat" / "b.jpg", fmt="PNG", seed=3)  # PNG content behind a .jpg name
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 1\noutput: {format: png}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    paths = sorted(r["path"] for r in manifest(out))
    assert paths == ["cat/a.png", "cat/a_aug01.png", "cat/a_png.png", "cat/a_png_aug01.png",
                     "cat/b.png", "cat/b_aug01.png"]
    assert load(out / "cat/b.png").format == "PNG"


def test_content_not_extension_decides_the_format(run, tmp_path, recipe):
    root = tmp_path / "src"
    make_image(root / "cat" / "b.jpg", fmt="PNG", seed=3)
    out = tmp_path / "out"
    run("expand", root, out, "-r", recipe, "-j", "1")
    assert load(out / "cat/b_aug01.png").format == "PNG"
    assert (out / "cat/b.png").read_bytes() == (root / "cat/b.jpg").read_bytes()


def test_exif_orientation_is_applied(run, tmp_path, recipe):
    root = tmp_path / "src"
    img = Image.new("RGB", (60, 30), "red")
    img.paste((0, 0, 255), (0, 0, 30, 30))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display needs a 90 deg clockwise turn
    (root / "cat").mkdir(parents=True)
    img.save(root / "cat" / "o.jpg", exif=exif, quality=95)
    out = tmp_path / "out"
    run("expand", root, out, "-r", recipe, "-j", "1")
    upright = load(out / "cat/o.jpg")
    assert upright.size == (30, 60)
    assert upright.getpixel((15, 5))[2] > 200  # blue is now on top
    assert (out / "cat/o.jpg").read_bytes() != (root / "cat/o.jpg").read_bytes()


@pytest.mark.parametrize("mode,fmt,ext,expect", [
    ("RGBA", "PNG", "png", "RGBA"),
    ("LA", "PNG", "png", "LA"),
    ("I;16", "PNG", "png", "I;16"),
    ("CMYK", "JPEG", "jpg", "RGB"),
    ("P", "PNG", "png", "RGB"),
    ("1", "PNG", "png", "L"),
])
def test_pixel_modes_are_kept_or_sensibly_expanded(run, tmp_path, recipe, mode, fmt, ext, expect):
    root = tmp_path / "src"
    path = root / "cat" / f"x.{ext}"
    if mode in ("CMYK", "P", "1"):
        path.parent.mkdir(parents=True)
        load(make_image(tmp_path / "base.png")).convert(mode).save(path, fmt)
    else:
        make_image(path, mode=mode, fmt=fmt)
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    written = load(out / f"cat/x_aug01.{ext}")
    assert (written.mode if written.mode != "I;16" else "I;16") == expect


def test_16_bit_png_stays_16_bit(run, tmp_path, recipe):
    root = tmp_path / "src"
    make_image(root / "cat" / "deep.png", mode="I;16")
    out = tmp_path / "out"
    run("expand", root, out, "-r", recipe, "-j", "1")
    arr = np.asarray(load(out / "cat/deep_aug02.png"))
    assert arr.dtype == np.uint16 and arr.max() > 255


def test_rgba_to_jpeg_is_composited_with_a_note(run, tmp_path):
    root = tmp_path / "src"
    make_image(root / "cat" / "a.png", mode="RGBA")
    recipe = tmp_path / "r.yaml"
    recipe.write_text("version: 1\ncopies: 1\noutput: {format: jpeg}\npipeline: [hflip]\n")
    out = tmp_path / "out"
    assert run("expand", root, out, "-r", recipe, "-j", "1").exit_code == 0
    record = next(r for r in manifest(out) if r["kind"] == "augmented")
    assert record["path"] == "cat/a_aug01.jpg" and "alpha composited" in record["note"]
    assert load(out / "cat/a_aug01.jpg").mode == "RGB"


@pytest.mark.parametrize("background,expected", [(None, 255), (0, 0), (128, 128)])
def test_transparent_pixels_written_as_jpeg_show_the_background(run, tmp_path, background, expected):
    root = tmp_path / "src"
    (root / "cat").mkdir(parents=True)
    clear = np.zeros((20, 30, 4), np.uint8)
    clear[:, 15:] = (200, 40, 40, 255)  # right half opaque red, left half fully transparent
    Image.fromarray(clear).save(root / "cat" / "a.png")
    recipe = tmp_path / "r.yaml"
    output = "{format: jpeg}" if background is None else f"{{format: jpeg, background: {background}}}"
    recipe.write_text(f"copies: 1\noutput: {output}\npipeline: [{{rotate: {{angle: 0, cval: 77}}}}]\n")
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 0
    for name in ("a.jpg", "a_aug01.jpg"):
        left = np.asarray(load(out / "cat" / name))[:, :12].astype(int)
        assert np.abs(left - expected).max() <= 2, name  # the background, not black, not the op's cval
    assert (f"augcli: note: 2 images: alpha composited on background {expected} (output.background) for JPEG"
            in result.stderr)


def test_empty_class_warns_and_no_classes_fails(run, src, recipe, tmp_path):
    (src / "bird").mkdir()
    result = run("expand", src, tmp_path / "out", "-r", recipe, "-j", "1")
    assert result.exit_code == 0
    assert "class folder bird has no images" in result.stderr
    assert not (tmp_path / "out" / "bird").exists()
    flat = tmp_path / "flat"
    make_image(flat / "a.jpg")
    result = run("expand", flat, tmp_path / "out2", "-r", recipe)
    assert result.exit_code == 1 and "no class folders found" in result.stderr


def _spawn_expand(src: Path, out: Path, recipe: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "augcli", "expand", str(src), str(out), "-r", str(recipe),
                             "-j", "1", "-q", *extra], stderr=subprocess.DEVNULL)


def test_killed_run_resumes_to_the_same_tree(tmp_path, recipe):
    root = tmp_path / "src"
    for i in range(24):
        make_image(root / ("cat" if i % 2 else "dog") / f"{i:02d}.jpg", (320, 240), seed=i)
    reference = tmp_path / "reference"
    subprocess.run([sys.executable, "-m", "augcli", "expand", str(root), str(reference), "-r", str(recipe),
                    "-j", "1", "-q"], check=True)
    out = tmp_path / "out"
    proc = _spawn_expand(root, out, recipe)
    deadline = time.time() + 30
    while time.time() < deadline:
        lines = (out / "manifest.jsonl").read_bytes().count(b"\n") if (out / "manifest.jsonl").exists() else 0
        if lines >= 20:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial = (out / "manifest.jsonl").read_bytes().count(b"\n")
    assert 0 < partial < 96, "the kill should land mid-run"
    for path in out.rglob("*.jpg"):
        load(path)  # every image present decodes
    result = subprocess.run([sys.executable, "-m", "augcli", "expand", str(root), str(out), "-r", str(recipe),
                             "-j", "2", "--resume"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"({partial} already done)" in result.stderr
    assert tree_digest(out) == tree_digest(reference)
    assert not [p for p in out.rglob(".*") if "augcli-tmp" in p.name]


def test_oversize_images_are_skipped_as_bombs(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "-j", "1", "--max-pixels", "2000")
    assert result.exit_code == 0
    reasons = [json.loads(line)["reason"] for line in (out / "skipped.jsonl").read_text().splitlines()]
    assert len(reasons) == 5  # every source but the 30x20 grey PNG
    assert all("over the limit of 2,000 (--max-pixels)" in r for r in reasons)


def test_symlinks_inside_src_are_followed_outside_are_skipped(run, src, recipe, tmp_path):
    make_image(tmp_path / "elsewhere.jpg")
    os.symlink(src / "cat" / "c1.jpg", src / "dog" / "alias.jpg")
    os.symlink(tmp_path / "elsewhere.jpg", src / "dog" / "outside.jpg")
    os.symlink(src / "cat" / "missing.jpg", src / "dog" / "broken.jpg")
    os.symlink(src / "dog", src / "dog" / "loop")
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1", src=src).exit_code == 0
    records = {r["path"]: r for r in manifest(out)}
    assert records["dog/alias.jpg"]["label"] == "dog"
    skipped = {r["source"]: r["reason"] for r in map(json.loads, (out / "skipped.jsonl").read_text().splitlines())}
    assert "outside SRC" in skipped["dog/outside.jpg"] and "broken" in skipped["dog/broken.jpg"]
    assert "loop" in skipped["dog/loop"]


def test_dask_backend_without_dask_is_a_usage_error_before_out_is_touched(run, src, recipe, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.distributed", None)  # as if the extra were not installed
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "--backend", "dask")
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == ("augcli: error: --backend dask needs Dask: pip install -e '.[dask]' in the augcli "
                             "checkout (or the wheel with [dask])\n")
