"""The recipe's value grammar and the parameter schema every op declares.

A parameter value in a recipe is one of:

* a fixed value: ``angle: 15``
* a range drawn uniformly: ``angle: [-20, 20]`` (integers when the parameter is integral)
* a choice: ``fill: {choice: [reflect, wrap]}``

``Param.parse`` turns raw YAML into one of ``Fixed``, ``Uniform`` or ``Choice``
(or reports what is wrong); ``draw`` turns that into the plain value an op is
applied with and the manifest records.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..lazy import lazy

np = lazy("numpy")

REQUIRED = object()  # sentinel default: the recipe must give a value
FLOAT_DIGITS = 4  # drawn floats are rounded so manifests stay readable and replay exact


@dataclass(frozen=True)
class Fixed:
    value: Any

    def draw(self, param: "Param", rng: np.random.Generator) -> Any:
        return self.value

    def to_plain(self) -> Any:
        return list(self.value) if isinstance(self.value, tuple) else self.value


@dataclass(frozen=True)
class Uniform:
    lo: float
    hi: float

    def draw(self, param: "Param", rng: np.random.Generator) -> Any:
        if param.kind == "int":
            return int(rng.integers(self.lo, self.hi + 1))
        value = round(float(rng.uniform(self.lo, self.hi)), FLOAT_DIGITS)
        return min(max(value, self.lo), self.hi)

    def to_plain(self) -> Any:
        return [self.lo, self.hi]


@dataclass(frozen=True)
class Choice:
    values: tuple

    def draw(self, param: "Param", rng: np.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]

    def to_plain(self) -> Any:
        return {"choice": [list(v) if isinstance(v, tuple) else v for v in self.values]}


Value = Fixed | Uniform | Choice


def close_match(word: Any, options: list[str]) -> str | None:
    """The option a typo most likely meant, or None."""
    if not isinstance(word, str):
        return None
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def show(value: Any) -> str:
    """A found value the way the user wrote it in YAML."""
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return str(value)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Issue:
    """A problem found while parsing one parameter (``recipe.py`` adds the location)."""

    message: str
    hint: str | None = None
    sub: str = ""  # path below the parameter, e.g. "[1]"


@dataclass(frozen=True)
class Param:
    """One parameter of an op: its type, default, allowed values and meaning.

    ``kind`` is one of ``float``, ``int``, ``bool``, ``enum`` (``choices``), ``pair``
    (two positive integers, e.g. a crop ``[w, h]``; one integer n means ``[n, n]``),
    ``size`` (a pair whose one side may be null: it keeps the aspect ratio),
    ``box`` (four integers) or ``pair_float`` (a ``[lo, hi]`` range the op itself
    draws from, e.g. an area).
    ``lo``/``hi`` bound the allowed values (inclusive; None = unbounded).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""
    nullable: bool = False

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def rangeable(self) -> bool:
        return self.kind in ("float", "int")

    def allowed(self) -> str:
        """The allowed single values, in the user's vocabulary."""
        if self.kind == "enum":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "pair":
            return "[width, height] in pixels or one integer n for [n, n]" + (" or null" if self.nullable else "")
        if self.kind == "size":
            return ("[width, height] in pixels, one integer n for [n, n], or [width, null] / [null, height] to keep "
                    "the aspect ratio" + (", or null" if self.nullable else ""))
        if self.kind == "box":
            return "a list of 4 integers"
        if self.kind == "pair_float":
            return f"a pair [lo, hi] of numbers from {_number(self.lo)} to {_number(self.hi)}"
        if self.kind == "keras_shift":
            return "a number >= 0 (float < 1: fraction of the side, >= 1: pixels; int n: integers in +-(n-1)) " \
                   "or a list of numbers (signed choice)"
        if self.kind == "keras_factor":
            null = " or null" if self.nullable else ""
            if self.lo is None or self.hi is None:
                return "a number >= 0 (f: drawn from [-f, f]) or a pair [lo, hi]" + null
            lo, hi = _number(self.lo), _number(self.hi)
            return f"a number from 0 to {hi} (f: drawn from [-f, f]) or a pair [lo, hi] with {lo} <= lo <= hi <= {hi}" \
                   + null
        if self.kind == "keras_zoom":
            return "a number from 0 to 1 (z: zoom drawn from [1-z, 1+z]) or a pair [lo, hi]"
        noun = "an integer" if self.kind == "int" else "a number"
        if self.lo is not None and self.hi is not None:
            return f"{noun} from {_number(self.lo)} to {_number(self.hi)}"
        if self.lo is not None:
            return f"{noun} >= {_number(self.lo)}"
        if self.hi is not None:
            return f"{noun} <= {_number(self.hi)}"
        return noun

    def check(self, value: Any) -> Issue | None:
        """None if ``value`` is an allowed single value, else what is wrong."""
        if value is None and self.nullable:
            return None
        if self.kind == "enum":
            if isinstance(value, str) and value in self.choices:
                return None
            return Issue(f"{show(value)} is not {self.allowed()}", close_match(value, list(self.choices)))
        if self.kind == "bool":
            return None if isinstance(value, bool) else Issue(f"{show(value)} is not {self.allowed()}")
        if self.kind == "keras_shift":  # Keras: float range, int n -> +-(n-1), list -> signed choice
            ok = _is_number(value) and value >= 0 or (
                isinstance(value, (list, tuple)) and value and all(_is_number(v) for v in value))
            return None if ok else Issue(f"{show(value)} is not {self.allowed()}")
        if self.kind == "keras_factor":  # Keras layers: f -> [-f, f], or [lo, hi], within the layer's bounds
            ok = _is_number(value) and value >= 0 and self._within(value) or (
                isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) for v in value)
                and value[0] <= value[1] and self._within(value[0]) and self._within(value[1]))
            return None if ok else Issue(f"{show(value)} is not {self.allowed()}")
        if self.kind == "keras_zoom":  # Keras: z -> [1-z, 1+z], or [lo, hi]
            ok = _is_number(value) and 0 <= value < 1 or (
                isinstance(value, (list, tuple)) and len(value) == 2 and all(_is_number(v) and v > 0 for v in value)
                and value[0] <= value[1])
            return None if ok else Issue(f"{show(value)} is not {self.allowed()}")
        if self.kind == "pair_float":
            ok = (
                isinstance(value, (list, tuple))
                and len(value) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                and self.lo <= value[0] <= value[1] <= self.hi
            )
            return None if ok else Issue(f"{show(value)} is not {self.allowed()}")
        if self.kind in ("pair", "size") and _is_int(value):
            ok = value > 0  # one integer: a square
            return None if ok else Issue(f"{show(value)} is not {self.allowed()}")
        if self.kind in ("pair", "size", "box"):
            n = 4 if self.kind == "box" else 2
            sides = [v for v in value if v is not None or self.kind != "size"] \
                if isinstance(value, (list, tuple)) else []
            ok = (
                isinstance(value, (list, tuple))
                and len(value) == n
                and len(sides) >= 1
                and all(_is_int(v) for v in sides)
                and (self.kind == "box" or all(v > 0 for v in sides))
            )
            return None if ok else Issue(f"{show(value)} is not {self.allowed()}")
        is_int = isinstance(value, int) and not isinstance(value, bool)
        is_num = is_int or isinstance(value, float) and math.isfinite(value)
        if not is_num or (self.kind == "int" and not is_int):
            return Issue(f"{show(value)} is not {self.allowed()}")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            return Issue(f"{show(value)} is out of range: allowed is {self.allowed()}")
        return None

    def _within(self, value: float) -> bool:
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)

    def parse(self, raw: Any) -> tuple[Value | None, list[Issue]]:
        """Raw YAML -> a Value, or the issues that stop it from being one."""
        if isinstance(raw, dict):
            if set(raw) != {"choice"}:
                keys = ", ".join(map(str, raw))
                return None, [Issue(f"{{{keys}}} is not a value: write a value, a range [lo, hi] or {{choice: [...]}}",
                                    close_match(next(iter(raw), None), ["choice"]) if len(raw) == 1 else None)]
            options = raw["choice"]
            if not isinstance(options, list) or not options:
                return None, [Issue("choice needs a non-empty list of values", sub=".choice")]
            issues = [
                Issue(i.message, i.hint, f".choice[{n}]") for n, v in enumerate(options) if (i := self.check(v))
            ]
            return (None if issues else Choice(tuple(self.normalise(v) for v in options))), issues
        if isinstance(raw, list) and self.kind not in LIST_VALUED:
            if not self.rangeable:
                return None, [Issue(f"{show(raw)} is a range, but {self.name} is {self.allowed()}; "
                                    "to pick among values write {choice: [...]}")]
            if len(raw) != 2:
                return None, [Issue(f"a range is [lo, hi], found {len(raw)} values")]
            issues = [Issue(i.message, i.hint, f"[{n}]") for n, v in enumerate(raw) if (i := self.check(v))]
            if issues:
                return None, issues
            lo, hi = raw
            if lo > hi:
                return None, [Issue(f"range [{_number(lo)}, {_number(hi)}] has lo > hi")]
            return (Fixed(lo) if lo == hi else Uniform(lo, hi)), []
        issue = self.check(raw)
        return (None, [issue]) if issue else (Fixed(self.normalise(raw)), [])

    def normalise(self, value: Any) -> Any:
        """A checked value in the form ops receive: lists as tuples, and one
        integer as a square for sizes."""
        if self.kind in ("pair", "size") and _is_int(value):
            return (value, value)
        return _freeze(value)


LIST_VALUED = ("pair", "size", "box", "pair_float", "keras_shift", "keras_zoom", "keras_factor")  # a list is the value, not a range


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


Size = tuple[int, int]  # (width, height)


@dataclass(frozen=True)
class OpSpec:
    """A named op: a pure kernel plus the schema of its parameters.

    ``kernel(img, **params)`` returns a new image and never mutates its input.
    Affine ops also give ``forward(params, size) -> (3x3 matrix, out_size)``, the
    map from input to output pixel-centre coordinates, so runs of them can be
    fused into one resample. ``exact`` marks pixel permutations (flips, rot90)
    that fuse without needing fill or interpolation. ``out_size`` tells the
    sampler how a non-affine op changes the size; ``resolve(params, rng, size)``
    draws values that depend on the image size (a crop position, say).
    A policy gives ``expand(params, rng, size)`` instead of a kernel: the plain
    ops it chose, which is what gets recorded and applied; with
    ``expand_excluding`` it also takes ``exclude=`` (op names a class rule
    forbids) and draws among the ops left. An op that does the work of several
    plain ops (the ``keras`` block, ``affine``) names them in ``parts``: plain
    op -> the drawn values that switch that part off, so a class that excludes
    ``rotate`` gets no rotation from it either. Point ops give
    ``values(params, mode, means) -> fn(v, band)``, their value mapping, so runs
    of them become one lookup table.

    Ops are registered through ``augcli.ops.registry`` (``register``, or the
    helpers ``point_op``, ``affine_op`` and ``policy``), which refuses hooks
    that exclude each other.
    """

    name: str
    kernel: Callable[..., Any]
    params: tuple[Param, ...] = ()
    doc: str = ""
    category: str = "colour"  # geometric | colour | noise
    forward: Callable[[dict, Size], tuple[np.ndarray, Size]] | None = None
    exact: bool = False
    out_size: Callable[[dict, Size], Size] | None = None
    resolve: Callable[[dict, np.random.Generator, Size], dict] | None = None
    example: str = ""
    refused: dict[str, str] = field(default_factory=dict)  # parameter -> why it is not supported
    # parameter -> why it belongs in the training code: accepted, not applied, listed in augcli.json
    training_time: dict[str, str] = field(default_factory=dict)
    expand: Callable[..., list[tuple[str, dict]]] | None = None  # policies
    expand_excluding: bool = False  # expand takes exclude= and draws among the ops left
    parts: dict[str, dict] = field(default_factory=dict)  # plain op -> drawn values that switch it off
    values: Callable[[dict, str, Callable[[], list[float]]], Callable] | None = None  # point ops

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def size_after(self, params: dict, size: Size) -> Size:
        if self.forward is not None:
            return self.forward(params, size)[1]
        if self.out_size is not None:
            return self.out_size(params, size)
        return size
