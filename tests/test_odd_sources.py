"""Nothing about one source stops the run: degenerate image sizes for every
registered op, a failure while drawing parameters, and whatever SRC holds
(odd names, odd kinds of file). Each source is processed, skipped with a
reason, or ignored; the rest of the run goes on."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import augcli.render
from augcli.ops import REGISTRY
from .conftest import load, make_image


def read_out(out: Path) -> tuple[dict, dict]:
    """(path -> manifest record, source -> skip reason) of an output tree."""
    def lines(name):
        path = out / name
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    return {r["path"]: r for r in lines("manifest.jsonl")}, {r["source"]: r["reason"] for r in lines("skipped.jsonl")}


def firing(example: str) -> list:
    """An op's documented example as a pipeline, with p forced to 1 so it fires."""
    (step,) = yaml.safe_load(example)
    (name, params), = (step.items() if isinstance(step, dict) else [(step, {})])
    return [{name: {**(params or {}), "p": 1}}]


DEGENERATE = {"one.png": (1, 1), "column.png": (1, 9), "row.png": (9, 1)}


@pytest.mark.parametrize("op", sorted(REGISTRY))
def test_every_op_works_or_skips_on_one_pixel_sides(run, tmp_path, op, example_models):
    root = tmp_path / "src"
    for name, size in DEGENERATE.items():
        make_image(root / "cat" / name, size, seed=len(name))
    make_image(root / "cat" / "normal.png", (12, 10))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({"version": 1, "copies": 3, "seed": 3, "pipeline": firing(REGISTRY[op].example)}))
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    assert "internal error" not in result.output
    records, skipped = read_out(out)
    for name in [*DEGENERATE, "normal.png"]:
        source = f"cat/{name}"
        written = [r for r in records.values() if r["source"] == source]
        if source in skipped:
            assert skipped[source].strip(), source
        else:
            assert sorted(r["copy"] for r in written) == [0, 1, 2, 3], source
        for record in written:
            image = load(out / record["path"])
            assert image.size == (record["width"], record["height"]) and min(image.size) >= 1
    assert "cat/normal.png" not in skipped
    # what expand records, replay accepts (every op, as recorded) and reproduces byte for byte
    again = tmp_path / "again"
    replayed = run("replay", out / "manifest.jsonl", root, again)
    assert replayed.exit_code == 0, replayed.output
    for path, record in records.items():
        assert hashlib.sha256((again / path).read_bytes()).hexdigest() == record["sha256"], path


def test_perspective_on_a_one_pixel_side_is_the_identity(run, tmp_path):
    root = tmp_path / "src"
    make_image(root / "cat" / "column.png", (1, 9))
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("version: 1\ncopies: 2\npipeline:\n  - perspective: {magnitude: 0.5}\n")
    result = run("expand", root, tmp_path / "out", "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    source = np.asarray(load(root / "cat" / "column.png"))
    for copy in (1, 2):
        # a line has no perspective to skew: every pixel stays where it is
        assert np.array_equal(np.asarray(load(tmp_path / "out" / "cat" / f"column_aug0{copy}.png")), source)


def test_a_failure_while_drawing_skips_that_source_only(run, src, recipe, tmp_path, monkeypatch):
    real = augcli.render.sample

    def sample(steps, rng, size):
        if size == (40, 56):  # cat/c2.jpg
            raise RuntimeError("drawing failed for this image")
        return real(steps, rng, size)

    monkeypatch.setattr(augcli.render, "sample", sample)  # the draw expand and preview share
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    records, skipped = read_out(out)
    assert "drawing failed for this image" in skipped["cat/c2.jpg"]
    assert not any(r["source"] == "cat/c2.jpg" and r["kind"] == "augmented" for r in records.values())
    assert {r["source"] for r in records.values()} == {"cat/c1.jpg", "cat/c2.jpg", "cat/c3.jpg", "cat/grey.png",
                                                       "dog/d1.jpg", "dog/d2.jpg"}
    assert len([r for r in records.values() if r["source"] != "cat/c2.jpg"]) == 5 * 4


def test_preview_shows_a_failed_draw_instead_of_stopping(run, src, recipe, tmp_path, monkeypatch):
    def sample(steps, rng, size):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(augcli.render, "sample", sample)
    result = run("preview", src, "-r", recipe, "--out", tmp_path / "sheet.png", "-n", "2", "-k", "2")
    assert result.exit_code == 0, result.output
    assert load(tmp_path / "sheet.png").size[0] > 0


# -- whatever SRC holds ----------------------------------------------------------------

FLIPS = "version: 1\ncopies: 2\nseed: 1\npipeline:\n  - hflip\n"


@pytest.fixture
def flips(tmp_path: Path) -> Path:
    path = tmp_path / "flips.yaml"
    path.write_text(FLIPS)
    return path


def expand_ok(run, root: Path, out: Path, recipe: Path, *extra) -> tuple[dict, dict]:
    result = run("expand", root, out, "-r", recipe, "-j", "1", *extra)
    assert result.exit_code == 0, result.output
    assert run("verify", out).exit_code == 0
    return read_out(out)


def test_an_output_name_never_collides_with_a_folder(run, tmp_path, flips):
    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg", seed=1)
    make_image(root / "cat" / "a_aug01.jpg" / "b.jpg", seed=2)  # a folder named like a.jpg's first copy
    make_image(root / "cat" / "B_AUG02.JPG" / "c.jpg", seed=3)  # ... and like b's, in another case
    make_image(root / "cat" / "b.jpg", seed=4)
    out = tmp_path / "out"
    records, skipped = expand_ok(run, root, out, flips)
    assert skipped == {}
    assert {r["source"] for r in records.values()} == {"cat/a.jpg", "cat/a_aug01.jpg/b.jpg", "cat/B_AUG02.JPG/c.jpg",
                                                       "cat/b.jpg"}
    assert len(records) == 4 * 3
    for path, record in records.items():
        assert (out / path).is_file()
        folders = {p.casefold() for r in records for p in map(str, Path(r).parents)}
        assert path.casefold() not in folders, f"{path} is also a folder"


@pytest.mark.parametrize("name", ["manifest.jsonl", "augcli.json", "skipped.jsonl", "Manifest.JSONL"])
def test_a_class_folder_named_like_augcli_s_own_files_is_skipped(run, tmp_path, flips, name):
    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg")
    make_image(root / name / "x.jpg")
    make_image(root / "cat" / "bad.jpg").write_bytes(b"not an image")  # so skipped.jsonl is written too
    out = tmp_path / "out"
    records, skipped = expand_ok(run, root, out, flips)
    assert "reserved" in skipped[name] and name.casefold() in skipped[name].casefold()
    assert {r["source"] for r in records.values()} == {"cat/a.jpg"}
    assert (out / "manifest.jsonl").is_file() and (out / "augcli.json").is_file()
    assert json.loads((out / "augcli.json").read_text())["status"] == "complete"


def test_fifos_sockets_and_devices_named_like_images_are_skipped_without_blocking(tmp_path, flips):
    import os
    import socket
    import stat
    import subprocess
    import sys

    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg")
    os.mkfifo(root / "cat" / "fifo.jpg")  # opening it for reading would wait for a writer forever
    os.mkfifo(root / "cat" / "fifo.txt")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(root / "cat" / "socket.png"))
        expected = {"cat/fifo.jpg": "FIFO", "cat/socket.png": "socket"}
        try:  # /dev/zero's device number: it would be read forever
            os.mknod(root / "cat" / "zero.jpg", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
            expected["cat/zero.jpg"] = "character device"
        except OSError:
            pass
        out = tmp_path / "out"
        result = subprocess.run([sys.executable, "-m", "augcli", "expand", str(root), str(out), "-r", str(flips),
                                 "-j", "1"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    records, skipped = read_out(out)
    assert set(skipped) == set(expected)
    for source, kind in expected.items():
        assert skipped[source] == f"not a regular file (a {kind})"
    assert {r["source"] for r in records.values()} == {"cat/a.jpg"}


def test_an_unlistable_folder_is_skipped_with_a_reason(run, tmp_path, flips, monkeypatch):
    import os

    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg")
    make_image(root / "cat" / "locked" / "b.jpg")
    make_image(root / "dog" / "c.jpg")
    real = os.listdir

    def listdir(path):  # root ignores chmod, so deny the listing here
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(os, "listdir", listdir)
    records, skipped = expand_ok(run, root, tmp_path / "out", flips)
    assert skipped == {"cat/locked": "cannot list folder: Permission denied"}
    assert {r["source"] for r in records.values()} == {"cat/a.jpg", "dog/c.jpg"}


def test_names_with_newlines_and_control_characters_work(run, tmp_path, flips):
    root = tmp_path / "src"
    make_image(root / "new\nclass" / "line\nbreak.jpg", seed=1)
    make_image(root / "cat" / "tab\there\r.png", fmt="PNG", seed=2)
    out = tmp_path / "out"
    records, skipped = expand_ok(run, root, out, flips)
    assert skipped == {}
    assert records["new\nclass/line\nbreak_aug02.jpg"]["label"] == "new\nclass"
    assert "cat/tab\there\r_aug01.png" in records
    table = run("manifest", out)
    assert table.exit_code == 0 and table.output.count("\n") > 6  # quoted by the csv module


def test_names_that_are_not_utf8_are_skipped_with_a_reason(run, tmp_path, flips):
    import os

    root = tmp_path / "src"
    make_image(root / "cat" / "a.jpg")
    bad_file = os.path.join(os.fsencode(root / "cat"), b"caf\xe9.jpg")
    bad_class = os.path.join(os.fsencode(root), b"d\xf6g")
    try:
        make_image(Path(os.fsdecode(bad_file)))
        make_image(Path(os.fsdecode(bad_class)) / "x.jpg")
    except OSError:
        pytest.skip("this filesystem refuses names that are not UTF-8")
    records, skipped = expand_ok(run, root, tmp_path / "out", flips)
    assert skipped == {"cat/caf\\xe9.jpg": "name is not valid UTF-8, so it cannot be recorded; rename it",
                       "d\\xf6g": "name is not valid UTF-8, so it cannot be recorded; rename it"}
    assert {r["source"] for r in records.values()} == {"cat/a.jpg"}


def test_a_name_too_long_for_out_is_skipped_with_a_reason(run, tmp_path, flips):
    root = tmp_path / "src"
    long_name = "n" * 250 + ".jpg"  # fits in SRC and OUT (254 bytes); its copies (..._aug01.jpg) do not
    make_image(root / "cat" / long_name)
    make_image(root / "cat" / "a.jpg")
    records, skipped = expand_ok(run, root, tmp_path / "out", flips)
    assert "name too long" in skipped[f"cat/{long_name}"].lower()
    assert sorted((r["source"], r["kind"]) for r in records.values() if r["source"] != "cat/a.jpg") == [
        (f"cat/{long_name}", "original")]


def test_a_long_name_whose_outputs_fit_is_written(run, tmp_path, flips):
    """The temporary name is short: a 240-character name whose outputs fit in
    OUT (250 bytes with _aug01) is written, not skipped for its temp name."""
    root = tmp_path / "src"
    long_name = "n" * 240 + ".jpg"
    make_image(root / "cat" / long_name)
    records, skipped = expand_ok(run, root, tmp_path / "out", flips)
    assert skipped == {}
    assert {r["source"] for r in records.values()} == {f"cat/{long_name}"}
    assert (tmp_path / "out" / "cat" / ("n" * 240 + "_aug01.jpg")).is_file()
