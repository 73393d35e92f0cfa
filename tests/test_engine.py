"""An engine upgrade that changes no byte orphans no OUT; one that does is refused, naming where.

The record's fingerprint is compared, not the version string: a record that
names another OpenCV version with this engine's canary digests is resumed and
replayed; one whose digests differ is refused with the canaries that differ."""
from __future__ import annotations

import json

import pytest

from augcli import engine as engine_module
from augcli.engine import compute, engine, fingerprint
from tests.conftest import tree_digest


@pytest.fixture
def out(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    return out


def rewrite(out, **changes) -> dict:
    record = json.loads((out / "augcli.json").read_text())
    record.update(changes)
    (out / "augcli.json").write_text(json.dumps(record))
    return record


def test_the_run_record_carries_this_engines_fingerprint(out):
    record = json.loads((out / "augcli.json").read_text())
    assert record["engine"] == engine()
    assert record["engine_fingerprint"] == fingerprint()
    canaries = record["engine_fingerprint"]["canaries"]
    # every built-in op's example on every canary image, and each codec
    for name in ("rgb rotate:", "rgba blur:", "i16 elastic:", "rgb JPEG q95", "rgba WEBP q80", "i16 PNG q95"):
        assert any(key.startswith(name) for key in canaries), name
    assert compute() == canaries  # computed afresh: the same, so the digests are deterministic


def test_another_opencv_version_with_the_same_bytes_is_resumed_and_replayed(run, src, recipe, out, tmp_path):
    """A patch release that changes nothing: a CI cache survives it."""
    before = tree_digest(out, ("augcli.json", "manifest.jsonl"))
    rewrite(out, engine="opencv 5.0.99")
    resumed = run("expand", src, out, "-r", recipe, "--resume")
    assert resumed.exit_code == 0 and "up to date" in resumed.stderr, resumed.stderr
    replayed = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert replayed.exit_code == 0, replayed.stderr
    assert tree_digest(tmp_path / "again", ("augcli.json", "manifest.jsonl")) == before


def test_an_engine_whose_pixels_differ_is_refused_naming_the_canaries(run, src, recipe, out, tmp_path):
    theirs = json.loads(json.dumps(fingerprint()))
    changed = sorted(theirs["canaries"])[:2]
    for name in changed:
        theirs["canaries"][name] = "0" * 16
    rewrite(out, engine="opencv 9.9.9", engine_fingerprint=theirs)
    before = tree_digest(out, ())
    resumed = run("expand", src, out, "-r", recipe, "--resume")
    assert resumed.exit_code == 2
    assert (f"pixel engine 'opencv 9.9.9' (its pixels differ from this engine's for {changed[0]}, {changed[1]});"
            in resumed.stderr)
    assert "sha256" not in resumed.stderr
    replayed = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert replayed.exit_code == 2 and f"differ from this engine's for {changed[0]}" in replayed.stderr
    assert tree_digest(out, ()) == before and not (tmp_path / "again").exists()
    # a record without a fingerprint (written before there was one) is compared by name
    record = rewrite(out, engine="opencv 9.9.9")
    del record["engine_fingerprint"]
    (out / "augcli.json").write_text(json.dumps(record))
    resumed = run("expand", src, out, "-r", recipe, "--resume")
    assert resumed.exit_code == 2 and "pixel engine 'opencv 9.9.9';" in resumed.stderr


def test_the_fingerprint_sees_a_changed_kernel(monkeypatch):
    """Planted: bilinear resampling done as nearest, and a blur that rounds
    differently. Each changes the canaries of the ops that use it, and only those."""
    from augcli.ops import warp

    mine = fingerprint()["canaries"]
    monkeypatch.setitem(warp._INTERPOLATION_FLAGS, "bilinear", "INTER_NEAREST")
    changed = {name for name, digest in compute().items() if mine[name] != digest}
    assert "rgb rotate: {angle: 71, fill: wrap, interpolation: bilinear}" in changed
    assert not any(" blur:" in name or "JPEG" in name for name in changed)
    monkeypatch.undo()

    from augcli.ops import REGISTRY

    import dataclasses

    blur = REGISTRY["blur"]
    monkeypatch.setitem(REGISTRY, "blur", dataclasses.replace(
        blur, kernel=lambda img, **kw: blur.kernel(img, **{**kw, "radius": kw["radius"] * 1.05})))
    changed = {name for name, digest in compute().items() if mine[name] != digest}
    assert changed and all(" blur:" in name for name in changed)
    assert engine_module.differing({**mine}) == []
