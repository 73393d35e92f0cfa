"""Regenerate an output tree from its manifest alone: the recorded ops are a
complete recipe of the dataset. With the same library versions the result is
byte-identical to the original tree.

The manifest is the recipe here, so it is checked like one before anything
is written: every line a record, every op known with the parameters it is
recorded with, of the right types, no path that is also another's folder.
Each problem is one line naming the manifest and the line (exit 2).
"""
from __future__ import annotations

import dataclasses
import fnmatch
import functools
import hashlib
import json
import math
import os
from collections import defaultdict
from pathlib import Path, PurePosixPath
from typing import Any, Iterable

import numpy as np
import yaml

from . import __version__
from .engine import engine, other_engine
from .arguments import check_max_pixels
from .errors import AugcliError, RecipeError, UsageError
from .io import WRITTEN_EXTENSIONS, Encoding, Unusable, decode, written_format
from .limits import DEFAULT_MAX_PIXELS, max_source_bytes
from .manifest import (MANIFEST, RUN_FILE, AppendLog, Counts, ManifestError, ManifestRecord, RunRecord, load_run_record,
                       read_numbered, write_run_record)
from .ops import lookup, suggest
from .ops.spec import show
from .outdir import OutDir, write_atomic
from .plan import Target
from .provenance import plugin_mismatch
from .recipe import Recipe
from .sampling import AppliedOp, sample
from .render import TooLarge, render
from .labelled import LabelReplay
from .scan import check_out_not_below, check_separate, check_src
from .storage import is_url, local_path
from .trees import Refused, read_inside, refuse_dangling_link

@functools.cache
def recorded_params(name: str) -> dict[str, Any]:
    """The parameters op ``name`` is recorded with, and a value of each: drawn
    once from its documented example, exactly as ``expand`` records it."""
    spec = lookup(name)
    if spec.prepare is not None:  # its example names a file that need not exist here: its declared params
        return {"op": name, **{p.name: p.default for p in spec.params}}
    (step,) = yaml.safe_load(spec.example)
    (op, params), = step.items()
    recipe = Recipe.from_dict({"version": 1, "pipeline": [{op: {**(params or {}), "p": 1}}]})
    drawn = sample(recipe.pipeline, np.random.default_rng(0), (64, 48))
    return next(o for o in drawn if o.op == name).to_json()


def _like(value: Any, example: Any) -> bool:
    """``value`` has the JSON shape of ``example`` (for a parameter an op draws
    itself, such as a crop box or a seed, which has no declared type)."""
    if isinstance(example, bool) or example is None or isinstance(example, str):
        return type(value) is type(example)
    if isinstance(example, int):
        return type(value) is int
    if isinstance(example, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(example, list):
        return isinstance(value, list) and (not example or all(_like(v, example[0]) for v in value))
    return False


def check_ops(ops: Iterable[dict]) -> str | None:
    """What is wrong with a record's ops (an unknown op, a missing, unknown or
    ill-typed parameter), or None."""
    for i, op in enumerate(ops):
        name = op["op"]
        spec = lookup(name)
        if spec is None or spec.expand is not None:  # a policy records the plain ops it chose
            hint = suggest(name) if spec is None else None
            return f"ops[{i}]: unknown op {name!r}" + (f" (did you mean {hint!r}?)" if hint else "")
        expected = recorded_params(name)
        missing = [key for key in expected if key not in op]
        if missing:
            return f"ops[{i}] {name}: missing {', '.join(missing)}"
        for key, value in op.items():
            if key not in expected:
                return f"ops[{i}] {name}: unknown parameter {key!r}"
            param = spec.param(key)
            if param is not None:
                if issue := param.check(value):
                    return f"ops[{i}] {name}.{key}: {issue.message}"
            elif not _like(value, expected[key]):
                return f"ops[{i}] {name}.{key}: {show(value)} is not like {json.dumps(expected[key])}"
        if spec.prepare is not None and (problem := _prepared(name, json.dumps(op, sort_keys=True))):
            return f"ops[{i}] {name}.{problem}"
    return None


@functools.cache
def _prepared(name: str, op: str) -> str | None:
    """An op's own checks on its recorded values (the model file it ran is
    still there, with the recorded sha256), once per distinct op."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(op).items() if k != "op"}
    _, problems = lookup(name).prepare(values)
    return "; ".join(f"{param}: {message}" for param, message in problems) or None


def _recorded_recipe(run: RunRecord, path: Path, max_pixels: int) -> Recipe:
    """The output settings (quality, size) of the run, from its ``augcli.json``."""
    if run.recipe is None:
        return Recipe(pipeline=())
    try:
        return Recipe.from_dict(run.recipe, name=str(path), max_pixels=max_pixels)
    except RecipeError as exc:
        raise ManifestError(path, None, "; ".join(p.format("recipe") for p in exc.problems)) from None


def _checked(manifest: Path, only: str | None) -> list[tuple[int, ManifestRecord]]:
    """The (line, record) pairs to replay, every one checked before any is."""
    chosen = []
    for line, record in read_numbered(manifest):
        if problem := check_ops(record.ops):
            raise ManifestError(manifest, line, problem)
        if written_format(record.path) is None:
            raise ManifestError(manifest, line, f"path {record.path!r}: cannot tell its format from the "
                                                f"extension ({', '.join(WRITTEN_EXTENSIONS)})")
        if only is None or fnmatch.fnmatch(record.path, only):
            chosen.append((line, record))
    folders = {str(p).casefold() for _, r in chosen for p in PurePosixPath(r.path).parents}
    for line, record in chosen:
        if record.path.casefold() in folders:
            raise ManifestError(manifest, line, f"path {record.path!r} is also a folder of other paths in "
                                                "the manifest")
    return chosen


def _check_engine(run: RunRecord) -> None:
    """Refuse a manifest whose pixels another engine computed: replaying it here
    would silently write different images."""
    if (recorded := other_engine(run.engine, run.engine_fingerprint)) is not None:
        version = run.version if run.version is not None else "?"
        raise UsageError(f"this manifest was written by augcli {version} with pixel engine "
                         f"{recorded}; augcli {__version__} uses {engine()!r} and cannot reproduce its bytes "
                         "(replay it with the augcli and OpenCV versions that wrote it)")


def replay(manifest: str | Path, src: str | Path, newout: str | Path, *, only: str | None = None,
           max_pixels: int = DEFAULT_MAX_PIXELS, storage_options: dict | None = None) -> int:
    """Write the images listed in ``manifest`` (those matching ``only``) into
    NEWOUT from SRC and the recorded ops; return how many were written. No
    image may have more than ``max_pixels`` pixels at any step (0: no limit);
    sources are read only inside SRC. Any of the three may be a URL
    (``augcli.storage``; ``storage_options`` reach its store)."""
    if is_url(manifest) or is_url(src) or is_url(newout):
        from .storage.commands import replay_stored

        return replay_stored(manifest, src, newout, only=only, max_pixels=max_pixels,
                             storage_options=storage_options or {})
    max_pixels = check_max_pixels(max_pixels)
    manifest, src, newout = (Path(local_path(str(p))) for p in (manifest, src, newout))
    if not manifest.is_file():
        raise UsageError(f"manifest {manifest} not found")
    if manifest.is_symlink():  # given by name: read it (and its augcli.json) where it really is
        manifest = manifest.resolve()
    check_src(src)
    refuse_dangling_link(newout)
    check_separate(src, newout)
    check_out_not_below(src, newout)  # NEWOUT mounted below SRC, which no path shows
    if newout.exists() and any(newout.iterdir()):
        raise UsageError(f"NEWOUT {newout} is not empty: replay writes into a new folder")
    run, recipe, by_source = read_replay(manifest, only, max_pixels)
    newout.mkdir(parents=True, exist_ok=True)
    return write_replay(manifest, src, OutDir.of(newout), run, recipe, by_source, max_pixels,
                        replay_of=str(manifest.resolve()))


def read_replay(manifest: Path, only: str | None, max_pixels: int
                ) -> tuple[RunRecord, Recipe, dict[str, list[tuple[int, ManifestRecord]]]]:
    """The run record beside ``manifest``, its output settings, and the records to
    replay grouped by source, every one checked before any image is written."""
    run_file = manifest.parent / RUN_FILE
    if not os.path.lexists(run_file):
        raise UsageError(f"{run_file} not found: replay needs the run record beside the "
                         "manifest (it holds the output settings and the pixel engine)")
    run = load_run_record(run_file)
    _check_engine(run)
    if (why := plugin_mismatch(run.plugins)) is not None:
        raise UsageError(f"{run_file}: cannot replay this manifest: {why}")
    recipe = _recorded_recipe(run, run_file, max_pixels)
    by_source: dict[str, list[tuple[int, ManifestRecord]]] = defaultdict(list)
    for line, record in _checked(manifest, only):
        by_source[record.source].append((line, record))
    return run, recipe, by_source


def write_replay(manifest: Path | str, src, target_dir, run: RunRecord, recipe: Recipe,
                 by_source: dict[str, list[tuple[int, ManifestRecord]]], max_pixels: int, *, replay_of: str) -> int:
    """Render and write each record into ``target_dir`` (an ``OutDir``, or OUT in
    a store), then its manifest and run record; return how many were written.
    An annotated run's label files are written with their images (``LabelReplay``)."""
    written = 0
    labelled = LabelReplay.of(run, recipe, src) if isinstance(src, (str, Path)) else None
    with AppendLog(target_dir, MANIFEST) as log:
        for source, group in by_source.items():
            try:
                data = read_inside(src, source, max_size=max_source_bytes(max_pixels))
                decoded = decode(data, max_pixels=max_pixels)
            except (OSError, Unusable, Refused) as exc:
                raise AugcliError(f"cannot read source {source}: {exc}") from None
            if hashlib.sha256(data).hexdigest() != group[0][1].source_sha256:
                raise AugcliError(f"source {source} has changed since the manifest was written "
                                  "(sha256 differs); replay needs the same source bytes")
            for line, record in group:
                encoding = Encoding.of(recipe.output, written_format(record.path))
                target = Target(record.path, record.kind, record.copy, encoding,
                                byte_copy=record.sha256 == record.source_sha256)
                ops = tuple(AppliedOp.from_json(op) for op in record.ops)
                files, labels = (), record.labels
                try:
                    if labelled is not None:
                        out = labelled.render(decoded, data, record, target, ops, max_pixels)
                        out_bytes, width, height, files, labels = out.image, out.width, out.height, out.files, out.record
                    else:
                        out_bytes, width, height, _ = render(decoded, target, ops, data, max_pixels)
                except TooLarge as exc:
                    raise AugcliError(f"{manifest}:{line}: {exc}") from None
                except Exception as exc:  # values no op can apply (a degenerate perspective, say)
                    raise AugcliError(f"{manifest}:{line}: cannot replay it: {type(exc).__name__}: {exc}") from None
                write_atomic(target_dir, record.path, out_bytes)
                for path, label in files:
                    write_atomic(target_dir, path, label)
                log.append(dataclasses.replace(record, width=width, height=height, labels=labels,
                                               sha256=hashlib.sha256(out_bytes).hexdigest()))
                written += 1
    if labelled is not None:
        run = dataclasses.replace(run, extra={**run.extra, "layout_files": labelled.finish(target_dir)})
    write_run_record(target_dir, dataclasses.replace(run, replay_of=replay_of, counts=Counts(written=written)))
    return written
