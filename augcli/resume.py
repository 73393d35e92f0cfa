"""``--resume``: what an earlier run left in OUT, against what SRC and the plan
say now.

A manifest record is kept only if it is still exactly what this plan would
write: the plan has a target at its path for the same source, kind and copy;
the source's bytes still hash to the recorded ``source_sha256``; its file is in
place (reached without a link); and no other record claims the same path. A
skip record is kept only while its source is unchanged (by hash) or the scan
still skips it for the same reason. Everything else is stale: its file is
removed, its line dropped, and the plan makes it again. So a resume after SRC
changed (sources added, removed, re-exported, or a new name colliding with an
old one) ends with the outputs a fresh run writes, never with stale ones.

A recipe (or seed) edit is followed the same way: a record is kept only if
its output's drawing (``drawing.Drawings``) is the same under the recipe that
made it and this one, so raising ``copies`` writes only the new copies, an
edited pipeline redoes the augmented outputs, and outputs no longer asked for
are removed. Removing in bulk is never silent: when SRC is not the one OUT was
made from and anything would go, or when most of OUT would go, the resume is
refused (naming what would go) unless ``--prune`` asks for it.
"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError
from .manifest import (MANIFEST, SKIPPED, ManifestError, ManifestRecord, RunRecord, SkipRecord, dumps, read_records,
                       read_skips, repair_torn_tail)
from .layouts import label_digest
from .outdir import OutDir
from .drawing import Drawings, changed_keys, normalised, recorded_recipe
from .plan import Plan, Target
from .recipe import Recipe
from .scan import Scan, SourceImage
from .trees import hash_inside


@dataclass
class Resumed:
    done: list[ManifestRecord]  # still valid
    skips: list[SkipRecord]  # still valid
    stale: list[ManifestRecord]  # their files are to be removed
    dropped_skips: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    redone: set[str] = field(default_factory=set)  # paths of stale records the plan writes again
    recipe_changes: list[str] = field(default_factory=list)  # keys the recipe edit changed

    @property
    def src_changed(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    @property
    def gone(self) -> list[str]:
        """Paths of outputs removed for good: stale, and not written again."""
        return sorted({r.path for r in self.stale} - self.redone)

    def describe(self) -> str:
        """What changed in SRC, in one clause: '1 added (cat/b.jpg), 2 changed (...)'."""
        parts = []
        for what, names in (("added", self.added), ("removed", self.removed), ("changed", self.changed)):
            if names:
                shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
                parts.append(f"{len(names)} {what} ({shown})")
        return ", ".join(parts)


def previous_records(out: Path, repair: bool = True,
                     shown: str | None = None) -> tuple[list[ManifestRecord], list[SkipRecord]]:
    """The manifest and skip records of the earlier run. A torn last line (a
    kill mid-append) is cut off (``repair``); any other bad line stops the
    resume with its file (under OUT as the user wrote it) and line."""
    try:
        if repair:
            for name in (MANIFEST, SKIPPED):
                repair_torn_tail(out / name)
        return list(read_records(out / MANIFEST)), list(read_skips(out / SKIPPED))
    except ManifestError as exc:
        where = Path(shown) / Path(exc.path).name if shown else exc.path
        fix = "fix or remove that line" if exc.line else "fix the file"
        raise UsageError(f"--resume: {ManifestError(where, exc.line, exc.what)}; {fix}, or use --overwrite to "
                         "start again") from None


def take_stock(out: OutDir, plan: Plan, found: Scan, src: Path, previous: RunRecord, jobs: int,
               shown: str, recipe: Recipe, prune: bool = False) -> Resumed:
    """Keep what is still valid in OUT, remove what is stale (``reconcile``
    sorts them; ``check_removal`` refuses a bulk removal not asked for). Files
    go first, then their lines: if this is interrupted, a line whose file is
    gone is stale next time too."""
    records, skips = previous_records(Path(out.path), shown=shown)
    resumed = reconcile(plan, found, out, src, records, skips, finished=previous.status == "complete",
                        jobs=jobs, drawings=drawings_for(previous, recipe))
    resumed.recipe_changes = recipe_changes(previous, recipe)
    check_removal(resumed, previous, src, len(records), shown, prune)
    if resumed.stale or resumed.dropped_skips:
        removed = [r.path for r in resumed.stale if out.remove(r.path)]
        removed += [r.labels["path"] for r in resumed.stale if (r.labels or {}).get("path") and out.remove(r.labels["path"])]
        out.write(MANIFEST, "".join(dumps(r) + "\n" for r in resumed.done).encode("utf-8"))
        if resumed.skips:
            out.write(SKIPPED, "".join(dumps(s) + "\n" for s in resumed.skips).encode("utf-8"))
        else:
            out.remove(SKIPPED)
        out.prune(path.rpartition("/")[0] for path in removed)
    return resumed


def drawings_for(previous: RunRecord, recipe: Recipe) -> Drawings | None:
    """How to compare outputs' drawings with the run that made OUT; None when
    recipe and seed are unchanged (every drawing is)."""
    if previous.recipe_sha256 == recipe.sha256 and previous.seed == recipe.effective_seed:
        return None
    old = recorded_recipe(previous.recipe)
    if old is None:  # refused before the lock (outstate); here only if augcli.json changed meanwhile
        raise UsageError("--resume: the recipe recorded in augcli.json cannot be read back; use --overwrite")
    return Drawings(old, previous.seed, normalised(recipe), recipe.effective_seed)


def recipe_changes(previous: RunRecord, recipe: Recipe) -> list[str]:
    if previous.recipe_sha256 == recipe.sha256 and previous.seed == recipe.effective_seed:
        return []
    return changed_keys(previous.recipe, recipe.to_plain(), previous.seed, recipe.effective_seed)


def source_of(src) -> str:
    """SRC as ``augcli.json`` records it: a local folder resolved, a store by its URL."""
    return str(src.resolve()) if isinstance(src, Path) else str(src)


MOST = 0.5  # a resume that would remove more than this share of OUT's outputs asks for --prune


def check_removal(resumed: Resumed, previous: RunRecord, src: Path, total: int, shown: str, prune: bool) -> None:
    """Refuse (exit 2, before anything is deleted) a resume that would remove
    outputs from OUT made from another SRC, or most of OUT, unless ``prune``."""
    if prune:
        return
    gone = resumed.gone
    other_src = previous.source is not None and previous.source != source_of(src)
    if other_src and (gone or resumed.redone):
        why = f"{shown} was made from {previous.source}, not {source_of(src)}"
    elif gone and len(gone) > MOST * total:
        why = f"most of {shown} would go"
    else:
        return
    shown_gone = ", ".join(gone[:3]) + (", ..." if len(gone) > 3 else "")
    what = f"would remove {len(gone)} of its {total} outputs" + (f" ({shown_gone})" if gone else "")
    if resumed.redone:
        what += f" and redo {len(resumed.redone)}"
    cause = "; ".join(filter(None, [resumed.describe() and f"SRC: {resumed.describe()}",
                                    resumed.recipe_changes and f"recipe: {', '.join(resumed.recipe_changes)}"]))
    raise UsageError(f"--resume: {why}: this resume {what}" + (f" ({cause})" if cause else "")
                     + "; add --prune if that is what you want, or use --overwrite to start again")


def reconcile(plan: Plan, found: Scan, out: OutDir, src: Path, records: list[ManifestRecord],
              skips: list[SkipRecord], *, finished: bool, jobs: int = 4,
              drawings: Drawings | None = None) -> Resumed:
    """Sort the earlier run's records into kept and stale (see the module doc).
    ``finished``: the earlier run completed, so a source it has no record of
    was added since (otherwise it may simply not have been reached)."""
    now = {outputs.source.relpath for outputs in plan.outputs}
    scan_skips = {skip.source: skip for skip in found.skipped}
    recorded = {r.source for r in records} | {s.source for s in skips}
    hashes = _hashes(src, sorted(recorded & now), jobs)

    claims = Counter(r.path for r in records)
    current = {}  # path -> the record this plan would write there, unchanged source
    labels_now = _label_hashes(src, plan, recorded & now, jobs)
    planned = set()  # the paths records claim that this plan writes
    for task in plan.tasks():  # streamed: only the targets records claim are kept
        digest = hashes.get(task.source.relpath)
        for target in task.targets:
            if claims[target.path]:
                planned.add(target.path)
            if claims[target.path] == 1:
                current[target.path] = (task.source, target, digest)
    done, stale = [], []
    for record in records:
        wanted = current.get(record.path)
        ok = (wanted is not None and _same(record, *wanted) and out.is_file(record.path)
              and (drawings is None or drawings.same(wanted[0], record.kind, record.variant))
              and _same_labels(record, labels_now.get(record.source), out))
        (done if ok else stale).append(record)

    kept_skips, seen = [], set()
    for skip in skips:
        source = skip.source
        unchanged = source in now and skip.source_sha256 is not None and skip.source_sha256 == hashes.get(source)
        if source not in seen and (unchanged or scan_skips.get(source) == skip):
            kept_skips.append(skip)
            seen.add(source)

    hashed = records + [s for s in skips if s.source_sha256 is not None]  # old skip records carry no hash
    changed = {r.source for r in hashed if r.source in now and r.source_sha256 != hashes.get(r.source)}
    changed |= {r.source for r in records if r.source in now and r.labels is not None
                and r.labels.get("source_sha256") != labels_now.get(r.source)}
    changed |= {r.source for r in records if r.source in scan_skips}
    return Resumed(
        done=done, skips=kept_skips, stale=stale, dropped_skips=len(skips) - len(kept_skips),
        added=sorted(now - recorded) if finished else [],
        removed=sorted(recorded - now - set(scan_skips)),
        changed=sorted(changed),
        redone={r.path for r in stale} & planned,
    )


def _same(record: ManifestRecord, source: SourceImage, target: Target, digest: str | None) -> bool:
    return (record.source == source.relpath and record.kind == target.kind and record.copy == target.copy
            and record.variant == target.variant and digest is not None and record.source_sha256 == digest)


def _label_hashes(src: Path, plan: Plan, relpaths: set[str], jobs: int) -> dict[str, str | None]:
    """sha256 of each annotated source's labels now (``layouts.label_digest``):
    an edited label file makes its image's outputs stale, as an edited image does."""
    sources = [o.source for o in plan.outputs if o.source.relpath in relpaths and
               (o.source.labels is not None or o.source.inline is not None)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return dict(zip((s.relpath for s in sources), pool.map(lambda s: label_digest(src, s), sources)))


def _same_labels(record: ManifestRecord, digest: str | None, out: OutDir) -> bool:
    """A record's labels still match the source's (and its label file is in place)."""
    labels = record.labels or {}
    if labels.get("source_sha256") != digest:
        return False
    return labels.get("path") is None or out.is_file(labels["path"])


def _hashes(src: Path, relpaths: list[str], jobs: int) -> dict[str, str | None]:
    """sha256 of each source now (None when it cannot be read), hashed in
    threads: hashlib releases the GIL, so this runs at disk speed."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # (read only inside SRC)
        return dict(zip(relpaths, pool.map(lambda relpath: hash_inside(src, relpath), relpaths)))
