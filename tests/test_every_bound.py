"""Every bound, however it is asked for: a recipe's expanded size, a source
file's size, the options of every door (CLI, ``augcli.expand``, ``preview``,
``replay``, ``Augmenter``), the number of workers and the depth of SRC."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

import augcli
from augcli.errors import RecipeError, UsageError
from augcli.limits import MAX_EXPANDED_CHARS, MAX_SCAN_DEPTH, MAX_SHOWN, max_source_bytes
from augcli.recipe import Recipe

from .conftest import make_image


def _augcli(*args, megabytes: int = 1024) -> subprocess.CompletedProcess:
    def cap():  # a bound that does not hold fails with MemoryError, not by exhausting the machine
        resource.setrlimit(resource.RLIMIT_AS, (megabytes << 20, megabytes << 20))
    return subprocess.run([sys.executable, "-m", "augcli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, preexec_fn=cap)


# -- the recipe: expanded size, and what a message quotes ---------------------------------


def test_one_long_string_repeated_by_aliases_is_bounded_by_its_size(tmp_path):
    """500 KB repeated by 200 aliases is 100 MB of recipe: refused at once (it
    took gigabytes and minutes when a string counted as one value), one line."""
    path = tmp_path / "long.yaml"
    path.write_text("version: 1\npipeline: [hflip]\nbig: &s " + "x" * 500_000 + "\n"
                    + "".join(f"k{i}: *s\n" for i in range(200)))
    started = time.perf_counter()
    result = _augcli("validate", path, megabytes=768)
    assert result.returncode == 2, result.stderr[:300]
    assert result.stderr == (f"{path}: the recipe has more than {MAX_EXPANDED_CHARS:,} characters of keys and values "
                             "(counting every repeat of a YAML alias *name); recipes are much smaller\n")
    assert time.perf_counter() - started < 60  # a hang guard only: a fraction of a second when it holds


def test_the_same_size_bound_holds_for_a_recipe_given_as_python_data():
    big = "x" * 400_000
    with pytest.raises(RecipeError) as info:
        Recipe.from_dict({"version": 1, "pipeline": ["hflip"], "a": big, "b": big, "c": big})
    (problem,) = info.value.problems
    assert f"more than {MAX_EXPANDED_CHARS:,} characters" in problem.message


def test_long_values_are_cut_in_messages():
    """A found value is quoted up to MAX_SHOWN characters, with its length: a
    recipe of long strings gives short lines."""
    text = ("version: 1\npipeline: [{rotate: {angle: 5, fill: '" + "q" * 3000 + "'}}]\n"
            "copies: " + "y" * 5000 + "\n" + "z" * 1000 + ": 1\nseed: [" + ", ".join(["1"] * 500) + "]\n")
    with pytest.raises(RecipeError) as info:
        Recipe.from_yaml(text, name="r.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == 4
    assert all(len(line) < 20 * MAX_SHOWN for line in lines), [len(line) for line in lines]
    assert f"'{'q' * MAX_SHOWN}'... (3,000 characters) is not one of constant" in lines[0]
    assert "(5,000 characters)" in lines[1] and "(1,000 characters)" in lines[2]
    assert "(500 items)" in lines[3]


# -- a source file's size --------------------------------------------------------------


def _padded_png(path: Path, total: int) -> None:
    """A small PNG followed by zeros up to ``total`` bytes (a sparse file: no disk used)."""
    make_image(path, (50, 40), fmt="PNG")
    with open(path, "r+b") as handle:
        handle.truncate(total)


def test_a_source_file_larger_than_its_pixels_can_need_is_skipped_not_read(run, tmp_path, recipe):
    root = tmp_path / "src"
    make_image(root / "cat" / "ok.jpg", (40, 40))
    limit = max_source_bytes(2000)
    _padded_png(root / "cat" / "padded.png", limit + 1)
    out = tmp_path / "out"
    result = run("expand", root, out, "-r", recipe, "-j", "1", "--max-pixels", "2000")
    assert result.exit_code == 0, result.output
    assert (f"skipped cat/padded.png: file is {limit + 1:,} bytes, more than the {limit:,} an image within "
            "--max-pixels can need; not read (raise --max-pixels to read it)") in result.stderr
    assert "wrote 4" in result.stderr


def test_a_source_too_large_for_memory_is_skipped_not_a_memory_error(tmp_path, recipe):
    """--max-pixels 0 lifts the size bound; a file as large as the whole address
    space the process may have is then a skip with its reason, and the run
    goes on (it was "internal error: MemoryError" for the whole run)."""
    root = tmp_path / "src"
    make_image(root / "cat" / "ok.jpg")
    _padded_png(root / "cat" / "huge.png", 768 << 20)
    result = _augcli("expand", root, tmp_path / "out", "-r", recipe, "-j", "1", "--max-pixels", "0", megabytes=768)
    assert result.returncode == 0, result.stderr
    assert "skipped cat/huge.png: file is too large to read into memory; not read" in result.stderr
    assert "wrote 4" in result.stderr


# -- one validation for every door -------------------------------------------------------

BAD = [  # (keyword, value, what the line says is allowed)
    ("copies", -3, "a whole number from 0 to 100,000"),
    ("copies", 10**6, "a whole number from 0 to 100,000"),
    ("seed", -1, "a whole number from 0 to 9,223,372,036,854,775,807"),
    ("seed", 2**80, "a whole number from 0 to 9,223,372,036,854,775,807"),
    ("balance", "maxx", "'max' or a whole number of images per class from 1 to 1,000,000"),
    ("max_pixels", -1, "a whole number >= 0"),
    ("jobs", 0, "a whole number from 1 to 1,024"),
    ("jobs", 5000, "a whole number from 1 to 1,024"),
    ("backend", "nope", "loky, threading, dask"),
]


def _line(keyword, value, allowed) -> str:
    return f"--{keyword.replace('_', '-')} / {keyword}=: found {value!r}; allowed: {allowed}"


@pytest.mark.parametrize("keyword,value,allowed", BAD)
def test_the_cli_and_expand_refuse_a_bad_option_with_the_same_line(run, src, recipe, tmp_path, keyword, value,
                                                                     allowed):
    out = tmp_path / "out"
    result = run("expand", src, out, "-r", recipe, f"--{keyword.replace('_', '-')}", str(value))
    assert result.exit_code == 2, result.output
    assert result.stderr == f"augcli: error: {_line(keyword, value, allowed)}\n"
    with pytest.raises(UsageError) as info:
        augcli.expand(src, out, recipe, **{keyword: value})
    assert str(info.value) == _line(keyword, value, allowed)
    assert isinstance(info.value, ValueError)  # what a Python caller expects of a bad argument
    assert not out.exists()


@pytest.mark.parametrize("keyword,value", [("copies", 2.5), ("copies", True), ("copies", "3"), ("seed", 1.5),
                                           ("seed", -1), ("jobs", -1), ("jobs", 2.5), ("jobs", "2"),
                                           ("max_pixels", -1), ("balance", 0), ("balance", True),
                                           ("backend", None)])
def test_python_callers_get_the_checks_the_cli_makes(src, recipe, tmp_path, keyword, value):
    """Types the command line cannot even produce (a float, a bool, a number
    as text) are refused too, not rounded, ignored or taken as 0."""
    with pytest.raises(UsageError, match=f"^--{keyword.replace('_', '-')} / {keyword}=: found "):
        augcli.expand(src, tmp_path / "out", recipe, **{keyword: value})
    assert not (tmp_path / "out").exists()


def test_preview_replay_and_the_augmenter_check_seed_and_max_pixels_the_same_way(src, recipe, tmp_path):
    seed_line = _line("seed", -1, "a whole number from 0 to 9,223,372,036,854,775,807")
    with pytest.raises(ValueError) as info:
        augcli.Augmenter(recipe, seed=-1)
    assert str(info.value) == seed_line
    with pytest.raises(UsageError) as info:
        augcli.preview(src, recipe, seed=-1)
    assert str(info.value) == seed_line
    with pytest.raises(UsageError) as info:
        augcli.replay(tmp_path / "manifest.jsonl", src, tmp_path / "again", max_pixels=-1)
    assert str(info.value) == _line("max_pixels", -1, "a whole number >= 0")


@pytest.mark.parametrize("keyword,flag,value,allowed", [("images", "-n", 0, "a whole number from 1 to 200"),
                                                         ("variants", "-k", 51, "a whole number from 1 to 50"),
                                                         ("images", "-n", "many", "a whole number from 1 to 200")])
def test_the_sheet_size_is_checked_the_same_way_at_both_doors(run, src, recipe, tmp_path, keyword, flag, value,
                                                              allowed):
    result = run("preview", src, "-r", recipe, flag, str(value), "--out", tmp_path / "p.png")
    assert result.exit_code == 2 and result.stderr == f"augcli: error: {_line(keyword, value, allowed)}\n"
    with pytest.raises(UsageError) as info:
        augcli.preview(src, recipe, **{keyword: value})
    assert str(info.value) == _line(keyword, value, allowed)


def test_the_cli_says_the_same_for_preview_and_validate(run, src, recipe, tmp_path):
    result = run("preview", src, "-r", recipe, "--seed", "-1", "--out", tmp_path / "p.png")
    assert result.exit_code == 2 and result.stderr == f"augcli: error: {_line('seed', -1, 'a whole number from 0 to 9,223,372,036,854,775,807')}\n"
    result = run("validate", recipe, "--max-pixels", "-5")
    assert result.exit_code == 2 and result.stderr == f"augcli: error: {_line('max_pixels', -5, 'a whole number >= 0')}\n"


# -- workers ------------------------------------------------------------------------------


def test_workers_are_capped_by_tasks_and_by_cores(run, src, recipe, tmp_path, monkeypatch):
    """-j 64 on 6 sources starts 6 workers (it started one per -j, 211 at -j 1024);
    more than the cores is capped to them, and the summary says so."""
    import joblib

    import augcli._expand

    started = []

    class Counting(joblib.Parallel):
        def __init__(self, *args, n_jobs=None, **kwargs):
            started.append(n_jobs)
            super().__init__(*args, n_jobs=n_jobs, **kwargs)

    monkeypatch.setattr(joblib, "Parallel", Counting)
    monkeypatch.setattr(augcli._expand, "default_jobs", lambda: 64)
    summary = augcli.expand(src, tmp_path / "a", recipe, jobs=64, backend="threading")
    assert started == [6] and summary.written == 24 and summary.jobs_note == ""
    monkeypatch.setattr(augcli._expand, "default_jobs", lambda: 2)
    result = run("expand", src, tmp_path / "b", "-r", recipe, "-j", "1024", "--backend", "threading")
    assert result.exit_code == 0, result.output
    assert "augcli: note: -j 1024 capped to 2, the CPU cores this process may use\n" in result.stderr
    assert started[-1] == 2


# -- the depth of SRC ----------------------------------------------------------------------


def test_a_deep_tree_is_walked_without_recursion_and_its_depth_bounded(tmp_path, recipe):
    """~1000 nested folders were "internal error: RecursionError": the walk is a
    loop, and folders deeper than MAX_SCAN_DEPTH below their class are skipped
    with the reason (found images above are written)."""
    from augcli.scan import scan

    root = tmp_path / "src"
    levels = [root / "cat"]
    levels[0].mkdir(parents=True)
    for _ in range(1000):  # one level at a time: pathlib's and os.makedirs' own recursion would not reach
        levels.append(levels[-1] / "d")
        os.mkdir(levels[-1])
    try:
        make_image(root / "cat" / "top.jpg")
        make_image(levels[10] / "ten.jpg")
        make_image(levels[-1] / "bottom.jpg")
        found = scan(root)
        assert [s.relpath for s in found.sources] == ["cat/" + "d/" * 10 + "ten.jpg", "cat/top.jpg"]
        (skip,) = found.skipped
        assert skip.source == "cat/" + "/".join(["d"] * (MAX_SCAN_DEPTH + 1))
        assert skip.reason == f"folder nested more than {MAX_SCAN_DEPTH} levels below its class; not scanned"
        summary = augcli.expand(root, tmp_path / "out", recipe, jobs=1)
        assert summary.written == 8 and summary.skipped == 1
    finally:  # bottom up: pytest's own clean-up (shutil.rmtree) recurses, and would fail here
        (levels[-1] / "bottom.jpg").unlink(missing_ok=True)
        for level in reversed(levels[11:]):
            os.rmdir(level)


def test_a_deep_out_is_walked_without_recursion(run, src, recipe, tmp_path):
    """``verify`` and the temp-file clean-up of ``--resume`` walk OUT in a loop:
    a folder planted a thousand levels deep in OUT is an "extra", not a
    RecursionError; a temp file as deep as augcli may write is cleaned up."""
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    levels = [out / "cat" / "deep"]
    os.mkdir(levels[0])
    for _ in range(1000):
        levels.append(levels[-1] / "d")
        os.mkdir(levels[-1])
    try:
        (levels[-1] / "note.txt").write_text("planted")
        (levels[200] / ".x.augcli-tmp-1").write_text("half")
        result = run("verify", out)
        assert result.exit_code == 1, result.output
        assert result.stdout == "extra: cat/deep/" + "d/" * 1000 + "note.txt\n"  # (temp files are not extra)
        result = run("expand", src, out, "-r", recipe, "-j", "1", "--resume")
        assert result.exit_code == 0 and "internal error" not in result.output, result.output
        assert not (levels[200] / ".x.augcli-tmp-1").exists()
    finally:  # bottom up: pytest's own clean-up (shutil.rmtree) recurses
        for leftover in levels[-1].iterdir():
            leftover.unlink()
        for level in reversed(levels):
            os.rmdir(level)
