"""A corrupt or tampered output tree never breaks a command: every reader of
manifest.jsonl, skipped.jsonl and augcli.json says what is wrong in one line
naming the file and the line, with the right exit status, or goes on past it
where it can (verify reports it, --overwrite cleans up anyway). And every
command reads only inside the trees it was given."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from .conftest import RECIPE, make_image


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, Path, Path]:
    """(src, out, recipe) of one finished run, made once: tests work on copies."""
    from click.testing import CliRunner

    from augcli.cli import cli

    base = tmp_path_factory.mktemp("pristine")
    src = base / "src"
    make_image(src / "cat" / "c1.jpg", (64, 48), seed=1)
    make_image(src / "cat" / "c2.jpg", (40, 56), seed=2)
    make_image(src / "dog" / "d1.png", (30, 20), fmt="PNG", seed=3)
    recipe = base / "recipe.yaml"
    recipe.write_text(RECIPE)
    result = CliRunner().invoke(cli, ["expand", str(src), str(base / "out"), "-r", str(recipe), "-j", "1"])
    assert result.exit_code == 0, result.output
    return src, base / "out", recipe


@pytest.fixture
def tree(pristine, tmp_path) -> tuple[Path, Path, Path]:
    src, out, recipe = pristine
    shutil.copytree(out, tmp_path / "out", symlinks=True)
    return src, tmp_path / "out", recipe


def set_line(out: Path, number: int, content: bytes) -> None:
    path = out / "manifest.jsonl"
    lines = path.read_bytes().split(b"\n")
    lines[number - 1] = content
    path.write_bytes(b"\n".join(lines))


def edit_record(out: Path, number: int, change) -> None:
    record = json.loads((out / "manifest.jsonl").read_bytes().split(b"\n")[number - 1])
    change(record)
    set_line(out, number, json.dumps(record).encode())


CORRUPTIONS = {
    "broken line": (lambda out: set_line(out, 3, b'{"path": "cat/c1_aug02.jpg", "sour'),
                    "not valid JSON (Unterminated string starting at column 30)"),
    "junk bytes": (lambda out: set_line(out, 3, b"\xff\xfe\x00\x01junk"), "not UTF-8 text (byte 1)"),
    "not an object": (lambda out: set_line(out, 3, b"[1, 2, 3]"), "not a JSON object (found a list)"),
    "missing keys": (lambda out: edit_record(out, 3, lambda r: (r.pop("sha256"), r.pop("ops"))),
                     "missing 'ops', 'sha256'"),
    "wrong type": (lambda out: edit_record(out, 3, lambda r: r.update(copy="2")),
                   'copy "2": not an integer >= 0'),
    "escaping path": (lambda out: edit_record(out, 3, lambda r: r.update(path="../../etc/passwd")),
                      "path \"../../etc/passwd\": '../../etc/passwd' is not a relative path inside its folder"),
    "absolute source": (lambda out: edit_record(out, 3, lambda r: r.update(source="/etc/passwd")),
                        "source \"/etc/passwd\": '/etc/passwd' is not a relative path inside its folder"),
}


def one_line(result) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "internal error" not in lines[0] and "Traceback" not in result.output
    return lines[0]


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
@pytest.mark.parametrize("command", ["stats", "manifest", "manifest-jsonl", "preview-from", "resume"])
def test_a_corrupt_manifest_is_one_line_naming_file_and_line(run, tree, tmp_path, kind, command):
    src, out, recipe = tree
    corrupt, what = CORRUPTIONS[kind]
    corrupt(out)
    args = {"stats": ["stats", out], "manifest": ["manifest", out],
            "manifest-jsonl": ["manifest", out, "--format", "jsonl"],
            "preview-from": ["preview", "--from", out, "--out", tmp_path / "sheet.png"],
            "resume": ["expand", src, out, "-r", recipe, "--resume", "-j", "1"]}[command]
    result = run(*args)
    assert result.exit_code == 2, result.output
    prefix = "--resume: " if command == "resume" else ""
    assert one_line(result) == f"augcli: error: {prefix}{out / 'manifest.jsonl'}:3: {what}" + (
        "; fix or remove that line, or use --overwrite to start again" if command == "resume" else "")


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_verify_reports_a_corrupt_line_and_checks_the_rest(run, tree, kind):
    _, out, _ = tree
    corrupt, what = CORRUPTIONS[kind]
    corrupt(out)
    (out / "cat" / "c1.jpg").write_bytes(b"changed")  # line 1: still checked
    result = run("verify", out)
    assert result.exit_code == 1
    assert f"corrupt: {out / 'manifest.jsonl'}:3: {what}" in result.stdout.splitlines()
    assert "changed: cat/c1.jpg" in result.stdout.splitlines()
    assert "internal error" not in result.output


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_overwrite_cleans_up_past_a_corrupt_manifest(run, tree, kind):
    src, out, recipe = tree
    CORRUPTIONS[kind][0](out)
    result = run("expand", src, out, "-r", recipe, "--overwrite", "-j", "1")
    assert result.exit_code == 0, result.output
    verified = run("verify", out, "--source", src)
    assert verified.exit_code == 0, verified.output


def test_a_record_whose_path_is_a_folder(run, tree, tmp_path):
    src, out, recipe = tree
    edit_record(out, 3, lambda r: r.update(path="cat"))
    assert run("stats", out).exit_code == 0
    assert run("manifest", out).exit_code == 0
    sheet = run("preview", "--from", out, "--out", tmp_path / "sheet.png", "-n", "3")
    assert sheet.exit_code == 0, sheet.output
    verified = run("verify", out)
    assert verified.exit_code == 1 and "unreadable: cat: not a regular file (a folder)" in verified.stdout.splitlines()
    replayed = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert replayed.exit_code == 2
    assert one_line(replayed) == (f"augcli: error: {out / 'manifest.jsonl'}:3: path 'cat': cannot tell its format "
                                  "from the extension (.jpg, .jpeg, .png, .webp, .bmp, .tif, .tiff)")
    overwritten = run("expand", src, out, "-r", recipe, "--overwrite", "-j", "1")
    assert overwritten.exit_code == 0, overwritten.output


def test_replay_refuses_a_path_that_is_another_s_folder(run, tree, tmp_path):
    src, out, _ = tree
    first = json.loads((out / "manifest.jsonl").read_text().splitlines()[0])["path"]
    edit_record(out, 3, lambda r: r.update(path=f"{first}/deeper.jpg"))
    replayed = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert replayed.exit_code == 2
    assert one_line(replayed) == (f"augcli: error: {out / 'manifest.jsonl'}:1: path {first!r} is also a folder "
                                  "of other paths in the manifest")


def test_a_torn_last_line_is_not_an_error(run, tree):
    src, out, recipe = tree
    with open(out / "manifest.jsonl", "ab") as handle:
        handle.write(b'{"path": "cat/c9.jpg", "sou')  # a kill mid-append
    assert run("stats", out).exit_code == 0
    assert run("verify", out).exit_code == 0
    assert run("expand", src, out, "-r", recipe, "--resume", "-j", "1").exit_code == 0
    assert run("verify", out, "--source", src).exit_code == 0


def test_a_corrupt_skipped_jsonl_stops_resume_with_its_line(run, tree):
    src, out, recipe = tree
    (out / "skipped.jsonl").write_text('{"source": "cat/x.jpg", "reason": "empty file"}\n{"source": 7}\n')
    result = run("expand", src, out, "-r", recipe, "--resume", "-j", "1")
    assert result.exit_code == 2
    assert one_line(result) == (f"augcli: error: --resume: {out / 'skipped.jsonl'}:2: missing 'reason'; "
                                "fix or remove that line, or use --overwrite to start again")


# -- replay: the manifest is its only recipe ---------------------------------------------


def first_augmented(out: Path) -> int:
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if json.loads(line)["ops"])


@pytest.mark.parametrize("change, what", [
    (lambda op: op.update(op="rotat"), "ops[0]: unknown op 'rotat' (did you mean 'rotate'?)"),
    (lambda op: op.update(op="randaugment"), "ops[0]: unknown op 'randaugment'"),
    (lambda op: op.update(angle="12"), "ops[0] rotate.angle: '12' is not a number from -360 to 360"),
    (lambda op: op.update(fill=["reflect"]), "ops[0] rotate.fill: ['reflect'] is not one of constant, edge, "
                                             "reflect, symmetric, wrap"),
    (lambda op: op.pop("angle"), "ops[0] rotate: missing angle"),
    (lambda op: op.update(angel=12), "ops[0] rotate: unknown parameter 'angel'"),
])
def test_replay_refuses_bad_ops_before_writing_anything(run, tree, tmp_path, change, what):
    src, out, _ = tree
    number = first_augmented(out)

    def edit(record):
        rotate = next(op for op in record["ops"] if op["op"] == "rotate")
        record["ops"] = [rotate]
        change(rotate)

    edit_record(out, number, edit)
    result = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert result.exit_code == 2, result.output
    assert one_line(result) == f"augcli: error: {out / 'manifest.jsonl'}:{number}: {what}"
    assert not (tmp_path / "again").exists()


@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_replay_of_a_corrupt_manifest_is_one_line(run, tree, tmp_path, kind):
    src, out, _ = tree
    corrupt, what = CORRUPTIONS[kind]
    corrupt(out)
    result = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert result.exit_code == 2
    assert one_line(result) == f"augcli: error: {out / 'manifest.jsonl'}:3: {what}"
    assert not (tmp_path / "again").exists()


NESTED_RECIPE = {"version": 1, "pipeline": [json.loads('{"one_of": [' * 300 + '"hflip"' + "]}" * 300)]}


@pytest.mark.parametrize("content, what", [
    (b'{"recipe": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "JSON nested too deeply"),
    ({"recipe": NESTED_RECIPE}, "recipe: the recipe is nested more than 64 levels deep"),
    ({"recipe": {"version": 1, "pipeline": [{"rotate": {"angle": "x"}}]}},
     "recipe: pipeline[0].rotate.angle: 'x' is not a number from -360 to 360"),
    (b"[1, 2]", "not a JSON object (found a list)"),
    (b"\xff{", "not UTF-8 text (byte 1)"),
])
def test_replay_of_a_broken_run_record_is_one_line(run, tree, tmp_path, content, what):
    src, out, _ = tree
    if isinstance(content, dict):  # the real run record with a broken recipe in it
        content = json.dumps({**json.loads((out / "augcli.json").read_text()), **content}).encode()
    (out / "augcli.json").write_bytes(content)
    result = run("replay", out / "manifest.jsonl", src, tmp_path / "again")
    assert result.exit_code == 2, result.output
    assert one_line(result) == f"augcli: error: {out / 'augcli.json'}: {what}"


@pytest.mark.parametrize("command", ["replay", "expand", "preview"])
def test_a_dangling_symlink_as_out_is_one_line(run, tree, tmp_path, command):
    src, out, recipe = tree
    link = tmp_path / "dangling.png"
    link.symlink_to(tmp_path / "nowhere")
    args = {"replay": ["replay", out / "manifest.jsonl", src, link],
            "expand": ["expand", src, link, "-r", recipe, "-j", "1"],
            "preview": ["preview", src, "-r", recipe, "--out", link]}[command]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert one_line(result) == (f"augcli: error: {link} is a symlink to {tmp_path / 'nowhere'}, which does not "
                                "exist; remove the link or give another path")


@pytest.mark.parametrize("policy", ["randaugment: {n: 3, m: 20}", "trivialaugment: {}"])
def test_every_op_a_policy_records_passes_the_replay_check(policy):
    import numpy as np

    from augcli.recipe import Recipe
    from augcli._replay import check_ops
    from augcli.sampling import sample

    recipe = Recipe.from_yaml(f"pipeline:\n  - {policy}\n")
    seen = set()
    for seed in range(300):
        ops = [op.to_json() for op in sample(recipe.pipeline, np.random.default_rng(seed), (64, 48))]
        assert check_ops(ops) is None, ops
        seen.update(op["op"] for op in ops)
    assert len(seen) >= 10, seen


# -- every command reads only inside the trees it was given ---------------------------------


def test_verify_does_not_follow_a_link_out_of_out(run, tree, tmp_path):
    src, out, _ = tree
    secret = tmp_path / "secret.jpg"
    shutil.copy(out / "cat" / "c1_aug01.jpg", secret)  # the same bytes: a followed link would verify "OK"
    (out / "cat" / "c1_aug01.jpg").unlink()
    (out / "cat" / "c1_aug01.jpg").symlink_to(secret)
    result = run("verify", out)
    assert result.exit_code == 1
    assert f"unreadable: cat/c1_aug01.jpg: cat/c1_aug01.jpg leads outside {out} (to {secret}); not read" in \
        result.stdout.splitlines()


def test_verify_source_does_not_follow_a_link_out_of_src(run, tree, tmp_path):
    src, out, _ = tree
    copy = tmp_path / "src"
    shutil.copytree(src, copy)
    outside = tmp_path / "elsewhere.jpg"
    shutil.move(copy / "cat" / "c1.jpg", outside)
    (copy / "cat" / "c1.jpg").symlink_to(outside)
    result = run("verify", out, "--source", copy)
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"unreadable: source cat/c1.jpg: cat/c1.jpg leads outside {copy} (to {outside}); not read"]


def test_preview_from_does_not_follow_a_link_out_of_out(tree, tmp_path):
    from augcli._preview import rows_from_output

    _, out, _ = tree
    secret = tmp_path / "secret.png"
    make_image(secret, fmt="PNG")
    for path in out.rglob("*_aug0*.*"):
        path.unlink()
        path.symlink_to(secret)
    captions = [tile.caption for row in rows_from_output(out, images=3, variants=3) for tile in row.tiles]
    shown = [c for c in captions if c.startswith("not shown")]
    assert shown and all("leads outside" in c and "not read" in c for c in shown)


def test_replay_does_not_follow_a_link_out_of_src(run, tree, tmp_path):
    src, out, _ = tree
    copy = tmp_path / "src"
    shutil.copytree(src, copy)
    outside = tmp_path / "elsewhere.jpg"
    shutil.move(copy / "cat" / "c1.jpg", outside)  # the same bytes, so the hash check would pass
    (copy / "cat" / "c1.jpg").symlink_to(outside)
    result = run("replay", out / "manifest.jsonl", copy, tmp_path / "again")
    assert result.exit_code == 1
    assert one_line(result) == (f"augcli: error: cannot read source cat/c1.jpg: cat/c1.jpg leads outside {copy} "
                                f"(to {outside}); not read")


@pytest.mark.parametrize("command", ["stats", "verify", "resume"])
def test_out_s_own_files_are_read_only_inside_out_and_only_if_regular(run, tree, tmp_path, command):
    src, out, recipe = tree
    elsewhere = tmp_path / "elsewhere.jsonl"
    shutil.move(out / "manifest.jsonl", elsewhere)
    (out / "manifest.jsonl").symlink_to(elsewhere)
    args = {"stats": ["stats", out], "verify": ["verify", out],
            "resume": ["expand", src, out, "-r", recipe, "--resume", "-j", "1"]}[command]
    result = run(*args)
    assert result.exit_code == 2
    if command == "resume":  # refused before reading, as a link augcli would write through
        assert one_line(result).startswith(f"augcli: error: {out / 'manifest.jsonl'} is a symbolic link")
    else:
        assert one_line(result).startswith(f"augcli: error: {out / 'manifest.jsonl'}: manifest.jsonl leads "
                                           f"outside {out} (to {elsewhere}); not read")
    (out / "manifest.jsonl").unlink()
    os.mkfifo(out / "manifest.jsonl")  # opening it would wait for a writer forever
    result = run(*args)
    assert result.exit_code == 2
    prefix = "--resume: " if command == "resume" else ""
    assert one_line(result).startswith(f"augcli: error: {prefix}{out / 'manifest.jsonl'}: not a regular file "
                                       "(a FIFO)")
