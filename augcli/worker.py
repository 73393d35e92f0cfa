"""What one worker does for one source: decode once, then for each target
draw -> render (``augcli.render``) -> write atomically, and return small records.

Workers never decide what to produce (the plan did) and never touch the
manifest (the parent appends it). Nothing here depends on the process it runs
in, so ``-j 1``, ``-j 8`` and a Dask cluster write the same bytes.
"""
from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from .distinct import draws
from .io import Unusable, decode
from .label_rules import LabelRules
from .labelled import labelled_output
from .layouts import LabelError, label_digest, layout
from .limits import max_source_bytes
from .manifest import ManifestRecord, SkipRecord
from .outdir import OutDir, write_atomic
from .plan import Target, Task
from .provenance import require_plugins
from .render import TooLarge, draw, render
from .sampling import AppliedOp
from .scan import SourceImage
from .trees import Refused, read_inside

# what OUT's filesystem says about a name it will not take (too long, bytes it
# refuses): that source is skipped; any other write error stops the run
NAME_ERRORS = frozenset({errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL})


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides its task (which carries each target's
    steps and encoding): small and picklable."""

    src: str  # SRC's real path, or a Store (augcli.storage) for SRC in object storage
    out: OutDir  # or a storage.outstore.RemoteOut
    seed: int
    max_pixels: int
    layout: str = "folders"  # an annotated layout's sources carry labels (augcli.layouts)
    labels: LabelRules = LabelRules()  # the recipe's labels: block
    parent_pid: int = field(default_factory=os.getpid)  # the process that planned the run (and holds OUT's lock)
    local_pool: bool = False  # run by that process's own pool (loky): its workers die with it
    plugins: tuple[tuple[str, str], ...] = ()  # (package, version) of each plugin the recipe uses

    @property
    def stored(self) -> bool:
        """SRC or OUT is in object storage (a ``Store``, not a local path)."""
        return not isinstance(self.src, str) or not isinstance(self.out, OutDir)


def _settle_in(job: Job) -> None:
    """Once per worker process (not in the caller's own process, which -j 1 and
    the threading backend use)."""
    global _SETTLED
    if _SETTLED or os.getpid() == job.parent_pid:
        return
    _SETTLED = True
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C reaches the whole process group; workers ignore it and let
        # augcli stop the run (see execute.workers_ignore_ctrl_c)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    if job.local_pool:  # not a Dask worker, whose parent is its nanny
        _die_with(job.parent_pid)
    keep_freed_memory()


_SETTLED = False
_BOUND_TO: int | None = None  # the parent this worker dies with
_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """A pool worker must not outlive augcli: after a ``kill -9`` of the run it
    would go on with its queued tasks, unlocked, into an OUT the user may have
    deleted. On Linux the kernel sends it SIGKILL when its parent dies
    (``PR_SET_PDEATHSIG``); elsewhere a watchdog thread notices within 0.2 s.
    ``_orphaned`` is checked again before every write."""
    global _BOUND_TO
    _BOUND_TO = parent
    try:
        armed = ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux
        armed = False
    if _orphaned():  # the parent died before the signal was armed (or before this worker's first task)
        os._exit(1)
    if not armed:
        threading.Thread(target=_watch_parent, name="augcli-parent-watch", daemon=True).start()


def _orphaned() -> bool:
    return _BOUND_TO is not None and os.getppid() != _BOUND_TO


def _watch_parent() -> None:
    while not _orphaned():
        time.sleep(0.2)
    os._exit(1)


def keep_freed_memory() -> None:
    """Let glibc keep freed image buffers for reuse instead of returning each one
    to the kernel and faulting fresh zeroed pages in for the next image: a flip
    costs less than those page faults. Bounded (256 MiB kept at most), so memory
    does not grow with the number of images. Elsewhere than glibc, nothing to do."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        libc.mallopt(m_mmap_threshold, 64 << 20)
        libc.mallopt(m_trim_threshold, 256 << 20)
    except (OSError, AttributeError):
        pass


def _skip(source: SourceImage, reason: str, source_sha: str) -> SkipRecord:
    """A skip record with the hash of the bytes it was about: ``--resume``
    retries the source only once those have changed."""
    return SkipRecord(source.relpath, reason, source_sha)


def process(task: Task, job: Job) -> list[ManifestRecord | SkipRecord]:
    """Produce every target of one source; return its manifest records, ending
    with a skip record if the source cannot be used (or no further)."""
    _settle_in(job)
    if job.plugins:  # the same plugin versions everywhere, or no image at all (a Dask worker elsewhere)
        require_plugins(job.plugins)
    source = task.source
    try:
        data = read_inside(job.src, source.relpath, max_size=max_source_bytes(job.max_pixels))
    except Refused as exc:
        return [SkipRecord(source.relpath, str(exc))]
    except OSError as exc:
        return [SkipRecord(source.relpath, f"cannot read: {exc.strerror or exc}")]
    source_sha = hashlib.sha256(data).hexdigest()
    try:
        decoded = decode(data, max_pixels=job.max_pixels)
    except Unusable as exc:
        return [_skip(source, str(exc), source_sha)]
    except Exception as exc:  # whatever else a decoder raises is this file's problem, not the run's
        return [_skip(source, f"cannot decode: {type(exc).__name__}: {exc}", source_sha)]
    if job.layout != "folders":
        return _annotated(task, job, data, decoded, source_sha)
    records = []
    drawn = _drawing(task, job, decoded.size)
    for target in task.targets:
        stage = "draw parameters"
        try:
            ops, seed, attempt = drawn(target)
            stage = f"augment ({', '.join(op.op for op in ops)})" if ops else "encode"
            out_bytes, width, height, note = render(decoded, target, ops, data, job.max_pixels)
        except Exception as exc:
            # Nothing about one source may stop the run: whatever drawing, applying
            # or encoding raises for it (a degenerate size, an op's own limits) skips
            # the source with the reason; what was already written stays valid.
            # Writing is outside: a full disk is the run's failure, not the source's.
            what = str(exc) if isinstance(exc, TooLarge) else f"{type(exc).__name__}: {exc}"
            return records + [_skip(source, f"cannot {stage}: {what}", source_sha)]
        if _orphaned():  # augcli was killed: write nothing more (see _die_with)
            os._exit(1)
        try:
            write_atomic(job.out, target.path, out_bytes)
        except OSError as exc:
            if exc.errno not in NAME_ERRORS:
                raise  # a full or read-only disk is the run's failure
            reason = f"cannot write {target.path} in OUT: {exc.strerror or exc}"
            return records + [_skip(source, reason, source_sha)]
        records.append(ManifestRecord(
            path=target.path, source=source.relpath, label=source.label, split=source.split, kind=target.kind,
            copy=target.copy, seed=seed, ops=tuple(op.to_json() for op in ops), width=width, height=height,
            sha256=hashlib.sha256(out_bytes).hexdigest(), source_sha256=source_sha, variant=target.variant,
            note=note or None, extra={"attempt": attempt} if attempt else {}))
    return records


def _drawing(task: Task, job: Job, size) -> Callable[[Target], tuple[tuple[AppliedOp, ...], int | None, int]]:
    """target -> (ops, seed, attempt) for one source's targets (no ops for
    originals and copies). Targets drawn with ``distinct: true`` depend on the
    copies before them, so they are drawn together, at the first one that asks,
    inside its caller's guard."""
    distinct: dict | None = None

    def drawn(target: Target) -> tuple[tuple[AppliedOp, ...], int | None, int]:
        nonlocal distinct
        if target.kind != "augmented":
            return (), None, 0
        if target.distinct:
            if distinct is None:
                wanted = [t for t in task.targets if t.kind == "augmented" and t.distinct]
                distinct = draws(job.seed, task.source.relpath, [t.copy for t in wanted], wanted[0].steps, size)
            return distinct[target.copy]
        ops, seed = draw(job.seed, task.source.relpath, target.copy, target.steps, size)
        return ops, seed, 0

    return drawn


def _annotated(task: Task, job: Job, data: bytes, decoded, source_sha: str) -> list[ManifestRecord | SkipRecord]:
    """``process`` for a source with labels: each output writes its image, then
    its label files, then returns its record (with ``labels``)."""
    source = task.source
    try:
        targets = layout(job.layout).read(job.src, source, decoded.size)
        label_bytes = read_inside(job.src, source.labels) if source.labels else None
    except LabelError as exc:
        return [_skip(source, str(exc), source_sha)]
    except (OSError, Refused) as exc:
        return [_skip(source, f"cannot read {source.labels}: {getattr(exc, 'strerror', None) or exc}", source_sha)]
    label_sha = hashlib.sha256(label_bytes).hexdigest() if label_bytes is not None else label_digest(job.src, source)
    records = []
    drawn = _drawing(task, job, decoded.size)
    for target in task.targets:
        stage = "draw parameters"
        try:
            ops, seed, attempt = drawn(target)
            stage = f"augment ({', '.join(op.op for op in ops)})" if ops else "encode"
            out = labelled_output(decoded, data, source, targets, target, ops, job.labels, job.layout, job.seed,
                                  label_bytes, label_sha, job.max_pixels)
        except Exception as exc:  # as in process: one source's problem, never the run's
            what = str(exc) if isinstance(exc, TooLarge) else f"{type(exc).__name__}: {exc}"
            return records + [_skip(source, f"cannot {stage}: {what}", source_sha)]
        if out is None:  # labels.on_empty: skip, and every object left the frame
            continue
        if _orphaned():
            os._exit(1)
        try:
            write_atomic(job.out, target.path, out.image)
            for path, label in out.files:  # after the image: a record means both are in place
                write_atomic(job.out, path, label)
        except OSError as exc:
            if exc.errno not in NAME_ERRORS:
                raise
            return records + [_skip(source, f"cannot write {target.path} in OUT: {exc.strerror or exc}", source_sha)]
        records.append(ManifestRecord(
            path=target.path, source=source.relpath, label=source.label, split=source.split, kind=target.kind,
            copy=target.copy, seed=seed, ops=tuple(op.to_json() for op in out.ops), width=out.width,
            height=out.height, sha256=hashlib.sha256(out.image).hexdigest(), source_sha256=source_sha,
            variant=target.variant, note=out.note or None, labels=out.record,
            extra={"attempt": attempt} if attempt else {}))
    return records
