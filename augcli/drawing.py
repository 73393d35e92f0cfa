"""What an output's bytes depend on besides its source and the pixel engine,
so ``--resume`` can follow a recipe edit output by output.

An output is decided by its source's bytes, its kind, the steps its ops are
drawn from (class rules applied), the seed and the copy index that key its
draw, and how it is finished and encoded (``output``). ``Drawings`` answers,
for one record of an earlier run, whether the recipe it was made with and
the recipe of this run give that output the same drawing; outputs whose
drawing is unchanged stay (raising ``copies`` from 4 to 5 writes only the
fifth copy, since seeds are keyed by copy index), the others are redone.
``changed_keys`` names what was edited, for the one line that says so.
"""
from __future__ import annotations

import functools
from typing import Any

from .errors import RecipeError
from .io import Encoding
from .plan import output_format, steps_for
from .recipe import Recipe
from .scan import SourceImage


def normalised(recipe: Recipe) -> Recipe:
    """The recipe as its normalised form reads back (as ``augcli.json`` keeps it),
    so an old and a new recipe are compared in the same terms."""
    return Recipe.from_dict(recipe.to_plain(), name=recipe.name, max_pixels=0)


def recorded_recipe(plain: Any) -> Recipe | None:
    """The recipe an earlier run recorded, or None when it cannot be read back."""
    if not isinstance(plain, dict):
        return None
    try:
        return Recipe.from_dict(plain, name="augcli.json", max_pixels=0)
    except RecipeError:
        return None


class Drawings:
    """Compares an output's drawing under the recipe that made it and this run's."""

    def __init__(self, old: Recipe, old_seed: int | None, new: Recipe, new_seed: int):
        self.old, self.new = (old, old_seed), (new, new_seed)
        self._key = functools.lru_cache(maxsize=4096)(self._drawing)

    def same(self, source: SourceImage, kind: str, variant: str | None) -> bool:
        """Whether an output of ``source`` of this kind (and variant) is drawn and
        encoded alike under both recipes."""
        args = (source.label, source.format, source.relpath.rpartition(".")[2].lower(), kind, variant)
        return self._key(False, *args) == self._key(True, *args)

    def _drawing(self, new: bool, label: str, fmt: str, ext: str, kind: str, variant: str | None) -> tuple | None:
        recipe, seed = self.new if new else self.old
        source = SourceImage(relpath=f"x.{ext}", label=label, split=None, format=fmt)
        out_fmt = output_format(source, recipe)
        encoding = Encoding.of(recipe.output, out_fmt)
        verbatim = recipe.output.format == "same" and recipe.output.size is None and out_fmt == fmt
        if kind != "augmented":
            return kind, encoding, verbatim
        try:
            steps = steps_for(recipe, label, variant)
        except (KeyError, StopIteration):  # a variant this recipe does not give the class
            return None
        return kind, encoding, steps, seed, getattr(recipe, "distinct", False)


def changed_keys(old: dict | None, new: dict, old_seed: int | None, new_seed: int) -> list[str]:
    """The recipe keys an edit changed, as ``copies 4 -> 5``, ``pipeline``,
    ``output.size``, ``classes.cat``: scalars with their values, the rest by name."""
    old = old if isinstance(old, dict) else {}
    keys: list[str] = []
    if old_seed != new_seed:
        keys.append(f"seed {old_seed} -> {new_seed}")
    for key in dict.fromkeys([*old, *new]):
        if key == "seed" or old.get(key) == new.get(key):
            continue
        before, after = old.get(key), new.get(key)
        if isinstance(before, dict) and isinstance(after, dict) and key != "pipeline":
            keys += [f"{key}.{inner}" + _values(before.get(inner), after.get(inner))
                     for inner in dict.fromkeys([*before, *after]) if before.get(inner) != after.get(inner)]
        else:
            keys.append(key + _values(before, after))
    return keys


def _values(before: Any, after: Any) -> str:
    plain = (int, float, str, bool, type(None))
    if isinstance(before, plain) and isinstance(after, plain):
        return f" {_show(before)} -> {_show(after)}"
    return ""


def _show(value: Any) -> str:
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
