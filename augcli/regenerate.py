"""Regenerate an output tree from its manifest alone: the recorded ops are a
complete recipe of the dataset. With the same library versions the result is
byte-identical to the original tree."""
from __future__ import annotations

import fnmatch
import hashlib
import json
from collections import defaultdict
from pathlib import Path, PurePosixPath

import yaml

from . import __version__
from .apply import PILLOW_ENGINE, engine
from .errors import AugcliError, UsageError
from .io import Encoding, Unusable, decode, written_format
from .manifest import MANIFEST, RUN_FILE, AppendLog, read_jsonl, write_run_record
from .outdir import OutDir, write_atomic
from .plan import Target
from .recipe import Recipe
from .sampling import AppliedOp
from .scan import check_separate, check_src
from .render import render

def _safe(relpath: str, what: str) -> str:
    """A manifest path must stay inside its tree: relative, no '..'."""
    path = PurePosixPath(relpath)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in relpath:
        raise UsageError(f"manifest {what} {relpath!r} is not a relative path inside its folder; refusing to replay")
    return relpath


def _check_engine(run: dict) -> None:
    """Refuse a manifest whose pixels another engine computed: replaying it here
    would silently write different images."""
    recorded = run.get("engine", PILLOW_ENGINE)
    if recorded != engine():
        raise UsageError(f"this manifest was written by augcli {run.get('version', '?')} with pixel engine "
                         f"{recorded!r}; augcli {__version__} uses {engine()!r} and cannot reproduce its bytes "
                         "(replay it with the augcli and OpenCV versions that wrote it)")


def replay(manifest: str | Path, src: str | Path, newout: str | Path, *, only: str | None = None) -> int:
    """Write the images listed in ``manifest`` (those matching ``only``) into
    NEWOUT from SRC and the recorded ops; return how many were written."""
    manifest, src, newout = Path(manifest), Path(src), Path(newout)
    if not manifest.is_file():
        raise UsageError(f"manifest {manifest} not found")
    check_src(src)
    check_separate(src, newout)
    if newout.exists() and any(newout.iterdir()):
        raise UsageError(f"NEWOUT {newout} is not empty: replay writes into a new folder")
    if not (manifest.parent / RUN_FILE).is_file():
        raise UsageError(f"{manifest.parent / RUN_FILE} not found: replay needs the run record beside the "
                         "manifest (it holds the output settings and the pixel engine)")
    run = json.loads((manifest.parent / RUN_FILE).read_text(encoding="utf-8"))
    _check_engine(run)
    # the output settings (quality, size) live in the recorded recipe
    recipe = Recipe.from_yaml(yaml.safe_dump(run["recipe"])) if "recipe" in run else Recipe(pipeline=())
    records = [r for r in read_jsonl(manifest) if only is None or fnmatch.fnmatch(r["path"], only)]
    by_source: dict[str, list[dict]] = defaultdict(list)
    for record in records:
        by_source[_safe(record["source"], "source")].append(record)
        _safe(record["path"], "path")
    newout.mkdir(parents=True, exist_ok=True)
    target_dir = OutDir.of(newout)
    written = 0
    with AppendLog(target_dir, MANIFEST) as log:
        for source, group in by_source.items():
            try:
                data = (src / source).read_bytes()
                decoded = decode(data, max_pixels=0)
            except (OSError, Unusable) as exc:
                raise AugcliError(f"cannot read source {source}: {exc}") from None
            if hashlib.sha256(data).hexdigest() != group[0]["source_sha256"]:
                raise AugcliError(f"source {source} has changed since the manifest was written "
                                  "(sha256 differs); replay needs the same source bytes")
            for record in group:
                fmt = written_format(record["path"])
                if fmt is None:
                    raise AugcliError(f"cannot tell the format of {record['path']} from its extension")
                target = Target(record["path"], record["kind"], record["copy"], Encoding.of(recipe.output, fmt),
                                byte_copy=record["sha256"] == record["source_sha256"])
                ops = tuple(AppliedOp.from_json(op) for op in record["ops"])
                out_bytes, width, height, _ = render(decoded, target, ops, data)
                write_atomic(target_dir, record["path"], out_bytes)
                log.append({**record, "width": width, "height": height,
                            "sha256": hashlib.sha256(out_bytes).hexdigest()})
                written += 1
    write_run_record(target_dir, {**run, "replay_of": str(manifest.resolve()), "counts": {"written": written}})
    return written
