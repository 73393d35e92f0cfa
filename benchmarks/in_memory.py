"""In-memory benchmark: augcli's Augmenter against albumentations' Compose on the
same decoded arrays, in one process, as a training loop would call them.

    python benchmarks/in_memory.py [--reps 5] [--images 40]

Both get the same 640x480 RGB uint8 arrays (decoded once from the benchmark's
small preset) and the standard recipe: augcli the pipeline of
``recipes/bench-standard.yaml`` (its file-only settings, output format and
include_originals, dropped: nothing is encoded in memory), albumentations
``PIPELINES["standard"]`` of ``peers/albumentations_script.py``. OpenCV runs on
one thread for both. Rounds alternate between the two; reported are the median
images/s and CPU ms per image (this process's CPU time, steadier than wall time
on a shared machine) and their ratios. Prints Markdown.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from make_dataset import build  # noqa: E402

from augcli import Augmenter  # noqa: E402
from augcli.lazy import opencv  # noqa: E402
from augcli.recipe import Output, Recipe  # noqa: E402

AUGCLI = "augcli Augmenter, standard recipe"
ALBUMENTATIONS = "albumentations Compose, standard recipe"


def arrays(count: int) -> list[tuple[str, np.ndarray]]:
    """(relpath, decoded RGB array) of the first ``count`` sources of the small preset."""
    src = build("small")
    paths = sorted(src.rglob("*.jpg"))[:count]
    decoded = []
    for path in paths:
        with Image.open(path) as img:
            decoded.append((path.relative_to(src).as_posix(), np.asarray(img.convert("RGB"))))
    return decoded


def augcli_call() -> callable:
    recipe = Recipe.load(HERE / "recipes" / "bench-standard.yaml")
    aug = Augmenter(replace(recipe, output=Output(), include_originals=True))
    return lambda key, image, epoch: aug(image, key=key, epoch=epoch)[0]


def albumentations_call() -> callable | None:
    if importlib.util.find_spec("albumentations") is None:
        return None
    from peers.albumentations_script import PIPELINES

    pipeline = PIPELINES["standard"]()
    return lambda key, image, epoch: pipeline(image=image)["image"]


def one_round(call: callable, images: list[tuple[str, np.ndarray]], epoch: int) -> tuple[float, float]:
    """Wall and CPU seconds to augment every image once."""
    wall, cpu = time.perf_counter(), time.process_time()
    for key, image in images:
        call(key, image, epoch)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(reps: int, count: int) -> dict[str, list[tuple[float, float]]]:
    """tool -> [(wall, cpu) seconds per round]; one warm-up round each, then alternating rounds."""
    opencv().setNumThreads(1)  # as augcli sets it, and as the albumentations peer does
    images = arrays(count)
    calls = {AUGCLI: augcli_call()}
    if (peer := albumentations_call()) is not None:
        calls[ALBUMENTATIONS] = peer
    for call in calls.values():
        one_round(call, images[:4], epoch=0)
    rounds: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    names = list(calls)
    for rep in range(reps):
        for name in names[rep % len(names):] + names[:rep % len(names)]:  # alternate who goes first
            rounds[name].append(one_round(calls[name], images, epoch=rep + 1))
    return {name: [(wall / count, cpu / count) for wall, cpu in times] for name, times in rounds.items()}


def report(reps: int = 5, count: int = 40) -> list[str]:
    """Markdown lines: one row per tool and the ratio (> 1: augcli is faster)."""
    per_image = measure(reps, count)
    rate = {name: statistics.median(1 / wall for wall, _ in times) for name, times in per_image.items()}
    cpu_ms = {name: statistics.median(cpu for _, cpu in times) * 1e3 for name, times in per_image.items()}
    lines = [f"In memory, one process: {count} decoded 640x480 RGB arrays, median of {reps} alternating rounds "
             f"(`benchmarks/in_memory.py`).", "",
             "| in memory | images/s | CPU ms per image |", "| --- | ---: | ---: |"]
    lines += [f"| {name} | {rate[name]:.0f} | {cpu_ms[name]:.2f} |" for name in per_image]
    if ALBUMENTATIONS in per_image:
        lines += ["", f"augcli Augmenter vs albumentations Compose: wall {rate[AUGCLI] / rate[ALBUMENTATIONS]:.2f}x, "
                      f"CPU {cpu_ms[ALBUMENTATIONS] / cpu_ms[AUGCLI]:.2f}x (> 1: augcli is faster)"]
    else:
        lines += ["", "albumentations is not installed (pip install -e '.[bench]'): no ratio."]
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--images", type=int, default=40)
    args = parser.parse_args()
    print("\n".join(report(args.reps, args.images)))
