"""The recipe's value grammar and the parameter schema every op declares.

A parameter value in a recipe is one of:

* a fixed value: ``angle: 15``
* a range drawn uniformly: ``angle: [-20, 20]`` (integers when the parameter is integral)
* a choice: ``fill: {choice: [reflect, wrap]}``

``Param.parse`` turns raw YAML into one of ``Fixed``, ``Uniform`` or ``Choice``
(or reports what is wrong); ``draw`` turns that into the plain value an op is
applied with and the manifest records. What a single value may be is its
parameter's ``Kind`` (``KINDS``): one object per kind that the recipe parser,
``augcli transforms`` and the JSON Schema all read.
"""
from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..lazy import lazy
from ..limits import MAX_SHOWN as _SHOWN  # characters of a string; a quarter as many list items

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
        if param.type.integral:
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
    """A found value the way the user wrote it in YAML (a long one cut: the
    message says how long it was)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= _SHOWN else f"{value[:_SHOWN]!r}... ({len(value):,} characters)"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        shown = "[" + ", ".join(show(v) for v in value[:_SHOWN // 4]) + "]"
        return shown if len(value) <= _SHOWN // 4 else f"{shown[:-1]}, ...] ({len(value):,} items)"
    return str(value)



def plain_number(x: float) -> str:
    """A number as a user writes it: 2, not 2.0."""
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Issue:
    """A problem found while parsing one parameter (``recipe.py`` adds the location)."""

    message: str
    hint: str | None = None
    sub: str = ""  # path below the parameter, e.g. "[1]"


@dataclass(frozen=True)
class Param:
    """One parameter of an op: its kind, default, allowed values and meaning.

    ``kind`` names one of ``KINDS``: ``float``, ``int``, ``bool``, ``enum``
    (``choices``), ``pair`` (two positive integers, e.g. a crop ``[w, h]``; one
    integer n means ``[n, n]``), ``size`` (a pair whose one side may be null: it
    keeps the aspect ratio), ``box`` (four integers) or ``pair_float`` (a
    ``[lo, hi]`` range the op itself draws from, e.g. an area); the Keras kinds
    are ``augcli.ops.keras``'s. ``lo``/``hi`` bound the allowed values
    (inclusive; None = unbounded).
    """

    name: str
    kind: str
    default: Any = REQUIRED
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    doc: str = ""
    nullable: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"parameter {self.name!r}: unknown kind {self.kind!r} (known: {', '.join(KINDS)})")

    @property
    def type(self) -> "Kind":
        """What this parameter's kind allows, and how it is written and described."""
        return KINDS[self.kind]

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def rangeable(self) -> bool:
        return self.type.rangeable

    def allowed(self) -> str:
        """The allowed single values, in the user's vocabulary."""
        return self.type.allowed(self)

    def check(self, value: Any) -> Issue | None:
        """None if ``value`` is an allowed single value, else what is wrong."""
        if value is None and self.nullable:
            return None
        return self.type.check(self, value)

    def within(self, value: float) -> bool:
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
        if isinstance(raw, list) and not self.type.list_valued:
            if not self.rangeable:
                return None, [Issue(f"{show(raw)} is a range, but {self.name} is {self.allowed()}; "
                                    "to pick among values write {choice: [...]}")]
            if len(raw) != 2:
                return None, [Issue(f"a range is [lo, hi], found {len(raw)} values")]
            issues = [Issue(i.message, i.hint, f"[{n}]") for n, v in enumerate(raw) if (i := self.check(v))]
            if issues:
                return None, issues
            if None in raw:  # a nullable parameter's null means "not set": it is no end of a range
                return None, [Issue(f"{show(raw)}: a range's ends are numbers; {self.name}: null alone means "
                                    "not set")]
            lo, hi = raw
            if lo > hi:
                return None, [Issue(f"range [{plain_number(lo)}, {plain_number(hi)}] has lo > hi")]
            return (Fixed(lo) if lo == hi else Uniform(lo, hi)), []
        issue = self.check(raw)
        return (None, [issue]) if issue else (Fixed(self.normalise(raw)), [])

    def normalise(self, value: Any) -> Any:
        """A checked value in the form ops receive: lists as tuples, and one
        integer as a square for sizes."""
        return self.type.normalise(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


# -- kinds of parameter values --------------------------------------------------------------


class Kind:
    """One kind of parameter value, in one place: what it allows (``valid``,
    ``allowed``), its form for ops (``normalise``), its JSON Schema and its
    label in ``augcli transforms``. The recipe parser, the catalogue and the
    schema all read it from ``Param.type``."""

    name = ""
    label = ""  # the value's shape in ``augcli transforms``
    rangeable = False  # a list [lo, hi] is a range drawn per output
    list_valued = False  # a list is the value itself, not a range
    schema_choice = True  # the schema offers {choice: [...]} (the Keras kinds keep to Keras' own forms)
    shows_bounds = True  # ``augcli transforms`` shows lo..hi
    sized = False  # a [width, height] in pixels (an op that sets the size is bounded like output.size)
    integral = False  # a range of it draws integers

    def allowed(self, param: Param) -> str:
        raise NotImplementedError

    def valid(self, param: Param, value: Any) -> bool:
        raise NotImplementedError

    def check(self, param: Param, value: Any) -> Issue | None:
        return None if self.valid(param, value) else Issue(f"{show(value)} is not {param.allowed()}")

    def normalise(self, value: Any) -> Any:
        return _freeze(value)

    def schema(self, param: Param) -> dict[str, Any]:
        raise NotImplementedError

    def label_of(self, param: Param) -> str:
        return self.label


KINDS: dict[str, Kind] = {}


def kind(cls: type[Kind]) -> type[Kind]:
    """Register a kind of parameter value under its name (a class decorator)."""
    KINDS[cls.name] = cls()
    return cls


class _Number(Kind):
    rangeable = True

    def allowed(self, param: Param) -> str:
        noun = "an integer" if self.integral else "a number"
        if param.lo is not None and param.hi is not None:
            return f"{noun} from {plain_number(param.lo)} to {plain_number(param.hi)}"
        if param.lo is not None:
            return f"{noun} >= {plain_number(param.lo)}"
        if param.hi is not None:
            return f"{noun} <= {plain_number(param.hi)}"
        return noun

    def check(self, param: Param, value: Any) -> Issue | None:
        is_int = _is_int(value)
        is_num = is_int or isinstance(value, float) and math.isfinite(value)
        if not is_num or (self.integral and not is_int):
            return Issue(f"{show(value)} is not {param.allowed()}")
        if not param.within(value):
            return Issue(f"{show(value)} is out of range: allowed is {param.allowed()}")
        return None

    def schema(self, param: Param) -> dict[str, Any]:
        base: dict[str, Any] = {"type": "integer" if self.integral else "number"}
        if param.lo is not None:
            base["minimum"] = param.lo
        if param.hi is not None:
            base["maximum"] = param.hi
        return base


@kind
class _Float(_Number):
    name, label = "float", "number"


@kind
class _Int(_Number):
    name, label, integral = "int", "integer", True


@kind
class _Bool(Kind):
    name, label, shows_bounds = "bool", "true/false", False

    def allowed(self, param: Param) -> str:
        return "true or false"

    def valid(self, param: Param, value: Any) -> bool:
        return isinstance(value, bool)

    def schema(self, param: Param) -> dict[str, Any]:
        return {"type": "boolean"}


@kind
class _Enum(Kind):
    name, shows_bounds = "enum", False

    def allowed(self, param: Param) -> str:
        return "one of " + ", ".join(param.choices)

    def check(self, param: Param, value: Any) -> Issue | None:
        if isinstance(value, str) and value in param.choices:
            return None
        return Issue(f"{show(value)} is not {param.allowed()}", close_match(value, list(param.choices)))

    def schema(self, param: Param) -> dict[str, Any]:
        return {"enum": list(param.choices)}

    def label_of(self, param: Param) -> str:
        return " | ".join(param.choices)


def size_schema(nulls: bool) -> dict[str, Any]:
    """[width, height] (a side may be null when ``nulls``), or one integer for a square."""
    side: dict[str, Any] = {"type": "integer", "minimum": 1}
    if nulls:
        side = {"anyOf": [side, {"type": "null"}]}
    return {"anyOf": [{"type": "array", "items": side, "minItems": 2, "maxItems": 2},
                      {"type": "integer", "minimum": 1}]}


@kind
class _Pair(Kind):
    """[width, height] in pixels, or one integer n for [n, n]."""

    name, label, list_valued, sized = "pair", "[w, h] or n", True, True
    nulls = False  # a side may be null (it keeps the aspect ratio)

    def allowed(self, param: Param) -> str:
        return "[width, height] in pixels or one integer n for [n, n]" + (" or null" if param.nullable else "")

    def valid(self, param: Param, value: Any) -> bool:
        if _is_int(value):
            return value > 0  # one integer: a square
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            return False
        sides = [v for v in value if v is not None or not self.nulls]
        return len(sides) >= 1 and all(_is_int(v) and v > 0 for v in sides)

    def normalise(self, value: Any) -> Any:
        return (value, value) if _is_int(value) else _freeze(value)

    def schema(self, param: Param) -> dict[str, Any]:
        return size_schema(nulls=self.nulls)


@kind
class _Size(_Pair):
    name, label, nulls = "size", "[w, h], n or [w, null]", True

    def allowed(self, param: Param) -> str:
        return ("[width, height] in pixels, one integer n for [n, n], or [width, null] / [null, height] to keep "
                "the aspect ratio" + (", or null" if param.nullable else ""))


@kind
class _Box(Kind):
    name, label, list_valued = "box", "[x0, y0, x1, y1]", True

    def allowed(self, param: Param) -> str:
        return "[x0, y0, x1, y1]: 4 integers with x0 < x1, y0 < y1 and x1, y1 >= 1 (a box of at least 1x1)"

    def valid(self, param: Param, value: Any) -> bool:
        # an empty or inverted box ([10, 10, 0, 0]), or one wholly left of or above the image, has
        # no pixels: it was clamped to a 1x1 image. (A box reaching beyond the image is clipped.)
        return (isinstance(value, (list, tuple)) and len(value) == 4 and all(_is_int(v) for v in value)
                and value[0] < value[2] and value[1] < value[3] and value[2] >= 1 and value[3] >= 1)

    def schema(self, param: Param) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4}


@kind
class _PairFloat(Kind):
    """A [lo, hi] range the op itself draws from (an area, a ratio)."""

    name, label, list_valued = "pair_float", "[lo, hi]", True

    def allowed(self, param: Param) -> str:
        return f"a pair [lo, hi] of numbers from {plain_number(param.lo)} to {plain_number(param.hi)}"

    def valid(self, param: Param, value: Any) -> bool:
        return (isinstance(value, (list, tuple)) and len(value) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                and param.lo <= value[0] <= value[1] <= param.hi)

    def schema(self, param: Param) -> dict[str, Any]:
        return {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}


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
    that exclude each other, and stamps ``plugin`` on ops an installed
    package registers (``augcli.ops.plugins``).
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
    # checks that need more than a parameter's kind, run once when a recipe is validated (a model file that
    # must exist and load): prepare(fixed values) -> (values to set, [(parameter, problem), ...])
    prepare: Callable[[dict], tuple[dict, list[tuple[str, str]]]] | None = None
    plugin: tuple[str, str] | None = None  # (distribution, version) of the package that registered it

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    def complete(self, values: dict) -> dict:
        """``values`` with every parameter they leave out at its default, in the
        order the op declares them: how a policy's chosen op is recorded, so an
        expander names only what it draws and a new parameter needs no edit there."""
        unknown = [k for k in values if self.param(k) is None]
        missing = [p.name for p in self.params if p.required and p.name not in values]
        if unknown or missing:
            raise TypeError(f"{self.name}: unknown parameters {unknown}, missing {missing}")
        return {p.name: values.get(p.name, p.default) for p in self.params}

    def size_after(self, params: dict, size: Size) -> Size:
        if self.forward is not None:
            return self.forward(params, size)[1]
        if self.out_size is not None:
            return self.out_size(params, size)
        return size
