"""The options every door takes, checked once, here.

``augcli expand`` on the command line, ``augcli.expand(...)``,
``augcli.preview``, ``augcli.replay`` and ``Augmenter`` take the same copies,
seed, balance, max_pixels, backend, jobs and scheduler (and ``preview`` its
images and variants). Each is checked by one
function below, so a value refused at one door is refused at every door with
the same line: what it is (option and keyword), what was found, what is
allowed. The CLI hands its options over as typed (``--copies 3`` as 3,
``--copies 2.5`` as the text '2.5'), never checking them itself.

``BadArgument`` is a ``UsageError`` (exit 2 on the command line) and a
``ValueError`` (what Python callers expect of a bad argument).
"""
from __future__ import annotations

import re
from numbers import Integral
from typing import Any

from .errors import UsageError, cut
from .limits import MAX_BALANCE, MAX_COPIES, MAX_JOBS, MAX_PREVIEW_IMAGES, MAX_PREVIEW_VARIANTS, MAX_SEED

BACKENDS = ("loky", "threading", "dask")


class BadArgument(UsageError, ValueError):
    """An option or keyword argument outside what it allows."""


def _found(value: Any) -> str:
    return cut(repr(value))


def _refuse(name: str, value: Any, allowed: str) -> BadArgument:
    return BadArgument(f"--{name.replace('_', '-')} / {name}=: found {_found(value)}; allowed: {allowed}")


def whole(name: str, value: Any, lo: int, hi: int | None = None) -> int:
    """``value`` as a plain int if it is a whole number (not a bool, a float or
    text) from ``lo`` to ``hi``; ``BadArgument`` naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < lo or (hi is not None and value > hi):
        allowed = f"a whole number from {lo:,} to {hi:,}" if hi is not None else f"a whole number >= {lo:,}"
        raise _refuse(name, value, allowed)
    return int(value)


def check_copies(copies: Any) -> int | None:
    return None if copies is None else whole("copies", copies, 1, MAX_COPIES)


def check_seed(seed: Any) -> int | None:
    return None if seed is None else whole("seed", seed, 0, MAX_SEED)


def check_max_pixels(max_pixels: Any) -> int:
    return whole("max_pixels", max_pixels, 0)


def check_jobs(jobs: Any) -> int | None:
    return None if jobs is None else whole("jobs", jobs, 1, MAX_JOBS)


def check_sheet(images: Any, variants: Any) -> tuple[int, int]:
    """A contact sheet's rows (``-n`` / ``images=``) and augmented columns (``-k`` / ``variants=``)."""
    return whole("images", images, 1, MAX_PREVIEW_IMAGES), whole("variants", variants, 1, MAX_PREVIEW_VARIANTS)


def check_balance(balance: Any) -> str | int | None:
    if balance is None or balance == "max":
        return balance
    if isinstance(balance, bool) or not isinstance(balance, Integral) or not 1 <= balance <= MAX_BALANCE:
        raise _refuse("balance", balance, f"'max' or a whole number of images per class from 1 to {MAX_BALANCE:,}")
    return int(balance)


def check_backend(backend: Any) -> str:
    if backend not in BACKENDS:
        raise _refuse("backend", backend, ", ".join(BACKENDS))
    return backend


_ADDRESS = re.compile(r"^(tcp|tls|ucx|inproc|ws|wss)://[^\s/:]+(:\d{1,5})?/?$")


def check_scheduler(scheduler: Any, backend: str) -> str | None:
    """A Dask scheduler address (``tcp://host:8786``), and only with ``backend="dask"``."""
    if scheduler is None:
        return None
    if backend != "dask":
        raise BadArgument(f"--scheduler / scheduler=: a Dask scheduler is only used with --backend dask; found "
                          f"backend {backend!r} (add --backend dask, or leave out --scheduler)")
    if not isinstance(scheduler, str) or not _ADDRESS.match(scheduler):
        raise _refuse("scheduler", scheduler, "a Dask scheduler address such as tcp://10.0.0.5:8786")
    return scheduler
