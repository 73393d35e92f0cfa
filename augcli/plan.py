"""Sources x (copies | variants) -> tasks with collision-free output names.

The planner never opens an image: it works from the scan (relative paths and
sniffed formats) and the recipe, so a plan is cheap, deterministic and can be
shown by ``--dry-run``. A plan is one small record per source (how its
outputs are named and how many there are), and ``tasks()`` streams the work:
one task is one source with its outputs (at most ``TASK_OUTPUTS`` of them,
so a source asked for 100,000 copies is several tasks), and a worker decodes
the source once per task. Memory does not grow with ``copies``.
"""
from __future__ import annotations

import functools
import itertools
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Callable, Iterator

from .errors import Problem, RecipeError, UsageError
from .io import EXTENSIONS, Encoding, format_named
from .limits import MAX_COPIES
from .ops.spec import close_match
from .recipe import ClassOutcome, Recipe, Step
from .manifest import ManifestRecord, SkipRecord
from .scan import SPLITS, Scan, SourceImage

Steps = tuple[Step, ...]


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
    steps: Steps = ()  # what an augmented output's ops are drawn from (class rules applied)


@dataclass(frozen=True)
class Task:
    """One unit of work: one source and (some of) its outputs, decoded once."""

    source: SourceImage
    targets: tuple[Target, ...]


TASK_OUTPUTS = 256  # a source with more outputs is split into tasks of this many (each decodes it once)


@dataclass(frozen=True)
class Outputs:
    """What one source produces, described, not listed: a source with 100,000
    copies costs this record, and its targets exist only while a task holds them."""

    source: SourceImage
    folder: str  # POSIX folder relative to OUT ("" never: sources are below a class)
    stem: str  # collision-free, chosen at planning
    ext: str
    encoding: Encoding
    plain: str | None  # "original", "copied" or None: the file named stem + ext
    byte_copy: bool
    copies: int
    width: int  # digits of the copy number
    variants: tuple[tuple[int, str, Steps], ...] = ()  # (index in the recipe, name, steps)
    steps: Steps = ()  # the numbered copies' steps

    @property
    def count(self) -> int:
        return (self.plain is not None) + len(self.variants) + self.copies

    def short_names(self) -> list[str]:
        """The names other than the numbered copies (few per source)."""
        names = [self.stem + self.ext] if self.plain is not None else []
        return names + [f"{self.stem}_{name}{self.ext}" for _, name, _ in self.variants]

    def targets(self) -> Iterator[Target]:
        at = f"{self.folder}/" if self.folder else ""
        if self.plain is not None:
            yield Target(at + self.stem + self.ext, self.plain, 0, self.encoding, byte_copy=self.byte_copy)
        for index, name, steps in self.variants:
            yield Target(f"{at}{self.stem}_{name}{self.ext}", "augmented", index, self.encoding, variant=name,
                         steps=steps)
        for copy in range(1, self.copies + 1):
            yield Target(f"{at}{self.stem}_aug{copy:0{self.width}d}{self.ext}", "augmented", copy, self.encoding,
                         steps=self.steps)

    def tasks(self) -> Iterator[Task]:
        """This source's tasks, at most ``TASK_OUTPUTS`` targets each."""
        targets = self.targets()
        while chunk := tuple(itertools.islice(targets, TASK_OUTPUTS)):
            yield Task(self.source, chunk)


@dataclass(frozen=True)
class Plan:
    """Every source's outputs, named; ``tasks()`` streams the work."""

    outputs: tuple[Outputs, ...]
    skipped: tuple[SkipRecord, ...] = ()  # sources no free name could be found for

    def tasks(self) -> Iterator[Task]:
        for outputs in self.outputs:
            yield from outputs.tasks()

    @property
    def n_outputs(self) -> int:
        return sum(o.count for o in self.outputs)

    def table(self) -> list[tuple[str, int, int]]:
        """(class, sources, outputs) per split/class, in order."""
        rows: dict[str, list[int]] = {}
        for outputs in self.outputs:
            source = outputs.source
            key = f"{source.split}/{source.label}" if source.split else source.label
            row = rows.setdefault(key, [0, 0])
            row[0] += 1
            row[1] += outputs.count
        return [(k, v[0], v[1]) for k, v in rows.items()]

    # -- what is left after an earlier run (--resume) --

    def remaining(self, done_paths: set[str], skipped_sources: set[str]) -> Iterator[Task]:
        """The tasks (with only their unfinished targets) still to do, streamed;
        none for a source the earlier run skipped."""
        for task in self.tasks():
            if task.source.relpath in skipped_sources:
                continue
            targets = tuple(t for t in task.targets if t.path not in done_paths)
            if targets:
                yield Task(task.source, targets)

    def sources_left(self, skipped_sources: set[str]) -> int:
        """How many sources the run reads: all but those skipped earlier."""
        return sum(1 for o in self.outputs if o.source.relpath not in skipped_sources)

    def to_do(self, done: list[ManifestRecord], skipped_sources: set[str]) -> int:
        """How many outputs are left, from counts (the targets are never listed)."""
        planned = sum(o.count for o in self.outputs if o.source.relpath not in skipped_sources)
        return max(0, planned - sum(1 for r in done if r.source not in skipped_sources))

    def left(self, done: list[ManifestRecord], skipped_sources: set[str]) -> int:
        """Exactly how many outputs a resume would write, counted as the tasks stream."""
        return sum(len(task.targets) for task in self.remaining({r.path for r in done}, skipped_sources))


def output_format(source: SourceImage, recipe: Recipe) -> str:
    """``same`` keeps the content's format, except GIF (a 256-colour palette would
    quantise every augmented image), which is written as PNG."""
    if recipe.output.format != "same":
        return format_named(recipe.output.format)
    return "PNG" if source.format == "GIF" else source.format


def steps_for(recipe: Recipe, label: str, variant: str | None = None) -> Steps:
    """The steps an augmented output of class ``label`` (of ``variant``) is drawn
    from, class rules applied."""
    outcome = recipe.outcome(label)
    if variant is not None:
        return next(steps for _, name, steps in outcome.variants if name == variant)
    return outcome.steps


def augmentations(recipe: Recipe, label: str, copies: int) -> list[tuple[int, str | None, Steps]]:
    """(copy, variant, steps) of each augmented output a source of class
    ``label`` gets: every variant it keeps, or ``copies`` copies of its pipeline."""
    outcome = recipe.outcome(label)
    if recipe.variants:
        return list(outcome.variants)
    return [(copy, None, outcome.steps) for copy in range(1, copies + 1)]


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


def copies_per_source(scan: Scan, recipe: Recipe, augmented: set,
                      outcomes: Callable[[str], ClassOutcome] | None = None) -> dict[str, int]:
    """How many augmented outputs each augmented source gets.

    ``balance`` spreads the outputs a class needs to reach its target evenly
    over its sources (in path order, the first ones take the remainder), so no
    source gets more than one output more than another.
    """
    sources = [s for s in scan.sources if s.split in augmented]
    counts = Counter((s.split, s.label) for s in sources)
    largest = Counter()
    for (split, _), n in counts.items():
        largest[split] = max(largest[split], n)
    outcome = outcomes or functools.cache(recipe.outcome)
    per_source: dict[str, int] = {}
    seen: Counter = Counter()
    problems: dict[tuple, Problem] = {}
    for source in sources:
        key = (source.split, source.label)
        its = outcome(source.label)
        if its.copies is not None:
            per_source[source.relpath] = its.copies
        else:
            target = largest[source.split] if its.target == "max" else its.target
            n = counts[key]
            needed = max(0, target - (n if recipe.include_originals else 0))
            per_source[source.relpath] = needed // n + (1 if seen[key] < needed % n else 0)
            if per_source[source.relpath] > MAX_COPIES and key not in problems:
                problems[key] = _too_many_copies(recipe, source, target, n, per_source[source.relpath])
        seen[key] += 1
    if problems:
        raise RecipeError(recipe.name, list(problems.values()))
    return per_source


def _too_many_copies(recipe: Recipe, source: SourceImage, target: int, n: int, each: int) -> Problem:
    """Balancing a class of ``n`` images to ``target`` would give each ``each`` copies."""
    path = "balance.target" + (f".{source.label}" if isinstance(recipe.balance.target, tuple) else "")
    name = f"{source.split}/{source.label}" if source.split else source.label
    return Problem(path, f"class {name} needs {each:,} copies of each of its {n:,} images to reach {target:,}; "
                         f"at most {MAX_COPIES:,} per image (add images or lower the target)",
                   recipe.lines.get(path) or recipe.lines.get("balance"))


def _fold(name: str) -> str:
    """A name as a case-insensitive, normalisation-insensitive filesystem (macOS,
    Windows) compares it: Unicode's canonical caseless match, NFD(casefold(NFD)),
    so ``café`` written with one code point or with ``e`` + a combining accent
    is one name, as ``Cat`` and ``cat`` are."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


class _Names:
    """The names taken in OUT so far, without listing numbered copies.

    A source's outputs are a few short names (its original, its variants) and
    a family ``stem_augNN.ext`` for NN in 1..copies (NN always ``width``
    digits). Two sources share a name only if a short name of one is a short
    name, a folder or a family member of the other, or both have a family with
    the same stem and extension; each case is one lookup here. Everything is
    casefolded, as on case-insensitive filesystems.
    """

    def __init__(self, folders: set[str], width: int):
        self.width = width
        self.taken: set[str] = set()  # short names and folders, as full paths
        self.families: dict[tuple[str, str, str], int] = {}  # (folder, stem, ext) -> copies
        self.numbered: dict[tuple[str, str, str], int] = {}  # short names/folders shaped like a copy -> lowest NN
        for folder in folders:
            parent, _, name = folder.rpartition("/")
            self._take(parent, name)

    def _split(self, name: str) -> tuple[str, int, str] | None:
        """(stem, NN, ext) if ``name`` has the shape of a numbered copy."""
        base, dot, ext = name.rpartition(".")
        if not dot:
            return None
        stem, mark, digits = base.rpartition("_aug")
        if not mark or len(digits) != self.width or not digits.isdigit():
            return None
        return stem, int(digits), "." + ext

    def _take(self, folder: str, name: str) -> None:
        self.taken.add(f"{folder}/{name}")
        shaped = self._split(name)
        if shaped is not None:
            key = (folder, shaped[0], shaped[2])
            self.numbered[key] = min(self.numbered.get(key, shaped[1]), shaped[1])

    def free(self, outputs: Outputs) -> bool:
        folder = _fold(outputs.folder)
        shorts = [_fold(n) for n in outputs.short_names()]
        if len(set(shorts)) != len(shorts):
            return False
        family = (folder, _fold(outputs.stem), _fold(outputs.ext))
        for name in shorts:
            if f"{folder}/{name}" in self.taken:
                return False
            shaped = self._split(name)
            if shaped is not None:
                nn = shaped[1]
                key = (folder, shaped[0], shaped[2])
                if 1 <= nn <= self.families.get(key, 0) or (key == family and 1 <= nn <= outputs.copies):
                    return False
        if outputs.copies:
            if family in self.families or 1 <= self.numbered.get(family, 0) <= outputs.copies:
                return False
        return True

    def take(self, outputs: Outputs) -> None:
        folder = _fold(outputs.folder)
        for name in outputs.short_names():
            self._take(folder, _fold(name))
        if outputs.copies:
            self.families[(folder, _fold(outputs.stem), _fold(outputs.ext))] = outputs.copies


def output_folders(scan: Scan) -> set[str]:
    """Every folder OUT will have (those holding sources, as in SRC), casefolded:
    no output file may take one of these names (``a_aug01.jpg/`` next to ``a.jpg``)."""
    return {_fold(str(folder)) for source in scan.sources
            for folder in PurePosixPath(source.relpath).parents if str(folder) != "."}


def make_plan(scan: Scan, recipe: Recipe, augment: tuple[str, ...] | None = None) -> Plan:
    """Name every source's outputs. The plan holds one small record per source,
    never a list of outputs, so its memory does not grow with ``copies``."""
    check_class_names(scan, recipe)
    augmented = augmented_splits(scan, augment)
    # each class's outcome decided once (copies, steps, variants), one encoding per format
    outcomes = functools.cache(recipe.outcome)
    encodings = functools.cache(lambda fmt: Encoding.of(recipe.output, fmt))
    copies = copies_per_source(scan, recipe, augmented, outcomes)
    width = max(2, len(str(max(copies.values(), default=1))))
    names = _Names(output_folders(scan), width)
    planned, skipped = [], []
    for source in scan.sources:
        outputs = _name(source, recipe, source.split in augmented, names, copies.get(source.relpath, 0), width,
                        outcomes, encodings)
        if outputs is None:
            skipped.append(SkipRecord(source.relpath, "no free output name (all 10,000 candidates are taken)"))
            continue
        names.take(outputs)
        planned.append(outputs)
    return Plan(tuple(planned), tuple(skipped))


def _name(source: SourceImage, recipe: Recipe, augment: bool, names: _Names, copies: int, width: int,
          outcomes: Callable[[str], ClassOutcome], encodings: Callable[[str], Encoding]) -> Outputs | None:
    fmt = output_format(source, recipe)
    rel = PurePosixPath(source.relpath)
    keep_ext = fmt == source.format and rel.suffix.lower() in EXTENSIONS[fmt]
    ext = rel.suffix if keep_ext else EXTENSIONS[fmt][0]
    verbatim = recipe.output.format == "same" and recipe.output.size is None and fmt == source.format
    folder = str(rel.parent)
    pipeline: Steps = ()
    if not augment:
        plain, variants, copies = "copied", (), 0
    else:
        plain = "original" if recipe.include_originals else None
        outcome = outcomes(source.label)
        pipeline, variants = outcome.steps, outcome.variants
        copies = 0 if recipe.variants else copies

    # Collisions (a.jpg and a.png both written as PNG) are resolved here, never by
    # overwriting: the later source (in path order) carries its own extension in
    # its stem, then a number if that is taken too. Case-insensitive, for macOS.
    stem = rel.stem
    head = [stem, f"{stem}_{rel.suffix.lstrip('.').lower()}"] if rel.suffix else [stem]
    candidates = itertools.chain(head, (f"{head[-1]}_{n}" for n in range(2, 10_000)))
    for candidate in candidates:
        outputs = Outputs(source, folder, candidate, ext, encodings(fmt), plain, verbatim, copies, width, variants,
                          pipeline)
        if names.free(outputs):
            return outputs
    return None
