"""One output of an annotated source: the pixels (``render``) and its labels,
moved by the same drawn ops (``targets.moves``), clipped and filtered by the
recipe's ``labels:`` rules, and encoded by the source's layout.

``on_empty: redraw``: an augmented output whose objects all left the frame is
drawn again with the next attempt key (``SeedSequence(seed, spawn_key=(path,
copy, REDRAW, attempt))``), at most ``MAX_ATTEMPTS`` draws; the manifest
records the attempt that was kept, and its ops, so replay needs no redraw.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Callable, Iterable

import numpy as np

from .io import Decoded, Encoding
from .label_rules import LabelRules
from .layouts import LabelError, finish_layout, label_digest, layout, scan as scan_layout
from .plan import Target
from .render import render
from .sampling import AppliedOp, sample, stable_hash
from .scan import Scan, SourceImage
from .trees import read_inside
from .targets import MAX_ATTEMPTS, Targets, fit_moves, moves

REDRAW = 2**32  # a spawn-key entry no copy index or epoch reaches: redraws never coincide with other draws


@dataclass(frozen=True)
class Labelled:
    """What one annotated output writes: its image, its label files, and its
    manifest record's ``labels``."""

    image: bytes
    width: int
    height: int
    note: str | None
    files: tuple[tuple[str, bytes], ...]
    record: dict
    ops: tuple[AppliedOp, ...]


def redraw_rng(seed: int, relpath: str, copy: int, attempt: int, epoch: int | None = None) -> np.random.Generator:
    """The generator of a redraw (``Augmenter``'s epochs key theirs too)."""
    epochs = () if epoch is None else (epoch,)
    return np.random.default_rng(np.random.SeedSequence(
        seed, spawn_key=(stable_hash(relpath), copy, REDRAW, attempt, *epochs)))


def move_targets(targets: Targets, ops: Iterable[AppliedOp], encoding: Encoding, rules: LabelRules
                 ) -> tuple[Targets, dict]:
    """``targets`` through the drawn ops and the output size, sanitised."""
    steps = moves(ops, targets.size)
    size = steps[-1].size if steps else targets.size
    steps += fit_moves(size, encoding.size, encoding.fit)
    return targets.moved(steps, rules.ignore_index).sanitised(rules)


def settle(targets: Targets, ops: tuple[AppliedOp, ...], encoding: Encoding, rules: LabelRules,
           redraw: Callable[[int], tuple[AppliedOp, ...]] | None) -> tuple[tuple[AppliedOp, ...], Targets, dict, int]:
    """The ops an output keeps, its moved targets, their counts and the attempt:
    with ``redraw`` (``on_empty: redraw`` on an augmented output) an output whose
    objects all left the frame is drawn again, at most ``MAX_ATTEMPTS`` times."""
    attempt = 1
    while True:
        moved, counts = move_targets(targets, ops, encoding, rules)
        if redraw is None or rules.on_empty != "redraw" or not targets.classes or moved.classes \
                or attempt >= MAX_ATTEMPTS:
            return ops, moved, counts, attempt
        attempt += 1
        ops = redraw(attempt)


def labelled_output(decoded: Decoded, data: bytes, source: SourceImage, targets: Targets, target: Target,
                    ops: tuple[AppliedOp, ...], rules: LabelRules, layout_name: str, run_seed: int,
                    label_bytes: bytes | None, label_sha: str | None, max_pixels: int) -> Labelled | None:
    """Render one output and its labels (redrawing under ``on_empty: redraw``);
    None for an output ``on_empty: skip`` leaves out (decided before any pixel is computed)."""
    module = layout(layout_name)
    passthrough = target.byte_copy and not decoded.rotated
    redraw = (lambda attempt: sample(target.steps, redraw_rng(run_seed, source.relpath, target.copy, attempt),
                                     decoded.size)) if target.kind == "augmented" else None
    ops, moved, counts, attempt = settle(targets, ops, target.encoding, rules, redraw)
    if rules.on_empty == "skip" and target.kind == "augmented" and targets.classes and not moved.classes:
        return None  # not written; a resume draws it again, finds it empty again, and writes nothing again
    image, width, height, note = render(decoded, target, ops, data, max_pixels)  # (a redraw's sizes checked too)
    files, extra = module.write(moved, target.path, source)
    if passthrough and label_bytes is not None:
        files = [(path, label_bytes) for path, _ in files]  # labels pass through with their image
    elif passthrough and source.labels is None:
        files = []  # an image without a label file has none in OUT either
    record: dict = {}
    if files:
        record["path"] = files[0][0]
        record["sha256"] = hashlib.sha256(files[0][1]).hexdigest()
    if source.labels is not None:
        record["source"] = source.labels
    if label_sha is not None:
        record["source_sha256"] = label_sha
    if targets.mask is None:
        record["objects"] = counts
        record["classes"] = _per_class(moved.classes)
    if attempt > 1:
        record["attempt"] = attempt
    record.update(extra)
    return Labelled(image, width, height, note, tuple(files), record, tuple(ops))


def _per_class(classes) -> dict:
    out: dict[str, int] = {}
    for cls in classes:
        out[str(cls)] = out.get(str(cls), 0) + 1
    return dict(sorted(out.items(), key=lambda kv: int(kv[0])))


@dataclass(frozen=True)
class LabelReplay:
    """``replay`` of an annotated run: SRC read in the run's layout, each
    output's labels moved by its recorded ops (never redrawn: the ops recorded
    are the attempt that was kept)."""

    name: str
    src: str
    found: Scan
    rules: LabelRules
    by_path: dict

    @classmethod
    def of(cls, run, recipe, src) -> "LabelReplay | None":
        name = run.extra.get("layout")
        if name in (None, "folders"):
            return None
        found = scan_layout(src, forced=name)
        return cls(name, str(src), found, replace(recipe.labels or LabelRules(), on_empty="keep"),
                   {s.relpath: s for s in found.sources})

    def render(self, decoded: Decoded, data: bytes, record, target: Target, ops, max_pixels: int) -> Labelled:
        source = self.by_path.get(record.source)
        if source is None:
            raise LabelError(f"{record.source} is not an image of SRC as a {self.name} dataset")
        targets = layout(self.name).read(self.src, source, decoded.size)
        label_bytes = read_inside(self.src, source.labels) if source.labels else None
        label_sha = hashlib.sha256(label_bytes).hexdigest() if label_bytes is not None else label_digest(self.src, source)
        if (record.labels or {}).get("source_sha256") != label_sha:
            raise LabelError(f"the labels of {record.source} have changed since the manifest was written")
        return labelled_output(decoded, data, source, targets, target, ops, self.rules, self.name, 0, label_bytes,
                               label_sha, max_pixels)

    def finish(self, out) -> dict[str, str]:
        return finish_layout(self.found, out)
