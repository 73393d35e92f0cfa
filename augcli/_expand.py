"""The ``expand`` job end to end (``augcli.expand``); the CLI is a thin layer over it.

``expand`` checks SRC and OUT (``scan.check_src``, ``outstate``), then under
OUT's lock scans, plans and decides what OUT's earlier contents mean
(``outstate.previous_run``). ``_Run`` clears or takes stock (``resume``),
runs what the plan has left (``Plan.remaining``), appends each result to the
manifest or the skips as it comes in, and keeps ``augcli.json`` saying how
the run stands. ``--dry-run`` stops after the plan.
"""
from __future__ import annotations

import collections
import contextlib
import dataclasses
import itertools
import os
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

from . import __version__
from .engine import engine, fingerprint
from .arguments import (check_backend as check_backend_name, check_balance, check_copies, check_jobs,
                        check_max_pixels, check_scheduler, check_seed)
from .distinct import key_of
from .errors import AugcliError, Interrupted, UsageError
from .execute import check_backend, default_jobs, run_tasks
from .io import DEFAULT_MAX_PIXELS
from .manifest import (MANIFEST, RUN_FILE, SKIPPED, AppendLog, Counts, ManifestRecord, RunRecord, SkipRecord,
                       write_run_record)
from .outdir import OutDir, check_not_locked, one_writer
from .outstate import check_out, clear_previous_output, is_empty, previous_run, refuse_links
from .plan import Plan, Task, make_plan
from .provenance import plugins_used
from .recipe import Recipe
from .resume import (check_removal, drawings_for, previous_records, recipe_changes, reconcile, source_of,
                     take_stock)
from .label_rules import LabelRules
from .layouts import check_annotated, finish_layout, scan  # SRC in its layout (class folders or annotated)
from .scan import OutIdentity, Scan, check_separate, check_src
from .storage import is_remote, local_path
from .trees import hash_inside
from .worker import Job


@dataclass
class Summary:
    """What a run did, for the closing line and for API callers."""

    out: str
    sources: int = 0  # images read (a file that fails to decode is skipped, not read)
    written: int = 0
    skipped: int = 0
    ignored: int = 0
    skips: list[dict] = field(default_factory=list)  # {"source", "reason"}, as in skipped.jsonl
    ignored_files: tuple[str, ...] = ()
    already_done: int = 0
    seconds: float = 0.0
    up_to_date: bool = False
    dry_run: bool = False
    src_changes: str = ""  # --resume: what changed in SRC since OUT was made
    recipe_changes: tuple[str, ...] = ()  # --resume: the recipe keys edited since OUT was made
    removed: int = 0  # --resume: outputs removed for good (no longer asked for)
    redone: int = 0  # --resume: outputs rewritten because their source or drawing changed
    empty_classes: tuple[str, ...] = ()
    plan_rows: list[tuple[str, int, int]] = field(default_factory=list)  # (class, sources, outputs)
    notes: Counter = field(default_factory=Counter)  # conversion note -> images it applied to
    repeats: int = 0  # augmented copies whose ops repeat the original's (none) or another copy's of that source

    def repeat_line(self) -> str:
        """Copies that duplicate their original or another copy, and the fix ("" when none)."""
        if not self.repeats:
            return ""
        return (f"augcli: warning: {self.repeats} augmented images repeat their original or another copy of the "
                "same image (the pipeline draws from few outcomes); add distinct: true to the recipe to draw "
                "them again")
    jobs_note: str = ""  # -j asked for more workers than cores

    def note_lines(self) -> list[str]:
        """What was converted on the way out (alpha flattened, bit depth reduced), per
        kind; how many workers ran, when that was not what -j asked."""
        lines = [f"augcli: note: {self.jobs_note}"] if self.jobs_note else []
        return lines + [f"augcli: note: {n} image{'s' if n != 1 else ''}: {note}" for note, n in self.notes.items()]

    @property
    def images_per_second(self) -> float:
        return self.written / self.seconds if self.seconds > 0 else 0.0

    @property
    def skipped_file(self) -> str:
        """Where the skipped files and their reasons are listed."""
        return os.path.join(self.out, SKIPPED)

    def file_lines(self, verbose: bool = False) -> list[str]:
        """The skipped files with their reasons, and the ignored files, by name:
        every one with ``verbose``, else the first few."""
        shown = self.skips if verbose else self.skips[:FEW]
        lines = [f"skipped {skip['source']}: {skip['reason']}" for skip in shown]
        if len(self.skips) > len(shown):
            where = "" if self.dry_run else f"; every one is in {self.skipped_file}"
            lines.append(f"... and {len(self.skips) - len(shown)} more skipped (-v names them all{where})")
        if self.ignored_files:
            names = self.ignored_files if verbose else self.ignored_files[:FEW]
            more = len(self.ignored_files) - len(names)
            lines.append(f"ignored {len(self.ignored_files)} files: {', '.join(names)}"
                         + (f" and {more} more (-v names them all)" if more else ""))
        return lines

    def report(self, quiet: bool = False, verbose: bool = False) -> list[str]:
        """What a run prints on stderr when it ends: warnings, what a resume changed
        (even with ``quiet``: it says what was redone or removed), then the summary."""
        lines = [f"augcli: warning: class folder {folder} has no images; it is left out of OUT"
                 for folder in self.empty_classes]
        lines += [self.change_line()] if self.change_line() else []
        if not quiet:
            lines += [f"augcli: {line}" for line in self.file_lines(verbose)] + self.note_lines()
            lines += [self.repeat_line()] if self.repeat_line() else []
            lines.append(self.line())
        return lines

    def change_line(self) -> str:
        """``--resume``: what changed since OUT was made and what that did, in one
        line ("" when nothing did)."""
        if not (self.src_changes or self.recipe_changes):
            return ""
        what = "; ".join(filter(None, [self.src_changes and f"SRC {self.src_changes}",
                                       self.recipe_changes and f"recipe {', '.join(self.recipe_changes)}"]))
        did = f"redone {self.redone}, removed {self.removed}, new {max(0, self.written - self.redone)}"
        if self.dry_run:
            return f"dry run: changed since {self.out} was made: {what}; would be {did}"
        return f"augcli: changed since {self.out} was made: {what}; {did}; OUT brought up to date"

    def line(self) -> str:
        skips = f"; skipped files and why: {self.skipped_file}" if self.skipped else ""
        parts = [f"{self.already_done} already done" if self.already_done else "",
                 f"redid {self.redone}" if self.redone else "",
                 f"removed {self.removed} no longer asked for" if self.removed else ""]
        done = f" ({', '.join(filter(None, parts))})" if any(parts) else ""
        if self.dry_run:
            return (f"dry run: would read {self.sources} images and write {self.written} to {self.out}{done}; "
                    f"{self.skipped} unusable and {self.ignored} ignored files found; nothing written (image files "
                    "are checked by their headers only: one damaged further in is skipped by the run)")
        if self.up_to_date:
            return (f"augcli: {self.out} is up to date ({self.already_done} images, {self.skipped} skipped; "
                    f"nothing to do){skips}")
        return (f"augcli: read {self.sources} images, wrote {self.written}{done}, skipped {self.skipped}, "
                f"ignored {self.ignored} in {self.seconds:.1f} s ({self.images_per_second:.1f} images/s) "
                f"-> {self.out}{skips}")


FEW = 5  # skipped and ignored files named in a summary without -v


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _before_writing() -> Iterator[None]:
    """Ctrl-C in here has written nothing to OUT: say so, not "--resume"."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted("interrupted before writing anything; OUT is as it was.") from None


@contextlib.contextmanager
def _pool_threads_quiet() -> Iterator[None]:
    """While the pool runs and is stopped, its helper threads keep quiet.

    When a run stops early (Ctrl-C, a failed write) joblib aborts the pool from
    inside its result generator, and loky's manager thread may trip over its
    own bookkeeping meanwhile (a KeyError printed as a thread traceback before
    augcli's one line). None of that is the user's: augcli reports what
    stopped the run."""
    hook = threading.excepthook
    threading.excepthook = lambda args: None
    try:
        yield
    finally:
        threading.excepthook = hook


def _close_quietly(results) -> None:
    """Stop the workers; joblib's pool shutdown after an interrupt may warn."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results.close()


def expand(
    src: str | os.PathLike,
    out: str | os.PathLike,
    recipe: Recipe | str | os.PathLike,
    *,
    copies: int | None = None,
    seed: int | None = None,
    balance: str | int | None = None,
    jobs: int | None = None,
    backend: str = "loky",
    scheduler: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    prune: bool = False,
    dry_run: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    augment_splits: tuple[str, ...] | None = None,
    layout: str | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    storage_options: dict | None = None,
) -> Summary:
    """Expand SRC into OUT with ``recipe`` (a ``Recipe`` or a path to one).

    Returns a ``Summary``; raises ``UsageError`` (exit 2) for anything wrong
    before work starts and ``AugcliError`` (exit 1) for failures during the run.
    Unusable source files are skipped and recorded, never raised. SRC and OUT
    may be URLs (``s3://bucket/data``; ``storage_options`` such as
    ``endpoint_url`` and credentials go to fsspec and are never recorded).
    ``prune`` lets ``resume`` remove outputs in bulk (from another SRC, or most
    of OUT), which it otherwise refuses.
    """
    started = time.perf_counter()
    with _before_writing():
        # the same checks, and messages, as the CLI's (augcli.arguments)
        copies, seed, balance = check_copies(copies), check_seed(seed), check_balance(balance)
        jobs, max_pixels = check_jobs(jobs), check_max_pixels(max_pixels)
        scheduler = check_scheduler(scheduler, check_backend_name(backend))
        if resume and overwrite:
            raise UsageError("--resume and --overwrite exclude each other")
        check_backend(backend, scheduler)  # Dask installed, the scheduler answering: before OUT is touched
        if not isinstance(recipe, Recipe):
            recipe = Recipe.load(recipe, max_pixels=max_pixels)
        recipe.check_sizes(max_pixels)  # output sizes are bounded by the same --max-pixels as inputs
        recipe = recipe.with_overrides(copies=copies, seed=seed, balance=balance)
    if is_remote(src) or is_remote(out):  # object storage (augcli.storage); local paths go on below
        from .storage.run import expand_stored

        return expand_stored(src, out, recipe, jobs=jobs, backend=backend, scheduler=scheduler, resume=resume,
                             overwrite=overwrite, dry_run=dry_run, max_pixels=max_pixels,
                             augment_splits=augment_splits, on_progress=on_progress, on_start=on_start,
                             storage_options=storage_options, started=started, prune=prune)
    src, out = local_path(str(src)), local_path(str(out))  # file:// URLs are local paths
    src_path, out_path = Path(src), Path(out)
    with _before_writing():
        check_src(src_path)
        check_out(out_path)
        check_separate(src_path, out_path)
        if prune and not resume:
            raise UsageError("--prune goes with --resume (it lets a resume remove outputs in bulk)")
        if dry_run:  # says what the run would do, refusals included
            previous = previous_run(out_path, recipe, resume, overwrite)
            return _dry_run(src_path, out_path, str(out), recipe, augment_splits, previous, prune, layout)

    try:
        with _before_writing():  # a scan of a large or slow SRC takes a while
            check_not_locked(out_path)  # another run's OUT: said as such, before the scan as after it
            previous_run(out_path, recipe, resume, overwrite)  # a refusal before the scan, not after it
            # before OUT's lock is made: if the scan meets OUT (or where OUT would be made)
            # inside SRC, through a mount no path shows, nothing at all has been written
            found: Scan = scan(src_path, OutIdentity.of(out_path), layout)
            check_annotated(found, recipe)
            plan = make_plan(found, recipe, augment_splits)
            found = _with_plan_skips(found, plan)
        with one_writer(out_path):
            with _before_writing():
                previous = previous_run(out_path, recipe, resume, overwrite)  # again, now that OUT is ours
                refuse_links(out_path, plan)
            summary = Summary(out=str(out), ignored=len(found.ignored), ignored_files=found.ignored,
                              empty_classes=found.empty_classes)
            workers, summary.jobs_note = _workers(jobs)
            run = _Run(src_path, OutDir.of(out_path), str(out), recipe, found, workers)
            tasks = run.prepare(plan, previous, overwrite, summary, prune)
            if tasks is not None:
                job = Job(str(src_path.resolve()), run.out, recipe.effective_seed, max_pixels,
                          layout=found.layout, labels=recipe.labels or LabelRules(), local_pool=backend == "loky",
                          plugins=tuple(plugins_used(recipe).items()))
                run.execute(tasks, job, backend, scheduler, on_start, on_progress, summary)
    except OSError as exc:  # before the run began: nothing written, nothing to resume
        raise AugcliError(f"cannot write to OUT {out}: {exc.strerror or exc}") from exc
    summary.seconds = time.perf_counter() - started
    return summary


def _workers(jobs: int | None) -> tuple[int, str]:
    """Worker processes for ``-j`` (default: one per core), at most one per core,
    and a note when ``-j`` asked for more. (``execute`` starts no more than there
    are tasks.)"""
    cores = default_jobs()
    if jobs is None:
        return cores, ""
    if jobs > cores:
        return cores, f"-j {jobs} capped to {cores}, the CPU cores this process may use"
    return jobs, ""


def _dry_run(src: Path, out_path: Path, out: str, recipe: Recipe, augment_splits: tuple[str, ...] | None,
             previous: RunRecord | None, prune: bool, layout: str | None = None) -> Summary:
    """``--dry-run``: the plan and what is left of it after a previous run
    (``--resume``): the same stock-taking as the run, refusals included, with
    nothing removed or written and no lock taken."""
    found = scan(src, OutIdentity.of(out_path), layout)
    check_annotated(found, recipe)
    plan = make_plan(found, recipe, augment_splits)
    found = _with_plan_skips(found, plan)
    summary = Summary(out=out, ignored=len(found.ignored), ignored_files=found.ignored,
                      empty_classes=found.empty_classes, dry_run=True, plan_rows=plan.table())
    done: list[ManifestRecord] = []
    skipped_before: list[SkipRecord] = []
    if previous:
        records, skips = previous_records(out_path, repair=False)
        resumed = reconcile(plan, found, OutDir.of(out_path), src, records, skips,
                            finished=previous.status == "complete", drawings=drawings_for(previous, recipe))
        resumed.recipe_changes = recipe_changes(previous, recipe)
        check_removal(resumed, previous, src, len(records), out, prune)
        done, skipped_before = resumed.done, resumed.skips
        summary.src_changes, summary.recipe_changes = resumed.describe(), tuple(resumed.recipe_changes)
        summary.removed, summary.redone = len(resumed.gone), len(resumed.redone)
    skipped_sources = {r.source for r in skipped_before}
    summary.skips = [s.to_json() for s in skipped_before] + [s.to_json() for s in found.skipped
                                                              if s.source not in skipped_sources]
    summary.skipped = len(summary.skips)
    summary.already_done = len(done)
    summary.sources = plan.sources_left(skipped_sources)
    summary.written = plan.left(done, skipped_sources) if previous else plan.n_outputs
    return summary


def _with_plan_skips(found: Scan, plan: Plan) -> Scan:
    """The scan's skips plus the sources the plan could not name."""
    return dataclasses.replace(found, skipped=found.skipped + plan.skipped) if plan.skipped else found


@dataclass
class _Run:
    """One run's writing into OUT, once the lock is held and the plan made."""

    src: Path
    out: OutDir
    shown: str  # OUT as the user wrote it
    recipe: Recipe
    found: Scan
    jobs: int
    record: RunRecord = RunRecord()  # augcli.json as last written
    skipped_sources: set[str] = field(default_factory=set)  # skipped earlier, and still to skip
    to_do: int = 0  # outputs left to write

    def prepare(self, plan: Plan, previous: RunRecord | None, overwrite: bool,
                summary: Summary, prune: bool = False) -> Iterator[Task] | None:
        """Clear (--overwrite) or take stock (--resume); return the tasks still to
        do, or None when OUT is up to date."""
        if overwrite and previous is None:
            self.clear_previous()
        self.out.remove_temp_files()
        resumed = self.take_stock(plan, previous, prune) if previous else None
        done = resumed.done if resumed else []
        skips = resumed.skips if resumed else []
        skipped_sources = {r.source for r in skips}
        tasks = plan.remaining({r.path for r in done}, skipped_sources)
        first = next(tasks, None)
        tasks = itertools.chain([first] if first else [], tasks)
        self.to_do = plan.to_do(done, skipped_sources)
        summary.already_done = len(done)
        # those on record stay skipped: --strict fails on them every time
        summary.skips = [s.to_json() for s in skips] + [s.to_json() for s in self.found.skipped
                                                         if s.source not in skipped_sources]
        summary.skipped = len(skips)
        summary.sources = plan.sources_left(skipped_sources)
        if resumed:
            summary.src_changes, summary.recipe_changes = resumed.describe(), tuple(resumed.recipe_changes)
            summary.removed, summary.redone = len(resumed.gone), len(resumed.redone)
            # a recipe edit or a moved SRC that changes no output still gets recorded
            recorded = not resumed.recipe_changes and previous.source in (None, source_of(self.src))
            if (previous.status == "complete" and first is None and not resumed.stale
                    and not resumed.dropped_skips and recorded):
                summary.up_to_date = True  # skips still count: --strict still fails
                return None
        self._start_record(previous, written=len(done), skipped=len(skips))
        self.skipped_sources = skipped_sources
        return tasks

    def clear_previous(self) -> None:
        """``--overwrite``: remove what an earlier run wrote to OUT."""
        if not is_empty(Path(self.out.path)):
            clear_previous_output(self.out)

    def take_stock(self, plan: Plan, previous: RunRecord, prune: bool = False):
        """``--resume``: keep what is still valid in OUT (``resume.take_stock``)."""
        return take_stock(self.out, plan, self.found, self.src, previous, self.jobs, self.shown, self.recipe, prune)

    def execute(self, tasks: Iterator[Task], job: Job, backend: str, scheduler: str | None,
                on_start: Callable[[int], None] | None, on_progress: Callable[[int], None] | None,
                summary: Summary) -> None:
        """Run the tasks, appending records as results come in; record how the run ended."""
        try:
            with AppendLog(self.out, MANIFEST) as manifest, AppendLog(self.out, SKIPPED) as skips:
                for skip in self.found.skipped:
                    if skip.source not in self.skipped_sources:
                        skips.append(skip)
                        summary.skipped += 1
                if on_start:
                    on_start(self.to_do)
                in_flight: collections.deque[Task] = collections.deque()  # handed out, results not yet in
                results = run_tasks(_handed_out(tasks, in_flight), job, jobs=self.jobs, backend=backend,
                                    scheduler=scheduler)
                with _pool_threads_quiet():
                    try:
                        # Ctrl-C raises KeyboardInterrupt here at once, even while a slow
                        # first task runs: the pool is stopped, and what its workers were
                        # doing is redone by --resume (every manifest line matches its file)
                        for records in results:  # in task order, one list per task
                            in_flight.popleft()
                            self._consume(records, manifest, skips, summary)
                            if on_progress:
                                on_progress(len(records))
                    except BaseException:
                        _close_quietly(results)  # the workers are stopped (killed, or their threads joined)
                        self._remove_unrecorded(in_flight)
                        raise
                    _close_quietly(results)
            # a worker killed mid-write (OOM, a lost Dask worker) leaves its temp file; its
            # task was redone elsewhere or skipped, and every worker has finished now
            self.out.remove_temp_files()
            if self.found.layout != "folders":  # data.yaml, COCO's JSON: from every record, resumed ones too
                files = finish_layout(self.found, self.out)
                self.record = dataclasses.replace(self.record, extra={**self.record.extra, "layout": self.found.layout,
                                                                      "layout_files": files})
            self._end_record("complete", summary)
        except BaseException as exc:
            note = self.record_failure(summary)
            if isinstance(exc, OSError):
                raise AugcliError(f"writing to {self.shown} failed: {exc.strerror or exc}; finished images are "
                                  f"kept, run again with --resume when fixed{note}") from exc
            raise

    def _remove_unrecorded(self, in_flight: Iterable[Task]) -> None:
        """The images tasks in progress had written when the run stopped: no
        manifest line names them (a task's records come back together), so they
        go, and OUT holds exactly what the manifest says ("finished images are
        kept and recorded"); --resume writes them again. A task's targets are
        only those not done before (``Plan.remaining``), never a recorded file."""
        paths = [target.path for task in in_flight for target in task.targets]
        removed = [path for path in paths if self.out.remove(path)]
        self.out.prune(path.rpartition("/")[0] for path in removed)

    def _consume(self, records: list[ManifestRecord | SkipRecord], manifest: AppendLog, skips: AppendLog,
                 summary: Summary) -> None:
        """One task's results: its images into the manifest, or its source into the skips."""
        for item in records:
            if isinstance(item, ManifestRecord):
                manifest.append(item)
                summary.written += 1
                if item.note is not None:
                    summary.notes[item.note] += 1
            else:  # found unusable while decoding: skipped, not read
                skips.append(_with_source_hash(item, self.src))
                summary.skipped += 1
                summary.skips.append(item.to_json())
                summary.sources -= 1
        summary.repeats += _repeats(records, self.recipe.include_originals)

    def record_failure(self, summary: Summary) -> str:
        """Mark the run failed in augcli.json. When even that write fails (a full
        disk), the first error stays the one reported: return a note instead.
        The pool is stopped by now: temp files its killed workers left go too."""
        with contextlib.suppress(OSError):
            self.out.remove_temp_files()
        try:
            self._end_record("failed", summary)
        except OSError as exc:
            return f" ({RUN_FILE} could not be updated either and still says running: {exc.strerror or exc})"
        return ""

    # -- augcli.json: written when the run starts, and again when it ends --

    def _start_record(self, previous: RunRecord | None, *, written: int, skipped: int) -> None:
        self.record = RunRecord(
            tool="augcli", version=__version__, engine=engine(), engine_fingerprint=fingerprint(),
            recipe=self.recipe.to_plain(),
            recipe_sha256=self.recipe.sha256, training_time_arguments=self.recipe.training_time_arguments(),
            seed=self.recipe.effective_seed, source=source_of(self.src),
            started=previous.started if previous and previous.started is not None else _now(),
            finished=None, status="running",
            counts=Counts(sources=len(self.found.sources), written=written, skipped=skipped,
                          ignored=len(self.found.ignored)),
            plugins=plugins_used(self.recipe) or None,
        )
        write_run_record(self.out, self.record)

    def _end_record(self, status: str, summary: Summary) -> None:
        counts = dataclasses.replace(self.record.counts,
                                     written=summary.already_done + summary.written, skipped=summary.skipped)
        self.record = dataclasses.replace(self.record, counts=counts, status=status, finished=_now())
        write_run_record(self.out, self.record)


def _repeats(records: list, originals: bool) -> int:
    """How many augmented copies in one task's records (one source) were drawn
    with the same ops as an earlier copy, or with none when the original is in OUT too."""
    seen = {"[]"} if originals else set()
    repeats = 0
    for record in records:
        if isinstance(record, ManifestRecord) and record.kind == "augmented" and record.variant is None:
            key = key_of(record.ops)
            repeats += key in seen
            seen.add(key)
    return repeats


def _handed_out(tasks: Iterator[Task], in_flight: collections.deque) -> Iterator[Task]:
    """``tasks``, each noted in ``in_flight`` as the pool takes it."""
    for task in tasks:
        in_flight.append(task)
        yield task


def _with_source_hash(skip: SkipRecord, src: Path) -> SkipRecord:
    """A skip record carries its source's hash, so ``--resume`` retries the
    source only once it has changed; a worker that died did not send it."""
    if skip.source_sha256 is not None:
        return skip
    digest = hash_inside(src, skip.source)  # (read only inside SRC, a regular file)
    # None: retried by the next --resume
    return skip if digest is None else dataclasses.replace(skip, source_sha256=digest)
