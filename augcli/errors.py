"""Exceptions that reach the user, and the exit status each maps to.

A skipped image is not an exception: the scan and the workers record a
``SkipRecord`` (see ``augcli.manifest``) and the run goes on.
"""
from __future__ import annotations

from dataclasses import dataclass

from .limits import MAX_SHOWN


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """``text`` if short, else its start and how long it was: a message quotes
    what was found, never a megabyte of it."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


class AugcliError(Exception):
    """A failure during a run: one clear line for the user, exit status 1."""

    exit_code = 1


class UsageError(AugcliError):
    """Something wrong before any work starts (options, paths, OUT state): exit 2."""

    exit_code = 2


class Interrupted(KeyboardInterrupt):
    """Ctrl-C before the run wrote anything to OUT; the message says so (a
    plain KeyboardInterrupt later means finished images are kept)."""


class UnsafeOutPath(AugcliError):
    """A write or delete in OUT would go through a symbolic link (or leave OUT):
    refused where the path is opened. Exit 1 when met during a run; the same
    finding before work starts is a ``UsageError``."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a recipe, located as precisely as we can."""

    path: str  # e.g. "pipeline[2].rotate.fill"; "" for the whole document
    message: str  # what was found and what is allowed
    line: int | None = None
    hint: str | None = None  # a close match, "did you mean ..."

    def format(self, filename: str) -> str:
        where = f"{filename}:{self.line}" if self.line else filename
        # a key or value of any length may be quoted: each part is cut (MAX_SHOWN per quoted value)
        path, message = cut(self.path, 4 * MAX_SHOWN), cut(self.message, 16 * MAX_SHOWN)
        what = f"{path}: {message}" if path else message
        hint = f" (did you mean '{cut(self.hint)}'?)" if self.hint else ""
        return f"{where}: {what}{hint}"


class RecipeError(UsageError):
    """An invalid recipe: every problem found, reported together (exit 2)."""

    def __init__(self, filename: str, problems: list[Problem]):
        self.filename = filename
        self.problems = list(problems)
        super().__init__("\n".join(p.format(filename) for p in self.problems))
