"""What the recipe's composition grammar promises when parameters are drawn:
p is exact at its ends, one_of picks each of its steps, some_of applies its
picks in recipe order, and an output's draws are keyed by (source, copy) so
nothing else in the run can change them."""
from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np

import augcli
from augcli.recipe import Recipe
from augcli.sampling import item_rng, sample, stable_hash

from .conftest import make_image


class ExtremeDraws:
    """A numpy generator whose ``random()`` always returns ``value`` (0.0, the
    lowest value it can return, or the highest below 1); every other draw is real."""

    def __init__(self, value: float):
        self.value = value
        self.rng = np.random.default_rng(0)

    def random(self, *args, **kwargs):
        return self.value

    def __getattr__(self, name):
        return getattr(self.rng, name)


def fired(text: str, rng) -> list[str]:
    return [op.op for op in sample(Recipe.from_yaml(text).pipeline, rng, (40, 30))]


PIPELINE = """\
pipeline:
  - hflip: {p: 0}
  - one_of: {of: [invert], p: 0}
  - sequence: {of: [equalize], p: 0}
  - some_of: {n: 1, of: [autocontrast: {}], p: 0}
  - vflip: {p: 1}
  - one_of: {of: [grayscale], p: 1}
"""


def test_p_0_never_fires_and_p_1_always_does_whatever_the_draw():
    assert fired(PIPELINE, ExtremeDraws(0.0)) == ["vflip", "grayscale"]
    assert fired(PIPELINE, ExtremeDraws(float(np.nextafter(1.0, 0.0)))) == ["vflip", "grayscale"]


def test_one_of_picks_each_step_equally_often():
    text = "pipeline:\n  - one_of: [hflip, vflip, invert]\n"
    n = 900
    counts = Counter(name for copy in range(n) for name in fired(text, item_rng(1, "a.png", copy)[0]))
    assert set(counts) == {"hflip", "vflip", "invert"}
    for name, count in counts.items():
        assert abs(count - n / 3) < 4 * math.sqrt(n * (1 / 3) * (2 / 3)), (name, count)


def test_some_of_applies_its_picks_in_recipe_order():
    order = ["hflip", "vflip", "invert", "equalize", "autocontrast"]
    text = f"pipeline:\n  - some_of: {{n: 3, of: [{', '.join(order)}]}}\n"
    picks = set()
    for copy in range(200):
        names = fired(text, item_rng(2, "a.png", copy)[0])
        assert len(names) == 3 and names == sorted(names, key=order.index), names
        picks.add(tuple(names))
    assert len(picks) == math.comb(5, 3)  # every combination shows up


def run_records(src: Path, out: Path, recipe: str) -> dict[str, dict]:
    augcli.expand(src, out, recipe=Recipe.from_yaml(recipe), jobs=1)
    lines = (out / "manifest.jsonl").read_text().splitlines()
    return {r["path"]: r for r in map(json.loads, lines) if r["kind"] == "augmented"}


def test_an_outputs_draws_depend_only_on_its_source_and_copy(tmp_path):
    """Keyed seeds: leaving the originals out, or other sources, changes no
    augmented output's seed, ops or bytes."""
    for name, seed in (("a.png", 1), ("b.png", 2), ("c.png", 3)):
        make_image(tmp_path / "all" / "cat" / name, seed=seed)
    make_image(tmp_path / "one" / "cat" / "b.png", seed=2)
    recipe = "seed: 3\ncopies: 2\npipeline:\n  - rotate: {angle: [-30, 30]}\n  - gaussian_noise: {sigma: [1, 9]}\n"
    reference = run_records(tmp_path / "all", tmp_path / "out1", recipe)
    without_originals = run_records(tmp_path / "all", tmp_path / "out2", recipe + "include_originals: false\n")
    alone = run_records(tmp_path / "one", tmp_path / "out3", recipe + "include_originals: false\n")
    assert without_originals == reference
    assert alone == {path: r for path, r in reference.items() if r["source"] == "cat/b.png"}
    assert len({r["seed"] for r in reference.values()}) == 6


def test_drawn_values_stay_in_range_and_p_is_exact():
    recipe = Recipe.from_yaml(
        "pipeline:\n"
        "  - rotate: {angle: [-20, 20], fill: {choice: [reflect, wrap]}, p: 0.5}\n"
        "  - rot90: {k: [1, 3]}\n"
        "  - hflip: {p: 0}\n"
        "  - vflip: {p: 1}\n"
    )
    angles, ks, fills, fired = [], set(), set(), 0
    n = 2000
    for copy in range(n):
        ops = {op.op: op.kwargs() for op in sample(recipe.pipeline, item_rng(1, "a.jpg", copy)[0], (40, 30))}
        assert "hflip" not in ops and "vflip" in ops
        if "rotate" in ops:
            fired += 1
            angles.append(ops["rotate"]["angle"])
            fills.add(ops["rotate"]["fill"])
        ks.add(ops["rot90"]["k"])
    assert -20 <= min(angles) and max(angles) <= 20 and max(angles) - min(angles) > 39
    assert ks == {1, 2, 3} and fills == {"reflect", "wrap"}
    assert abs(fired - n / 2) < 4 * math.sqrt(n / 4)  # four standard deviations


def test_seeds_are_keys_not_stream_positions():
    a = item_rng(7, "cat/1.jpg", 3)[0].random(4)
    assert np.array_equal(a, item_rng(7, "cat/1.jpg", 3)[0].random(4))
    assert not np.array_equal(a, item_rng(7, "cat/1.jpg", 4)[0].random(4))
    assert not np.array_equal(a, item_rng(7, "cat/2.jpg", 3)[0].random(4))
    import hashlib

    assert stable_hash("cat/1.jpg") == int.from_bytes(hashlib.sha256(b"cat/1.jpg").digest()[:8], "little")
