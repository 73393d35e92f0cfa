"""What the README and the Makefile say, checked against what the code does,
so the two cannot drift apart again."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def says(text: str, part: str = README) -> bool:
    """Whether the README says ``text`` (a plain bool: pytest's diff of a long README on failure is slow)."""
    return text in part


def make_target(name: str) -> list[str]:
    """The recipe lines of a Makefile target."""
    text = (ROOT / "Makefile").read_text()
    body = re.search(rf"^{name}:.*\n((?:\t.*\n)+)", text, re.M)
    assert body, name
    return body.group(1).splitlines()


def test_make_demo_previews_the_recipe_it_expands():
    lines = make_target("demo")
    recipes = {re.search(r"--recipe (\S+)", line).group(1) for line in lines if "augcli expand" in line
               or "augcli preview" in line}
    assert len(recipes) == 1, recipes


def test_readme_says_how_to_put_augcli_on_the_path_before_using_it():
    using = README.index("## Using it")
    first_bare = README.index("\naugcli ", using)
    assert says(". .venv/bin/activate", README[:first_bare])


def demo_block() -> list[tuple[str, list[str]]]:
    """The README's make demo transcript as (command, output lines) pairs."""
    block = README.split("<!-- demo:start -->\n```\n", 1)[1].split("```", 1)[0]
    pairs: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            pairs.append((line[2:].split("  #")[0].strip(), []))
        else:
            pairs[-1][1].append(line)
    return pairs


def untimed(line: str) -> str:
    return re.sub(r"in [\d.]+ s \([\d.]+ images/s\)", "in T s (R images/s)", line)


def test_readme_demo_transcript_is_what_make_demo_prints(run, tmp_path, monkeypatch):
    """Each Makefile demo line, echoed and run; then the README's shell commands on the result."""
    import subprocess

    monkeypatch.chdir(tmp_path)
    for name in ("sample_data", "recipes"):
        (tmp_path / name).symlink_to(ROOT / name)
    variables = {"$(BIN)": ".venv/bin", "$(VENV)": ".venv",
                 "$(RECIPE)": re.search(r"^RECIPE \?= (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)}
    (command, shown), *shell = demo_block()
    assert command == "make demo"
    expected = []
    for line in make_target("demo"):
        for variable, value in variables.items():
            line = line.replace(variable, value)
        line = line.strip()
        if line.startswith("@echo "):
            expected.append(line[len("@echo "):].strip('"'))
            continue
        expected.append(line)
        result = run(*line.split()[1:])
        assert result.exit_code == 0, result.output
        expected += result.stderr.splitlines()
    assert [untimed(x) for x in shown] == [untimed(x) for x in expected]
    for command, shown in shell:
        out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=True).stdout
        assert out.splitlines() == shown, command


def test_readme_describes_sample_data_as_it_is():
    from .conftest import load

    files = sorted(p for p in (ROOT / "sample_data").rglob("*") if p.is_file())
    sides = [side for p in files for side in load(p).size]
    kib = round(sum(p.stat().st_size for p in files) / 1024)
    claim = re.search(r"`sample_data/` is (\d+) images in four classes .*?(\d+) to (\d+) px a side, (\d+) KiB",
                      README, re.S)
    assert tuple(map(int, claim.groups())) == (len(files), min(sides), max(sides), kib)


def test_readme_states_the_seed_key_the_code_uses():
    import hashlib

    from augcli.sampling import stable_hash

    assert not re.search(r"[^_]hash\((relpath|key)\)", README)  # Python's hash() is salted per process
    assert says("first 8 bytes of the sha256 of the source's relative path")
    assert stable_hash("cat/1.jpg") == int.from_bytes(hashlib.sha256(b"cat/1.jpg").digest()[:8], "little")


def test_packaging_metadata_license_and_recipes():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "MIT" and project["project"]["license-files"] == ["LICENSE"]
    assert project["build-system"]["requires"] == ["setuptools>=77"]  # the first to take an SPDX string
    license_text = (ROOT / "LICENSE").read_text()
    assert license_text.startswith("MIT License\n") and "Copyright (c) 2026 the augcli authors" in license_text
    assert project["tool"]["setuptools"]["package-data"]["augcli"] == ["recipes/*.yaml"]
    assert (ROOT / "augcli" / "recipes").resolve() == (ROOT / "recipes").resolve()


def test_the_python_api_is_discoverable_and_documented():
    import augcli

    public = [name for name in dir(augcli) if not name.startswith("_")]
    assert set(augcli.__all__) - {"__version__"} <= set(public)
    for name in augcli.__all__:
        assert getattr(augcli, name) is not None
    assert says("Recipe.load") and augcli.Recipe.load.__doc__


def test_recipe_load_takes_a_path_a_builtin_name_or_a_dict(tmp_path):
    import pytest

    import augcli

    as_dict = augcli.Recipe.load({"copies": 2, "pipeline": [{"rotate": {"angle": (-10, 10), "fill": "reflect"}},
                                                            "hflip"]})
    path = tmp_path / "r.yaml"
    path.write_text("copies: 2\npipeline:\n  - rotate: {angle: [-10, 10], fill: reflect}\n  - hflip\n")
    assert as_dict == augcli.Recipe.load(path) == augcli.Recipe.load(str(path))
    with pytest.raises(augcli.RecipeError) as info:
        augcli.Recipe.load({"pipeline": [{"rotate": {"angle": "big"}}]})
    assert str(info.value) == "<dict>: pipeline[0].rotate.angle: 'big' is not a number from -360 to 360"
    with pytest.raises(augcli.RecipeError):
        augcli.Recipe.load(["not", "a", "recipe"])


def test_a_dry_run_summary_line_has_no_timing(tmp_path):
    import augcli

    from .conftest import make_image

    make_image(tmp_path / "src" / "cat" / "a.png")
    summary = augcli.expand(tmp_path / "src", tmp_path / "out", "flips", dry_run=True)
    assert summary.line() == (f"dry run: would read 1 images and write 3 to {tmp_path / 'out'}; 0 unusable and "
                              "0 ignored files found; nothing written (image files are checked by their headers only: one damaged "
                              "further in is skipped by the run)")
