"""The named ops. A new op is one kernel plus one registration (``augcli.ops.registry``).

The registry drives recipe validation, ``augcli transforms``, the README table
and the parametrised kernel tests.
"""
from __future__ import annotations

from .registry import REGISTRY, lookup, register, suggest  # noqa: F401

# Importing the kernel modules fills the registry.
from . import color, filters, geometric, keras, models, noise, policies  # noqa: E402,F401
from . import automix  # noqa: E402,F401  (after policies and the plain ops it uses)
