"""Look before you run (preview), trust what you got (verify), and regenerate
it from the manifest alone (replay)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from augcli._preview import describe_ops, pick_sources, preview, preview_rows
from augcli.recipe import Recipe
from augcli.scan import scan

from .conftest import load, make_image, tree_digest


@pytest.fixture
def pngs(tmp_path: Path) -> Path:
    """A PNG-only tree, so decoded outputs can be compared exactly."""
    root = tmp_path / "pngs"
    for label in ("cat", "dog", "owl"):
        for i in range(3):
            make_image(root / label / f"{label}{i}.png", (40 + 8 * i, 30), seed=10 * len(label) + i, fmt="PNG")
    return root


def expanded(run, src: Path, recipe: Path, out: Path) -> Path:
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    return out


def test_preview_tiles_are_the_images_expand_writes(run, pngs, recipe, tmp_path):
    out = expanded(run, pngs, recipe, tmp_path / "out")
    rows = preview_rows(pngs, Recipe.load(recipe), images=4, variants=3)
    assert len(rows) == 4 and all(len(r.tiles) == 4 for r in rows)
    records = {r["path"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    for row in rows:
        source = row.label.split(": ", 1)[1]
        stem = source[: -len(".png")]
        for copy, tile in enumerate(row.tiles[1:], start=1):
            written = load(out / f"{stem}_aug{copy:02d}.png")
            assert np.array_equal(np.asarray(tile.image), np.asarray(written)), f"{stem} copy {copy}"
            assert tile.caption == describe_ops(records[f"{stem}_aug{copy:02d}.png"]["ops"])


def test_sources_are_spread_over_the_classes(pngs):
    picked = pick_sources(list(scan(pngs).sources), 4, seed=0)
    assert sorted(s.label for s in picked[:3]) == ["cat", "dog", "owl"]
    assert picked == pick_sources(list(scan(pngs).sources), 4, seed=0)


def test_describe_ops_is_short_and_readable():
    ops = [{"op": "rotate", "angle": -12.3456, "fill": "reflect", "cval": 0.0, "interpolation": "bilinear",
            "expand": False}, {"op": "hflip"}, {"op": "contrast", "factor": 1.2149}]
    assert describe_ops(ops) == "rot -12.3° reflect · hflip · contrast 1.21"
    assert describe_ops([]) == "no op fired"


def test_preview_command_writes_a_sheet_and_nothing_under_src(run, pngs, recipe, tmp_path):
    sheet_path = tmp_path / "sheets" / "p.png"
    result = run("preview", pngs, "-r", recipe, "--out", sheet_path, "-n", "3", "-k", "2")
    assert result.exit_code == 0, result.output
    assert f"written to {sheet_path}" in result.stderr
    img = load(sheet_path)
    assert img.mode == "RGB" and img.width > 3 * 192 and img.getpixel((2, 2)) == (244, 244, 242)
    assert preview(pngs, recipe, images=3, variants=2).size == img.size  # the Python API
    refused = run("preview", pngs, "-r", recipe, "--out", pngs / "cat" / "p.png")
    assert refused.exit_code == 2 and "inside SRC" in refused.stderr
    assert run("preview", pngs).exit_code == 2


def test_preview_from_an_output_tree(run, pngs, recipe, tmp_path):
    out = expanded(run, pngs, recipe, tmp_path / "out")
    result = run("preview", "--from", out, "--out", tmp_path / "from.png", "-n", "2", "-k", "2")
    assert result.exit_code == 0, result.output
    assert "2 images x 2 augmentations" in result.stderr


def test_verify_reports_changed_missing_and_extra(run, src, recipe, tmp_path):
    out = expanded(run, src, recipe, tmp_path / "out")
    ok = run("verify", out, "--source", src)
    assert ok.exit_code == 0 and ok.stderr == "verify: 24 files OK\n"
    target = out / "cat" / "c1_aug01.jpg"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    (out / "dog" / "d2_aug03.jpg").unlink()
    (out / "dog" / "stray.jpg").write_bytes(b"x")
    bad = run("verify", out)
    assert bad.exit_code == 1
    assert bad.stdout.splitlines() == ["changed: cat/c1_aug01.jpg", "missing: dog/d2_aug03.jpg", "extra: dog/stray.jpg"]
    assert bad.stderr == "verify: 1 changed, 1 missing, 1 extra (24 recorded files checked)\n"


def test_verify_checks_the_sources_too(run, src, recipe, tmp_path):
    out = expanded(run, src, recipe, tmp_path / "out")
    copy = tmp_path / "src-copy"
    import shutil

    shutil.copytree(src, copy)
    make_image(copy / "cat" / "c2.jpg", seed=99)
    (copy / "dog" / "d1.jpg").unlink()
    result = run("verify", out, "--source", copy)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["source changed: cat/c2.jpg", "source missing: dog/d1.jpg"]
    assert run("verify", tmp_path).exit_code == 2


def test_replay_reproduces_the_tree_byte_for_byte(run, src, recipe, tmp_path):
    out = expanded(run, src, recipe, tmp_path / "out")
    result = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert result.exit_code == 0 and "replayed 24 images" in result.stderr
    assert tree_digest(tmp_path / "again") == tree_digest(out)
    subset = run("replay", out / "manifest.jsonl", src, tmp_path / "subset", "--only", "cat/*_aug0[12].jpg")
    assert subset.exit_code == 0
    digests = tree_digest(tmp_path / "subset", ("augcli.json", "manifest.jsonl"))
    assert sorted(digests) == ["cat/c1_aug01.jpg", "cat/c1_aug02.jpg", "cat/c2_aug01.jpg", "cat/c2_aug02.jpg",
                               "cat/c3_aug01.jpg", "cat/c3_aug02.jpg"]
    assert all(digests[p] == tree_digest(out)[p] for p in digests)


def test_replay_refuses_escaping_paths_and_non_empty_targets(run, src, recipe, tmp_path):
    out = expanded(run, src, recipe, tmp_path / "out")
    lines = (out / "manifest.jsonl").read_text().splitlines()
    record = json.loads(lines[1])
    record["path"] = "../../escaped.jpg"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "manifest.jsonl").write_text(json.dumps(record) + "\n")
    shutil.copy(out / "augcli.json", evil)
    result = run("replay", evil / "manifest.jsonl", src, tmp_path / "new")
    assert result.exit_code == 2 and "is not a relative path inside its folder" in result.stderr
    assert not (tmp_path / "escaped.jpg").exists()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert run("replay", out / "manifest.jsonl", src, tmp_path / "full").exit_code == 2


def test_replay_and_resume_refuse_a_run_written_by_another_pixel_engine(run, src, recipe, tmp_path):
    """Output bytes changed with the engine (0.1.0 resampled with Pillow): replaying
    or resuming such a run would silently write different pixels."""
    out = expanded(run, src, recipe, tmp_path / "out")
    run_record = json.loads((out / "augcli.json").read_text())
    assert run_record["engine"].startswith("arrays opencv ")
    old = {k: v for k, v in run_record.items() if k != "engine"}  # as 0.1.0 wrote it
    (out / "augcli.json").write_text(json.dumps({**old, "version": "0.1.0"}))
    result = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert result.exit_code == 2
    assert "written by augcli 0.1.0 with pixel engine 'pillow'" in result.stderr
    assert "cannot reproduce its bytes" in result.stderr and not (tmp_path / "again").exists()
    resumed = run("expand", src, out, "--recipe", recipe, "--resume")
    assert resumed.exit_code == 2 and "would write different pixels" in resumed.stderr
    (out / "augcli.json").unlink()
    missing = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert missing.exit_code == 2 and "replay needs the run record" in missing.stderr


def test_replay_and_resume_refuse_a_run_of_0_2_0s_pillow_image_engine(run, src, recipe, tmp_path):
    """0.3.0 works on arrays and defines hue, saturation, sharpen and alpha by
    their meaning: the same OpenCV writes other bytes than 0.2.0 did."""
    import cv2

    out = expanded(run, src, recipe, tmp_path / "out")
    run_record = json.loads((out / "augcli.json").read_text())
    old = f"opencv {cv2.__version__}"  # what 0.2.0 recorded with this very OpenCV, and no fingerprint
    del run_record["engine_fingerprint"]
    (out / "augcli.json").write_text(json.dumps({**run_record, "version": "0.2.0", "engine": old}))
    result = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert result.exit_code == 2 and f"written by augcli 0.2.0 with pixel engine '{old}'" in result.stderr
    resumed = run("expand", src, out, "--recipe", recipe, "--resume")
    assert resumed.exit_code == 2 and "would write different pixels" in resumed.stderr


def test_every_command_reading_src_says_the_same_when_it_is_missing_or_a_file(run, src, recipe, tmp_path):
    import augcli

    out = expanded(run, src, recipe, tmp_path / "out")
    missing, a_file = tmp_path / "nothing-here", tmp_path / "a-file"
    a_file.write_text("not a folder")
    commands = {
        "expand": lambda s: ("expand", s, tmp_path / "new", "-r", recipe),
        "preview": lambda s: ("preview", s, "-r", recipe, "--out", tmp_path / "p.png"),
        "replay": lambda s: ("replay", out / "manifest.jsonl", s, tmp_path / "again"),
    }
    for name, args in commands.items():
        result = run(*args(missing))
        assert (result.exit_code, result.stderr) == (2, f"augcli: error: SRC {missing} does not exist\n"), name
    api = {"expand": lambda s: augcli.expand(s, tmp_path / "new", recipe),
           "preview": lambda s: augcli.preview(s, recipe),
           "replay": lambda s: augcli.replay(out / "manifest.jsonl", s, tmp_path / "again")}
    for name, call in api.items():  # the CLI's own option check refuses a file before augcli sees it
        with pytest.raises(augcli.AugcliError, match=f"^SRC {a_file} is not a folder$") as caught:
            call(a_file)
        assert caught.value.exit_code == 2, name


@pytest.mark.parametrize("output", ["same", "jpeg", "png", "webp"])
def test_replay_reads_every_format_expand_writes_from_its_name(tmp_path, output):
    """One format table: whatever format the plan picks for a source, the name it
    writes tells replay that same format back."""
    from augcli.io import written_format
    from augcli.plan import make_plan

    root = tmp_path / "src"
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp"), ("BMP", "bmp"), ("TIFF", "tif"),
                     ("GIF", "gif"), ("JPEG", "JPEG"), ("TIFF", "tiff")):
        make_image(root / "cat" / f"{fmt.lower()}_{ext}.{ext}", (12, 10), fmt=fmt)
    recipe = Recipe.from_yaml(f"copies: 1\noutput: {{format: {output}}}\npipeline: [hflip]\n")
    targets = [t for task in make_plan(scan(root), recipe).tasks() for t in task.targets]
    assert len(targets) == 16
    assert all(written_format(t.path) == t.encoding.format for t in targets), targets


def test_preview_shows_no_more_columns_than_expand_writes_copies(run, pngs, tmp_path):
    """Without -k the sheet has the recipe's copies (at most 4): a column beyond them is an image
    expand never writes (the demo's flips recipe showed a 'no op fired' repeat there)."""
    recipe = tmp_path / "two.yaml"
    recipe.write_text("version: 1\ncopies: 2\npipeline:\n  - hflip: {p: 0.5}\n")
    two = run("preview", pngs, "-r", recipe, "--out", tmp_path / "a.png", "-n", "2")
    assert two.exit_code == 0 and "x 2 augmentations" in two.stderr
    asked = run("preview", pngs, "-r", recipe, "--out", tmp_path / "b.png", "-n", "2", "-k", "3")
    assert asked.exit_code == 0 and "x 3 augmentations" in asked.stderr
    recipe.write_text("version: 1\ncopies: 9\npipeline:\n  - hflip: {p: 0.5}\n")
    many = run("preview", pngs, "-r", recipe, "--out", tmp_path / "c.png", "-n", "2")
    assert many.exit_code == 0 and "x 4 augmentations" in many.stderr
