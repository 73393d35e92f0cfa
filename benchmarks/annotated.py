"""Annotated datasets (issue 24): what boxes and masks cost on top of the pixels,
and augcli against albumentations on a YOLO set. Part of ``make bench``
(``run.py --annotated``); runs alone too:

    python benchmarks/annotated.py [--reps 3] [--preset small]

Four tools and the codec floor, each a whole process, alternating within each repetition (who goes
first rotates), on the trees of ``make_annotated.py``, each writing 5 JPEG q90
outputs per source with the standard recipe (``recipes/bench-standard.yaml``)
on 2 processes:

* augcli on the preset's images without labels (class folders);
* augcli on the same images as a YOLO set (3 to 6 boxes each), label files out;
* augcli on the same images as a mask set, a label-map PNG out per output;
* ``peers/albumentations_yolo.py``: albumentations + joblib, ``bbox_params``
  YOLO in, YOLO out;
* ``peers/codec_floor.py`` on the images (decode once, encode 5 times, 2
  processes): the floor under all of them, for reference.

Reported: images/s and CPU ms per output (medians), and the ratios the issue
sets targets for, from medians of the same run, with the spread of the
per-repetition ratios. Every run's outputs are counted (images and label
files) so a tool that wrote less cannot look fast. Alone, the report is
written to ``results/DATE-annotated-PRESET.md``; in ``make bench`` it is part
of run.py's.
"""
from __future__ import annotations

import argparse
import compileall
import shutil
import statistics
import sys
import tempfile
from datetime import date
from pathlib import Path

import augcli

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_annotated import build_annotated  # noqa: E402
from run import AUGCLI, PY, cpu, measure, versions  # noqa: E402

RECIPE = str(HERE / "recipes" / "bench-standard.yaml")
PLAIN = "augcli, images without labels"
YOLO = "augcli, YOLO set (boxes)"
MASKS = "augcli, mask set (label maps)"
PEER = "albumentations + joblib, bbox_params YOLO"
FLOOR = "codec floor (decode + encode only)"
# (what, numerator, denominator, target, how the target reads)
TARGETS = [
    ("YOLO set vs the same images without labels", YOLO, PLAIN, 1.1, "<= 1.1x the time"),
    ("mask set vs the same images without labels", MASKS, PLAIN, 1.3, "<= 1.3x the time"),
    ("albumentations YOLO vs augcli YOLO", PEER, YOLO, 1.2, ">= 1.2x faster"),
]


def commands(trees: dict[str, Path]) -> dict[str, callable]:
    """name -> function(out) returning the command line."""
    def augcli_on(tree: Path, layout: list[str]):
        return lambda out: AUGCLI + ["expand", str(tree), str(out), "-r", RECIPE, "-j", "2", "-q"] + layout

    return {
        PLAIN: augcli_on(trees["plain"], []),
        YOLO: augcli_on(trees["yolo"], ["--layout", "yolo"]),
        MASKS: augcli_on(trees["masks"], ["--layout", "masks"]),
        PEER: lambda out: [PY, str(HERE / "peers" / "albumentations_yolo.py"), str(trees["yolo"]), str(out),
                           "--jobs", "2", "--copies", "5"],
        FLOOR: lambda out: [PY, str(HERE / "peers" / "codec_floor.py"), str(trees["plain"]), str(out), "--jobs", "2"],
    }


def written(out: Path) -> tuple[int, int]:
    """(JPEG outputs, label files: .txt or mask .png)."""
    files = [p for p in out.rglob("*") if p.is_file()]
    return (sum(p.suffix == ".jpg" for p in files),
            sum(p.suffix in (".txt", ".png") and bool({"labels", "masks"} & set(p.relative_to(out).parts[:-1]))
                for p in files))


def expected_labels(name: str, images: int) -> int:
    return 0 if name in (PLAIN, FLOOR) else images


def report(reps: int = 3, preset: str = "small") -> list[str]:
    trees = build_annotated(preset)
    sources = sum(1 for _ in (trees["yolo"] / "images").rglob("*.jpg"))
    boxes = sum(len(p.read_text().splitlines()) for p in (trees["yolo"] / "labels").rglob("*.txt"))
    runs = commands(trees)
    names = list(runs)
    results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in names}
    scratch = Path(tempfile.mkdtemp(prefix="augcli-bench-annotated-"))
    try:
        for rep in range(reps):
            for name in names[rep % len(names):] + names[: rep % len(names)]:
                out = scratch / "out"
                shutil.rmtree(out, ignore_errors=True)
                seconds, cpu_s, _ = measure(runs[name](out))
                images, labels = written(out)
                if images != sources * 5 or labels != expected_labels(name, images):
                    raise RuntimeError(f"{name} wrote {images} images and {labels} label files; "
                                       f"expected {sources * 5} and {expected_labels(name, sources * 5)}")
                results[name].append((seconds, cpu_s, images))
                print(f"annotated rep {rep + 1}: {name}: {seconds:.2f} s wall, {cpu_s:.2f} s CPU", file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def wall(name: str) -> float:
        return statistics.median(s for s, _, _ in results[name])

    def cpu_s(name: str) -> float:
        return statistics.median(c for _, c, _ in results[name])

    def spread(a: str, b: str, column: int) -> str:
        per_rep = sorted(x[column] / y[column] for x, y in zip(results[a], results[b]))
        return f"{per_rep[0]:.2f}-{per_rep[-1]:.2f}"

    lines = [
        f"### Annotated datasets (issue 24), preset {preset}",
        "",
        f"{sources} source JPEGs (640x480), {boxes} boxes ({boxes / sources:.1f} per image), 5 JPEG q90 outputs "
        f"each with bench-standard.yaml, 2 processes; median of {reps} runs, tools alternating, whole processes.",
        "",
        "| tool | images/s | CPU ms per output |",
        "| --- | ---: | ---: |",
    ]
    for name in names:
        lines.append(f"| {name} | {statistics.median(n / s for s, _, n in results[name]):.1f} | "
                     f"{statistics.median(c / n * 1e3 for _, c, n in results[name]):.1f} |")
    lines += ["", "| measure | target | wall (per-run range) | CPU (per-run range) | met |",
              "| --- | --- | ---: | ---: | --- |"]
    for what, a, b, target, reads in TARGETS:
        w, c = wall(a) / wall(b), cpu_s(a) / cpu_s(b)
        if a == PEER:  # a speed-up: the peer's time over augcli's
            met = w >= target and c >= target
        else:  # a cost: augcli with labels over augcli without
            met = w <= target and c <= target
        lines.append(f"| {what} | {reads} | {w:.2f}x ({spread(a, b, 0)}) | {c:.2f}x ({spread(a, b, 1)}) | "
                     f"{'yes' if met else 'no'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--preset", choices=["small", "large"], default="small")
    args = parser.parse_args()
    compileall.compile_dir(Path(augcli.__file__).parent, quiet=1)  # as an installed copy runs (see run.py)
    lines = [f"# augcli annotated benchmark, {date.today().isoformat()}", "",
             f"Machine: {cpu()}. Versions: {versions()}.", ""] + report(args.reps, args.preset)
    lines += ["", f"Reproduce: `python benchmarks/annotated.py --reps {args.reps} --preset {args.preset}`."]
    text = "\n".join(lines) + "\n"
    print(text)
    target = HERE / "results" / f"{date.today().isoformat()}-annotated-{args.preset}.md"
    target.write_text(text)
    print(f"written to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
