"""Recipes that run but seldom do what was meant: warnings said before any
work (``validate``, ``expand``, ``preview`` print them), never errors.

- Copies that repeat: a pipeline that draws nothing at random writes
  identical copies; one with few outcomes (two flips with ``p: 0.5`` have four,
  one of them the original again) repeats often, unless ``distinct: true``;
  with ``distinct: true`` a space smaller than ``copies`` is said up front.
- Mixed sizes: an op that sets the size (``random_resized_crop: {size: 224}``)
  without ``output.size`` leaves the originals (and copies where it did not
  fire) at their own sizes, next to the crops.
- Units: Keras' ``shear_range`` is in degrees; below 1 it is almost surely
  a fraction or radians meant as something larger.
"""
from __future__ import annotations

import math
from typing import Iterable, Iterator

from .ops import lookup
from .recipe import OneOf, OpStep, Recipe, Sequence, SomeOf, Step

LIKELY = 0.05  # expected repeats per source above which drawing independently is worth a warning


def warnings_for(recipe: Recipe) -> list[str]:
    """One line per surprise: ``file:line: path: what, and the fix``."""
    found = [*_repeats(recipe), *_mixed_sizes(recipe), *_keras_units(recipe)]
    lines = []
    for path, message in found:
        line = recipe.lines.get(path) or recipe.lines.get(path.split(".")[0])
        lines.append(f"{recipe.name}:{line}: {path}: {message}" if line else f"{recipe.name}: {path}: {message}")
    return lines


def _pipelines(recipe: Recipe) -> Iterator[tuple[str, tuple[Step, ...], int | None]]:
    """(path, steps, copies per source or None when balance decides) of each pipeline copies are drawn from."""
    if recipe.variants:
        return
    default = None if recipe.balance is not None else recipe.copies
    if recipe.pipeline:
        yield ("keras" if "keras" in recipe.lines and "pipeline" not in recipe.lines else "pipeline",
               recipe.pipeline, default)
    for label, rule in recipe.classes:
        if rule.pipeline is not None or rule.exclude:
            path = f"classes.{label}.pipeline" if rule.pipeline is not None else f"classes.{label}.exclude"
            yield path, recipe.outcome(label).steps, rule.copies if rule.copies is not None else default
        elif rule.copies is not None and rule.copies != default:
            yield f"classes.{label}.copies", recipe.outcome(label).steps, rule.copies


def _repeats(recipe: Recipe) -> Iterator[tuple[str, str]]:
    for path, steps, copies in _pipelines(recipe):
        if copies == 0 or not steps:
            continue
        n = outcomes(steps)
        shown = "its copies" if copies is None else f"its {copies} copies"
        if n == 1:
            if copies is None or copies > 1:
                yield path, (f"draws nothing at random (no ranges, and every p is 1, where albumentations and "
                             f"torchvision default to 0.5): {shown} of each image are identical; give ops a p "
                             "below 1 or a range, or ask for one copy")
            continue
        if math.isinf(n):
            continue
        others = n - 1  # outcomes besides "nothing fired", which is the original again
        if recipe.distinct:
            if copies is not None and copies > others:
                yield path, (f"distinct: true, but this pipeline can draw at most {int(others)} outputs that are "
                             f"not the original, fewer than copies {copies}: {copies - int(others)} copies of each "
                             "image will repeat one; lower copies, or add ops or ranges")
            continue
        drawn = (copies if copies is not None else 2) + (1 if recipe.include_originals else 0)
        if drawn * (drawn - 1) / (2 * n) > LIKELY:
            yield path, (f"can draw only {int(n)} different outputs (one of them: nothing fires, the original "
                         f"again), so {shown} of an image will often repeat each other or the original; add "
                         "distinct: true to the recipe to draw a repeat again")


def outcomes(steps: Iterable[Step]) -> float:
    """At most how many different drawings ``steps`` can give (``math.inf`` when a
    parameter is drawn from a continuous range or depends on the image), the
    drawing where nothing fires included."""
    total = 1.0
    for step in steps:
        total *= _outcomes(step)
    return total


def _outcomes(step: Step) -> float:
    if step.p == 0:
        return 1
    if isinstance(step, OpStep):
        spec = lookup(step.op)
        if spec.expand is not None or spec.resolve is not None:
            fired = math.inf  # a policy's choices, or values that depend on the image's size
        else:
            fired = math.prod(_values(spec.param(name), value) for name, value in step.params)
    elif isinstance(step, OneOf):
        fired = sum(_outcomes(s) for s in step.steps)
    elif isinstance(step, Sequence):
        fired = outcomes(step.steps)
    elif isinstance(step, SomeOf):  # each of its steps in or out: an upper bound
        fired = math.prod(1 + _outcomes(s) for s in step.steps)
    else:
        return math.inf
    return fired + (1 if step.p < 1 else 0)


def _values(param, value) -> float:
    kind = type(value).__name__
    if kind == "Fixed":
        return 1
    if kind == "Choice":
        return len(set(map(repr, value.values)))
    if kind == "Uniform":
        if value.lo == value.hi:
            return 1
        return value.hi - value.lo + 1 if param.type.integral else math.inf
    return math.inf


def _mixed_sizes(recipe: Recipe) -> Iterator[tuple[str, str]]:
    if recipe.output.size is not None or recipe.variants:
        return
    for path, steps, _ in _pipelines(recipe):
        for where, step, always in _ops(steps, path):
            spec = lookup(step.op)
            size = dict(step.params).get("size")
            if spec is None or spec.out_size is None or size is None or type(size).__name__ != "Fixed":
                continue
            w, h = (size.value, size.value) if isinstance(size.value, int) else size.value
            if w is None or h is None:
                continue
            who = "the originals" if recipe.include_originals else None
            if not always:
                who = f"{who} and the copies where it does not fire" if who else "the copies where it does not fire"
            if who:
                yield where, (f"{step.op} makes copies {w}x{h} while {who} keep their own sizes, so each class "
                              f"holds images of mixed sizes; for one size write output: {{size: [{w}, {h}], fit: "
                              "cover} (scaled and cut to the centre, nothing stretched)")
            return


def _ops(steps: tuple[Step, ...], path: str, always: bool = True) -> Iterator[tuple[str, OpStep, bool]]:
    """Every op step, with its path and whether it fires for every output."""
    for i, step in enumerate(steps):
        sure = always and step.p == 1
        if isinstance(step, OpStep):
            yield f"{path}[{i}].{step.op}", step, sure
        elif isinstance(step, Sequence):
            yield from _ops(step.steps, f"{path}[{i}]", sure)
        elif isinstance(step, (OneOf, SomeOf)):
            yield from _ops(step.steps, f"{path}[{i}]", False)


def _keras_units(recipe: Recipe) -> Iterator[tuple[str, str]]:
    for path, steps, _ in _pipelines(recipe):
        for where, step, _ in _ops(steps, path):
            if step.op != "keras":
                continue
            shear = dict(step.params).get("shear_range")
            value = getattr(shear, "value", None)
            if isinstance(value, (int, float)) and 0 < value < 1:
                where = "keras.shear_range" if path == "keras" else f"{where}.shear_range"
                yield where, (f"{value} is in degrees (Keras' unit), a shear of at most {value}°, which barely "
                              f"shows; if you meant {value} radians, that is {math.degrees(value):.1f}°: write "
                              f"shear_range: {math.degrees(value):.1f}")
        return
