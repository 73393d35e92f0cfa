"""What one worker does for one source: decode once, then for each target
sample -> apply -> encode -> write atomically, and return small records.

Workers never decide what to produce (the plan did) and never touch the
manifest (the parent appends it). Nothing here depends on the process it runs
in, so ``-j 1``, ``-j 8`` and a Dask cluster write the same bytes.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .apply import apply
from .fit import fit
from .io import Decoded, Unusable, decode, encode, write_atomic
from .plan import Target, Task
from .recipe import Recipe
from .sampling import AppliedOp, item_rng, sample
from .scan import Skip


@dataclass(frozen=True)
class Job:
    """Everything a worker needs besides its task: small and picklable."""

    src: str
    out: str
    recipe: Recipe
    seed: int
    max_pixels: int
    parent_pid: int = field(default_factory=os.getpid)  # the process that planned the run


def steps_for(recipe: Recipe, target: Target, label: str):
    """The steps one output is drawn from (per-class rules applied)."""
    if target.variant is not None:
        return dict(recipe.variants_for(label))[target.variant]
    return recipe.pipeline_for(label)


def finish(img: Image.Image, recipe: Recipe) -> Image.Image:
    """The recipe's final output step: ``output.size`` resizes last, by its fit mode."""
    if recipe.output.size is None:
        return img
    return fit(img, recipe.output.size, recipe.output.fit, recipe.output.background)


def augment(img: Image.Image, ops: tuple[AppliedOp, ...], recipe: Recipe) -> Image.Image:
    """The pixels of one output before encoding: the drawn ops, then the output
    step. ``render`` and ``Augmenter`` (in memory) share this path."""
    return finish(apply(img, ops), recipe)


def render(decoded: Decoded, target: Target, ops: tuple[AppliedOp, ...], source_bytes: bytes,
           recipe: Recipe) -> tuple[bytes, int, int, str | None]:
    """The bytes of one output; ``preview`` and ``replay`` share this path."""
    if target.byte_copy and not decoded.rotated:
        width, height = decoded.image.size
        return source_bytes, width, height, None
    img = augment(decoded.image, ops, recipe)
    data, written, note = encode(img, target.format, quality=recipe.output.quality,
                                 icc_profile=decoded.icc_profile, cval=recipe.output.background)
    return data, written.width, written.height, note


def _settle_in(job: Job) -> None:
    """Once per worker process (not in the caller's own process, which -j 1 and
    the threading backend use)."""
    global _SETTLED
    if _SETTLED or os.getpid() == job.parent_pid:
        return
    _SETTLED = True
    if threading.current_thread() is threading.main_thread():
        # Ctrl-C reaches the whole process group; workers ignore it and let the
        # parent stop the run at a consistent point
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    keep_freed_memory()


_SETTLED = False


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


def process(task: Task, job: Job) -> list[dict]:
    """Produce every target of one source; return manifest records, or one skip
    record if the source cannot be used."""
    _settle_in(job)
    source = task.source
    try:
        data = (Path(job.src) / source.relpath).read_bytes()
        decoded = decode(data, max_pixels=job.max_pixels)
    except Unusable as exc:
        return [{"skip": Skip(source.relpath, str(exc)).to_json()}]
    except OSError as exc:
        return [{"skip": Skip(source.relpath, f"cannot read: {exc.strerror or exc}").to_json()}]
    source_sha = hashlib.sha256(data).hexdigest()
    records = []
    for target in task.targets:
        seed = None
        ops: tuple[AppliedOp, ...] = ()
        if target.kind == "augmented":
            rng, seed = item_rng(job.seed, source.relpath, target.copy)
            ops = sample(steps_for(job.recipe, target, source.label), rng, decoded.image.size)
        try:
            out_bytes, width, height, note = render(decoded, target, ops, data, job.recipe)
        except (ValueError, ZeroDivisionError, OSError, MemoryError, np.linalg.LinAlgError) as exc:
            # an op that cannot work on this image (say, a degenerate size): skip the
            # source, keep the run going; what was already written stays valid
            reason = f"cannot augment ({', '.join(op.op for op in ops) or 'encode'}): {type(exc).__name__}: {exc}"
            return records + [{"skip": Skip(source.relpath, reason).to_json()}]
        write_atomic(Path(job.out) / target.path, out_bytes)
        record = {
            "path": target.path,
            "source": source.relpath,
            "label": source.label,
            "split": source.split,
            "kind": target.kind,
            "copy": target.copy,
            "seed": seed,
            "ops": [op.to_json() for op in ops],
            "width": width,
            "height": height,
            "sha256": hashlib.sha256(out_bytes).hexdigest(),
            "source_sha256": source_sha,
        }
        if target.variant is not None:
            record["variant"] = target.variant
        if note:
            record["note"] = note
        records.append({"manifest": record})
    return records
