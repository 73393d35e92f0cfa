"""One registry of named ops. A new op is one kernel plus one ``register(...)``.

The registry drives recipe validation, ``augcli transforms``, the README table
and the parametrised kernel tests.
"""
from __future__ import annotations

from .spec import OpSpec, close_match

REGISTRY: dict[str, OpSpec] = {}


def register(spec: OpSpec) -> OpSpec:
    if spec.name in REGISTRY:
        raise ValueError(f"op {spec.name!r} registered twice")
    REGISTRY[spec.name] = spec
    return spec


def lookup(name: str) -> OpSpec | None:
    return REGISTRY.get(name)


def suggest(name: str) -> str | None:
    """The registered op name closest to a misspelt one."""
    return close_match(name, sorted(REGISTRY))


# Importing the kernel modules fills the registry.
from . import color, geometric, keras, noise, policies  # noqa: E402,F401
