"""Where one output's time goes: ``augcli expand -j 1`` on the benchmark data under
cProfile, the hot calls grouped into stages, in ms per output and share of the total.

    python benchmarks/where_time_goes.py [--recipe benchmarks/recipes/bench-standard.yaml]

Single process, so the numbers add up; -j 2 runs the same code in two workers.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from datetime import date
from pathlib import Path

import augcli
from make_dataset import build

HERE = Path(__file__).resolve().parent

RESAMPLE = "fused geometric resample (OpenCV warpAffine)"
OTHER_OPS = "other ops (colour LUTs, flips, ...)"
HASH = "sha256 of source and output, for the manifest"
# Non-overlapping stages of worker.process, by (module file, function name); their
# cumulative times add up to the worker's total, the rest is Python glue.
STAGES = [
    ("decode the source (once for all its copies)", "io.py", "decode"),
    ("draw the parameters (seeded generator, sampling)", "sampling.py", ("item_rng", "sample")),
    (RESAMPLE, "warp.py", "warp"),
    (OTHER_OPS, "apply.py", "apply"),
    ("encode JPEG", "io.py", "encode"),
    ("write: temp file + rename", "outdir.py", "write_atomic"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipe", type=Path, default=HERE / "recipes" / "bench-standard.yaml")
    args = parser.parse_args()
    src = build("small")
    print("profiling augcli expand -j 1 on", src, "...")
    with tempfile.TemporaryDirectory() as tmp:
        profiler = cProfile.Profile()
        profiler.enable()
        summary = augcli.expand(src, Path(tmp) / "out", args.recipe, jobs=1)
        profiler.disable()
    stats = pstats.Stats(profiler).stats

    def cumulative(file: str, names) -> float:
        names = (names,) if isinstance(names, str) else names
        return sum(v[3] for k, v in stats.items() if k[0].endswith(file) and k[2] in names)

    total = cumulative("worker.py", "process")
    outputs = summary.written
    measured = {stage: cumulative(file, names) for stage, file, names in STAGES}
    measured[OTHER_OPS] -= measured[RESAMPLE]  # apply() calls warp()
    # sha256 called by the worker itself (seeding hashes paths with it too, inside item_rng)
    measured[HASH] = sum(caller[3] for k, v in stats.items() if k[2] == "<built-in method _hashlib.openssl_sha256>"
                         for where, caller in v[4].items() if where[0].endswith("worker.py"))
    rows = list(measured.items())
    resample = sum(v[2] for k, v in stats.items() if k[2] in ("<warpAffine>", "<warpPerspective>", "<remap>"))
    rows.append(("everything else (records, paths, numpy glue)", total - sum(s for _, s in rows)))
    lines = [f"# Where the time goes, {date.today().isoformat()}: `{args.recipe.name}`, -j 1, {outputs} outputs",
             "", "| stage | ms per output | share |", "| --- | ---: | ---: |"]
    for stage, seconds in rows:
        lines.append(f"| {stage} | {seconds / outputs * 1e3:.2f} | {seconds / total:.0%} |")
    lines.append(f"| **total in the worker** | **{total / outputs * 1e3:.2f}** | 100% |")
    if resample:
        lines += ["", f"Of the resample, OpenCV's `warpAffine` / `warpPerspective` / `remap` (C, one thread) take "
                  f"{resample / outputs * 1e3:.2f} ms per output ({resample / total:.0%} of the total)."]
    lines += ["", "cProfile adds overhead to Python calls, not to the C calls that dominate. "
              "Reproduce: `python benchmarks/where_time_goes.py`."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = HERE / "results" / f"profile-{date.today().isoformat()}-{args.recipe.stem}.md"
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
