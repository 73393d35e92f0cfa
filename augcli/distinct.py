"""``distinct: true`` drawing, which never repeats an output of the same source
(``surprises.outcomes`` counts how many a pipeline can draw).

A pipeline of discrete choices has few outcomes: ``hflip: {p: 0.5}`` and
``vflip: {p: 0.5}`` can draw four, one of them "nothing fired", which is the
original again. Drawn independently, copies of one source then repeat each
other or the original. With ``distinct: true`` copy k is drawn from its keyed
generator as usual, and if its ops equal those of "nothing fired" or of an
earlier copy of the same source it is drawn again with the next attempt
index (``sampling.item_seed``'s ``attempt`` key), at most ``MAX_ATTEMPTS``
times. Copy k depends only on copies 1..k-1, so raising ``copies`` still
keeps the first ones, and every worker, preview and the ``Augmenter`` draw
the same. The manifest records ``attempt`` when it is not 0.
"""
from __future__ import annotations

import json
from typing import Iterable

from .recipe import Step
from .sampling import AppliedOp, item_rng, sample

MAX_ATTEMPTS = 32  # draws per copy before a repeat is accepted (and counted as one in the run summary)
Drawn = tuple[tuple[AppliedOp, ...], int, int]  # ops, the number naming its seed, attempt


def draws(seed: int, relpath: str, copies: Iterable[int], steps: tuple[Step, ...], size) -> dict[int, Drawn]:
    """The ops of each of ``copies`` of one source under ``distinct: true``."""
    wanted = set(copies)
    taken = {key_of(())}  # "nothing fired" is the original
    drawn: dict[int, Drawn] = {}
    for copy in range(1, max(wanted, default=0) + 1):
        for attempt in range(MAX_ATTEMPTS):
            rng, named = item_rng(seed, relpath, copy, attempt=attempt)
            ops = sample(steps, rng, size)
            if key_of(ops) not in taken:
                break
        taken.add(key_of(ops))
        if copy in wanted:
            drawn[copy] = (ops, named, attempt)
    return drawn


def key_of(ops: Iterable[AppliedOp | dict]) -> str:
    """Drawn ops as comparable text (recorded dicts and AppliedOps alike)."""
    return json.dumps([op if isinstance(op, dict) else op.to_json() for op in ops], sort_keys=True)
