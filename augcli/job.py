"""The ``expand`` job end to end (``augcli.expand``): check paths and OUT, scan, plan, resume,
execute, record. The CLI is a thin layer over ``expand``.
"""
from __future__ import annotations

import os
import signal
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from . import __version__
from .apply import PILLOW_ENGINE, engine
from .errors import AugcliError, UsageError
from .execute import check_backend, default_jobs, run_tasks
from .io import DEFAULT_MAX_PIXELS, is_temp
from .manifest import (MANIFEST, META_FILES, RUN_FILE, SKIPPED, AppendLog, read_jsonl, read_run_record,
                       write_run_record)
from .plan import Plan, Task, make_plan
from .recipe import Recipe
from .scan import Scan, check_separate, scan
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
    empty_classes: tuple[str, ...] = ()
    plan_rows: list[tuple[str, int, int]] = field(default_factory=list)  # (class, sources, outputs)
    notes: Counter = field(default_factory=Counter)  # conversion note -> images it applied to

    def note_lines(self) -> list[str]:
        """What was converted on the way out (alpha flattened, bit depth reduced), per kind."""
        return [f"augcli: note: {n} image{'s' if n != 1 else ''}: {note}" for note, n in self.notes.items()]

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

    def line(self) -> str:
        skips = f"; skipped files and why: {self.skipped_file}" if self.skipped else ""
        done = f" ({self.already_done} already done)" if self.already_done else ""
        if self.dry_run:
            return (f"dry run: would read {self.sources} images and write {self.written} to {self.out}{done}; "
                    f"{self.skipped} unusable and {self.ignored} ignored files found; nothing written")
        if self.up_to_date:
            return (f"augcli: {self.out} is up to date ({self.already_done} images, {self.skipped} skipped; "
                    f"nothing to do){skips}")
        return (f"augcli: read {self.sources} images, wrote {self.written}{done}, skipped {self.skipped}, "
                f"ignored {self.ignored} in {self.seconds:.1f} s ({self.images_per_second:.1f} images/s) "
                f"-> {self.out}{skips}")


FEW = 5  # skipped and ignored files named in a summary without -v


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _is_empty(folder: Path) -> bool:
    return not folder.exists() or not any(folder.iterdir())


def _clear_previous_output(out: Path) -> None:
    """``--overwrite``: remove what an earlier augcli run wrote (its recorded
    images, records and temp files), leaving anything else alone."""
    for record in read_jsonl(out / MANIFEST):
        path = (out / record.get("path", "")).resolve()
        if out.resolve() in path.parents:
            path.unlink(missing_ok=True)
    for name in META_FILES:
        (out / name).unlink(missing_ok=True)
    _remove_temp_files(out)
    for folder, _, _ in sorted(os.walk(out), key=lambda w: -len(w[0])):
        if Path(folder) != out and not any(Path(folder).iterdir()):
            Path(folder).rmdir()


def _remove_temp_files(out: Path) -> None:
    for folder, _, files in os.walk(out):
        for name in files:
            if is_temp(name):
                (Path(folder) / name).unlink(missing_ok=True)


class _StopRequest:
    requested = False


def _until_ctrl_c(results: Iterator, stop: _StopRequest) -> Iterator:
    """Yield ``results`` until Ctrl-C, which stops the run after the current
    result so the manifest stays consistent (a second Ctrl-C interrupts at once).

    Ctrl-C reaches the whole process group, workers included. They start while
    the first result is computed, with Ctrl-C ignored, a setting child
    processes inherit: only this process decides when to stop.
    """
    if threading.current_thread() is not threading.main_thread():
        yield from results
        return

    def handler(signum, frame):
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True

    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for count, item in enumerate(results):
            if count == 0:
                signal.signal(signal.SIGINT, handler)
            yield item
            if stop.requested:
                return
    finally:
        signal.signal(signal.SIGINT, previous)


def _close_quietly(results) -> None:
    """Stop the workers; joblib's pool shutdown after an interrupt may warn or
    trip over its own bookkeeping in a helper thread, none of which is the user's."""
    hook = threading.excepthook
    threading.excepthook = lambda args: None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results.close()
    finally:
        threading.excepthook = hook


def _check_resumable(out: Path, recipe: Recipe, seed: int) -> dict:
    record = read_run_record(out)
    if record is None:
        raise UsageError(f"--resume: {out} is not empty and has no {RUN_FILE}, so it is not an augcli output")
    if record.get("recipe_sha256") != recipe.sha256:
        raise UsageError(f"--resume: {out} was made with a different recipe (sha256 "
                         f"{str(record.get('recipe_sha256'))[:12]}..., this one {recipe.sha256[:12]}...); "
                         "use --overwrite to start again")
    if record.get("engine", PILLOW_ENGINE) != engine():
        raise UsageError(f"--resume: {out} was written by augcli {record.get('version')} with pixel engine "
                         f"{record.get('engine', PILLOW_ENGINE)!r}; this augcli {__version__} uses {engine()!r} and "
                         "would write different pixels; use --overwrite to start again")
    if record.get("seed") != seed:
        raise UsageError(f"--resume: {out} was made with seed {record.get('seed')}, not {seed}; "
                         "use the same --seed, or --overwrite to start again")
    return record


def _remaining(plan: Plan, done_paths: set[str], skipped_sources: set[str]) -> list[Task]:
    """The tasks (with only their unfinished targets) still to do."""
    tasks = []
    for task in plan.tasks:
        if task.source.relpath in skipped_sources:
            continue
        targets = tuple(t for t in task.targets if t.path not in done_paths)
        if targets:
            tasks.append(Task(task.source, targets))
    return tasks


def plan_table(plan: Plan) -> list[tuple[str, int, int]]:
    """(class, sources, outputs) per split/class, in order."""
    rows: dict[str, list[int]] = {}
    for task in plan.tasks:
        key = f"{task.source.split}/{task.source.label}" if task.source.split else task.source.label
        row = rows.setdefault(key, [0, 0])
        row[0] += 1
        row[1] += len(task.targets)
    return [(k, v[0], v[1]) for k, v in rows.items()]


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
    dry_run: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    augment_splits: tuple[str, ...] | None = None,
    on_progress: Callable[[int], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> Summary:
    """Expand SRC into OUT with ``recipe`` (a ``Recipe`` or a path to one).

    Returns a ``Summary``; raises ``UsageError`` (exit 2) for anything wrong
    before work starts and ``AugcliError`` (exit 1) for failures during the run.
    Unusable source files are skipped and recorded, never raised.
    """
    started = time.perf_counter()
    src_path, out_path = Path(src), Path(out)
    if resume and overwrite:
        raise UsageError("--resume and --overwrite exclude each other")
    check_backend(backend)
    if not isinstance(recipe, Recipe):
        recipe = Recipe.load(recipe)
    recipe = recipe.with_overrides(copies=copies, seed=seed, balance=balance)
    run_seed = recipe.effective_seed
    if not src_path.is_dir():
        raise UsageError(f"SRC {src} is not a folder" if src_path.exists() else f"SRC {src} does not exist")
    if out_path.exists() and not out_path.is_dir():
        raise UsageError(f"OUT {out} exists and is not a folder")
    check_separate(src_path, out_path)

    previous = None
    if not _is_empty(out_path):
        if resume:
            previous = _check_resumable(out_path, recipe, run_seed)
        elif overwrite:
            if read_run_record(out_path) is None:
                raise UsageError(f"--overwrite: {out} has no {RUN_FILE}; augcli only overwrites its own output")
        else:  # a dry run says what the run would do, refusals included
            raise UsageError(f"OUT {out} is not empty: use --resume to finish an interrupted run, or "
                             "--overwrite to replace an earlier augcli output")

    found: Scan = scan(src_path)
    plan = make_plan(found, recipe, augment_splits)
    summary = Summary(out=str(out), ignored=len(found.ignored), ignored_files=found.ignored,
                      empty_classes=found.empty_classes, dry_run=dry_run)
    if not dry_run:
        if overwrite and previous is None and not _is_empty(out_path):
            _clear_previous_output(out_path)
        out_path.mkdir(parents=True, exist_ok=True)
        _remove_temp_files(out_path)

    done = read_jsonl(out_path / MANIFEST, repair=not dry_run) if previous else []
    skipped_before = read_jsonl(out_path / SKIPPED, repair=not dry_run) if previous else []
    done_paths = {r["path"] for r in done}
    skipped_sources = {r["source"] for r in skipped_before}
    new_skips = [s.to_json() for s in found.skipped if s.source not in skipped_sources]
    tasks = _remaining(plan, done_paths, skipped_sources)
    summary.already_done = len(done)
    summary.sources = sum(1 for t in plan.tasks if t.source.relpath not in skipped_sources)
    summary.skips = skipped_before + new_skips  # those on record stay skipped: --strict fails on them every time
    summary.skipped = len(summary.skips)
    if dry_run:
        summary.plan_rows = plan_table(plan)
        summary.written = sum(len(t.targets) for t in tasks)
        return summary

    if previous and previous.get("status") == "complete" and not tasks:
        summary.up_to_date = True
        summary.seconds = time.perf_counter() - started
        return summary

    record = {
        "tool": "augcli",
        "version": __version__,
        "engine": engine(),
        "recipe": recipe.to_plain(),
        "recipe_sha256": recipe.sha256,
        "training_time_arguments": recipe.training_time_arguments(),  # accepted in keras:, not applied
        "seed": run_seed,
        "source": str(src_path.resolve()),
        "started": previous.get("started", _now()) if previous else _now(),
        "finished": None,
        "status": "running",
        "counts": {"sources": len(found.sources), "written": len(done), "skipped": len(skipped_before),
                   "ignored": len(found.ignored)},
    }
    write_run_record(out_path, record)
    job = Job(str(src_path.resolve()), str(out_path.resolve()), recipe, run_seed, max_pixels)
    written = skipped = 0
    with AppendLog(out_path / MANIFEST) as manifest, AppendLog(out_path / SKIPPED) as skips:
        for skip in new_skips:
            skips.append(skip)
            skipped += 1
        if on_start:
            on_start(sum(len(t.targets) for t in tasks))
        results = run_tasks(tasks, job, jobs=jobs or default_jobs(), backend=backend, scheduler=scheduler)
        stop = _StopRequest()
        try:
            for records in _until_ctrl_c(results, stop):
                for item in records:
                    if "manifest" in item:
                        manifest.append(item["manifest"])
                        written += 1
                        if "note" in item["manifest"]:
                            summary.notes[item["manifest"]["note"]] += 1
                    else:  # found unusable while decoding: skipped, not read
                        skips.append(item["skip"])
                        skipped += 1
                        summary.skips.append(item["skip"])
                        summary.sources -= 1
                if on_progress:
                    on_progress(len(records))
            _close_quietly(results)
            if stop.requested:
                raise KeyboardInterrupt
        except BaseException as exc:
            _close_quietly(results)
            record.update(status="failed", finished=_now())
            record["counts"].update(written=len(done) + written, skipped=len(skipped_before) + skipped)
            write_run_record(out_path, record)
            if isinstance(exc, OSError):
                raise AugcliError(f"writing to {out} failed: {exc.strerror or exc}; finished images are kept, "
                                  "run again with --resume when fixed") from exc
            raise
    # a worker killed mid-write (OOM, a lost Dask worker) leaves its temp file; its
    # task was redone elsewhere or skipped, and every worker has finished now
    _remove_temp_files(out_path)
    record.update(status="complete", finished=_now())
    record["counts"].update(sources=summary.sources, written=len(done) + written,
                            skipped=len(skipped_before) + skipped)
    write_run_record(out_path, record)
    summary.written = written
    summary.skipped = len(summary.skips)
    summary.seconds = time.perf_counter() - started
    return summary
