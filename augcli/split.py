"""``augcli split``: a flat class-per-folder SRC into ``train/ val/ [test/]`` by
source, before augmenting.

Why before: a validation split taken from augcli's output at training time
(Keras' ``validation_split``) puts augmented copies of one source in training
and the source itself, or another copy, in validation, so validation measures
memory. Split first, then ``expand`` the split tree: only ``train/`` is
augmented and the other splits are copied, so no source has images in two splits.

The split is stratified and deterministic: within each class the sources are
ranked by a keyed hash of (seed, relative path) and the first ``round(n *
val)`` go to ``val``, the next ``round(n * test)`` to ``test``, the rest to
``train`` (which keeps at least one image per class). Nothing depends on the
order of the files or the machine; adding images to a class moves at most the
sources at the boundary. Files are copied byte for byte; ``split.json`` records
where each went. An OUT that ``split`` wrote is brought up to date by running
it again (files of sources gone or moved are removed, changed ones rewritten).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import __version__
from .errors import AugcliError, UsageError
from .manifest import MAX_RUN_RECORD
from .outdir import OutDir, check_not_locked, one_writer
from .sampling import stable_hash
from .scan import check_separate, check_src, scan
from .trees import Refused, open_inside, read_inside

SPLIT_FILE = "split.json"
NAMES = ("train", "val", "test")


@dataclass
class SplitSummary:
    out: str
    counts: dict[str, Counter] = field(default_factory=dict)  # class -> split -> images
    written: int = 0  # files copied (new or changed)
    removed: int = 0  # files of sources gone or moved to another split
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, reason): unusable, not copied

    def table(self) -> list[str]:
        """Images per class and split, as lines."""
        width = max([len("class")] + [len(label) for label in self.counts])
        return [f"{'class':<{width}}  {'train':>7}  {'val':>7}  {'test':>7}"] + [
            f"{label:<{width}}  " + "  ".join(f"{c[name]:>7}" for name in NAMES) for label, c in self.counts.items()]

    def line(self) -> str:
        total = Counter()
        for counts in self.counts.values():
            total.update(counts)
        parts = ", ".join(f"{name} {total[name]}" for name in NAMES if name != "test" or total["test"])
        unchanged = sum(total.values()) - self.written
        done = f"wrote {self.written}" + (f", {unchanged} unchanged" if unchanged else "") + \
            (f", removed {self.removed}" if self.removed else "")
        skipped = f"; skipped {len(self.skipped)} unusable files" if self.skipped else ""
        return (f"augcli: split {sum(total.values())} images of {len(self.counts)} classes by source into {parts} "
                f"-> {self.out} ({done}){skipped}")


def assign(relpaths_by_class: dict[str, list[str]], val: float, test: float, seed: int) -> dict[str, str]:
    """relpath -> "train" | "val" | "test", stratified by class (see the module doc)."""
    chosen: dict[str, str] = {}
    for relpaths in relpaths_by_class.values():
        ranked = sorted(relpaths, key=lambda relpath: (stable_hash(f"{seed}/{relpath}"), relpath))
        n = len(ranked)
        n_val, n_test = round(n * val), round(n * test)
        while n and n_val + n_test > n - 1:  # train keeps at least one image of the class
            if n_test >= n_val and n_test:
                n_test -= 1
            else:
                n_val -= 1
        for index, relpath in enumerate(ranked):
            chosen[relpath] = "val" if index < n_val else "test" if index < n_val + n_test else "train"
    return chosen


def split(src: str | os.PathLike, out: str | os.PathLike, *, val: float = 0.2, test: float = 0.0,
          seed: int = 0) -> SplitSummary:
    """Copy the class folders of SRC into OUT/train, OUT/val (and OUT/test), by source."""
    src_path, out_path = Path(src), Path(out)
    for name, value in (("--val", val), ("--test", test)):
        if not 0 <= value < 1:
            raise UsageError(f"{name} {value}: a fraction of each class, from 0 up to (not including) 1")
    if val + test >= 1:
        raise UsageError(f"--val {val} and --test {test} leave nothing for train: their sum must be below 1")
    if not 0 <= seed < 2**63:
        raise UsageError(f"--seed {seed}: an integer from 0 to 2**63 - 1")
    check_src(src_path)
    check_separate(src_path, out_path)
    previous = _previous(out_path)  # read-only checks first: a refused run leaves OUT as it was
    check_not_locked(out_path)
    found = scan(src_path)
    if found.splits:
        raise UsageError(f"SRC {src} is already split ({', '.join(found.splits)}): split takes a folder of class "
                         "folders; expand it as it is")
    by_class: dict[str, list[str]] = {}
    for source in found.sources:
        by_class.setdefault(source.label, []).append(source.relpath)
    chosen = assign(by_class, val, test, seed)
    summary = SplitSummary(out=str(out), skipped=[(s.source, s.reason) for s in found.skipped])
    for source in found.sources:
        summary.counts.setdefault(source.label, Counter())[chosen[source.relpath]] += 1
    with one_writer(out_path):
        outdir = OutDir.of(out_path)
        wanted = {f"{name}/{relpath}" for relpath, name in chosen.items()}
        record = {"tool": "augcli split", "version": __version__, "source": str(src_path.resolve()), "seed": seed,
                  "val": val, "test": test, "status": "running"}
        # first the record, so an interrupted split is brought up to date by the next one (not refused)
        _write_record(outdir, {**record, "files": {**previous, **{path: previous.get(path) for path in wanted}}})
        for path in sorted(set(previous) - wanted):
            summary.removed += outdir.remove(path)
        outdir.prune(path.rpartition("/")[0] for path in set(previous) - wanted)
        files = {}
        for relpath, name in sorted(chosen.items()):
            try:
                data = read_inside(src_path, relpath)
            except (Refused, OSError) as exc:
                raise AugcliError(f"cannot read {relpath} in SRC: {exc}") from exc
            target = f"{name}/{relpath}"
            files[target] = hashlib.sha256(data).hexdigest()
            if previous.get(target) == files[target] and outdir.is_file(target):
                continue
            outdir.write(target, data)
            summary.written += 1
        _write_record(outdir, {**record, "status": "complete", "files": files})
    return summary


def _write_record(outdir: OutDir, record: dict) -> None:
    outdir.write(SPLIT_FILE, (json.dumps(record, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


def _previous(out: Path) -> dict[str, str | None]:
    """The files an earlier ``split`` wrote in OUT (path -> sha256, None while it
    was still copying); refuse an OUT that holds anything else."""
    if not out.exists() or not any(out.iterdir()):
        return {}
    try:
        with open_inside(out, SPLIT_FILE) as handle:
            record = json.loads(handle.read(MAX_RUN_RECORD))
    except FileNotFoundError:
        raise UsageError(f"OUT {out} is not empty and has no {SPLIT_FILE}: split writes into an empty folder, or "
                         "brings one it wrote up to date") from None
    except (OSError, Refused, ValueError) as exc:
        raise UsageError(f"{out / SPLIT_FILE}: cannot be read ({exc}); remove OUT to split again") from None
    files = record.get("files") if isinstance(record, dict) else None
    if not isinstance(files, dict) or not all(isinstance(k, str) and k.split("/", 1)[0] in NAMES
                                              and isinstance(v, (str, type(None))) for k, v in files.items()):
        raise UsageError(f"{out / SPLIT_FILE}: not a record augcli split wrote; remove OUT to split again")
    return files


__all__ = ["split", "assign", "SplitSummary", "SPLIT_FILE"]
