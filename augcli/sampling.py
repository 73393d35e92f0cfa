"""Per-output randomness: keyed seeds, and drawing a pipeline's parameters.

Seeds are keys, not stream positions: each output's generator comes from
``SeedSequence(seed, spawn_key=(stable_hash(relpath), copy))``, so its bytes
cannot depend on ``--jobs``, the backend or the order of work. ``sample``
returns exactly the values it drew as plain JSON values; these are the
manifest's ``ops`` and ``apply`` replays them.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

from .ops import lookup
from .recipe import OneOf, OpStep, RandomOrder, Sequence, SomeOf, Step

Size = tuple[int, int]


def stable_hash(text: str) -> int:
    """A 64-bit hash that is the same in every process (``hash()`` is salted)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def item_seed(seed: int, relpath: str, copy: int, *, epoch: int | None = None) -> np.random.SeedSequence:
    """The seed of one output, keyed by the run seed, the source's relative path
    (POSIX form) and the copy index. ``epoch`` (``Augmenter``'s fresh draws per
    training epoch) is a third key: a longer spawn key, so no epoch's draws
    coincide with any copy that ``expand`` writes."""
    epochs = () if epoch is None else (epoch,)
    return np.random.SeedSequence(seed, spawn_key=(stable_hash(relpath), copy, *epochs))


def item_rng(seed: int, relpath: str, copy: int, *, epoch: int | None = None) -> tuple[np.random.Generator, int]:
    """The generator for one output and a 32-bit number that names its seed."""
    seq = item_seed(seed, relpath, copy, epoch=epoch)
    return np.random.default_rng(seq), int(seq.generate_state(1)[0])


@dataclass(frozen=True)
class AppliedOp:
    """One op that fired, with the exact parameters it is applied with."""

    op: str
    params: tuple[tuple[str, Any], ...]

    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, **{k: list(v) if isinstance(v, tuple) else v for k, v in self.params}}

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> "AppliedOp":
        params = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in record.items() if k != "op")
        return cls(record["op"], params)


def sample(steps: Iterable[Step], rng: np.random.Generator, size: Size) -> tuple[AppliedOp, ...]:
    """Draw the ops that fire for one output of an image of ``size`` (w, h).

    Image sizes are tracked through the pipeline without touching pixels, so
    ops whose draws depend on the size (crop positions) see the right one.
    """
    fired: list[AppliedOp] = []
    _sample_steps(tuple(steps), rng, size, fired)
    return tuple(fired)


def _sample_steps(steps: tuple[Step, ...], rng: np.random.Generator, size: Size, fired: list) -> Size:
    for step in steps:
        size = _sample_step(step, rng, size, fired)
    return size


def _sample_step(step: Step, rng: np.random.Generator, size: Size, fired: list) -> Size:
    # Every step draws its firing number, so p is exact: p=0 never, p=1 always.
    if not rng.random() < step.p:
        return size
    if isinstance(step, OpStep):
        spec = lookup(step.op)
        params = {name: value.draw(spec.param(name), rng) for name, value in step.params}
        if spec.expand is not None:  # a policy: record and apply the plain ops it chose
            for name, drawn in _expand(spec, params, rng, size, step.exclude):
                chosen = lookup(name).complete(drawn)
                fired.append(AppliedOp(name, tuple(chosen.items())))
                size = lookup(name).size_after(chosen, size)
            return size
        if spec.resolve is not None:
            params = spec.resolve(params, rng, size)
        for part in step.exclude & spec.parts.keys():
            params.update(spec.parts[part])
        fired.append(AppliedOp(step.op, tuple(params.items())))
        return spec.size_after(params, size)
    if isinstance(step, OneOf):
        chosen = step.steps[int(rng.integers(len(step.steps)))]
        return _sample_step(chosen, rng, size, fired)
    if isinstance(step, SomeOf):
        from .ops.spec import Param

        n = step.n.draw(Param("n", "int"), rng)
        picked = sorted(rng.choice(len(step.steps), size=n, replace=False).tolist()) if n else []
        return _sample_steps(tuple(step.steps[i] for i in picked), rng, size, fired)
    if isinstance(step, Sequence):
        return _sample_steps(step.steps, rng, size, fired)
    if isinstance(step, RandomOrder):
        return _sample_steps(tuple(step.steps[i] for i in rng.permutation(len(step.steps))), rng, size, fired)
    raise TypeError(f"not a step: {step!r}")


def _expand(spec, params: dict, rng: np.random.Generator, size: Size, exclude: frozenset) -> list[tuple[str, dict]]:
    """The plain ops an expanding op chose, none of them excluded by a class rule:
    a policy that knows its op list draws among the ops left, and whatever any
    expansion returns is filtered, so no expanding op can slip one through."""
    if spec.expand_excluding:
        chosen = spec.expand(params, rng, size, exclude=exclude)
    else:
        chosen = spec.expand(params, rng, size)
    return [(name, values) for name, values in chosen if name not in exclude]
