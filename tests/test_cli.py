"""The command line as such: every command's help, the entry point, and the
one boundary (``AugcliGroup``) that turns library errors into one line and an
exit status: 2 for bad usage or a bad recipe, 1 for a failed run, 141 when
the reader of stdout went away, never a traceback unless ``--debug``."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest


def test_recipe_errors_exit_2_with_located_messages(run, src, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("version: 1\npipeline:\n  - hflip\n  - rotate: {angle: 10, fill: reflct}\n")
    result = run("expand", src, tmp_path / "out", "-r", recipe, src=src)
    assert result.exit_code == 2
    assert result.stderr == (
        f"{recipe}:4: pipeline[1].rotate.fill: 'reflct' is not one of constant, edge, reflect, symmetric, "
        "wrap (did you mean 'reflect'?)\n"
    )
    assert not (tmp_path / "out").exists()


def test_missing_recipe_and_src_are_usage_errors(run, src, recipe, tmp_path):
    result = run("expand", src, tmp_path / "out", "-r", tmp_path / "nope.yaml")
    assert result.exit_code == 2 and "recipe file not found" in result.stderr
    result = run("expand", tmp_path / "nothing", tmp_path / "out", "-r", recipe)
    assert result.exit_code == 2 and "does not exist" in result.stderr


@pytest.mark.parametrize("command", sorted(__import__("augcli.cli", fromlist=["cli"]).cli.commands))
def test_every_command_has_help_with_an_example(run, command):
    result = run(command, "--help")
    assert result.exit_code == 0 and "Example" in result.stdout


def test_module_entry_point_and_version():
    result = subprocess.run([sys.executable, "-m", "augcli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("augcli, version ")


def test_debug_shows_the_traceback_and_keeps_the_exit_status(run, src, recipe, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("pipeline: [hflp]\n")
    for args, status in [(["validate", bad], 2), (["expand", src, tmp_path / "o", "-r", tmp_path / "nope.yaml"], 2),
                         (["expand", tmp_path / "no-src", tmp_path / "o", "-r", recipe], 2)]:
        plain = run(*args)
        debug = run("--debug", *args)
        assert plain.exit_code == debug.exit_code == status, args
        assert "Traceback (most recent call last)" in debug.stderr and "Traceback" not in plain.stderr
        assert plain.stderr.strip().splitlines()[-1] in debug.stderr  # the same message, after the traceback


def test_a_reader_that_stops_early_is_not_an_error(tmp_path):
    """`augcli recipes | head -1`: a closed pipe ends augcli quietly with status 141 (as SIGPIPE
    would), never 'internal error, please report it'."""
    for command in (["recipes"], ["transforms"], ["schema"]):
        read_end, write_end = os.pipe()
        os.close(read_end)  # the reader is gone before augcli writes a byte
        proc = subprocess.run([sys.executable, "-m", "augcli", *command], stdout=write_end, stderr=subprocess.PIPE)
        os.close(write_end)
        assert (proc.returncode, proc.stderr) == (141, b""), command


def test_a_bug_is_one_line_exit_1_and_a_traceback_only_with_debug(run, monkeypatch):
    import augcli.catalogue

    def broken():
        raise RuntimeError("something augcli did not expect")

    monkeypatch.setattr(augcli.catalogue, "listing", broken)
    result = run("transforms")
    assert (result.exit_code, result.stderr) == (1, "augcli: internal error: RuntimeError: something augcli did "
                                                    "not expect (run with --debug for the traceback, and please "
                                                    "report it)\n")
    debug = run("--debug", "transforms")
    assert debug.exit_code == 1 and "Traceback (most recent call last)" in debug.stderr
