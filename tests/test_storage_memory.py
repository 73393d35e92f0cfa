"""SRC and OUT as ``memory://`` URLs: the fast unit tests of the storage seam
(``augcli.storage``). A run into a store writes exactly the bytes a local run
writes; the store's own rules (no rename, no append) are met by whole PUTs and
manifest parts."""
from __future__ import annotations

import importlib.util
import json

import fsspec
import pytest

from augcli._expand import expand
from augcli.errors import UsageError
from augcli.storage import outstore, parse_options

from .conftest import tree_digest
from .stores import digests, upload


@pytest.fixture
def mem():
    """The process's memory filesystem, emptied after the test."""
    fs = fsspec.filesystem("memory")
    yield fs
    fs.store.clear()
    fs.pseudo_dirs[:] = [""]


def test_memory_run_writes_the_bytes_of_a_local_run(run, src, recipe, tmp_path, mem):
    upload(mem, src, "/src")
    local = tmp_path / "local"
    assert run("expand", src, local, "--recipe", recipe, "-j", "1").exit_code == 0
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe, "-j", "2")
    assert result.exit_code == 0, result.output
    assert digests(mem, "/out") == tree_digest(local)
    record = json.loads(mem.cat_file("/out/augcli.json"))
    assert record["source"] == "memory://src" and record["status"] == "complete"
    assert not mem.find("/out/" + outstore.PARTS)  # the parts were joined and removed


def test_local_src_into_a_store_and_back(run, src, recipe, tmp_path, mem):
    """Mixed trees: a local SRC into memory://, and memory:// SRC into a local OUT."""
    assert run("expand", src, "memory://out", "--recipe", recipe).exit_code == 0
    upload(mem, src, "/src")
    back = tmp_path / "back"
    assert run("expand", "memory://src", back, "--recipe", recipe).exit_code == 0
    assert tree_digest(back) == digests(mem, "/out")
    assert json.loads((back / "augcli.json").read_text())["source"] == "memory://src"


def test_file_urls_are_local_paths(run, src, recipe, tmp_path):
    out = tmp_path / "out"
    result = run("expand", f"file://{src}", f"file://{out}", "--recipe", recipe, "-j", "1")
    assert result.exit_code == 0, result.output
    assert json.loads((out / "augcli.json").read_text())["source"] == str(src.resolve())


def test_a_url_without_the_cloud_extra_is_a_usage_error_naming_it(run, recipe, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fsspec" else real(name, *a))
    result = run("expand", "s3://bucket/data", tmp_path / "out", "--recipe", recipe)
    assert result.exit_code == 2
    assert "pip install -e '.[cloud]'" in result.output and "s3://bucket/data" in result.output
    assert not (tmp_path / "out").exists()  # nothing touched


@pytest.mark.parametrize("url, what", [("nope://bucket/x", "unknown storage protocol nope://"),
                                       ("memory://", "name a bucket")])
def test_bad_urls_are_usage_errors(run, recipe, tmp_path, url, what):
    result = run("expand", url, tmp_path / "out", "--recipe", recipe)
    assert result.exit_code == 2 and what in result.output


def test_missing_src_in_a_store(run, recipe, mem):
    result = run("expand", "memory://nothing", "memory://out", "--recipe", recipe)
    assert result.exit_code == 2
    assert "SRC memory://nothing does not exist" in result.output
    assert not mem.find("/out")


def test_out_inside_src_in_a_store_is_refused(run, src, recipe, mem):
    upload(mem, src, "/src")
    result = run("expand", "memory://src", "memory://src/out", "--recipe", recipe)
    assert result.exit_code == 2 and "inside SRC" in result.output


def test_non_empty_out_in_a_store_needs_resume_or_overwrite(run, src, recipe, mem):
    upload(mem, src, "/src")
    mem.pipe_file("/out/notes.txt", b"mine")
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe)
    assert result.exit_code == 2 and "not empty" in result.output
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe, "--overwrite")
    assert result.exit_code == 2 and "no augcli.json" in result.output
    assert [p for p in mem.find("/out")] == ["/out/notes.txt"]  # a refused run changed nothing


def test_storage_options_parse():
    assert parse_options(["endpoint_url=http://h:1", "anon=true", "max_concurrency=4",
                          'client_kwargs={"region_name": "x"}']) == {
        "endpoint_url": "http://h:1", "anon": True, "max_concurrency": 4, "client_kwargs": {"region_name": "x"}}
    with pytest.raises(UsageError, match="expected KEY=VALUE"):
        parse_options(["endpoint_url"])


def test_verify_replay_and_preview_with_trees_in_a_store(run, src, recipe, tmp_path, mem):
    upload(mem, src, "/src")
    assert run("expand", "memory://src", "memory://out", "--recipe", recipe).exit_code == 0
    result = run("verify", "memory://out", "--source", "memory://src")
    assert result.exit_code == 0, result.output
    assert "files OK" in result.output
    result = run("replay", "memory://out/manifest.jsonl", "memory://src", "memory://again")
    assert result.exit_code == 0, result.output
    assert digests(mem, "/again", exclude=("augcli.json",)) == digests(mem, "/out")
    assert json.loads(mem.cat_file("/again/augcli.json"))["replay_of"] == "memory://out/manifest.jsonl"
    result = run("replay", "memory://out/manifest.jsonl", "memory://src", "memory://again")
    assert result.exit_code == 2 and "NEWOUT memory://again is not empty" in result.output
    result = run("preview", "memory://src", "--recipe", recipe, "--out", "memory://sheets/look.png", "-n", "2")
    assert result.exit_code == 0, result.output
    assert mem.cat_file("/sheets/look.png").startswith(b"\x89PNG")

    # the store's verify finds what the local one finds
    name = next(p for p in mem.find("/out") if p.endswith("_aug01.jpg"))
    mem.pipe_file(name, b"changed")
    mem.pipe_file("/out/cat/stray.jpg", b"x")
    result = run("verify", "memory://out")
    assert result.exit_code == 1
    assert f"changed: {name[len('/out/'):]}" in result.output and "extra: cat/stray.jpg" in result.output


def test_resume_joins_the_parts_a_killed_run_left_and_finishes(run, src, recipe, tmp_path, mem, monkeypatch):
    """A kill leaves manifest parts (no join): --resume joins them first, keeps
    those images and writes the rest, ending byte-identical to one run."""
    upload(mem, src, "/src")
    local = tmp_path / "local"
    assert run("expand", src, local, "--recipe", recipe, "-j", "1").exit_code == 0
    monkeypatch.setattr(outstore, "PART_LINES", 3)
    monkeypatch.setattr(outstore, "join", lambda store, name: None)  # killed: nothing joined at the end
    calls = []

    def killed(n):
        calls.append(n)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the run stops mid-way
    with pytest.raises(KeyboardInterrupt):
        expand("memory://src", "memory://out", recipe, jobs=1, on_progress=killed)
    parts = mem.find("/out/" + outstore.PARTS)
    assert parts and not mem.exists("/out/manifest.jsonl")
    monkeypatch.undo()
    before = {p: mem.cat_file(p) for p in mem.find("/out") if "_aug" in p}
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe, "--resume")
    assert result.exit_code == 0, result.output
    assert "already done" in result.output
    assert digests(mem, "/out") == tree_digest(local)
    assert not mem.find("/out/" + outstore.PARTS)
    assert all(mem.cat_file(p) == data for p, data in before.items())


def test_resume_follows_an_edited_source_in_the_store(run, src, recipe, tmp_path, mem):
    upload(mem, src, "/src")
    assert run("expand", "memory://src", "memory://out", "--recipe", recipe).exit_code == 0
    mem.pipe_file("/src/dog/d1.jpg", (src / "cat" / "c1.jpg").read_bytes())  # re-exported
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe, "--resume")
    assert result.exit_code == 0, result.output
    assert "1 changed (dog/d1.jpg)" in result.output
    fresh = tmp_path / "fresh"
    local_src = tmp_path / "src-now"
    mem.get("/src", str(local_src), recursive=True)
    assert run("expand", local_src, fresh, "--recipe", recipe).exit_code == 0
    meta = ("augcli.json", "manifest.jsonl")
    assert digests(mem, "/out", exclude=meta) == tree_digest(fresh, exclude=meta)
    # the redone records come last, as in a local resume
    lines = mem.cat_file("/out/manifest.jsonl").decode().splitlines()
    assert sorted(lines) == sorted((fresh / "manifest.jsonl").read_text().splitlines())


def test_src_in_a_store_is_never_written(run, src, recipe, mem, monkeypatch):
    """Every writing call of the filesystem is watched: none reaches SRC, through
    expand, --resume, --overwrite, verify and replay."""
    upload(mem, src, "/src")
    kind = type(mem)
    touched = []
    for method in ("pipe_file", "rm_file", "rm", "mv", "copy", "touch", "makedirs", "mkdir"):
        real = getattr(kind, method)

        def watch(self, path, *args, _real=real, **kwargs):
            touched.append(str(path))
            return _real(self, path, *args, **kwargs)
        monkeypatch.setattr(kind, method, watch)
    original_open = kind._open

    def watch_open(self, path, mode="rb", *args, **kwargs):
        if "r" not in mode:
            touched.append(str(path))
        return original_open(self, path, mode, *args, **kwargs)
    monkeypatch.setattr(kind, "_open", watch_open)
    for args in (["expand", "memory://src", "memory://out", "--recipe", recipe],
                 ["expand", "memory://src", "memory://out", "--recipe", recipe, "--resume"],
                 ["expand", "memory://src", "memory://out", "--recipe", recipe, "--overwrite"],
                 ["verify", "memory://out", "--source", "memory://src"],
                 ["replay", "memory://out/manifest.jsonl", "memory://src", "memory://again"]):
        assert run(*args).exit_code == 0
    assert touched and not [p for p in touched if p.lstrip("/").startswith("src")]


def test_credentials_in_a_url_are_refused_without_echoing_them(run, recipe, tmp_path):
    result = run("expand", "s3://AKIAEXAMPLE:hunter2-secret@bucket/data", tmp_path / "out", "--recipe", recipe)
    assert result.exit_code == 2 and "credentials do not go in the URL" in result.output
    assert "hunter2" not in result.output and "AKIAEXAMPLE" not in result.output


def test_a_store_without_conditional_writes_still_refuses_a_live_lock(run, src, recipe, mem, monkeypatch):
    """The documented fallback: check, write, read back."""
    from augcli.storage import lock, store

    monkeypatch.setattr(store, "CONDITIONAL_WRITES", frozenset())
    monkeypatch.setattr(lock.time, "sleep", lambda seconds: None)
    upload(mem, src, "/src")
    live = {"token": "t", "host": "elsewhere", "pid": 7, "beat": __import__("time").time()}
    mem.pipe_file("/out/.augcli.lock", json.dumps(live).encode())
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe)
    assert result.exit_code == 2 and "host elsewhere, pid 7" in result.output
    mem.rm_file("/out/.augcli.lock")
    assert run("expand", "memory://src", "memory://out", "--recipe", recipe).exit_code == 0
    assert not mem.exists("/out/.augcli.lock")


def test_a_join_killed_between_its_put_and_its_deletes_counts_each_line_once(run, src, recipe, mem):
    """The manifest was PUT whole but the parts it came from were not all
    removed: readers and the next join see each record once."""
    from augcli.storage.store import Store

    upload(mem, src, "/src")
    assert run("expand", "memory://src", "memory://out", "--recipe", recipe).exit_code == 0
    lines = mem.cat_file("/out/manifest.jsonl").splitlines(keepends=True)
    mem.pipe_file(f"/out/{outstore.PARTS}/manifest.jsonl.0001.00000001", b"".join(lines[-3:]))
    store = Store.at("memory://out", {})
    assert [r.path for r in outstore.records(store)] == [json.loads(line)["path"] for line in lines]
    outstore.join(store, "manifest.jsonl")
    assert mem.cat_file("/out/manifest.jsonl").splitlines(keepends=True) == lines
    assert not mem.find(f"/out/{outstore.PARTS}")
    assert run("verify", "memory://out").exit_code == 0


def test_dry_run_and_overwrite_in_a_store(run, src, recipe, tmp_path, mem):
    upload(mem, src, "/src")
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe, "--dry-run")
    assert result.exit_code == 0 and "total" in result.output and not mem.find("/out")
    assert run("expand", "memory://src", "memory://out", "--recipe", recipe, "--copies", "3").exit_code == 0
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe, "--dry-run", "--resume")
    assert result.exit_code == 0 and "already done" in result.output
    result = run("expand", "memory://src", "memory://out", "--recipe", recipe, "--copies", "1", "--overwrite")
    assert result.exit_code == 0, result.output
    local = tmp_path / "one"
    assert run("expand", src, local, "--recipe", recipe, "--copies", "1").exit_code == 0
    assert digests(mem, "/out") == tree_digest(local)  # the three-copy outputs are gone


def test_verify_a_local_out_against_a_source_in_a_store(run, src, recipe, tmp_path, mem):
    upload(mem, src, "/src")
    out = tmp_path / "out"
    assert run("expand", "memory://src", out, "--recipe", recipe).exit_code == 0
    assert run("verify", out, "--source", "memory://src").exit_code == 0
    mem.pipe_file("/src/cat/c1.jpg", b"edited")
    result = run("verify", out, "--source", "memory://src")
    assert result.exit_code == 1 and "source changed: cat/c1.jpg" in result.output


def test_a_store_scans_by_the_local_rules(src, tmp_path, mem):
    """Litter, other extensions, non-images, empty files and folders too deep
    are ignored or skipped exactly as a local scan of the same files does."""
    from augcli.limits import MAX_SCAN_DEPTH
    from augcli.scan import scan
    from augcli.storage.store import Store

    (src / "cat" / ".DS_Store").write_bytes(b"x")
    (src / "cat" / "labels.txt").write_text("x")
    (src / "dog" / "fake.jpg").write_bytes(b"not an image")
    (src / "dog" / "empty.png").write_bytes(b"")
    (src / "notes.md").write_text("x")
    deep = src / "dog" / "/".join(["d"] * (MAX_SCAN_DEPTH + 1))
    deep.mkdir(parents=True)
    (deep / "x.jpg").write_bytes((src / "cat" / "c1.jpg").read_bytes())
    upload(mem, src, "/src")
    local, stored = scan(src), Store.at("memory://src", {}).scan()
    assert stored.sources == local.sources
    assert stored.skipped == local.skipped and stored.ignored == local.ignored
    assert any("nested more than" in s.reason for s in stored.skipped)
