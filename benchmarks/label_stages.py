"""What labels cost inside the worker, stage by stage, without a profiler.

    python benchmarks/label_stages.py [--preset small]

``augcli expand -j 1`` (in this process) with the standard benchmark recipe on
the three trees of ``make_annotated.py``: the images without labels, the YOLO
set and the mask set. The worker's stages are wrapped with a CPU-time counter
(``time.process_time``: what the process itself spent, whatever else runs on
the machine), so the label stages are measured at their real cost rather than
cProfile's (which inflates Python-heavy code like box handling many times over
the C calls around it). CPU ms per output, printed and written to
``results/label-stages-DATE.md``.
"""
from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import augcli  # noqa: E402
import augcli.execute as execute  # noqa: E402
import augcli.labelled as labelled  # noqa: E402
import augcli.worker as worker  # noqa: E402
from augcli.layouts import masks, yolo  # noqa: E402
from make_annotated import build_annotated  # noqa: E402

RECIPE = HERE / "recipes" / "bench-standard.yaml"
# (row, module, function): non-overlapping stages of worker.process
STAGES = [
    ("pixels: ops and JPEG encode (render)", None, None),
    ("read the labels (once per source)", None, None),
    ("move boxes / warp mask, clip, drop", labelled, "move_targets"),
    ("encode the label file (+ mask pixel counts)", None, None),
    ("write files (image, + label file), temp + rename", worker, "write_atomic"),
]


def timed(spent: dict, key: str, module, name: str) -> None:
    original = getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        started = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[key] = spent.get(key, 0.0) + time.process_time() - started

    setattr(module, name, wrapper)


def measure(tree: Path, layout: str | None) -> tuple[dict, int]:
    spent: dict[str, float] = {}
    timed(spent, "worker", execute, "process")  # execute holds its own name for it
    timed(spent, STAGES[0][0], labelled if layout else worker, "render")
    timed(spent, STAGES[2][0], labelled, "move_targets")
    timed(spent, STAGES[4][0], worker, "write_atomic")
    for module in (yolo, masks):
        timed(spent, STAGES[1][0], module, "read")
        timed(spent, STAGES[3][0], module, "write")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            summary = augcli.expand(tree, Path(tmp) / "out", RECIPE, jobs=1, layout=layout)
    finally:
        for module, name in ((execute, "process"), (worker, "render"), (labelled, "render"),
                             (labelled, "move_targets"), (worker, "write_atomic"), (yolo, "read"), (yolo, "write"),
                             (masks, "read"), (masks, "write")):
            function = getattr(module, name)
            setattr(module, name, getattr(function, "__wrapped__", function))
    return spent, summary.written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=["small", "large"], default="small")
    args = parser.parse_args()
    trees = build_annotated(args.preset)
    columns = {"without labels": (trees["plain"], None), "YOLO set": (trees["yolo"], "yolo"),
               "mask set": (trees["masks"], "masks")}
    measured = {name: measure(tree, layout) for name, (tree, layout) in columns.items()}
    lines = [f"# Label stages, {date.today().isoformat()}: bench-standard.yaml, -j 1, preset {args.preset}", "",
             "CPU ms per output (process_time around each stage of the worker, no profiler).", "",
             "| stage | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for stage, _, _ in STAGES:
        lines.append(f"| {stage} | " + " | ".join(f"{spent.get(stage, 0.0) / n * 1e3:.2f}"
                                                 for spent, n in measured.values()) + " |")
    rest = [(spent["worker"] - sum(spent.get(s, 0.0) for s, _, _ in STAGES)) / n * 1e3 for spent, n in measured.values()]
    lines.append("| everything else (records, hashes, glue) | " + " | ".join(f"{r:.2f}" for r in rest) + " |")
    lines.append("| **worker total** | " + " | ".join(f"**{spent['worker'] / n * 1e3:.2f}**"
                                                   for spent, n in measured.values()) + " |")
    lines += ["", "Reproduce: `python benchmarks/label_stages.py`."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / f"label-stages-{date.today().isoformat()}.md"
    out.write_text(text)
    print(f"written to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
