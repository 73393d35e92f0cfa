"""Read an output tree's manifest as a table, and summarise it: the numbers a
user checks before training (images per class, how often each op fired, the
parameter ranges actually drawn)."""
from __future__ import annotations

import csv
import io
import json
import os
from collections import Counter, defaultdict
from pathlib import Path
from typing import Iterable

from .errors import UsageError
from .manifest import MANIFEST, ManifestRecord, read_records

COLUMNS = ("path", "source", "label", "split", "kind", "variant", "copy", "seed", "width", "height", "note", "ops",
           "sha256", "source_sha256")
LABEL_COLUMNS = ("labels_path", "objects_kept", "objects_clipped", "objects_dropped", "objects_per_class")
RECORDED_NOT_DRAWN = ("seed",)  # an op's own random seed, recorded so it replays; not a parameter to check


def load_manifest(out: str | Path) -> list[ManifestRecord]:
    """OUT's manifest records, checked (``ManifestError`` names a bad line)."""
    path = Path(out) / MANIFEST
    if not os.path.lexists(path):  # (one that is there but unreadable gets its own reason)
        raise UsageError(f"{out} has no {MANIFEST}: not an augcli output folder")
    return list(read_records(path))


def short_ops(ops: Iterable[dict]) -> str:
    """``rotate(angle=-12.66,fill=reflect,expand=false); hflip`` - readable in a
    spreadsheet, values spelt as in the manifest's JSON."""
    parts = []
    for op in ops:
        args = ",".join(f"{k}={_json_value(v)}" for k, v in op.items() if k != "op")
        parts.append(f"{op['op']}({args})" if args else op["op"])
    return "; ".join(parts)


def _json_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def to_csv(records: list[ManifestRecord]) -> str:
    """One row per image; an empty cell where a record has no value (an
    original's seed), so ``pd.read_csv(..., dtype={"seed": "Int64"})`` keeps
    seeds exact."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    labelled = any(record.labels is not None for record in records)
    writer.writerow(COLUMNS + (LABEL_COLUMNS if labelled else ()))
    for record in records:
        row = [_cell(short_ops(record.ops) if c == "ops" else getattr(record, c)) for c in COLUMNS]
        if labelled:
            labels = record.labels or {}
            objects = labels.get("objects") or {}
            row += [_cell(labels.get("path")), *(objects.get(k) for k in ("kept", "clipped", "dropped")),
                    " ".join(f"{k}={v}" for k, v in (labels.get("classes") or {}).items())]
        writer.writerow(row)
    return buffer.getvalue()


def _objects(records: list[ManifestRecord]) -> dict | None:
    """Annotated layouts: objects per class in the images as they came (originals,
    copied splits) and in the augmented ones, and what the border did to them."""
    if not any(record.labels for record in records):
        return None
    per_class: dict[str, Counter] = defaultdict(Counter)
    fate: Counter = Counter()
    for record in records:
        labels = record.labels or {}
        side = "augmented" if record.kind == "augmented" else "source"
        for cls, n in (labels.get("classes") or {}).items():
            per_class[cls][side] += n
        if record.kind == "augmented":
            fate.update(labels.get("objects") or {})
    return {"classes": {k: dict(v) for k, v in sorted(per_class.items(), key=lambda kv: (len(kv[0]), kv[0]))},
            "augmented": {k: fate.get(k, 0) for k in ("kept", "clipped", "dropped")}}


# what makes a spreadsheet read a cell as a formula (OWASP's "CSV injection" list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    """A text cell a spreadsheet would run as a formula (a class named ``=1+2``,
    ``@SUM(...)``) gets a leading ``'``, as Excel, LibreOffice and Sheets expect:
    it shows the text as written. Numbers are written as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def summarise(records: list[ManifestRecord]) -> dict:
    """Counts per class, op frequencies and drawn parameter ranges."""
    classes: dict[str, Counter] = defaultdict(Counter)
    sources: dict[str, set] = defaultdict(set)
    fired: Counter = Counter()
    numbers: dict[tuple[str, str], list[float]] = defaultdict(list)
    values: dict[tuple[str, str], Counter] = defaultdict(Counter)
    augmented = 0
    for record in records:
        key = f"{record.split}/{record.label}" if record.split else record.label
        classes[key][record.kind] += 1
        sources[key].add(record.source)
        if record.kind != "augmented":
            continue
        augmented += 1
        for op in record.ops:
            fired[op["op"]] += 1
            for name, value in op.items():
                if name == "op" or name in RECORDED_NOT_DRAWN or value is None or isinstance(value, list):
                    continue
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    numbers[(op["op"], name)].append(value)
                else:
                    values[(op["op"], name)][str(value).lower() if isinstance(value, bool) else value] += 1
    summary = {
        "classes": {k: {"sources": len(sources[k]), "written": sum(v.values()), **dict(v)}
                    for k, v in sorted(classes.items())},
        "augmented": augmented,
        "ops": {op: {"fired": n, "share": n / augmented if augmented else 0.0} for op, n in fired.most_common()},
        # parameters that vary; the constant ones (a fill mode, a cval) are in the recipe
        "params": {f"{op}.{name}": {"min": min(v), "max": max(v), "mean": sum(v) / len(v)}
                   for (op, name), v in sorted(numbers.items()) if min(v) != max(v)},
        "values": {f"{op}.{name}": dict(c.most_common()) for (op, name), c in sorted(values.items()) if len(c) > 1},
    }
    objects = _objects(records)
    if objects is not None:
        summary["objects"] = objects
    return summary


def to_text(summary: dict) -> str:
    """The summary as plain-text tables."""
    lines = []
    width = max([5] + [len(k) for k in summary["classes"]])
    lines.append(f"{'class':<{width}}  {'sources':>7}  {'written':>7}  {'augmented':>9}")
    for name, row in summary["classes"].items():
        lines.append(f"{name:<{width}}  {row['sources']:>7}  {row['written']:>7}  {row.get('augmented', 0):>9}")
    if summary["ops"]:
        lines.append("")
        lines.append(f"op fired in (of {summary['augmented']} augmented images):")
        for op, row in summary["ops"].items():
            lines.append(f"  {op:<20} {row['fired']:>7}  {row['share']:6.1%}")
    if summary["params"]:
        lines.append("")
        lines.append("parameters drawn (min .. max, mean; constant ones omitted):")
        for name, row in summary["params"].items():
            lines.append(f"  {name:<28} {row['min']:>10g} .. {row['max']:<10g} mean {row['mean']:.4g}")
    if summary["values"]:
        for name, counts in summary["values"].items():
            lines.append(f"  {name:<28} " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
    if "objects" in summary:
        objects = summary["objects"]
        lines.append("")
        lines.append(f"{'object class':<12}  {'in sources':>10}  {'augmented':>9}")
        for name, row in objects["classes"].items():
            lines.append(f"{name:<12}  {row.get('source', 0):>10}  {row.get('augmented', 0):>9}")
        fate = objects["augmented"]
        lines.append(f"objects in augmented images: {fate['kept']} kept, {fate['clipped']} clipped by the border, "
                     f"{fate['dropped']} dropped (labels: min_visibility, min_size)")
    return "\n".join(lines) + "\n"


def stats_json(summary: dict) -> str:
    return json.dumps(summary, indent=2)
