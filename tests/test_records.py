"""The record types are the files: every line expand writes to manifest.jsonl
and skipped.jsonl, and its augcli.json, read into ``ManifestRecord``,
``SkipRecord`` and ``RunRecord`` and written back, are the same bytes."""
from __future__ import annotations

import json

from augcli.manifest import ManifestRecord, RunRecord, SkipRecord, dumps, load_run_record, read_records, read_skips

from .conftest import make_image

# the files' forms as SPEC and README document them (key order included: a line is compared as text)
MANIFEST_KEYS = ["path", "source", "label", "split", "kind", "copy", "seed", "ops", "width", "height", "sha256",
                 "source_sha256"]  # then "variant" (variants) and "note" (a conversion), when there is one
RUN_KEYS = ["tool", "version", "engine", "engine_fingerprint", "recipe", "recipe_sha256", "training_time_arguments", "seed", "source",
            "started", "finished", "status", "counts"]
COUNT_KEYS = ["sources", "written", "skipped", "ignored"]


def test_records_read_and_written_back_are_the_same_bytes(run, src, tmp_path):
    make_image(src / "cat" / "alpha.png", (20, 16), mode="RGBA", seed=9)  # a note (alpha flattened for JPEG)
    (src / "dog" / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")  # a skip with a hash
    recipe = tmp_path / "r.yaml"
    recipe.write_text("output: {format: jpeg}\nvariants: {flip: [hflip], turn: [{rot90: {k: 1}}]}\n")
    out = tmp_path / "out"
    assert run("expand", src, out, "-r", recipe, "-j", "1").exit_code == 0

    lines = (out / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    records = list(read_records(out / "manifest.jsonl"))
    assert [dumps(r) for r in records] == lines
    for line in map(json.loads, lines):
        assert list(line) == MANIFEST_KEYS + [k for k in ("variant", "note") if k in line]
    assert any(r.variant for r in records) and any(r.note for r in records)
    assert all(ManifestRecord.from_json(r.to_json()) == r for r in records)

    skip_lines = (out / "skipped.jsonl").read_text(encoding="utf-8").splitlines()
    skips = list(read_skips(out / "skipped.jsonl"))
    assert [dumps(s) for s in skips] == skip_lines and any(s.source_sha256 for s in skips)
    assert all(list(json.loads(line)) == ["source", "reason", "source_sha256"] for line in skip_lines)
    assert all(SkipRecord.from_json(s.to_json()) == s for s in skips)

    text = (out / "augcli.json").read_text(encoding="utf-8")
    record = load_run_record(out / "augcli.json")
    assert json.dumps(record.to_json(), indent=2, ensure_ascii=False) + "\n" == text
    assert list(json.loads(text)) == RUN_KEYS and list(json.loads(text)["counts"]) == COUNT_KEYS
    assert record.status == "complete" and record.counts.written == len(records)
    assert RunRecord.from_json(record.to_json()) == record


def test_keys_augcli_does_not_read_are_kept_when_a_record_is_rewritten():
    line = {"path": "a/x.png", "source": "a/x.png", "label": "a", "split": None, "kind": "original", "copy": 0,
            "seed": None, "ops": [], "width": 1, "height": 1, "sha256": "0" * 64, "source_sha256": "0" * 64,
            "reviewed_by": "me"}
    assert ManifestRecord.from_json(line).to_json() == line
    assert SkipRecord.from_json({"source": "a/y.png", "reason": "empty file", "why": 1}).to_json()["why"] == 1
