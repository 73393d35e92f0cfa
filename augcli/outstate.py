"""What OUT holds when a run starts, and what the run may do with it.

OUT is empty (or missing): the run writes it. It holds an earlier augcli run:
``--resume`` goes on from it (same pixel engine; recipe edits are followed) and
``--overwrite`` clears what that run wrote. Anything else is refused before
any work (exit 2): a dangling link or a file as OUT, a non-empty OUT without
either option, ``--overwrite`` of a folder augcli did not write, and a link on
the way to anything the run would write.
"""
from __future__ import annotations

import os
from pathlib import Path

from . import __version__
from .engine import engine, other_engine
from .drawing import recorded_recipe
from .errors import UsageError
from .manifest import MANIFEST, META_FILES, RUN_FILE, RunRecord, read_records, read_run_record
from .outdir import LOCK_FILE, OutDir
from .plan import Plan
from .provenance import changed_models, plugin_mismatch
from .recipe import Recipe
from .trees import refuse_dangling_link


def check_out(out: str | os.PathLike) -> None:
    """OUT is a folder, or a path one can be made at."""
    refuse_dangling_link(out)
    if Path(out).exists() and not Path(out).is_dir():
        raise UsageError(f"OUT {out} exists and is not a folder")


def is_empty(folder: Path) -> bool:
    """No files but the lock (which the run holding it may have just created)."""
    return not folder.exists() or all(entry.name == LOCK_FILE for entry in folder.iterdir())


def previous_run(out: Path, recipe: Recipe, resume: bool, overwrite: bool) -> RunRecord | None:
    """The record of the run that made a non-empty OUT, when --resume may go on
    from it; refuse what is not allowed (exit 2)."""
    if is_empty(out):
        return None
    refuse_links(out, None)  # the records are read only from OUT itself, never through a link
    if resume:
        return _check_resumable(out, recipe)
    if overwrite and read_run_record(out) is None:
        raise UsageError(f"--overwrite: {out} has no {RUN_FILE}; augcli only overwrites its own output")
    if not overwrite:
        raise UsageError(f"OUT {out} is not empty: use --resume to finish an interrupted run, or "
                         "--overwrite to replace an earlier augcli output")
    return None


def _check_resumable(out: Path, recipe: Recipe) -> RunRecord:
    return check_resumable(out, read_run_record(out), recipe)


def check_resumable(out, record: RunRecord | None, recipe: Recipe) -> RunRecord:
    """``record`` (OUT's ``augcli.json``, None when missing) if ``--resume`` may
    go on from it with ``recipe``. A recipe or seed edit is followed (``resume``:
    outputs it changes are redone); what cannot be followed is refused, naming
    what differs."""
    if record is None:
        raise UsageError(f"--resume: {out} is not empty and has no {RUN_FILE}, so it is not an augcli output")
    if record.recipe_sha256 != recipe.sha256 and (models := changed_models(record.recipe, recipe)):
        raise UsageError(f"--resume: {out} was made with other model files: {models}; restore the file, or use "
                         "--overwrite to start again")
    if record.recipe_sha256 != recipe.sha256 and recorded_recipe(record.recipe) is None:
        raise UsageError(f"--resume: the recipe recorded in {out}/{RUN_FILE} cannot be read back, so augcli cannot "
                         "tell which outputs this recipe would change; use --overwrite to start again")
    if (recorded_engine := other_engine(record.engine, record.engine_fingerprint)) is not None:
        raise UsageError(f"--resume: {out} was written by augcli {record.version} with pixel engine "
                         f"{recorded_engine}; this augcli {__version__} uses {engine()!r} and "
                         "would write different pixels; use --overwrite to start again")
    if (why := plugin_mismatch(record.plugins)) is not None:
        raise UsageError(f"--resume: {out} cannot be finished here: {why}; or use --overwrite to start again")
    return record


def clear_previous_output(out: OutDir) -> None:
    """``--overwrite``: remove what an earlier augcli run wrote (its recorded
    images, records and temp files), leaving anything else alone. Nothing is
    reached through a link (``OutDir.remove``)."""
    # past corrupt lines too: --overwrite is how a damaged OUT is started again
    removed = []
    for record in read_records(Path(out.path) / MANIFEST, on_error=lambda error: None):
        removed.append(record.path)
        if isinstance(record.labels, dict) and isinstance(record.labels.get("path"), str):
            removed.append(record.labels["path"])  # an annotated run's label file
    run = read_run_record(Path(out.path))  # and what it wrote once (data.yaml, COCO's JSON)
    removed += [path for path in ((run.extra.get("layout_files") or {}) if run else {}) if isinstance(path, str)]
    removed = [path for path in removed if out.remove(path)]
    for name in META_FILES:
        out.remove(name)
    out.remove_temp_files()
    out.prune(path.rpartition("/")[0] for path in removed)


def refuse_links(out: Path, plan: Plan | None) -> None:
    """Before any work: a symbolic link on the way to anything this run would
    write is refused here with exit 2 (``OutDir`` refuses it again, exit 1,
    if one appears during the run). Without a plan: augcli's own files only."""
    if not out.is_dir():
        return
    folders = {outputs.folder for outputs in plan.outputs} if plan is not None else set()
    link = OutDir.of(out).find_link(sorted(f for f in folders if f) + list(META_FILES))
    if link is not None:
        raise UsageError(f"{out / link} is a symbolic link (to {os.path.realpath(out / link)}): augcli never "
                         "writes or deletes through a link inside OUT; remove the link, or choose another OUT")
