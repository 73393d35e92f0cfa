"""README claims that once did not hold, each pinned so it cannot drift again."""
from __future__ import annotations

import json
import os

from tests.conftest import snapshot


def test_a_refused_run_leaves_out_exactly_as_it_was(run, src, recipe, tmp_path):
    """Non-empty OUT without flags, --overwrite or --resume on a folder augcli did
    not write: refused before the lock is taken, so OUT's own timestamp and
    listing are unchanged and no lock file ever appears in a foreign folder."""
    out = tmp_path / "foreign"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    os.utime(out, ns=(1_000_000_000, 1_000_000_000))
    before = (snapshot(out), os.stat(out).st_mtime_ns)
    for flags, said in (([], "is not empty"), (["--overwrite"], "has no augcli.json"),
                        (["--resume"], "has no augcli.json"), (["--dry-run"], "is not empty")):
        result = run("expand", src, out, "-r", recipe, *flags)
        assert result.exit_code == 2 and said in result.stderr, (flags, result.stderr)
        assert (snapshot(out), os.stat(out).st_mtime_ns) == before, flags
        assert not (out / ".augcli.lock").exists()


def test_copies_0_on_the_command_line_is_like_copies_0_in_a_recipe(run, src, recipe, tmp_path):
    result = run("expand", src, tmp_path / "out", "-r", recipe, "--copies", "0", "-j", "1")
    assert result.exit_code == 0, result.stderr
    kinds = {json.loads(line)["kind"] for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()}
    assert kinds == {"original"}
    no_originals = tmp_path / "r.yaml"
    no_originals.write_text(recipe.read_text() + "include_originals: false\n")
    result = run("expand", src, tmp_path / "out2", "-r", no_originals, "--copies", "0")
    assert result.exit_code == 2
    assert result.stderr == ("augcli: error: --copies 0 with include_originals: false writes nothing; ask for "
                             "copies, or include the originals\n")
    assert not (tmp_path / "out2").exists()


def test_validate_writes_every_default_out_seed_included(run, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("pipeline: [hflip]\n")
    result = run("validate", path)
    assert result.exit_code == 0
    assert "seed: 0\n" in result.stdout and "copies: 1\n" in result.stdout
    written = tmp_path / "again.yaml"
    written.write_text(result.stdout)
    assert run("validate", written).stdout == result.stdout


def test_dry_run_says_files_are_checked_by_header_only(run, src, recipe, tmp_path):
    good = (src / "cat" / "c1.jpg").read_bytes()
    (src / "cat" / "cut.jpg").write_bytes(good[: len(good) // 2])  # a valid header, then nothing
    dry = run("expand", src, tmp_path / "out", "-r", recipe, "--dry-run")
    assert "checked by their headers only" in dry.stdout and "0 unusable" in dry.stdout
    result = run("expand", src, tmp_path / "out", "-r", recipe, "-j", "1")
    assert "skipped 1" in result.stderr


def test_a_reader_that_went_away_stops_augcli_quietly_with_141():
    """What the README says about ``augcli recipes | head -1``: a reader gone
    before augcli writes gives 141 and no message; one that read it all, 0."""
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first write
    try:
        done = subprocess.run([sys.executable, "-m", "augcli", "recipes"], stdout=write, stderr=subprocess.PIPE,
                              timeout=60)
    finally:
        os.close(write)
    assert done.returncode == 141 and done.stderr == b""
    done = subprocess.run([sys.executable, "-m", "augcli", "recipes"], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith(b"balance")


def test_extras_are_installed_from_the_checkout_or_the_wheel_never_an_index(run):
    """augcli is on no package index: no text tells anyone to ``pip install 'augcli[...]'``,
    and the extras the README lists are the ones pyproject declares."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    helps = run("expand", "--help").output
    assert "augcli[" not in readme and "augcli[" not in helps
    declared = set(tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    listed = set(re.findall(r"`(\w+)`", re.search(r"\(extras: ([^)]*)\)", readme).group(1)))
    assert listed == declared


def test_one_in_memory_figure_from_one_run():
    """The README's in-memory table is the run it cites, and the Speed section quotes the same ratio."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    cited = re.search(r"`(benchmarks/results/[^`]+\.md)`", readme.split("Speed, in memory:", 1)[1]).group(1)
    result = (root / cited).read_text()
    for row in ("| augcli Augmenter, standard recipe | 368 | 2.72 |",
                "| albumentations Compose, standard recipe | 562 | 1.78 |"):
        assert row in readme and row in result
    ratio = re.search(r"Augmenter vs albumentations Compose: wall (\d\.\d\d)x", result).group(1)
    quoted = set(re.findall(r"(\d\.\d\d)x (?:albumentations' rate|the speed of albumentations)", readme))
    assert quoted == {ratio}
