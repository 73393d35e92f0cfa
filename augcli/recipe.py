"""YAML recipe -> validated, frozen ``Recipe``.

Every problem is collected (with the line it is on and a close match for
typos) before a single ``RecipeError`` is raised, so a user fixes a recipe in
one pass. YAML is read with safe-load semantics: a ``!!python/...`` tag is a
problem, never executed. The normalised recipe (every default written out)
is itself a valid recipe; its canonical JSON, without the seed, is hashed.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union

import yaml

from .errors import Problem, RecipeError, UsageError
from .label_rules import KEYS as LABEL_KEYS, ON_EMPTY, LabelRules
from .limits import DEFAULT_MAX_PIXELS, MAX_BALANCE, MAX_COPIES, MAX_DEPTH, MAX_RECIPE_BYTES, MAX_VALUES
from .names import FOREIGN_PARAMS, pointer
from .ops import REGISTRY, lookup, suggest
from .ops.spec import Choice, Fixed, Param, Uniform, Value, close_match, show

# -- the frozen recipe ---------------------------------------------------------------


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


Step = Union[OpStep, OneOf, SomeOf, Sequence]
COMPOSITIONS = ("one_of", "some_of", "sequence")
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
}
OUTPUT_FORMATS = ("same", "jpeg", "png", "webp")
FIT_MODES = ("stretch", "cover", "contain")


@dataclass(frozen=True)
class Output:
    """How every written image is finished: resized to ``size`` last (``fit``:
    stretch, cover = fill and cut the centre, contain = letterbox on
    ``background``), then encoded as ``format``. ``background`` (a grey level,
    0..255) also shows through transparent pixels in formats without alpha."""

    format: str = "same"
    quality: int = 95
    size: tuple[int | None, int | None] | None = None
    fit: str = "stretch"
    background: float = 255

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


@dataclass(frozen=True)
class Recipe:
    """A validated recipe. Build one with ``Recipe.from_yaml`` or ``Recipe.load``."""

    version: int = 1
    copies: int = 1
    seed: int | None = None
    include_originals: bool = True
    output: Output = field(default_factory=Output)
    pipeline: tuple[Step, ...] = ()
    variants: tuple[tuple[str, tuple[Step, ...]], ...] = ()
    classes: tuple[tuple[str, ClassRule], ...] = ()
    balance: Balance | None = None
    labels: LabelRules | None = None  # annotated layouts: box and mask rules (None: the defaults)
    name: str = field(default="<recipe>", compare=False)
    lines: dict = field(default_factory=dict, compare=False, repr=False)  # recipe path -> line, for messages
    # not part of the normalised recipe or its hash: they change no pixel
    training_time: tuple[TrainingTimeArgument, ...] = field(default=(), compare=False)
    # every output size written in the recipe, (recipe path, (w, h)): checked against --max-pixels
    sizes: tuple = field(default=(), compare=False, repr=False)

    @classmethod
    def load(cls, path: str | Path | dict, max_pixels: int = DEFAULT_MAX_PIXELS) -> "Recipe":
        """A validated recipe from a YAML file, a built-in recipe's name
        (``"standard"``; see ``augcli recipes``) when no such file exists, or a
        dict of the recipe's keys (``{"copies": 4, "pipeline": [...]}``; tuples
        are taken as lists).

        Raises ``RecipeError`` (with ``.problems``) for an invalid recipe and
        ``UsageError`` for a file that cannot be read. At most
        ``MAX_RECIPE_BYTES`` are read, so ``/dev/zero`` or a 50 MB file costs a
        bounded read, not the machine's memory; output sizes written in it
        must have at most ``max_pixels`` pixels.
        """
        if not isinstance(path, (str, os.PathLike)):
            return cls.from_dict(path, max_pixels=max_pixels)
        builtin = _builtin(path)
        try:
            with open(builtin or path, "rb") as handle:
                raw = handle.read(MAX_RECIPE_BYTES + 1)
            if len(raw) > MAX_RECIPE_BYTES:
                raise UsageError(f"recipe {path} is larger than {MAX_RECIPE_BYTES:,} bytes (1 MiB), "
                                 "the most a recipe may be")
            text = raw.decode("utf-8")
        except FileNotFoundError:
            names = sorted(builtin_recipes())
            hint = close_match(Path(path).stem, names)
            raise UsageError(f"recipe file not found: {path} (built-in recipes: {', '.join(names)}"
                             + (f"; did you mean {hint!r}?)" if hint else ")")) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read recipe {path}: {exc}") from None
        return cls.from_yaml(text, name=str(builtin or path), max_pixels=max_pixels)

    @classmethod
    def from_dict(cls, data: Any, name: str = "<dict>", max_pixels: int = DEFAULT_MAX_PIXELS) -> "Recipe":
        """Validate a recipe given as Python data (a dict, or the normalised
        recipe in ``augcli.json``), with the same bounds as a YAML recipe;
        raises ``RecipeError`` listing every problem."""
        if problem := _too_big(data):
            raise RecipeError(name, [problem])
        return _validated(_as_yaml_data(data), {}, [], name, max_pixels)

    @classmethod
    def from_yaml(cls, text: str, name: str = "<recipe>", max_pixels: int = DEFAULT_MAX_PIXELS) -> "Recipe":
        """Validate YAML text; raises ``RecipeError`` listing every problem.

        Output sizes written in the recipe (``resize.size``, ``output.size``)
        must have at most ``max_pixels`` pixels (0: no limit), as inputs must."""
        data, lines, problems = _read_yaml(text)
        if data is None and not problems:
            data = {}  # an empty or null document: report what is missing
        return _validated(data, lines, problems, name, max_pixels)

    def size_problems(self, max_pixels: int) -> list[Problem]:
        """The output sizes this recipe writes out that have more than ``max_pixels``."""
        if not max_pixels:
            return []
        return [Problem(path, f"[{w}, {h}] is {w * h:,} pixels, over the limit of {max_pixels:,} an output may "
                              "have (--max-pixels)", self.lines.get(path) or self.lines.get(path.split(".choice[")[0]))
                for path, (w, h) in self.sizes if w * h > max_pixels]

    def check_sizes(self, max_pixels: int) -> None:
        """``RecipeError`` if an output size written in the recipe is over ``max_pixels``."""
        if problems := self.size_problems(max_pixels):
            raise RecipeError(self.name, problems)

    def with_overrides(self, copies: int | None = None, seed: int | None = None,
                       balance: str | int | None = None) -> "Recipe":
        """The recipe with command-line ``--copies`` / ``--seed`` / ``--balance`` applied."""
        if balance is not None:
            if self.variants:
                raise UsageError("--balance needs a recipe with a pipeline (variants are one output each)")
            if isinstance(balance, int) and balance > MAX_BALANCE:
                raise UsageError(f"--balance: {balance} is more than {MAX_BALANCE:,} images per class, "
                                 "the most balance may ask for")
            self = replace(self, balance=Balance(balance))
        if copies is not None:
            if self.variants:
                raise UsageError("--copies does not apply to a recipe with variants (one output per variant)")
            self = replace(self, copies=copies)
        if (copies or balance) and not self.variants and not self.pipeline:
            option = f"--copies {copies}" if copies else f"--balance {balance}"
            raise UsageError(f"{option}: the recipe's pipeline is empty, so every copy would equal its original; "
                             f"add steps to {self.name}")
        if seed is not None:
            self = replace(self, seed=seed)
        return self

    @property
    def effective_seed(self) -> int:
        return 0 if self.seed is None else self.seed

    def to_plain(self) -> dict:
        """The normalised recipe: every default written out; valid as a recipe itself."""
        plain: dict[str, Any] = {"version": self.version}
        if self.seed is not None:
            plain["seed"] = self.seed
        if not self.variants and self.balance is None:
            plain["copies"] = self.copies
        plain["include_originals"] = self.include_originals
        plain["output"] = self.output.to_plain()
        if self.variants:
            plain["variants"] = {name: [s.to_plain() for s in steps] for name, steps in self.variants}
        else:
            plain["pipeline"] = [s.to_plain() for s in self.pipeline]
        if self.balance is not None:
            plain["balance"] = self.balance.to_plain()
        if self.classes:
            plain["classes"] = {name: rule.to_plain() for name, rule in self.classes}
        if self.labels is not None:
            plain["labels"] = self.labels.to_plain()
        return plain

    def notices(self) -> list[str]:
        """One line per training-time argument, for the user to move into the training code."""
        return [argument.notice(self.name) for argument in self.training_time]

    def training_time_arguments(self) -> dict[str, Any]:
        """Recipe path -> value of each training-time argument, as augcli.json lists them."""
        return {argument.path: argument.value for argument in self.training_time}

    def rule(self, label: str) -> ClassRule | None:
        return dict(self.classes).get(label)

    def pipeline_for(self, label: str) -> tuple[Step, ...]:
        """The pipeline one class's outputs are drawn from (class rules applied)."""
        rule = self.rule(label)
        if rule is None:
            return self.pipeline
        steps = rule.pipeline if rule.pipeline is not None else self.pipeline
        return without_ops(steps, set(rule.exclude))

    def variants_for(self, label: str) -> tuple[tuple[str, tuple[Step, ...]], ...]:
        """The variants one class gets: those using an excluded op are left out."""
        rule = self.rule(label)
        if rule is None or not rule.exclude:
            return self.variants
        excluded = set(rule.exclude)
        return tuple((name, without_ops(steps, excluded)) for name, steps in self.variants
                     if not _names(steps) & excluded)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_plain(), sort_keys=False, default_flow_style=None, width=100)

    @property
    def sha256(self) -> str:
        """Hash of the canonical JSON of the normalised recipe, seed excluded (the
        seed is recorded, and checked on resume, on its own)."""
        plain = self.to_plain()
        plain.pop("seed", None)
        canonical = json.dumps(plain, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


def _validated(data: Any, lines: dict[str, int], problems: list[Problem], name: str, max_pixels: int) -> Recipe:
    """Plain data (``None`` if it could not be read) -> a Recipe, or every problem."""
    if data is not None:
        parser = _Parser(lines)
        recipe = parser.recipe(data)
        # a value rejected while reading YAML (a tag) is reported once, not again as null
        rejected = [p.path for p in problems]
        problems += [p for p in parser.problems if not any(_within(p.path, r) for r in rejected)]
        if recipe is not None:
            problems += recipe.size_problems(max_pixels)
    if problems:
        raise RecipeError(name, sorted(problems, key=lambda p: p.line or 0))
    return replace(recipe, name=name)


def _too_big(data: Any) -> Problem | None:
    """The bounds a YAML recipe has (values, nesting), for Python data, and the
    values YAML can hold: a numpy scalar would validate, then break the
    normalised recipe that ``validate`` prints and ``augcli.json`` records."""
    stack, count = [(data, 1)], 0
    while stack:
        item, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            return Problem("", f"the recipe is nested more than {MAX_DEPTH} levels deep")
        if count > MAX_VALUES:
            return Problem("", f"the recipe has more than {MAX_VALUES:,} values")
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, (list, tuple)):
            stack += [(v, depth + 1) for v in item]
        elif type(item) not in _PLAIN:
            kind = type(item)
            return Problem("", "a recipe given as Python data holds only plain values (str, int, float, bool, "
                               f"None, list, dict); found {kind.__module__}.{kind.__qualname__} {item!r}")
    return None


_PLAIN = (str, int, float, bool, type(None))


def _as_yaml_data(data: Any) -> Any:
    """Python data in the shapes YAML gives: tuples become lists."""
    if isinstance(data, dict):
        return {key: _as_yaml_data(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_as_yaml_data(value) for value in data]
    return data


def builtin_recipes() -> dict[str, Path]:
    """The starter recipes shipped in the package (``augcli/recipes``): name -> file."""
    folder = Path(str(importlib.resources.files("augcli") / "recipes"))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _builtin(path: str | Path) -> Path | None:
    """The built-in recipe a bare name (``standard`` or ``standard.yaml``) means,
    when no file of that name exists; a file always wins."""
    candidate = Path(path)
    if candidate.exists() or len(candidate.parts) != 1 or candidate.suffix not in ("", ".yaml"):
        return None
    return builtin_recipes().get(candidate.stem)


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


def _names(steps: tuple[Step, ...]) -> set[str]:
    """Every op named in ``steps``, inside compositions too."""
    return {name for step in steps
            for name in ((step.op,) if isinstance(step, OpStep) else _names(step.steps))}


# -- YAML with line numbers ----------------------------------------------------------

_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq")}

class _TooDeep(yaml.YAMLError):
    def __init__(self, line: int):
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """The safe loader, refusing documents nested more than ``MAX_DEPTH`` deep
    (its composer recurses once per level)."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _TooMany(Exception):
    """More values than ``MAX_VALUES`` once aliases are expanded."""


def _read_yaml(text: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """Parse YAML into plain data plus a map from recipe path to line number."""
    if len(text) > MAX_RECIPE_BYTES:  # (a str given to from_yaml; load reads at most this)
        return None, {}, [Problem("", f"the recipe is {len(text):,} characters; at most {MAX_RECIPE_BYTES:,}")]
    try:
        root = yaml.compose(text, Loader=_BoundedLoader)
    except _TooDeep as exc:
        return None, {}, [Problem("", f"the recipe is nested more than {MAX_DEPTH} levels deep", exc.line)]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        return None, {}, [Problem("", f"not valid YAML: {exc.problem or exc.context}", line)]
    except yaml.YAMLError as exc:
        return None, {}, [Problem("", f"not valid YAML: {exc}")]
    if root is None:
        return {}, {}, []
    lines: dict[str, int] = {}
    problems: list[Problem] = []
    constructor = yaml.SafeLoader("")
    count = 0

    def build(node: yaml.Node, path: str) -> Any:
        nonlocal count
        count += 1  # every value, each time an alias repeats it
        if count > MAX_VALUES:
            raise _TooMany
        line = node.start_mark.line + 1
        lines.setdefault(path, line)
        if node.tag not in _PLAIN_TAGS:
            problems.append(Problem(path, f"YAML tag {node.tag.replace('tag:yaml.org,2002:', '!!')} is not "
                                          "allowed: recipes are plain YAML (maps, lists, strings, numbers)", line))
            return None
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = build(key_node, path)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    problems.append(Problem(path, f"{show(key)} cannot be a key", key_node.start_mark.line + 1))
                    continue
                sub = f"{path}.{key}" if path else str(key)
                if key in out:
                    problems.append(Problem(sub, "duplicate key", key_node.start_mark.line + 1))
                lines[sub] = key_node.start_mark.line + 1
                out[key] = build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        try:
            value = constructor.construct_object(node)
        except ValueError:  # Python refuses int("9" * 5000)
            value = None
        else:
            if not (isinstance(value, int) and value.bit_length() > 256):
                return value
        # no recipe needs such a number, and Python will not even print it
        problems.append(Problem(path, f"a number too long to read ({len(node.value):,} characters)", line))
        return None

    try:
        return build(root, ""), lines, problems
    except _TooMany:
        return None, {}, [Problem("", f"the recipe has more than {MAX_VALUES:,} values (counting every repeat of a "
                                      "YAML alias *name); recipes are much smaller")]


# -- validation ----------------------------------------------------------------------

_EMPTY = ("an empty pipeline would write {} identical copies of each image; add steps, or set copies: 0 to write "
          "only the originals")

_TOP_KEYS = ("version", "copies", "seed", "include_originals", "output", "pipeline", "variants", "keras",
             "balance", "classes", "labels")
_VARIANT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_P = Param("p", "float", 1.0, 0, 1, doc="probability that the op fires")


class _Parser:
    """Walks the plain data, building frozen values and collecting problems."""

    def __init__(self, lines: dict[str, int]):
        self.lines = lines
        self.problems: list[Problem] = []
        self.training_time: list[TrainingTimeArgument] = []
        self.sizes: list[tuple[str, tuple[int, int]]] = []

    def output_size(self, value: Any, path: str) -> None:
        """Note the sizes an output may be given (a fixed one, or each of a
        choice); a size with a null side depends on the image, and is checked
        when drawn."""
        values = [(path, value.value)] if isinstance(value, Fixed) else \
            [(f"{path}.choice[{i}]", v) for i, v in enumerate(value.values)] if isinstance(value, Choice) else []
        self.sizes += [(where, tuple(size)) for where, size in values
                       if isinstance(size, tuple) and all(isinstance(side, int) for side in size)]

    def problem(self, path: str, message: str, hint: str | None = None) -> None:
        probe = path  # the nearest enclosing path that has a line (a dict recipe has none)
        while probe and probe not in self.lines:
            shorter = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe)
            probe = shorter if shorter != probe else ""
        self.problems.append(Problem(path, message, self.lines.get(probe), hint))

    def unknown_keys(self, data: dict, allowed: tuple[str, ...], path: str, what: str) -> None:
        for key in data:
            if key not in allowed:
                self.problem(_join(path, key), f"{show(key)} is not {what}; allowed: {', '.join(allowed)}",
                             close_match(key, list(allowed)))

    def value(self, param: Param, raw: Any, path: str) -> Value | None:
        parsed, issues = param.parse(raw)
        for issue in issues:
            self.problem(path + issue.sub, issue.message, issue.hint)
        return parsed

    def fixed(self, param: Param, raw: Any, path: str) -> Any:
        """A parameter that takes one value, not a range or choice."""
        issue = param.check(raw)
        if issue:
            self.problem(path, issue.message, issue.hint)
            return param.default
        return param.normalise(raw)

    def recipe(self, data: Any) -> Recipe | None:
        if not isinstance(data, dict):
            self.problem("", f"a recipe is a mapping of keys ({', '.join(_TOP_KEYS)}), found {type(data).__name__}")
            return None
        self.unknown_keys(data, _TOP_KEYS, "", "a recipe key")
        fields: dict[str, Any] = {}
        if "version" in data and data["version"] != 1:
            self.problem("version", f"{show(data['version'])} is not a supported version; allowed: 1")
        if "copies" in data:
            fields["copies"] = self.fixed(Param("copies", "int", 1, 0, MAX_COPIES), data["copies"], "copies")
        if "seed" in data:
            fields["seed"] = self.fixed(Param("seed", "int", 0, 0, 2**63 - 1), data["seed"], "seed")
        if "include_originals" in data:
            fields["include_originals"] = self.fixed(Param("include_originals", "bool", True),
                                                     data["include_originals"], "include_originals")
        if "output" in data:
            fields["output"] = self.output(data["output"], "output")
        has_pipeline, has_variants = "pipeline" in data, "variants" in data
        if "keras" in data:
            # ImageDataGenerator arguments pasted as a block: a one-step pipeline
            if has_pipeline or has_variants:
                self.problem("keras", "use keras: on its own, or as a step '- keras: {...}' inside the pipeline")
            else:
                step = self.op(lookup("keras"), data["keras"], "keras")
                fields["pipeline"] = (step,) if step else ()
        if "keras" in data:
            pass
        elif has_pipeline and has_variants:
            self.problem("variants", "a recipe has either a pipeline (with copies) or variants, not both")
        elif has_variants:
            if "copies" in data:
                self.problem("copies", "copies does not apply with variants: each variant is one output")
            fields["variants"] = self.variants(data["variants"], "variants")
        elif has_pipeline:
            fields["pipeline"] = self.steps(data["pipeline"], "pipeline")
        else:
            self.problem("", "the recipe needs a pipeline (applied to each of copies outputs) or variants")
        if "balance" in data:
            if has_variants:
                self.problem("balance", "balance needs a pipeline: variants are one output each")
            elif "copies" in data:
                self.problem("copies", "copies does not apply with balance: balance sets each class's count "
                                       "(a class a per-class target does not name gets no new images; give it "
                                       "a count, or its own copies under classes:)")
            fields["balance"] = self.balance(data["balance"], "balance")
        if "classes" in data:
            fields["classes"] = self.classes(data["classes"], "classes")
        if "labels" in data:
            fields["labels"] = self.labels(data["labels"], "labels")
        if not (has_variants or "keras" in data):
            self.identical_copies(data, fields)
        return Recipe(**fields, lines=self.lines, training_time=tuple(self.training_time), sizes=tuple(self.sizes))

    def identical_copies(self, data: dict, fields: dict) -> None:
        """A copy drawn from no ops equals its original: asking for one is a recipe
        error, not a dataset quietly padded with duplicates."""
        copies, balance = fields.get("copies", 1), fields.get("balance")
        if copies == 0 and balance is None and not fields.get("include_originals", True):
            self.problem("copies", "0 with include_originals: false writes nothing")
        empty = data.get("pipeline") == []
        if empty and balance is not None:
            self.problem("pipeline", "an empty pipeline would write identical copies of each image to balance the "
                                     "classes; add steps")
        elif empty and copies:
            self.problem("pipeline", _EMPTY.format(copies))
        raw_rules = data.get("classes") if isinstance(data.get("classes"), dict) else {}
        for label, rule in fields.get("classes", ()):
            count = _class_copies(label, rule, copies, balance)
            if count == 0 or (rule.pipeline is None and empty):  # no copies, or reported once for the pipeline
                continue
            its = "its copies" if count is None else f"its {count} copies"
            if rule.pipeline == () and raw_rules.get(label, {}).get("pipeline") == []:
                self.problem(f"classes.{label}.pipeline", f"an empty pipeline would make {its} equal the "
                                                          "original; add steps, or give the class copies: 0")
            elif rule.exclude and not without_ops(rule.pipeline if rule.pipeline is not None else
                                                  fields.get("pipeline", ()), set(rule.exclude)):
                self.problem(f"classes.{label}.exclude", f"excluding {', '.join(rule.exclude)} leaves class "
                                                         f"{label} no ops, so {its} would equal the original; "
                                                         "give it copies: 0 or a pipeline of its own")

    def balance(self, data: Any, path: str) -> Balance | None:
        if not isinstance(data, dict) or "target" not in data:
            self.problem(path, f"balance is {{target: max}}, {{target: 500}} or {{target: {{cat: 300}}}}, "
                               f"found {show(data)}")
            return None
        self.unknown_keys(data, ("target",), path, "a key of balance")
        target = data["target"]
        count = Param("target", "int", 1, 1, MAX_BALANCE)
        if target == "max":
            return Balance("max")
        if isinstance(target, dict) and target:
            for label, value in target.items():
                if issue := count.check(value):
                    self.problem(f"{path}.target.{label}", issue.message)
            return Balance(tuple((str(k), v) for k, v in target.items()))
        if issue := count.check(target):
            self.problem(f"{path}.target", f"{issue.message}, 'max', or a mapping of class -> count")
            return None
        return Balance(target)

    def classes(self, data: Any, path: str) -> tuple:
        if not isinstance(data, dict):
            self.problem(path, f"classes is a mapping of class name -> {{exclude, copies, pipeline}}, found {show(data)}")
            return ()
        rules = []
        for label, rule in data.items():
            sub = _join(path, label)
            if not isinstance(rule, dict):
                self.problem(sub, f"a class rule is a mapping with exclude, copies or pipeline, found {show(rule)}")
                continue
            self.unknown_keys(rule, ("exclude", "copies", "pipeline"), sub, "a class rule key")
            exclude = rule.get("exclude", [])
            if not isinstance(exclude, list):
                self.problem(f"{sub}.exclude", f"exclude is a list of op names, found {show(exclude)}")
                exclude = []
            for i, name in enumerate(exclude):
                if name not in REGISTRY:
                    self.problem(f"{sub}.exclude[{i}]", f"unknown op {show(name)}", suggest(str(name)))
            copies = None
            if "copies" in rule:
                copies = self.fixed(Param("copies", "int", 1, 0, MAX_COPIES), rule["copies"], f"{sub}.copies")
            pipeline = self.steps(rule["pipeline"], f"{sub}.pipeline") if "pipeline" in rule else None
            rules.append((str(label), ClassRule(tuple(map(str, exclude)), copies, pipeline)))
        return tuple(rules)

    def labels(self, data: Any, path: str) -> LabelRules:
        """``labels:`` (annotated layouts): rules for boxes that leave the frame, the mask fill."""
        if not isinstance(data, dict):
            self.problem(path, f"labels is a mapping ({', '.join(LABEL_KEYS)}), found {show(data)}")
            return LabelRules()
        self.unknown_keys(data, LABEL_KEYS, path, "a labels key")
        params = (Param("min_visibility", "float", 0.0, 0, 1), Param("min_size", "float", 1.0, 0, 100000),
                  Param("on_empty", "enum", "keep", choices=ON_EMPTY), Param("ignore_index", "int", 0, 0, 65535))
        return LabelRules(**{p.name: self.fixed(p, data.get(p.name, p.default), f"{path}.{p.name}") for p in params})

    def output(self, data: Any, path: str) -> Output:
        keys = ("format", "quality", "size", "fit", "background")
        if not isinstance(data, dict):
            self.problem(path, f"output is a mapping ({', '.join(keys)}), found {show(data)}")
            return Output()
        self.unknown_keys(data, keys, path, "an output key")
        size = self.fixed(Param("size", "size", None, nullable=True), data.get("size"), f"{path}.size")
        self.output_size(Fixed(size), f"{path}.size")
        return Output(
            format=self.fixed(Param("format", "enum", "same", choices=OUTPUT_FORMATS),
                              data.get("format", "same"), f"{path}.format"),
            quality=self.fixed(Param("quality", "int", 95, 1, 100), data.get("quality", 95), f"{path}.quality"),
            size=size,
            fit=self.fixed(Param("fit", "enum", "stretch", choices=FIT_MODES), data.get("fit", "stretch"),
                           f"{path}.fit"),
            background=self.fixed(Param("background", "float", 255, 0, 255), data.get("background", 255),
                                  f"{path}.background"),
        )

    def variants(self, data: Any, path: str) -> tuple:
        if not isinstance(data, dict) or not data:
            self.problem(path, "variants is a mapping of name -> list of steps, e.g. {hflip: [hflip]}")
            return ()
        out = []
        for name, steps in data.items():
            sub = _join(path, name)
            if not isinstance(name, str) or not _VARIANT_NAME.match(name):
                self.problem(sub, f"variant name {show(name)} must be letters, digits, '_' or '-' "
                                  "(it becomes part of file names)")
            out.append((str(name), self.steps(steps if isinstance(steps, list) else [steps], sub)))
        return tuple(out)

    def steps(self, data: Any, path: str) -> tuple[Step, ...]:
        if not isinstance(data, list):
            self.problem(path, f"expected a list of steps (each '- opname: {{...}}'), found {show(data)}")
            return ()
        return tuple(s for i, item in enumerate(data) if (s := self.step(item, f"{path}[{i}]")) is not None)

    def step(self, item: Any, path: str) -> Step | None:
        if isinstance(item, str):
            name, args = item, None
        elif isinstance(item, dict) and len(item) == 1:
            name, args = next(iter(item.items()))
        elif isinstance(item, dict) and item:
            names = [k for k in item if k in REGISTRY or k in COMPOSITIONS]
            extra = ", ".join(str(k) for k in item if k not in names)
            hint = f" (indent {extra} under {names[0]}?)" if len(names) == 1 else ""
            self.problem(path, f"a step is one op name with its parameters, found keys "
                               f"{', '.join(map(str, item))}{hint}")
            return None
        else:
            self.problem(path, f"a step is an op name or {{opname: {{params}}}}, found {show(item)}")
            return None
        if not isinstance(name, str):
            self.problem(path, f"{show(name)} is not an op name")
            return None
        if name in COMPOSITIONS:
            return self.composition(name, args, _join(path, name))
        spec = lookup(name)
        if spec is None:
            self.unknown_op(name, _join(path, name))
            return None
        return self.op(spec, args, _join(path, name))

    def unknown_op(self, name: str, path: str) -> None:
        elsewhere = pointer(name)
        if elsewhere:
            self.problem(path, f"unknown op {show(name)}: {elsewhere}")
        else:
            self.problem(path, f"unknown op {show(name)}; see 'augcli transforms' for the list", suggest_step(name))

    def op(self, spec, args: Any, path: str) -> OpStep | None:
        if args is None:
            args = {}
        if not isinstance(args, dict):
            self.problem(path, f"parameters of {spec.name} are a mapping like {{p: 0.5}}, found {show(args)}")
            return None
        names = tuple(p.name for p in spec.params) + ("p",)
        for key in [k for k in args if k in spec.refused]:
            self.problem(f"{path}.{key}", f"{key} is not supported: {spec.refused[key]}")
        for key in [k for k in args if k in spec.training_time]:
            self.training_time.append(TrainingTimeArgument(f"{path}.{key}", args[key], spec.training_time[key],
                                                           self.lines.get(f"{path}.{key}")))
        foreign = [k for k in args if (spec.name, k) in FOREIGN_PARAMS]
        for key in foreign:
            self.problem(f"{path}.{key}", FOREIGN_PARAMS[(spec.name, key)])
        accepted = set(spec.refused) | set(spec.training_time) | set(foreign)
        self.unknown_keys({k: v for k, v in args.items() if k not in accepted}, names, path,
                          f"a parameter of {spec.name}")
        params = []
        for param in spec.params:
            if param.name in args:
                parsed = self.value(param, args[param.name], f"{path}.{param.name}")
                if parsed is not None:
                    params.append((param.name, parsed))
            elif param.required and not foreign:  # with a foreign parameter, the pointer says it all
                self.problem(path, f"{spec.name} needs {param.name} ({param.allowed()})")
            else:
                # a default may itself be a range (random_resized_crop's scale)
                params.append((param.name, param.parse(param.default)[0] if isinstance(param.default, list)
                               else Fixed(param.default)))
        if spec.out_size is not None:  # an op that sets the size (resize): bounded like any output
            for name, value in params:
                if spec.param(name).type.sized:
                    self.output_size(value, f"{path}.{name}")
        p = self.fixed(_P, args.get("p", 1.0), f"{path}.p")
        return OpStep(spec.name, tuple(params), float(p))

    def composition(self, name: str, args: Any, path: str) -> Step | None:
        allowed = ("n", "of", "p") if name == "some_of" else ("of", "p")
        of_path = f"{path}.of"
        if isinstance(args, list) and name != "some_of":
            args, of_path = {"of": args}, path
        if not isinstance(args, dict) or "of" not in args:
            form = "{n: [1, 2], of: [...]}" if name == "some_of" else "a list of steps, or {of: [...], p: 0.5}"
            self.problem(path, f"{name} takes {form}, found {show(args)}")
            return None
        self.unknown_keys(args, allowed, path, f"a key of {name}")
        steps = self.steps(args["of"], of_path)
        if isinstance(args["of"], list) and not args["of"]:
            self.problem(of_path, f"{name} needs at least one step")
        p = float(self.fixed(_P, args.get("p", 1.0), f"{path}.p"))
        if name == "one_of":
            return OneOf(steps, p)
        if name == "sequence":
            return Sequence(steps, p)
        if "n" not in args:
            self.problem(path, "some_of needs n, how many of its steps to apply (a number or a range [lo, hi])")
            return None
        count = len(args["of"]) if isinstance(args["of"], list) else 0
        n = self.value(Param("n", "int", None, 0, count), args["n"], f"{path}.n")
        return SomeOf(n, steps, p) if n is not None else None


def suggest_step(name: str) -> str | None:
    """The op or composition closest to a misspelt step name."""
    return close_match(name, sorted(REGISTRY) + list(COMPOSITIONS))


def _class_copies(label: str, rule: ClassRule, copies: int, balance: Balance | None) -> int | None:
    """How many augmented copies each source of a class gets; None when balance decides."""
    if rule.copies is not None:
        return rule.copies
    if balance is None:
        return copies
    if isinstance(balance.target, tuple) and label not in dict(balance.target):
        return 0
    return None


def _within(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent + ".") or path.startswith(parent + "[")


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


__all__ = ["Recipe", "TrainingTimeArgument", "OpStep", "OneOf", "SomeOf", "Sequence", "Step", "Output", "Choice",
           "Fixed", "Uniform"]
