"""What a run's pixels depend on besides augcli, the recipe and the sources:
the plugin packages whose ops the recipe uses, recorded by name and version
in ``augcli.json``. ``replay``, ``--resume`` and every worker (a Dask worker
on another machine included) refuse to go on with another version installed,
rather than write different pixels under the same record.
"""
from __future__ import annotations

import functools
from typing import Iterable

from .errors import AugcliError
from .ops import lookup, plugins
from .recipe import OpStep, Recipe, Step


def _op_names(steps: Iterable[Step]) -> set[str]:
    names: set[str] = set()
    for step in steps:
        names |= {step.op} if isinstance(step, OpStep) else _op_names(step.steps)
    return names


def recipe_ops(recipe: Recipe) -> set[str]:
    """Every op a recipe names: pipeline, variants and class pipelines."""
    steps = list(recipe.pipeline) + [s for _, variant in recipe.variants for s in variant]
    steps += [s for _, rule in recipe.classes if rule.pipeline for s in rule.pipeline]
    return _op_names(steps)


def plugins_used(recipe: Recipe) -> dict[str, str]:
    """Plugin package -> version, for each plugin whose ops ``recipe`` names."""
    used = {}
    for name in sorted(recipe_ops(recipe)):
        spec = lookup(name)
        if spec is not None and spec.plugin:
            used[spec.plugin[0]] = spec.plugin[1]
    return dict(sorted(used.items()))


def plugin_mismatch(recorded: dict | None) -> str | None:
    """Why the installed plugins cannot reproduce a run that recorded
    ``recorded`` (package -> version), or None when they can."""
    for package, version in sorted((recorded or {}).items()):
        if plugins.disabled():
            return (f"it used plugin {package} {version}, and plugins are turned off here "
                    f"(--no-plugins / {plugins.SWITCH})")
        installed = plugins.installed(package)
        if installed is None:
            return f"it used plugin {package} {version}, which is not installed here (pip install '{package}=={version}')"
        if installed != version:
            return (f"it used plugin {package} {version}, and {installed} is installed here: its ops may write "
                    f"different pixels (pip install '{package}=={version}')")
    return None


def _models(plain) -> dict[str, str]:
    """model path -> sha256 of every model-based step in a plain recipe."""
    found = {}
    if isinstance(plain, dict):
        if isinstance(plain.get("model"), str) and isinstance(plain.get("sha256"), str):
            found[plain["model"]] = plain["sha256"]
        for value in plain.values():
            found.update(_models(value))
    elif isinstance(plain, list):
        for value in plain:
            found.update(_models(value))
    return found


def changed_models(recorded_recipe: dict | None, recipe: Recipe) -> str | None:
    """'model file m.onnx changed (sha256 ab12... recorded, cd34... now)' when a
    model file a run recorded now has other bytes, else None."""
    before, now = _models(recorded_recipe), _models(recipe.to_plain())
    changed = [(path, before[path], now[path]) for path in sorted(before.keys() & now.keys())
               if before[path] != now[path]]
    return "; ".join(f"model file {path} changed (sha256 {old[:12]}... recorded, {new[:12]}... now)"
                     for path, old, new in changed) or None


class PluginMismatch(AugcliError):
    """A worker whose installed plugins differ from those the run recorded: the
    run fails (exit 1) rather than write pixels another version computed."""


@functools.cache
def require_plugins(recorded: tuple[tuple[str, str], ...]) -> None:
    """In a worker: refuse to draw a single image when its plugins are not the
    ones the run recorded (checked once per process)."""
    if (why := plugin_mismatch(dict(recorded))) is not None:
        raise PluginMismatch(f"a worker cannot run this job: {why}")
