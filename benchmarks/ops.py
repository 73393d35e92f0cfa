"""Per-op micro-benchmark: images/s of every registered op on a pre-decoded
640x480 RGB image (no codec), with the parameters its documented example
draws, and the naive numpy/scikit-image route for a few ops, so a kernel
regression shows up as a number.

    python benchmarks/ops.py [--seconds 0.3]
"""
from __future__ import annotations

import argparse
import re
import time
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data

from augcli.apply import apply
from augcli.ops import REGISTRY
from augcli.recipe import Recipe
from augcli.sampling import item_rng, sample

HERE = Path(__file__).resolve().parent


def rate(fn, seconds: float) -> float:
    fn()  # warm up
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        count += 1
    return count / (time.perf_counter() - started)


def example_ops(name: str, size) -> list:
    recipe = Recipe.from_yaml("pipeline:\n  " + re.sub(r"p: 0\.\d+", "p: 1", REGISTRY[name].example))
    for copy in range(100):
        ops = sample(recipe.pipeline, item_rng(0, name, copy)[0], size)
        if ops:
            return list(ops)
    return []


def naive_routes(arr: np.ndarray) -> dict[str, callable]:
    from skimage.filters import gaussian
    from skimage.transform import rotate

    return {
        "hflip": lambda: Image.fromarray(np.ascontiguousarray(arr[:, ::-1])),
        "rotate": lambda: Image.fromarray((rotate(arr, 12.5, mode="reflect", order=1) * 255).astype(np.uint8)),
        "brightness": lambda: Image.fromarray(np.clip(arr.astype(np.float64) * 1.1, 0, 255).astype(np.uint8)),
        "contrast": lambda: Image.fromarray(np.clip((arr - arr.mean((0, 1))) * 1.2 + arr.mean((0, 1)), 0,
                                                    255).astype(np.uint8)),
        "blur": lambda: Image.fromarray((gaussian(arr, sigma=1.0, channel_axis=-1) * 255).astype(np.uint8)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=0.3, help="time per op")
    args = parser.parse_args()
    img = Image.fromarray(data.astronaut()).resize((640, 480))
    arr = np.asarray(img)
    naive = naive_routes(arr)
    lines = [f"# augcli per-op throughput, {date.today().isoformat()}", "",
             "640x480 RGB, pre-decoded; parameters drawn from each op's documented example.", "",
             "| op | augcli images/s | naive route images/s | naive route |", "| --- | ---: | ---: | --- |"]
    for name, spec in REGISTRY.items():
        ops = example_ops(name, img.size)
        if not ops:
            continue
        ours = rate(lambda: apply(img, ops), args.seconds)
        other = f"{rate(naive[name], args.seconds):.0f}" if name in naive else ""
        how = {"hflip": "numpy slice", "rotate": "skimage.transform.rotate", "brightness": "numpy float",
               "contrast": "numpy float", "blur": "skimage.filters.gaussian"}.get(name, "")
        lines.append(f"| `{name}` | {ours:.0f} | {other} | {how} |")
    lines += ["", "Reproduce: `make bench-ops`."]
    report = "\n".join(lines) + "\n"
    print(report)
    target = HERE / "results" / f"ops-{date.today().isoformat()}.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text(report)


if __name__ == "__main__":
    main()
