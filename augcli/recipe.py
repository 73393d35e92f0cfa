"""YAML recipe -> validated, frozen ``Recipe``.

Three rooms do the work: ``recipe_yaml`` reads YAML into plain data with the
line of every recipe path, ``recipe_parser`` checks that data against the
envelope (``augcli.envelope``) and the op registry, and ``recipe_model`` holds
the frozen parts. Every problem is collected before a single ``RecipeError``
is raised, so a user fixes a recipe in one pass. The normalised recipe (every
default written out) is itself a valid recipe; its canonical JSON, without the
seed, is hashed.
"""
from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from . import envelope
from .envelope import FIT_MODES, OUTPUT_FORMATS  # noqa: F401  (where callers have found them)
from .errors import Problem, RecipeError, UsageError
from .label_rules import LabelRules
from .limits import DEFAULT_MAX_PIXELS, MAX_BALANCE, MAX_DEPTH, MAX_EXPANDED_CHARS, MAX_RECIPE_BYTES, MAX_VALUES
from .ops.spec import Choice, Fixed, Uniform, close_match
from .recipe_model import (COMPOSITION_DOCS, COMPOSITIONS, Balance, ClassOutcome, ClassRule, OneOf,  # noqa: F401
                           OpStep, Output, RandomOrder, Sequence, SomeOf, Step, TrainingTimeArgument, class_outcome,
                           op_names, without_ops)  # (COMPOSITIONS, COMPOSITION_DOCS, without_ops: where callers found them)
from .recipe_parser import Parser, suggest_step, within  # noqa: F401  (suggest_step: the CLI's)
from .recipe_yaml import read_yaml


@dataclass(frozen=True)
class Recipe:
    """A validated recipe. Build one with ``Recipe.from_yaml`` or ``Recipe.load``."""

    version: int = envelope.VERSION
    copies: int = envelope.COPIES.default
    seed: int = envelope.SEED.default  # written out by validate like every other default
    include_originals: bool = envelope.INCLUDE_ORIGINALS.default
    distinct: bool = envelope.DISTINCT.default  # copies of one source never repeat each other (distinct.py)
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
        data, lines, problems = read_yaml(text)
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
            if copies == 0 and not self.include_originals and self.balance is None:
                raise UsageError("--copies 0 with include_originals: false writes nothing; ask for copies, or "
                                 "include the originals")
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
        return self.seed

    def to_plain(self) -> dict:
        """The normalised recipe: every default written out; valid as a recipe itself."""
        plain: dict[str, Any] = {"version": self.version, "seed": self.seed}
        if not self.variants and self.balance is None:
            plain["copies"] = self.copies
        plain["include_originals"] = self.include_originals
        if self.distinct:  # written only when set: recipes without it keep their hash
            plain["distinct"] = True
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

    def outcome(self, label: str) -> ClassOutcome:
        """What class ``label`` gets: its copies (or its balance target) and the
        steps and variants its outputs are drawn from, class rules applied."""
        return class_outcome(label, self.rule(label), self.copies, self.balance, self.pipeline, self.variants)

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
    recipe = None
    if data is not None:
        parser = Parser(lines)
        fields = parser.recipe(data)
        # a value rejected while reading YAML (a tag) is reported once, not again as null
        rejected = [p.path for p in problems]
        problems += [p for p in parser.problems if not any(within(p.path, r) for r in rejected)]
        if fields is not None:
            recipe = Recipe(**fields, lines=lines, training_time=tuple(parser.training_time),
                            sizes=tuple(parser.sizes))
            problems += recipe.size_problems(max_pixels)
    if problems:
        raise RecipeError(name, sorted(problems, key=lambda p: p.line or 0))
    return replace(recipe, name=name)


def _too_big(data: Any) -> Problem | None:
    """The bounds a YAML recipe has (values, nesting), for Python data, and the
    values YAML can hold: a numpy scalar would validate, then break the
    normalised recipe that ``validate`` prints and ``augcli.json`` records."""
    stack, count, chars = [(data, 1)], 0, 0
    while stack:
        item, depth = stack.pop()
        count += 1
        chars += len(item) if isinstance(item, str) else 0  # a string counts by its length
        if depth > MAX_DEPTH:
            return Problem("", f"the recipe is nested more than {MAX_DEPTH} levels deep")
        if count > MAX_VALUES:
            return Problem("", f"the recipe has more than {MAX_VALUES:,} values")
        if chars > MAX_EXPANDED_CHARS:
            return Problem("", f"the recipe's strings hold more than {MAX_EXPANDED_CHARS:,} characters")
        if isinstance(item, dict):
            stack += [(k, depth + 1) for k in item] + [(v, depth + 1) for v in item.values()]
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


__all__ = ["Recipe", "TrainingTimeArgument", "OpStep", "OneOf", "SomeOf", "Sequence", "RandomOrder", "Step", "Output",
           "Choice", "Fixed", "Uniform"]
