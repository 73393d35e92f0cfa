"""``expand`` when SRC or OUT (or both) are in object storage.

The same steps as a local run (``augcli._expand``), with each tree's own
checks: a local tree keeps all of them (``check_src``, ``check_out``, the
``flock``, the no-link checks); a tree in a store is listed, locked with a
lock object (``storage.lock``) and written through ``RemoteOut``. The run
itself is ``_Run``'s: the plan, the workers (``worker.process``, batched with
prefetch), the manifest appended only by this process (as parts on a store,
``storage.outstore``), ``augcli.json`` at start and end.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from .._expand import Summary, _before_writing, _Run, _with_plan_skips, _workers
from ..errors import AugcliError, UsageError
from ..manifest import MANIFEST, META_FILES, SKIPPED, ManifestError, RunRecord, dumps
from ..outdir import LOCK_FILE, OutDir, check_not_locked, one_writer
from ..outstate import check_out, check_resumable, previous_run, refuse_links
from ..plan import Plan, make_plan
from ..recipe import Recipe
from ..provenance import plugins_used
from ..resume import check_removal, drawings_for, recipe_changes, reconcile
from ..scan import OutIdentity, Scan, check_src, scan
from ..worker import Job
from . import tree_of
from .listing import scan_store
from .lock import one_writer_stored
from .outstore import PARTS, RemoteOut, join, records, run_record, skips
from .store import Store


def expand_stored(src, out, recipe: Recipe, *, jobs=None, backend="loky", scheduler=None, resume=False,
                  overwrite=False, dry_run=False, max_pixels, augment_splits=None,
                  on_progress: Callable[[int], None] | None = None, on_start: Callable[[int], None] | None = None,
                  storage_options: dict | None = None, started: float | None = None, prune: bool = False) -> Summary:
    """``augcli.expand`` with SRC and/or OUT as URLs (or ``Store``), its arguments
    and recipe already checked by ``expand``."""
    started = time.perf_counter() if started is None else started
    with _before_writing():
        src_tree = src if isinstance(src, Store) else tree_of(str(src), storage_options, role="SRC")
        out_tree = out if isinstance(out, Store) else tree_of(str(out), storage_options, role="OUT")
        backend = _backend_for(src_tree, out_tree, backend)
        if isinstance(src_tree, str):
            check_src(src_tree)
        if isinstance(out_tree, str):
            check_out(out_tree)
        _check_separate(src_tree, out_tree)
        if dry_run:
            previous = _previous_run(out_tree, recipe, resume, overwrite)
            return _dry_run(src_tree, out_tree, recipe, augment_splits, previous)

    shown = str(out_tree)
    try:
        with _before_writing():  # SRC is listed before OUT is touched: a refusal writes nothing
            if isinstance(out_tree, str):
                check_not_locked(out_tree)
            _previous_run(out_tree, recipe, resume, overwrite)
            found = _scan(src_tree, out_tree)
            plan = make_plan(found, recipe, augment_splits)
            found = _with_plan_skips(found, plan)
        with _writer(out_tree):
            with _before_writing():
                previous = _previous_run(out_tree, recipe, resume, overwrite)  # again, now that OUT is ours
                if isinstance(out_tree, str):
                    refuse_links(Path(out_tree), plan)
            summary = Summary(out=shown, ignored=len(found.ignored), ignored_files=found.ignored,
                              empty_classes=found.empty_classes)
            workers, summary.jobs_note = _workers(jobs)
            out_dir = OutDir.of(out_tree) if isinstance(out_tree, str) else RemoteOut(out_tree)
            kind = _Run if isinstance(out_tree, str) else _StoredRun
            src_arg = Path(src_tree) if isinstance(src_tree, str) else src_tree
            run = kind(src_arg, out_dir, shown, recipe, found, workers)
            tasks = run.prepare(plan, previous, overwrite, summary, prune)
            if tasks is not None:
                job_src = str(Path(src_tree).resolve()) if isinstance(src_tree, str) else src_tree
                job = Job(job_src, run.out, recipe.effective_seed, max_pixels, local_pool=backend == "loky",
                          plugins=tuple(plugins_used(recipe).items()))
                run.execute(tasks, job, backend, scheduler, on_start, on_progress, summary)
    except OSError as exc:  # before the run began: nothing written, nothing to resume
        raise AugcliError(f"cannot write to OUT {shown}: {exc.strerror or exc}") from exc
    summary.seconds = time.perf_counter() - started
    return summary


def _backend_for(src, out, backend: str) -> str:
    """``memory://`` lives in this process: its workers are threads, and a Dask
    cluster cannot reach it."""
    if any(isinstance(t, Store) and t.protocol == "memory" for t in (src, out)):
        if backend == "dask":
            raise UsageError("memory:// trees live in this process; --backend dask cannot reach them "
                             "(use s3://, gs:// or az://)")
        return "threading"
    return backend


def _check_separate(src, out) -> None:
    """OUT == SRC, OUT inside SRC or SRC inside OUT is refused before any work."""
    if isinstance(src, str) and isinstance(out, str):
        from ..scan import check_separate

        check_separate(Path(src), Path(out))
        return
    if not (isinstance(src, Store) and isinstance(out, Store)) or src.protocol != out.protocol:
        return  # one local, one in a store: apart
    if out.root == src.root:
        raise UsageError(f"OUT {out} is the same folder as SRC: augcli never writes into its source")
    if out.root.startswith(src.root + "/"):
        raise UsageError(f"OUT {out} is inside SRC {src}: choose an output folder outside the source tree")
    if src.root.startswith(out.root + "/"):
        raise UsageError(f"SRC {src} is inside OUT {out}: choose an output folder outside the source tree")


def _scan(src, out=None) -> Scan:
    """SRC listed; a local SRC must not hold a local OUT (``scan.OutIdentity``)."""
    if not isinstance(src, str):
        return scan_store(src)
    return scan(src, OutIdentity.of(out) if isinstance(out, str) else None)


def _writer(out):
    return one_writer(out) if isinstance(out, str) else one_writer_stored(out)


def _previous_run(out, recipe: Recipe, resume: bool, overwrite: bool) -> RunRecord | None:
    """As ``outstate.previous_run``, for OUT in a store as well."""
    if isinstance(out, str):
        return previous_run(Path(out), recipe, resume, overwrite)
    try:
        names = out.files()
    except OSError as exc:  # unreachable, no such bucket, no permission: before any work
        raise UsageError(f"cannot list OUT {out}: {exc.strerror or exc}") from None
    if not any(name != LOCK_FILE for name in names):
        return None
    if resume:
        return check_resumable(out, run_record(out), recipe)
    if overwrite and run_record(out) is None:
        raise UsageError(f"--overwrite: {out} has no augcli.json; augcli only overwrites its own output")
    if not overwrite:
        raise UsageError(f"OUT {out} is not empty: use --resume to finish an interrupted run, or "
                         "--overwrite to replace an earlier augcli output")
    return None


def _previous_records(out, repair: bool) -> tuple[list, list]:
    if isinstance(out, str):
        from ..resume import previous_records

        return previous_records(Path(out), repair=repair)
    try:
        return list(records(out)), list(skips(out))
    except ManifestError as exc:
        fix = "fix or remove that line" if exc.line else "fix the file"
        raise UsageError(f"--resume: {exc}; {fix}, or use --overwrite to start again") from None


def _dry_run(src, out, recipe: Recipe, augment_splits, previous: RunRecord | None) -> Summary:
    """``--dry-run``: the plan and what is left of it; nothing written, no lock taken."""
    found = _scan(src)
    plan = make_plan(found, recipe, augment_splits)
    found = _with_plan_skips(found, plan)
    done, skipped_before = _previous_records(out, repair=False) if previous else ([], [])
    skipped_sources = {r.source for r in skipped_before}
    skips_ = [s.to_json() for s in skipped_before] + [s.to_json() for s in found.skipped
                                                      if s.source not in skipped_sources]
    return Summary(out=str(out), ignored=len(found.ignored), ignored_files=found.ignored,
                   empty_classes=found.empty_classes, dry_run=True, already_done=len(done),
                   sources=plan.sources_left(skipped_sources), skips=skips_, skipped=len(skips_),
                   plan_rows=plan.table(),
                   written=plan.left(done, skipped_sources) if previous else plan.n_outputs)


class _Listed:
    """OUT as ``reconcile`` asks it, answered from one listing instead of a
    request per record."""

    def __init__(self, names: set[str]):
        self.names = names

    def is_file(self, relpath: str) -> bool:
        return relpath in self.names


class _StoredRun(_Run):
    """``_Run`` with OUT in a store: clearing and taking stock through it."""

    def clear_previous(self) -> None:
        store = self.out.store
        for record in records(store, on_error=lambda error: None):
            store.remove(record.path)
        for name in list(store.files(PARTS)) + list(META_FILES):
            store.remove(name)

    def take_stock(self, plan: Plan, previous: RunRecord, prune: bool = False):
        store = self.out.store
        for name in (MANIFEST, SKIPPED):  # a killed run's parts become its files first
            join(store, name)
        done, skipped = _previous_records(store, repair=True)
        resumed = reconcile(plan, self.found, _Listed(set(store.files())), self.src, done, skipped,
                            finished=previous.status == "complete", jobs=self.jobs,
                            drawings=drawings_for(previous, self.recipe))  # recipe edits followed here too
        resumed.recipe_changes = recipe_changes(previous, self.recipe)
        check_removal(resumed, previous, self.src, len(done), str(store), prune)
        if resumed.stale or resumed.dropped_skips:
            for record in resumed.stale:
                store.remove(record.path)
            store.write(MANIFEST, "".join(dumps(r) + "\n" for r in resumed.done).encode("utf-8"))
            if resumed.skips:
                store.write(SKIPPED, "".join(dumps(s) + "\n" for s in resumed.skips).encode("utf-8"))
            else:
                store.remove(SKIPPED)
        return resumed
