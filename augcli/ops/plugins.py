"""Ops from installed packages: the entry-point group ``augcli.ops``.

A package declares, in its ``pyproject.toml``::

    [project.entry-points."augcli.ops"]
    sepia = "augcli_sepia"          # a module; importing it registers its ops
    # or "augcli_sepia:setup"       # a function, called once with no arguments

and registers its ops with the helpers augcli's own ops use
(``augcli.ops.registry``: ``register``, ``point_op``, ``affine_op``,
``policy``). Each op it registers is stamped with the package's name and
version, which ``augcli transforms`` shows and ``augcli.json`` records.

Discovery is lazy: ``registry.lookup`` calls ``load`` the first time it meets a
name augcli does not know, and listings call it through ``every_op``; a run
whose ops are all built in never reads an entry point. ``load`` runs once per
process (worker processes load on their own first miss). A plugin that fails,
whatever the cause (an import error, a registration the registry refuses, a
name a built-in op or an earlier plugin has), is left out whole, as one line
in ``problems()``; the other ops work on. ``AUGCLI_NO_PLUGINS=1`` (the CLI's
``--no-plugins``) turns discovery off. Only installed packages are ever
loaded: nothing in a recipe names code.
"""
from __future__ import annotations

import os  # the environment switch only: plugins are found through installed packages' metadata
from typing import Callable

ENTRY_POINT_GROUP = "augcli.ops"
SWITCH = "AUGCLI_NO_PLUGINS"

_loaded = False
_problems: list[str] = []
_reporter: Callable[[str], None] | None = None


def disabled() -> bool:
    """``AUGCLI_NO_PLUGINS`` set to anything but empty or 0."""
    return os.environ.get(SWITCH, "") not in ("", "0")


def report_to(reporter: Callable[[str], None] | None) -> None:
    """Say each broken plugin's line through ``reporter`` as it is found (the
    CLI prints it on stderr); lines found earlier are said at once."""
    global _reporter
    _reporter = reporter
    if reporter is not None:
        for line in _problems:
            reporter(line)


def problems() -> list[str]:
    """One line per plugin that could not be loaded, naming its package."""
    return list(_problems)


def load(registry: dict, stamp: list) -> bool:
    """Load every installed plugin into ``registry`` (once per process; ``stamp``
    is the registry's marker of whose ops are being registered). True when this
    call loaded them, False when they were loaded before or are switched off."""
    global _loaded
    if _loaded or disabled():
        return False
    _loaded = True
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (_dist(ep)[0].lower(), ep.name))
    for entry in found:
        dist = _dist(entry)
        before = set(registry)
        stamp.append(dist)
        try:
            loaded = entry.load()
            if callable(loaded):
                loaded()
        except Exception as exc:  # whatever a plugin raises is that plugin's problem, not augcli's
            for name in set(registry) - before:  # a plugin is all or nothing
                del registry[name]
            _problem(f"plugin {dist[0]} {dist[1]} (entry point {entry.name} = {entry.value}) is not loaded: "
                     f"{type(exc).__name__}: {_one_line(exc)}; the other ops work without it "
                     "(--no-plugins turns plugins off)")
        finally:
            stamp.pop()
    return True


def _dist(entry) -> tuple[str, str]:
    """(name, version) of the package that declares ``entry``."""
    dist = entry.dist
    if dist is None:
        return entry.module, "?"
    return dist.metadata["Name"] or entry.module, dist.version or "?"


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else "(no message)"


def _problem(line: str) -> None:
    _problems.append(line)
    if _reporter is not None:
        _reporter(line)


def reset() -> None:
    """Forget that plugins were loaded (tests install and remove plugins)."""
    global _loaded
    _loaded = False
    _problems.clear()


def installed(name: str) -> str | None:
    """The installed version of distribution ``name``, or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None
