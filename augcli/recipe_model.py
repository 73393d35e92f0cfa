"""The frozen recipe's parts: steps (an op with its parameters, and the
compositions), output settings, class rules, balance and the training-time
Keras arguments, and what a class's exclude does to a list of steps. Plain
values, validated before they are built (``recipe_parser``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Union

from . import envelope
from .ops import lookup
from .ops.spec import Choice, Fixed, Uniform, Value, show

@dataclass(frozen=True)
class OpStep:
    op: str
    params: tuple[tuple[str, Value], ...]
    p: float = 1.0
    # ops a class rule forbids, carried by a step that chooses other ops (a policy)
    # or does their work (keras, affine); not part of the recipe's text
    exclude: frozenset[str] = frozenset()

    def to_plain(self) -> dict:
        return {self.op: {**{k: v.to_plain() for k, v in self.params}, "p": self.p}}


@dataclass(frozen=True)
class OneOf:
    """Exactly one of ``steps``, picked uniformly."""

    steps: tuple["Step", ...]
    p: float = 1.0

    def to_plain(self) -> dict:
        return {"one_of": {"of": [s.to_plain() for s in self.steps], "p": self.p}}


@dataclass(frozen=True)
class SomeOf:
    """``n`` distinct steps of ``steps`` (drawn per output), applied in recipe order."""

    n: Value
    steps: tuple["Step", ...]
    p: float = 1.0

    def to_plain(self) -> dict:
        return {"some_of": {"n": self.n.to_plain(), "of": [s.to_plain() for s in self.steps], "p": self.p}}


@dataclass(frozen=True)
class Sequence:
    """All of ``steps`` in order, as one unit (useful inside one_of)."""

    steps: tuple["Step", ...]
    p: float = 1.0

    def to_plain(self) -> dict:
        return {"sequence": {"of": [s.to_plain() for s in self.steps], "p": self.p}}


@dataclass(frozen=True)
class RandomOrder:
    """All of ``steps``, in an order drawn per output (torchvision's RandomOrder)."""

    steps: tuple["Step", ...]
    p: float = 1.0

    def to_plain(self) -> dict:
        return {"random_order": {"of": [s.to_plain() for s in self.steps], "p": self.p}}


Step = Union[OpStep, OneOf, SomeOf, Sequence, RandomOrder]
COMPOSITIONS = tuple(envelope.COMPOSITIONS)
# name -> (keys, what it does, an example step), for ``augcli transforms``
COMPOSITION_DOCS = {
    "one_of": ("of, p", "Apply exactly one of its steps, picked uniformly (that step's own p still applies).",
               "- one_of: [{brightness: {factor: [0.8, 1.2]}}, {contrast: {factor: [0.8, 1.2]}}]"),
    "some_of": ("n, of, p", "Apply n distinct steps of its list (n may be a range [lo, hi], drawn per output), in "
                            "recipe order.",
                "- some_of: {n: [1, 2], of: [{blur: {radius: [0.5, 1.5]}}, {gaussian_noise: {sigma: [2, 8]}}]}"),
    "sequence": ("of, p", "Apply all of its steps in order as one unit: one p for several ops, or one choice "
                          "inside one_of.",
                 "- sequence: {of: [{rot90: {k: 2}}, {brightness: {factor: 0.9}}], p: 0.5}"),
    "random_order": ("of, p", "Apply all of its steps, in an order drawn per output (torchvision's RandomOrder).",
                     "- random_order: [{brightness: {factor: [0.8, 1.2]}}, {contrast: {factor: [0.8, 1.2]}}]"),
}
_OUT = {param.name: param.default for param in envelope.OUTPUT}


@dataclass(frozen=True)
class Output:
    """How every written image is finished: resized to ``size`` last (``fit``:
    stretch, cover = fill and cut the centre, contain = letterbox on
    ``background``), then encoded as ``format``. ``background`` (a grey level,
    0..255) also shows through transparent pixels in formats without alpha."""

    format: str = _OUT["format"]
    quality: int = _OUT["quality"]
    size: tuple[int | None, int | None] | None = _OUT["size"]
    fit: str = _OUT["fit"]
    background: float = _OUT["background"]

    def to_plain(self) -> dict:
        return {"format": self.format, "quality": self.quality, "size": list(self.size) if self.size else None,
                "fit": self.fit, "background": self.background}


@dataclass(frozen=True)
class ClassRule:
    """Per-class overrides: ops to leave out, its own copies or its own pipeline."""

    exclude: tuple[str, ...] = ()
    copies: int | None = None
    pipeline: tuple[Step, ...] | None = None

    def to_plain(self) -> dict:
        plain: dict[str, Any] = {}
        if self.exclude:
            plain["exclude"] = list(self.exclude)
        if self.copies is not None:
            plain["copies"] = self.copies
        if self.pipeline is not None:
            plain["pipeline"] = [s.to_plain() for s in self.pipeline]
        return plain


@dataclass(frozen=True)
class Balance:
    """Top classes up to a count of images: the largest class's ("max"), a
    number, or a number per class (a class it does not name gets no new images)."""

    target: str | int | tuple[tuple[str, int], ...]

    def to_plain(self) -> dict:
        target = dict(self.target) if isinstance(self.target, tuple) else self.target
        return {"target": target}


@dataclass(frozen=True)
class TrainingTimeArgument:
    """A Keras argument that acts on the model's input, not on image files
    (``rescale: 1./255``): accepted in a ``keras`` block so a pasted notebook
    block runs, never applied, noticed once per run and listed in augcli.json."""

    path: str  # where in the recipe, e.g. "keras.rescale"
    value: Any  # as written
    why: str
    line: int | None = None

    def notice(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        return (f"{where}: {self.path}: {show(self.value)} is not applied: {self.why}, so it belongs in your "
                "training code (expand lists it in augcli.json)")


def without_ops(steps: tuple[Step, ...], excluded: set[str]) -> tuple[Step, ...]:
    """``steps`` with every op named in ``excluded`` removed (compositions left
    empty are dropped; some_of's n is capped by what remains). Steps that choose
    other ops or do their work keep the excluded names, so sampling never lets
    one of them fire either."""
    if not excluded:
        return steps
    kept: list[Step] = []
    for step in steps:
        if isinstance(step, OpStep):
            if step.op not in excluded:
                kept.append(_forbidding(step, excluded))
            continue
        inner = without_ops(step.steps, excluded)
        if not inner:
            continue
        if isinstance(step, SomeOf):
            n = step.n
            if isinstance(n, Fixed):
                n = Fixed(min(n.value, len(inner)))
            elif isinstance(n, Uniform):
                n = Uniform(min(n.lo, len(inner)), min(n.hi, len(inner)))
            elif isinstance(n, Choice):
                n = Choice(tuple(min(v, len(inner)) for v in n.values))
            kept.append(SomeOf(n, inner, step.p))
        else:
            kept.append(replace(step, steps=inner))
    return tuple(kept)


def _forbidding(step: OpStep, excluded: set[str]) -> OpStep:
    spec = lookup(step.op)
    if spec.expand is None and not spec.parts:
        return step
    return replace(step, exclude=step.exclude | frozenset(excluded))


def op_names(steps: tuple[Step, ...]) -> set[str]:
    """Every op named in ``steps``, inside compositions too."""
    return {name for step in steps
            for name in ((step.op,) if isinstance(step, OpStep) else op_names(step.steps))}




Steps = tuple[Step, ...]


@dataclass(frozen=True)
class ClassOutcome:
    """What one class gets, decided in one place (``class_outcome``): how many
    augmented copies of each source (a class rule's copies, else balance, else
    the recipe's copies), and the steps and variants its outputs are drawn
    from, its rule's exclude applied."""

    copies: int | None  # None: balancing decides, towards ``target``
    target: str | int | None  # "max" or a count, when balancing decides
    steps: Steps
    variants: tuple[tuple[int, str, Steps], ...]  # (position in the recipe, 1-based; name; steps)


def class_outcome(label: str, rule: ClassRule | None, copies: int, balance: Balance | None, pipeline: Steps,
                  variants: tuple[tuple[str, Steps], ...]) -> ClassOutcome:
    """Class rule > balance > copies, and the steps and variants a class keeps:
    those using an op its rule excludes are left out (variants) or lose it (steps)."""
    target = None
    if rule is not None and rule.copies is not None:
        count = rule.copies
    elif balance is None:
        count = copies
    elif isinstance(balance.target, tuple):  # a class a per-class target does not name gets no new images
        target = dict(balance.target).get(label)
        count = 0 if target is None else None
    else:
        count, target = None, balance.target
    excluded = set(rule.exclude) if rule is not None else set()
    steps = rule.pipeline if rule is not None and rule.pipeline is not None else pipeline
    kept = tuple((index, name, without_ops(its, excluded)) for index, (name, its) in enumerate(variants, start=1)
                 if not op_names(its) & excluded)
    return ClassOutcome(count, target, without_ops(steps, excluded), kept)
