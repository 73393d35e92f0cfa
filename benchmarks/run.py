"""End-to-end benchmark: augcli against the codec floor and its peers, in one run.

    python benchmarks/run.py [--preset small|large|grainy ...] [--reps 3] [--memory] [--scaling]

Every tool runs as a whole process (start-up included) on the same source
JPEGs, writing 5 JPEG outputs per source; tools alternate within each
repetition. Reported: median images/s written, the ratio to the codec floor
(decode once + encode 5x, same processes) and to augcli, and the peak RSS of
the whole process tree (parent + workers, sampled every 20 ms). albumentations
and Augmentor run only when installed (``pip install -e '.[bench]'``).
The Markdown table is printed and written to benchmarks/results/.
With --annotated, the rows of annotated.py too (YOLO and mask sets, issue 24).
"""
from __future__ import annotations

import argparse
import compileall
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import psutil

import augcli

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_dataset import build  # noqa: E402

PY = sys.executable
RECIPES = HERE / "recipes"
AUGCLI = [PY, "-m", "augcli"]


FLOOR = "codec floor (decode + encode only), 2 processes"
OURS = "augcli standard -j 2"
FLIPS = "augcli flips -j 2"
HEAVY = "augcli heavy -j 2"
ALBUMENTATIONS = "albumentations + joblib script, standard, 2 processes"
ALBUMENTATIONS_HEAVY = "albumentations + joblib script, heavy, 2 processes"


def tools(src: Path, with_dask: bool) -> dict[str, callable]:
    """name -> function(out) returning the command line."""
    standard, flips = str(RECIPES / "bench-standard.yaml"), str(RECIPES / "bench-flips.yaml")
    heavy = str(RECIPES / "bench-heavy.yaml")
    found = {
        FLOOR: lambda out: [PY, str(HERE / "peers" / "codec_floor.py"), str(src), str(out), "--jobs", "2"],
        OURS: lambda out: AUGCLI + ["expand", str(src), str(out), "-r", standard, "-j", "2", "-q"],
        "augcli standard -j 1": lambda out: AUGCLI + ["expand", str(src), str(out), "-r", standard, "-j", "1", "-q"],
        FLIPS: lambda out: AUGCLI + ["expand", str(src), str(out), "-r", flips, "-j", "2", "-q"],
        HEAVY: lambda out: AUGCLI + ["expand", str(src), str(out), "-r", heavy, "-j", "2", "-q"],
    }
    if with_dask and importlib.util.find_spec("distributed"):
        found["augcli standard, dask LocalCluster of 2"] = lambda out: AUGCLI + [
            "expand", str(src), str(out), "-r", standard, "-j", "2", "--backend", "dask", "-q"]
    if importlib.util.find_spec("albumentations"):
        script = str(HERE / "peers" / "albumentations_script.py")
        found[ALBUMENTATIONS] = lambda out: [PY, script, str(src), str(out), "--jobs", "2"]
        found[ALBUMENTATIONS_HEAVY] = lambda out: [PY, script, str(src), str(out), "--jobs", "2", "--recipe", "heavy"]
    if importlib.util.find_spec("Augmentor"):
        found["Augmentor (own thread pool, JPEG q75)"] = lambda out: [
            PY, str(HERE / "peers" / "augmentor_script.py"), str(src), str(out)]
    return found


def measure(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (bytes) of the whole
    process tree. Both CPU and RSS are sampled every 20 ms per process (workers
    may outlive their parent briefly, so the kernel's accounting of reaped
    children would miss them); CPU is each process's last sample, summed."""
    log = tempfile.TemporaryFile()  # a file, not a pipe: chatty tools (progress bars) never block on it
    started = time.perf_counter()
    proc = psutil.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    peak, cpu = 0, {}
    while proc.poll() is None:
        try:
            tree = [proc] + proc.children(recursive=True)
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            for p in tree:
                times = p.cpu_times()
                cpu[p.pid] = times.user + times.system
        except psutil.Error:
            pass
        time.sleep(0.02)
    seconds = time.perf_counter() - started
    log.seek(0)
    errors = log.read().decode(errors="replace")[-2000:]
    log.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {errors}")
    return seconds, sum(cpu.values()), peak


def count_outputs(out: Path) -> int:
    return sum(1 for p in out.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))


def startup(command: list[str], reps: int = 5) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def versions() -> str:
    names = ["augcli", "Pillow", "numpy", "joblib", "albumentations", "opencv-python-headless", "Augmentor", "dask"]
    found = []
    for name in names:
        try:
            from importlib.metadata import version

            found.append(f"{name} {version(name)}")
        except Exception:
            pass
    return ", ".join(found)


def cpu() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    return f"{os.cpu_count()} cores, {model}, {psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}"


def compare(preset: str, reps: int, with_dask: bool, scratch: Path) -> list[str]:
    """Every tool on one preset's sources, alternating, ``reps`` times: the table and the ratios."""
    src = build(preset)
    sources = sum(1 for _ in src.rglob("*.jpg"))
    size_kb = sum(p.stat().st_size for p in src.rglob("*.jpg")) / sources / 1024
    runs = tools(src, with_dask)
    results: dict[str, list[tuple[float, float, int, int]]] = {name: [] for name in runs}
    names = list(runs)
    for rep in range(reps):
        order = names[rep % len(names):] + names[: rep % len(names)]  # alternate who goes first
        for name in order:
            out = scratch / "out"
            shutil.rmtree(out, ignore_errors=True)
            seconds, cpu_s, peak = measure(runs[name](out))
            results[name].append((seconds, cpu_s, peak, count_outputs(out)))
            print(f"{preset} rep {rep + 1}: {name}: {seconds:.2f} s", file=sys.stderr)

    def rate(name: str) -> float:
        return statistics.median(n / s for s, _, _, n in results[name])

    def cpu_ms(name: str) -> float:
        """CPU milliseconds per output written, whole process tree."""
        return statistics.median(c / n * 1e3 for _, c, _, n in results[name])

    floor, ours = rate(FLOOR), rate(OURS)
    lines = [
        f"## Preset {preset}",
        "",
        f"{sources} source JPEGs (640x480, q90, {size_kb:.0f} KB each on average), 5 JPEG q90 outputs each; "
        f"median of {reps} runs, whole processes; tools alternate within each run. CPU is user + system seconds "
        f"of the whole process tree.",
        "",
        "| tool | images/s | vs codec floor | vs augcli standard -j 2 | CPU ms per output | peak RSS, process tree |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        peak = max(p for _, _, p, _ in results[name]) / 2**20
        lines.append(f"| {name} | {rate(name):.0f} | {rate(name) / floor:.2f} | {rate(name) / ours:.2f} | "
                     f"{cpu_ms(name):.1f} | {peak:.0f} MiB |")
    lines += ["", "Ratios from this run (> 1: augcli is faster; CPU ratios are the steadier ones on a shared machine):", ""]
    for ours_name, peer in ((OURS, ALBUMENTATIONS), (HEAVY, ALBUMENTATIONS_HEAVY)):
        if peer in results:
            lines.append(f"- {ours_name} vs {peer}: wall {rate(ours_name) / rate(peer):.2f}x, "
                         f"CPU {cpu_ms(peer) / cpu_ms(ours_name):.2f}x")
    lines += [f"- {OURS} vs codec floor: {ours / floor:.2f}; {FLIPS} vs codec floor: {rate(FLIPS) / floor:.2f}",
              f"- scaling on these {sources} sources: -j 2 / -j 1 = {ours / rate('augcli standard -j 1'):.2f}x", ""]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=["small", "large", "grainy"], action="append",
                        help="dataset(s) to compare the tools on (repeat for several; default small)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--memory", action="store_true", help="also compare peak RSS on 200 vs 2000 sources")
    parser.add_argument("--scaling", action="store_true", help="also time -j 1 against -j 2 on 2000 sources")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--annotated", action="store_true",
                        help="also time YOLO and mask sets against the same images without labels and albumentations")
    args = parser.parse_args()
    presets = args.preset or ["small"]
    # run augcli as an installed copy runs: from compiled bytecode (an editable install
    # under PYTHONDONTWRITEBYTECODE would recompile it in every process, workers included)
    compileall.compile_dir(Path(augcli.__file__).parent, quiet=1)
    scratch = Path(tempfile.mkdtemp(prefix="augcli-bench-"))
    lines = [f"# augcli benchmark, {date.today().isoformat()}, presets {', '.join(presets)}", "",
             f"Machine: {cpu()}. Versions: {versions()}.", ""]
    try:
        for preset in presets:
            lines += compare(preset, args.reps, not args.no_dask, scratch)
        memory_rows = []
        if args.memory:
            for preset in ("small", "large"):
                data = build(preset)
                out = scratch / "out"
                shutil.rmtree(out, ignore_errors=True)
                seconds, _, peak = measure(AUGCLI + ["expand", str(data), str(out), "-r",
                                                     str(RECIPES / "bench-flips.yaml"), "-j", "2", "-q"])
                memory_rows.append((preset, sum(1 for _ in data.rglob("*.jpg")), peak, seconds))
        scaling = {}
        if args.scaling:
            data = build("large")
            for jobs in ("1", "2"):
                out = scratch / "out"
                shutil.rmtree(out, ignore_errors=True)
                seconds, cpu_s, _ = measure(AUGCLI + ["expand", str(data), str(out), "-r",
                                                      str(RECIPES / "bench-standard.yaml"), "-j", jobs, "-q"])
                scaling[jobs] = (count_outputs(out) / seconds, cpu_s)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    if scaling:
        (one, cpu_one), (two, cpu_two) = scaling["1"], scaling["2"]
        lines += [f"Scaling on 2000 sources (standard recipe): -j 1 {one:.0f} images/s, -j 2 {two:.0f} images/s: "
                  f"{two / one:.2f}x (CPU {cpu_one:.1f} s vs {cpu_two:.1f} s).", ""]
    if memory_rows:
        lines += ["| sources (flips, -j 2) | peak RSS | seconds |", "| ---: | ---: | ---: |"]
        lines += [f"| {n} | {p / 2**20:.0f} MiB | {s:.1f} |" for _, n, p, s in memory_rows]
        small, large = memory_rows[0][2], memory_rows[1][2]
        lines += ["", f"Peak RSS with {memory_rows[1][1]} sources is {large / small:.2f}x that with "
                      f"{memory_rows[0][1]}.", ""]
    # in memory (issue 17): Augmenter vs albumentations' Compose on decoded arrays, one process
    import in_memory

    lines += in_memory.report(reps=max(args.reps, 5)) + [""]
    if args.annotated:  # issue 24: boxes and masks on top of the pixels (annotated.py, its own alternating runs)
        import annotated

        lines += annotated.report(reps=args.reps) + [""]
    help_s = startup(AUGCLI[:1] + ["-m", "augcli", "--help"])
    validate_s = startup(AUGCLI + ["validate", str(HERE.parent / "recipes" / "flips.yaml")])
    preset_args = "".join(f" --preset {p}" for p in presets)
    lines += [f"Start-up (median of 5): `augcli --help` {help_s:.2f} s, `augcli validate` {validate_s:.2f} s.", "",
              f"Reproduce: `make bench` (or `python benchmarks/run.py{preset_args} --reps {args.reps}"
              f"{' --memory' if args.memory else ''}{' --scaling' if args.scaling else ''}`)."]
    report = "\n".join(lines) + "\n"
    print(report)
    target = HERE / "results" / f"{date.today().isoformat()}-{'-'.join(presets)}.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(report)
    print(f"written to {target}", file=sys.stderr)


if __name__ == "__main__":
    main()
