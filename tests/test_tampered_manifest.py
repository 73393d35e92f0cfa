"""A manifest is untrusted input: its paths never name augcli's own files,
text that is not text (lone surrogate escapes) is one clear line in every
command that reads it, and everything is checked before anything is deleted."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

import augcli

from .conftest import tree_digest

OWN = [".augcli.lock", "augcli.json", "manifest.jsonl", "skipped.jsonl", "AUGCLI.JSON", "cat/.augcli.lock"]


@pytest.fixture
def done(run, src, recipe, tmp_path) -> Path:
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0
    return out


def _tamper(out: Path, line: int, **fields) -> list[str]:
    """Set ``fields`` of manifest line ``line`` (1-based); values are raw JSON text."""
    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[line - 1])
    text = json.dumps({k: f"@{k}@" if k in fields else v for k, v in record.items()}, ensure_ascii=False)
    for key, raw in fields.items():
        text = text.replace(f'"@{key}@"', raw)
    lines[line - 1] = text
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


@pytest.mark.parametrize("name", OWN)
def test_a_record_naming_augclis_own_file_stops_resume_before_anything_is_deleted(run, src, recipe, done, name):
    _tamper(done, 2, path=json.dumps(name))
    (src / "cat" / "c1.jpg").unlink()  # SRC changed: a resume would remove outputs
    before = tree_digest(done, ())
    result = run("expand", src, done, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"augcli: error: --resume: {done}/manifest.jsonl:2: path {json.dumps(name)}: names one "
                             "of augcli's own files, not an image; fix or remove that line, or use --overwrite to "
                             "start again\n")
    assert tree_digest(done, ()) == before
    verified = run("verify", done)
    assert verified.exit_code == 1 and "names one of augcli's own files" in verified.stdout


def test_overwrite_never_deletes_its_own_live_lock_for_a_tampered_record(src, recipe, done):
    """The first writer deleted its own lock for a record whose path was
    .augcli.lock, and a second --overwrite then ran beside it."""
    _tamper(done, 1, path='".augcli.lock"')
    seen = []
    summary = augcli.expand(src, done, recipe, jobs=1, overwrite=True,
                            on_start=lambda n: seen.append((done / ".augcli.lock").is_file()))
    assert seen == [True] and summary.written == 24
    assert not (done / ".augcli.lock").exists()  # removed when the run ended, as always


FIELDS = {"path": r'"cat/\ud800.jpg"', "source": r'"cat/\udcff.jpg"', "label": r'"c\ud800t"',
          "ops": r'[{"op": "\ud800"}]', "sha256": r'"\udfff"'}


@pytest.mark.parametrize("field", sorted(FIELDS))
def test_lone_surrogate_escapes_are_one_clear_line_in_every_command(run, src, recipe, done, tmp_path, field):
    _tamper(done, 3, **{field: FIELDS[field]})
    where = "ops[0].op" if field == "ops" else field
    line = (f"{done}/manifest.jsonl:3: {where} holds a lone surrogate escape (\\ud800-\\udfff alone), which is "
            "not text; augcli never writes one")
    for args in (["manifest", done], ["manifest", done, "--format", "jsonl"], ["stats", done],
                 ["replay", done / "manifest.jsonl", src, tmp_path / "again"]):
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr == f"augcli: error: {line}\n", args
    result = run("verify", done, "--source", src)
    assert result.exit_code == 1 and f"corrupt: {line}\n" in result.stdout
    assert "internal error" not in result.output
    before = tree_digest(done, ())
    result = run("expand", src, done, "-r", recipe, "-j", "1", "--resume")
    assert result.exit_code == 2 and result.stderr.startswith(f"augcli: error: --resume: {line};"), result.stderr
    assert tree_digest(done, ()) == before
    # --overwrite: every line is read and checked before the first file is deleted; the bad
    # line is passed over (its file, if any, is left), and OUT is written again
    result = run("expand", src, done, "-r", recipe, "-j", "1", "--overwrite")
    assert result.exit_code == 0, result.output
    verified = run("verify", done, "--source", src)
    assert verified.exit_code == 0, verified.output
