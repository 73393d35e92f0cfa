"""Sources x (copies | variants) -> tasks with collision-free output names.

The planner never opens an image: it works from the scan (relative paths and
sniffed formats) and the recipe, so a plan is cheap, deterministic and can be
shown by ``--dry-run``. One task is one source with all its outputs, so a
worker decodes each source once.
"""
from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath

from .errors import Problem, RecipeError, UsageError
from .io import EXTENSIONS, Encoding, format_named
from .ops.spec import close_match
from .recipe import Recipe, Step
from .scan import SPLITS, Scan, SourceImage


@dataclass(frozen=True)
class Target:
    """One file to write, with everything that decides its bytes besides the
    source and the run seed: the steps its ops are drawn from and its encoding."""

    path: str  # POSIX path relative to OUT
    kind: str  # original | augmented | copied
    copy: int  # 1.. for augmented outputs (and variants, by position); 0 otherwise
    encoding: Encoding
    variant: str | None = None
    byte_copy: bool = False  # may copy the source bytes (if no EXIF rotation is needed)
    steps: tuple[Step, ...] = ()  # what an augmented output's ops are drawn from (class rules applied)


@dataclass(frozen=True)
class Task:
    source: SourceImage
    targets: tuple[Target, ...]


@dataclass(frozen=True)
class Plan:
    tasks: tuple[Task, ...]

    @property
    def n_outputs(self) -> int:
        return sum(len(t.targets) for t in self.tasks)

    def table(self) -> list[tuple[str, int, int]]:
        """(class, sources, outputs) per split/class, in order."""
        rows: dict[str, list[int]] = {}
        for task in self.tasks:
            key = f"{task.source.split}/{task.source.label}" if task.source.split else task.source.label
            row = rows.setdefault(key, [0, 0])
            row[0] += 1
            row[1] += len(task.targets)
        return [(k, v[0], v[1]) for k, v in rows.items()]

    def remaining(self, done_paths: set[str], skipped_sources: set[str]) -> list[Task]:
        """What is left after an earlier run (``--resume``): the tasks with only
        their targets not in ``done_paths``, none for a source it skipped."""
        tasks = []
        for task in self.tasks:
            if task.source.relpath in skipped_sources:
                continue
            targets = tuple(t for t in task.targets if t.path not in done_paths)
            if targets:
                tasks.append(Task(task.source, targets))
        return tasks


def output_format(source: SourceImage, recipe: Recipe) -> str:
    """``same`` keeps the content's format, except GIF (a 256-colour palette would
    quantise every augmented image), which is written as PNG."""
    if recipe.output.format != "same":
        return format_named(recipe.output.format)
    return "PNG" if source.format == "GIF" else source.format


def steps_for(recipe: Recipe, label: str, variant: str | None = None) -> tuple[Step, ...]:
    """The steps an augmented output of class ``label`` (of ``variant``) is drawn
    from, class rules applied."""
    if variant is not None:
        return dict(recipe.variants_for(label))[variant]
    return recipe.pipeline_for(label)


def augmentations(recipe: Recipe, label: str, copies: int) -> list[tuple[int, str | None, tuple[Step, ...]]]:
    """(copy, variant, steps) of each augmented output a source of class
    ``label`` gets: every variant the class keeps, numbered by its position in
    the recipe, or ``copies`` copies of the class's pipeline."""
    if recipe.variants:
        kept = dict(recipe.variants_for(label))
        return [(index, name, kept[name]) for index, (name, _) in enumerate(recipe.variants, start=1) if name in kept]
    steps = recipe.pipeline_for(label)
    return [(copy, None, steps) for copy in range(1, copies + 1)]


def augmented_splits(scan: Scan, requested: tuple[str, ...] | None = None) -> set[str | None]:
    """The splits whose images are augmented (the flat layout has one, None);
    ``requested`` None means ``train``. A name SRC lacks is a usage error, never
    a run that quietly augments nothing."""
    if not scan.splits:
        if requested is not None:
            raise UsageError(f"--augment-splits: SRC has no split folders ({', '.join(SPLITS)}), so every class "
                             "folder is augmented; leave the option out")
        return {None}
    by_name = {s.lower(): s for s in scan.splits}
    for name in requested or ("train",):
        if name.lower() not in by_name:
            what = "--augment-splits: no split" if requested is not None else "no split"
            fix = "" if requested is not None else "; name the splits to augment with --augment-splits"
            hint = close_match(name, list(scan.splits))
            raise UsageError(f"{what} {name!r} in SRC; its splits are: {', '.join(scan.splits)}{fix}"
                             + (f" (did you mean {hint!r}?)" if hint else ""))
    return {by_name[name.lower()] for name in requested or ("train",)}


def check_class_names(scan: Scan, recipe: Recipe) -> None:
    """Class names in ``classes:`` and a per-class balance must exist in SRC."""
    labels = sorted({s.label for s in scan.sources} | {c.rsplit("/", 1)[-1] for c in scan.empty_classes})
    named = [(f"classes.{name}", name) for name, _ in recipe.classes]
    if recipe.balance is not None and isinstance(recipe.balance.target, tuple):
        named += [(f"balance.target.{name}", name) for name, _ in recipe.balance.target]
    problems = [
        Problem(path, f"no class {name!r} in SRC; its classes are: {', '.join(labels)}",
                recipe.lines.get(path), close_match(name, labels))
        for path, name in named if name not in labels
    ]
    if problems:
        raise RecipeError(recipe.name, problems)


def copies_per_source(scan: Scan, recipe: Recipe, augmented: set) -> dict[str, int]:
    """How many augmented outputs each augmented source gets.

    ``balance`` spreads the outputs a class needs to reach its target evenly
    over its sources (in path order, the first ones take the remainder), so no
    source gets more than one output more than another.
    """
    sources = [s for s in scan.sources if s.split in augmented]
    counts = Counter((s.split, s.label) for s in sources)
    balance = recipe.balance.target if recipe.balance is not None else None
    largest = Counter()
    for (split, _), n in counts.items():
        largest[split] = max(largest[split], n)
    per_source: dict[str, int] = {}
    seen: Counter = Counter()
    for source in sources:
        key = (source.split, source.label)
        rule = recipe.rule(source.label)
        target = None
        if balance == "max":
            target = largest[source.split]
        elif isinstance(balance, int):
            target = balance
        elif isinstance(balance, tuple):
            target = dict(balance).get(source.label, 0)  # a class the target does not name gets no new images
        if rule is not None and rule.copies is not None:
            per_source[source.relpath] = rule.copies
        elif target is None:
            per_source[source.relpath] = recipe.copies
        else:
            n = counts[key]
            needed = max(0, target - (n if recipe.include_originals else 0))
            per_source[source.relpath] = needed // n + (1 if seen[key] < needed % n else 0)
        seen[key] += 1
    return per_source


def make_plan(scan: Scan, recipe: Recipe, augment: tuple[str, ...] | None = None) -> Plan:
    check_class_names(scan, recipe)
    augmented = augmented_splits(scan, augment)
    copies = copies_per_source(scan, recipe, augmented)
    width = max(2, len(str(max(copies.values(), default=1))))
    used: set[str] = set()
    tasks = []
    for source in scan.sources:
        targets = _targets(source, recipe, source.split in augmented, used, copies.get(source.relpath, 0), width)
        used.update(t.path.casefold() for t in targets)
        tasks.append(Task(source, targets))
    return Plan(tuple(tasks))


def _targets(source: SourceImage, recipe: Recipe, augment: bool, used: set[str], copies: int,
             width: int) -> tuple[Target, ...]:
    fmt = output_format(source, recipe)
    encoding = Encoding.of(recipe.output, fmt)
    rel = PurePosixPath(source.relpath)
    keep_ext = fmt == source.format and rel.suffix.lower() in EXTENSIONS[fmt]
    ext = rel.suffix if keep_ext else EXTENSIONS[fmt][0]
    verbatim = recipe.output.format == "same" and recipe.output.size is None and fmt == source.format
    drawn = augmentations(recipe, source.label, copies) if augment else []

    def build(stem: str) -> tuple[Target, ...]:
        def at(name: str) -> str:
            return str(rel.with_name(name))

        if not augment:
            return (Target(at(stem + ext), "copied", 0, encoding, byte_copy=verbatim),)
        out = []
        if recipe.include_originals:
            out.append(Target(at(stem + ext), "original", 0, encoding, byte_copy=verbatim))
        for copy, variant, steps in drawn:
            name = f"{stem}_{variant}{ext}" if variant is not None else f"{stem}_aug{copy:0{width}d}{ext}"
            out.append(Target(at(name), "augmented", copy, encoding, variant=variant, steps=steps))
        return tuple(out)

    # Collisions (a.jpg and a.png both written as PNG) are resolved here, never by
    # overwriting: the later source (in path order) carries its own extension in
    # its stem, then a number if that is taken too. Case-insensitive, for macOS.
    stem = rel.stem
    head = [stem, f"{stem}_{rel.suffix.lstrip('.').lower()}"] if rel.suffix else [stem]
    candidates = itertools.chain(head, (f"{head[-1]}_{n}" for n in range(2, 10_000)))
    for candidate in candidates:
        targets = build(candidate)
        names = [t.path.casefold() for t in targets]
        if not any(n in used for n in names) and len(set(names)) == len(names):
            return targets
    raise RuntimeError(f"could not find a free output name for {source.relpath}")
